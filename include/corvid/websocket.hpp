#pragma once

// corvid's WebSocket client (RFC 6455, permessage-deflate of RFC 7692) over
// HTTP/1.1 (ws://, wss://) and over HTTP/2 by extended CONNECT (RFC 8441).
//
//     corvid::client http(io.get_executor());
//     auto ws = co_await corvid::websocket::connect(http, "wss://example.com/chat");
//     if (!ws) { report(ws.error()); co_return; }
//     co_await ws->send_text("hello");
//     auto msg = co_await ws->receive();       // a whole message
//     co_await ws->close();
//
// The handshake goes through the client: its TLS settings, proxy, cookie jar
// (cookies are sent, and Set-Cookie of the handshake response is stored) and
// browser profile (the profile's WebSocket headers and WebSocket
// ClientHello) apply. Redirects are not followed (browsers don't either).
//
// @par Which HTTP version
// websocket_transport::automatic does what Chrome does: a pooled HTTP/2
// connection to the origin that advertised SETTINGS_ENABLE_CONNECT_PROTOCOL
// carries the WebSocket as one stream; otherwise a new HTTP/1.1 connection
// is opened for it (ALPN http/1.1 only). http1_1 always opens a new HTTP/1.1
// connection; http2 uses or opens an HTTP/2 connection and fails with
// websocket_errc::extended_connect_unsupported when the server does not
// allow extended CONNECT.
//
// @par Ownership
// A websocket owns its connection (over HTTP/1.1) or its stream (over
// HTTP/2, where the connection stays shared with the client's other
// requests); it is movable, not copyable. Destroying it aborts the
// connection (or resets the stream) without a close handshake: call close()
// first for a clean end. The client must outlive its websockets only for
// HTTP/2 ones (they share its connection); an HTTP/1.1 websocket is
// independent of the client once connected.
//
// @par Threading
// Like the client: one executor. At most one receive() may be pending at a
// time; sends may come from several coroutines at once (they go out one
// after the other, each message whole). A receive() and sends may run
// concurrently.
//
// @par Backpressure
// send_*() returns once the frame has been handed to the socket (or, over
// HTTP/2, to the stream within its flow-control window); while an earlier
// send is still being written it waits. Nothing is queued without bound:
// the memory held for sending is the messages of the senders waiting.
// receive() reads from the socket only when called: a reader that stops
// calling it stops the peer at TCP's (or the stream's) window.
//
// @par Errors
// result<T> with std::error_code: websocket_errc for the handshake
// (handshake_status, handshake_accept, handshake_upgrade,
// handshake_extension, handshake_subprotocol, extended_connect_unsupported)
// and for the protocol (framing errors with their close codes,
// websocket_errc::closed once the connection is closed, ping_timeout); the
// transport's (net_errc, tls_errc, http2_errc) otherwise. After a protocol
// error a close frame with the matching code (close_code_for()) has been
// sent. receive() fails with websocket_errc::closed after the peer's close;
// close_code()/close_reason() then tell what it sent.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>

#include "corvid/client.hpp"
#include "corvid/headers.hpp"
#include "corvid/result.hpp"

namespace corvid {

namespace detail {
struct websocket_impl;
}

/// Which HTTP version carries the WebSocket (see the header comment).
enum class websocket_transport { automatic, http1_1, http2 };

/// The permessage-deflate offer (RFC 7692) and the local compressor.
struct websocket_deflate_options {
    bool enabled = true;  ///< offer permessage-deflate
    /// Ask the server to reset its compressor after each message (less
    /// memory on both ends, worse ratio).
    bool server_no_context_takeover = false;
    /// Reset our compressor after each message (announced to the server).
    bool client_no_context_takeover = false;
    /// Ask the server to compress with at most 2^bits of window (8..15).
    std::optional<int> server_max_window_bits;
    /// Compress with at most 2^bits of window (8..15); unset: offer the
    /// parameter without a value and use what the server picks (at most 15).
    std::optional<int> client_max_window_bits;
    /// Messages smaller than this go uncompressed.
    std::size_t compression_threshold = 128;
    int level = 6;  ///< zlib level 1..9
};

struct websocket_options {
    /// Sec-WebSocket-Protocol values offered, in order of preference. When
    /// set, the server must pick one of them (handshake_subprotocol
    /// otherwise); when empty it must pick none.
    std::vector<std::string> subprotocols;
    /// Extra request headers (Origin, Authorization, ...), sent after the
    /// required ones; with a browser profile, in the browser's positions.
    corvid::headers headers;
    websocket_deflate_options deflate;
    websocket_transport transport = websocket_transport::automatic;
    /// The handshake (connect, TLS, upgrade response) must finish within
    /// this; 0: only the client's connect_timeout applies.
    std::chrono::milliseconds handshake_timeout{30'000};
    std::uint64_t max_frame_size = 16u << 20;    ///< larger frames fail with 1009
    std::uint64_t max_message_size = 64u << 20;  ///< larger messages (inflated) fail with 1009
    /// Keepalive: after this long without input from the server, send a
    /// ping; 0 turns keepalive off.
    std::chrono::milliseconds ping_interval{30'000};
    /// Keepalive: nothing received this long after the ping fails the
    /// connection with websocket_errc::ping_timeout (pending and later calls
    /// fail with it).
    std::chrono::milliseconds ping_timeout{20'000};
    /// close(): how long to wait for the server's close frame (and, over
    /// HTTP/1.1, for it to close TCP) before aborting the connection.
    std::chrono::milliseconds close_timeout{5'000};
};

enum class websocket_message_type : std::uint8_t { text = 1, binary = 2 };

/// A whole message.
struct websocket_message {
    websocket_message_type type = websocket_message_type::binary;
    std::string data;  ///< for text: valid UTF-8 (checked)
};

/// A piece of a message as it arrives (receive_frame()).
struct websocket_fragment {
    websocket_message_type type = websocket_message_type::binary;
    bool first = false;  ///< the message's first piece
    bool last = false;   ///< the message's last piece
    std::string data;    ///< decompressed when the message was compressed
};

class websocket {
  public:
    /// Opens a WebSocket to `url` (ws://, wss://; http:// and https:// are
    /// taken as ws:// and wss://) through `http`. When the server answers
    /// the handshake with an ordinary HTTP response (websocket_errc::
    /// handshake_status), `refusal`, if given, receives it (its body up to
    /// 64 KiB), so the caller can show what the server said.
    static asio::awaitable<result<websocket>> connect(client& http, std::string url,
                                                      websocket_options options = {},
                                                      buffered_response* refusal = nullptr);

    websocket(websocket&&) noexcept;
    websocket& operator=(websocket&&) noexcept;
    ~websocket();

    /// Sends one message (one frame, compressed when negotiated and above
    /// the threshold).
    asio::awaitable<result<void>> send_text(std::string_view text);
    asio::awaitable<result<void>> send_binary(std::span<const std::uint8_t> data);
    asio::awaitable<result<void>> send_binary(std::string_view data);
    asio::awaitable<result<void>> send(websocket_message_type type, std::string_view data);

    /// The next whole message. Pings are answered on the way.
    asio::awaitable<result<websocket_message>> receive();
    /// The next whole message if it has arrived already: receive()'s work
    /// without I/O and without suspending (no coroutine frame), into the
    /// caller's `into`, whose capacity is reused. For a reader draining a
    /// burst of small messages (hundreds can come in one read):
    ///
    ///     websocket_message m;
    ///     for (;;) {
    ///         auto got = ws.try_receive(m);
    ///         if (!got) { report(got.error()); break; }
    ///         if (!*got) {                       // nothing whole buffered
    ///             auto next = co_await ws.receive();
    ///             if (!next) { report(next.error()); break; }
    ///             m = std::move(*next);
    ///         }
    ///         use(m);
    ///     }
    ///
    /// true: `into` holds the message (its type and data replaced). false:
    /// no whole message is buffered, or a ping to answer, the server's close
    /// or a protocol error is next; receive() acts on it and goes on (when
    /// false, `into` is unspecified; a message begun is kept inside, and
    /// the next receive() or try_receive() completes it). Text is checked
    /// as UTF-8 and limits apply as in receive(). A pong is taken on the
    /// way (last_pong()). Fails only when the connection has failed or
    /// closed already: with the error receive() would return. Never reads
    /// from the socket, so a reader must call receive() when it gets false.
    /// Same thread and ordering rules as receive(): not while a receive()
    /// is pending; do not mix with receive_fragment() within one message.
    result<bool> try_receive(websocket_message& into);
    /// The next piece of a message, as soon as it arrives (for large or
    /// streamed messages). Do not mix with receive() within one message.
    asio::awaitable<result<websocket_fragment>> receive_fragment();

    /// Sends a ping (payload at most 125 bytes); the pong is seen by
    /// last_pong() during receive().
    asio::awaitable<result<void>> ping(std::string_view payload = {});

    /// The close handshake: sends a close frame with `code` (1000 by
    /// default; 1005 sends none) and `reason` (at most 123 bytes of UTF-8),
    /// then reads (and drops) messages until the server's close or
    /// close_timeout, then closes the connection. Succeeds when the server
    /// answered.
    asio::awaitable<result<void>> close(std::uint16_t code = 1000, std::string_view reason = {});

    /// Sends a close frame and returns; receive() then goes on delivering
    /// what the server still sends until its close (websocket_errc::closed).
    /// For programs that want the messages in flight; close() drops them.
    asio::awaitable<result<void>> send_close(std::uint16_t code = 1000,
                                             std::string_view reason = {});

    /// The subprotocol the server picked (empty: none).
    const std::string& subprotocol() const noexcept;
    /// The negotiated Sec-WebSocket-Extensions value (empty: none).
    const std::string& extensions() const noexcept;
    /// 11 for HTTP/1.1, 20 for HTTP/2.
    int http_version() const noexcept;
    /// The handshake response: status (101 or, over HTTP/2, 200) and headers.
    int handshake_status() const noexcept;
    const corvid::headers& handshake_headers() const noexcept;
    const connection_info& connection() const noexcept;
    /// The request head as sent (HTTP/1.1 form, as the client's
    /// response::request_head).
    const std::string& request_head() const noexcept;

    /// The server's close code (1005 when it sent none) and reason, once
    /// its close frame was received; 0 before.
    std::uint16_t close_code() const noexcept;
    const std::string& close_reason() const noexcept;
    /// Payload of the last pong received.
    const std::string& last_pong() const noexcept;
    bool is_open() const noexcept;

    /// Bytes of frames sent and received on the wire (after compression).
    std::uint64_t bytes_sent() const noexcept;
    std::uint64_t bytes_received() const noexcept;

  private:
    explicit websocket(std::shared_ptr<detail::websocket_impl> impl);
    std::shared_ptr<detail::websocket_impl> impl_;
};

}  // namespace corvid
