#pragma once

// One HTTP/2 connection of the client: a transport stack plus the sans-I/O
// h2::client_session, driven by two coroutines (a reader that feeds the
// session and dispatches its events to the streams, and a writer that sends
// whatever the session has queued), shared by every request to the origin.
//
// Received DATA is copied into the stream's queue and handed to the reader of
// the response in order; the session is told the bytes were consumed only
// when the application takes them, so a slow reader holds the peer at the
// stream window (backpressure) and the queue is bounded by that window.
//
// @par Threading
// One executor; not locked.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "corvid/client.hpp"
#include "net/stream.hpp"
#include "proto/h2/session.hpp"

namespace corvid::detail {

/// The client-side state of one stream.
struct h2_stream {
    explicit h2_stream(asio::any_io_executor executor) : signal(executor) {}

    std::int32_t id = 0;
    bool head_received = false;  ///< the final (non-1xx) head
    int status = 0;
    corvid::headers fields;
    std::deque<std::string> chunks;  ///< received body bytes not yet taken
    bool ended = false;              ///< the peer's side of the stream is done
    corvid::headers trailers;
    std::error_code error;  ///< set when the stream or the connection failed
    bool closed = false;    ///< the session forgot the stream, or the connection closed
    bool writable = true;   ///< false while the send buffer is full

    /// Wakes whoever waits on this stream (head, data, end, writability).
    asio::steady_timer signal;
    asio::awaitable<void> wait();
    void notify() { signal.cancel(); }
};

class h2_connection : public std::enable_shared_from_this<h2_connection> {
  public:
    h2_connection(asio::any_io_executor executor, std::unique_ptr<net::stream> stream,
                  h2::client_session session, std::string pool_key, std::size_t id);
    ~h2_connection();

    /// Closed after being without a stream for between `idle_timeout` and
    /// twice that (client_options::pool_idle_timeout); zero: never.
    std::chrono::milliseconds idle_timeout{0};
    /// Keepalive (client_options::http2): a PING after `ping_interval`
    /// without input, and the connection closed (ping_timeout) when nothing
    /// arrives within `ping_timeout` of it. Zero interval: no keepalive.
    std::chrono::milliseconds ping_interval{0};
    std::chrono::milliseconds ping_timeout{0};

    /// Starts the reader and writer coroutines (and the idle and keepalive
    /// watches).
    void start();

    /// Can carry one more request: not closing or failed, the peer's
    /// SETTINGS received, and below its SETTINGS_MAX_CONCURRENT_STREAMS.
    /// Until the SETTINGS arrive the limit is unknown: only the request that
    /// opened the connection goes out, the others wait (on_capacity) rather
    /// than risk REFUSED_STREAM.
    bool can_open_stream() const noexcept;
    bool dead() const noexcept { return static_cast<bool>(error_) || session_.is_closing(); }
    /// Alive, but the peer's first SETTINGS frame has not arrived yet.
    bool settling() const noexcept {
        return !closed_ && !dead() && !session_.peer_settings_received();
    }
    /// The peer allows extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL,
    /// RFC 8441): WebSockets may go over this connection.
    bool extended_connect() const noexcept { return session_.peer().enable_connect_protocol; }
    /// No stream in progress.
    bool idle() const noexcept { return streams_.empty(); }

    /// Opens a stream (HEADERS queued; no body follows when end_stream).
    /// `priority` overrides the connection profile's HEADERS priority when
    /// set (an inner nullopt: no PRIORITY flag).
    result<std::shared_ptr<h2_stream>> open(
        const h2::request_head& head, bool end_stream,
        std::optional<std::optional<h2::priority_spec>> priority = std::nullopt);
    /// Queues body bytes, waiting while the stream's send buffer is full.
    /// Succeeds without queueing once the stream has closed without error
    /// (the peer sent its complete response, then RST_STREAM(NO_ERROR) to
    /// stop the upload as RFC 9113 section 8.1 allows, or the connection
    /// closed): the caller stops sending and reads the response.
    asio::awaitable<result<void>> send_body(std::shared_ptr<h2_stream> stream,
                                            std::string_view bytes, bool end_stream);
    /// Queues a whole body without copying it.
    result<void> send_body(const std::shared_ptr<h2_stream>& stream, std::string&& bytes);
    /// The application took `n` bytes of this stream's body.
    void consumed(const std::shared_ptr<h2_stream>& stream, std::size_t n);
    /// Abandons a stream (RST_STREAM CANCEL) whose response is not wanted.
    void cancel(const std::shared_ptr<h2_stream>& stream);
    /// Closes the connection, failing every open stream with `ec`.
    void close(std::error_code ec);

    connection_info info;
    const std::string pool_key;
    const std::size_t id;
    std::string host;
    std::function<void(h2_connection&)> on_closed;  ///< set by the pool owner
    /// Lookup, connect and TLS times of the request that opened it.
    corvid::timings setup_timings;
    /// Receives a line for -v when the peer resets a stream, sends GOAWAY or
    /// breaks the protocol (the error codes alone do not carry the wire code).
    std::function<void(std::string_view)> trace;
    /// Called when the connection may take more streams than before: the
    /// peer's SETTINGS arrived, or a stream closed. Must not re-enter.
    std::function<void(h2_connection&)> on_capacity;

  private:
    asio::awaitable<void> reader();
    asio::awaitable<void> writer();
    asio::awaitable<void> idle_watch();
    asio::awaitable<void> keepalive();
    void dispatch_events();
    void wake_writer() { write_signal_.cancel(); }

    asio::any_io_executor executor_;
    std::unique_ptr<net::stream> stream_;
    h2::client_session session_;
    std::map<std::int32_t, std::shared_ptr<h2_stream>> streams_;
    asio::steady_timer write_signal_;
    asio::steady_timer idle_timer_;
    asio::steady_timer ping_timer_;
    std::chrono::steady_clock::time_point last_input_;  // the last read that returned bytes
    std::chrono::steady_clock::time_point ping_sent_;
    std::uint64_t pings_sent_ = 0;
    bool ping_outstanding_ = false;  // a keepalive PING sent, no input since
    std::size_t opened_ = 0;         // streams opened so far (for the idle watch)
    std::error_code error_;
    bool closed_ = false;
};

}  // namespace corvid::detail
