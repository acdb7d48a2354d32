#pragma once

// The server side of WebSocket on http1_server: the opening handshake over
// HTTP/1.1 (RFC 6455 section 4.2) and over HTTP/2 extended CONNECT
// (RFC 8441), permessage-deflate (RFC 7692), and a session that drives the
// sans-I/O codec (proto/ws/codec.hpp, role server) over the upgraded
// byte_stream.
//
// Use from a handler:
//
//     asio::awaitable<outgoing_response> handle(const incoming_request& req) {
//         if (req.target == "/ws") {
//             co_return accept_websocket(req, options, [](auto session)
//                                                          -> asio::awaitable<void> {
//                 while (auto m = co_await session->receive()) {
//                     co_await session->send(m->type, m->data);
//                 }
//             });
//         }
//         ...
//     }
//
// accept_websocket() answers an invalid upgrade with 400 (426 for an
// unsupported Sec-WebSocket-Version), and a valid one with 101 (HTTP/1.1) or
// 200 (HTTP/2) plus the upgrade that runs the session. HTTP/2 needs
// server_options::enable_connect_protocol.
//
// The session. One coroutine (the websocket_handler) owns it while the
// connection lives; it is a shared_ptr so that other coroutines (a pub/sub
// fan-out) may hold it and send(), but the transport under it lives only as
// long as the websocket_handler's coroutine plus the closing handshake:
// afterwards every call fails with websocket_errc::closed.
// - receive() reads and returns the next whole message (fragments are
//   assembled, compressed messages inflated and text checked as UTF-8).
//   Pings are answered and the peer's close is echoed inside it, so keep a
//   receive() going (one at a time). Not reading is the backpressure: the
//   peer's TCP window (or HTTP/2 stream window) closes.
// - send() queues one message; the bytes queued and not yet written are
//   bounded by websocket_options::max_queued_bytes: a send() that finds the
//   queue at or over it waits until the writer has drained it below (one
//   message may pass the bound by its own size). try_send() never waits: it
//   fails with websocket_errc::queue_full instead and queues nothing.
// - close(code, reason) starts the closing handshake; the session ends when
//   the peer's close arrives (receive() then returns websocket_errc::closed)
//   or after close_timeout. When the websocket_handler returns without
//   closing, a close 1000 is sent for it; after a protocol error the codec's
//   close code (1002, 1007, 1009) is sent and receive() returns the error.
//
// @par Threading
// Everything runs on the server's executor; a session is not thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "corvid/result.hpp"
#include "proto/ws/codec.hpp"
#include "proto/ws/deflate.hpp"
#include "proto/ws/utf8.hpp"
#include "server/http1_server.hpp"

namespace corvid::server {

struct websocket_options {
    /// Subprotocols we speak, most preferred first; the first one the client
    /// offers (Sec-WebSocket-Protocol) is chosen. None offered or none in
    /// common: the connection goes on without a subprotocol.
    std::vector<std::string> subprotocols;
    /// Accept permessage-deflate when the client offers it, per `deflate`.
    bool permessage_deflate = true;
    ws::deflate_server_config deflate;
    /// zlib level, memLevel and the size below which messages go
    /// uncompressed (window bits and context takeover come from the
    /// negotiation).
    ws::deflater_options deflater;
    /// Largest frame and message accepted (1009 beyond). max_message_size
    /// also bounds an inflated message.
    ws::codec_limits limits{16u << 20, 16u << 20};
    /// Bytes queued for sending before send() waits (see the header comment).
    std::size_t max_queued_bytes = 1u << 20;
    /// The session's read buffer (one read_some() at most this much).
    std::size_t read_buffer_size = 64 * 1024;
    /// Send a ping after this long without receiving anything; 0: never.
    std::chrono::milliseconds ping_interval{0};
    /// Abort the connection after this long without receiving anything
    /// (pongs count); 0: never.
    std::chrono::milliseconds idle_timeout{0};
    /// How long the closing handshake may take before the connection is
    /// aborted.
    std::chrono::milliseconds close_timeout{5000};
};

/// The outcome of checking a request as a WebSocket opening handshake.
struct websocket_handshake {
    /// The request is a valid upgrade; `response` is the 101 (HTTP/1.1) or
    /// 200 (HTTP/2) head without `upgrade` set.
    bool accepted = false;
    /// Accepted: the success head. Not accepted: 400 with a short text body
    /// saying what is wrong, or 426 with Sec-WebSocket-Version: 13.
    outgoing_response response;
    std::string subprotocol;                       ///< chosen; empty: none
    std::optional<ws::deflate_agreement> deflate;  ///< negotiated permessage-deflate
};

/// Checks `req` (HTTP/1.1: GET, Upgrade: websocket, Connection: upgrade,
/// Sec-WebSocket-Version: 13, a Sec-WebSocket-Key of 16 base64 bytes;
/// HTTP/2: CONNECT with :protocol websocket and Sec-WebSocket-Version: 13),
/// picks the subprotocol and negotiates permessage-deflate. An extension
/// header that does not parse is declined (no extension), not refused.
websocket_handshake check_websocket_upgrade(const incoming_request& req,
                                            const websocket_options& options);

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
std::string websocket_accept_key(std::string_view key);

/// One received message. `data` views the session's buffers (or its read
/// buffer) and is valid until the next receive() on the same session.
struct websocket_message {
    ws::message_type type = ws::message_type::binary;
    std::string_view data;
};

class websocket_session : public std::enable_shared_from_this<websocket_session> {
  public:
    /// Created by accept_websocket()'s upgrade; public for make_shared.
    websocket_session(asio::any_io_executor executor, byte_stream& stream,
                      const websocket_options& options, std::string subprotocol,
                      std::optional<ws::deflate_agreement> deflate);
    websocket_session(const websocket_session&) = delete;
    websocket_session& operator=(const websocket_session&) = delete;

    /// The next whole message (see the header comment). Errors:
    /// websocket_errc::closed after the peer's close (peer_close_code()
    /// says which) or once the session is over; a codec error
    /// (websocket_errc, the matching close was sent); inflate_failed,
    /// inflated_too_large, invalid_utf8 for compressed messages; the
    /// transport's error when the connection broke (peer code 1006).
    /// One receive() at a time.
    asio::awaitable<result<websocket_message>> receive();

    /// Queues a message, compressed when permessage-deflate was negotiated
    /// and the message reaches the deflater's threshold; waits while the
    /// queue is full. `data` is copied before the first suspension point
    /// that matters: it may be released once send() returns. Errors:
    /// websocket_errc::closed (a close was sent, or the session is over).
    asio::awaitable<result<void>> send(ws::message_type type, std::string_view data);
    asio::awaitable<result<void>> send_text(std::string_view text) {
        return send(ws::message_type::text, text);
    }
    asio::awaitable<result<void>> send_binary(std::string_view data) {
        return send(ws::message_type::binary, data);
    }

    /// send() that never suspends, for fan-out (one slow client must not
    /// hold up a broadcast): queues the message exactly as send() does
    /// (compressed likewise) when queued_bytes() < max_queued_bytes, and
    /// otherwise queues nothing and returns websocket_errc::queue_full (the
    /// caller decides: drop the message, or close/abort the session). One
    /// message may pass the bound by its own size, as with send(). `data`
    /// is copied before it returns. Errors: queue_full; closed (a close was
    /// sent, or the session is over); a deflate failure (the session is
    /// then failed with 1011). Callable from any coroutine or callback on
    /// the session's executor, also while a send() waits.
    std::error_code try_send(ws::message_type type, std::string_view data);

    /// Sends a ping (payload at most 125 bytes). Errors as send(), plus
    /// control_frame_too_long.
    std::error_code ping(std::string_view payload = {});

    /// Starts the closing handshake with `code` (see ws::is_valid_close_code;
    /// ws::close_code::no_status sends none) and `reason` (UTF-8, at most
    /// 123 bytes). Messages already queued go out first. Errors: closed (a
    /// close was already sent), invalid_close_code, control_frame_too_long,
    /// invalid_utf8.
    std::error_code close(std::uint16_t code = ws::close_code::normal,
                          std::string_view reason = {});

    /// Drops the connection at once, without a close frame. Idempotent.
    void abort() noexcept;

    /// A message can still be sent (no close sent, connection alive).
    bool is_open() const noexcept;
    /// The code of the peer's close (1005: none given; 1006: the connection
    /// ended without a close frame, or none received yet).
    std::uint16_t peer_close_code() const noexcept { return peer_code_; }
    const std::string& peer_close_reason() const noexcept { return peer_reason_; }
    const std::string& subprotocol() const noexcept { return subprotocol_; }
    /// permessage-deflate is in use.
    bool compressed() const noexcept { return deflate_.has_value(); }
    const std::optional<ws::deflate_agreement>& deflate() const noexcept { return deflate_; }
    /// 11 or 20.
    int http_version() const noexcept { return version_; }
    /// Bytes queued for sending and not yet written.
    std::size_t queued_bytes() const noexcept { return codec_.buffered_output(); }
    /// The bound of queued_bytes() (websocket_options::max_queued_bytes).
    std::size_t max_queued_bytes() const noexcept { return options_.max_queued_bytes; }
    /// Data messages queued by send() and try_send() so far (not pings or
    /// closes; queued is not yet written: a connection that breaks loses
    /// what was still queued).
    std::uint64_t messages_sent() const noexcept { return messages_sent_; }
    /// Bytes written to the transport so far: every frame, on the wire
    /// (after compression and framing).
    std::uint64_t bytes_sent() const noexcept { return bytes_sent_; }

    /// Runs the session over its stream: starts the writer (and keepalive),
    /// awaits `handler`, then completes the closing handshake and returns
    /// when the stream may be closed. Used by accept_websocket().
    asio::awaitable<void> run(
        std::function<asio::awaitable<void>(std::shared_ptr<websocket_session>)> on_open);

  private:
    asio::awaitable<void> writer();
    asio::awaitable<void> keepalive();
    std::error_code fail(std::error_code ec, std::uint16_t close_code);
    /// Queues one message (compressing it if due); never suspends.
    std::error_code enqueue(ws::message_type type, std::string_view data);
    void wake_writer() { write_signal_.cancel(); }

    asio::any_io_executor executor_;
    byte_stream* stream_;  // null once run() has returned
    websocket_options options_;
    std::string subprotocol_;
    std::optional<ws::deflate_agreement> deflate_;
    int version_;
    ws::codec codec_;
    std::optional<ws::deflater> deflater_;
    std::optional<ws::inflater> inflater_;

    std::unique_ptr<char[]> rbuf_;
    std::size_t rpos_ = 0;
    std::size_t rend_ = 0;
    std::string message_;                   // an assembled uncompressed message
    std::vector<std::uint8_t> inflated_;    // an inflated message
    std::vector<std::uint8_t> compressed_;  // a message being sent compressed
    ws::message_type type_ = ws::message_type::binary;
    bool message_compressed_ = false;

    asio::steady_timer write_signal_;  // cancel() wakes the writer; never re-armed
    asio::steady_timer drained_;       // cancel() wakes waiting senders
    asio::steady_timer writer_exit_;   // cancelled when the writer ends
    bool writer_running_ = false;
    bool finishing_ = false;  // run() is ending: the writer stops once flushed
    bool transport_failed_ = false;
    std::error_code error_;
    std::uint16_t peer_code_ = 1006;
    std::string peer_reason_;
    std::chrono::steady_clock::time_point last_received_;
    std::uint64_t messages_sent_ = 0;
    std::uint64_t bytes_sent_ = 0;
};

/// What runs a session once the handshake is done.
using websocket_handler = std::function<asio::awaitable<void>(std::shared_ptr<websocket_session>)>;

/// Checks `req` (check_websocket_upgrade) and returns either the error
/// response or the success head with an upgrade that runs `on_open` on a
/// new websocket_session (websocket_session::run).
outgoing_response accept_websocket(const incoming_request& req, const websocket_options& options,
                                   websocket_handler on_open);

/// Receives messages until the session ends and hands each to
/// `on_message` (awaited: a slow callback slows reading). Returns the error
/// receive() ended with (websocket_errc::closed after a normal close).
asio::awaitable<std::error_code> for_each_message(
    std::shared_ptr<websocket_session> session,
    std::function<asio::awaitable<void>(websocket_session&, websocket_message)> on_message);

/// The echo: every message goes back with the same type (fragmented ones as
/// one whole message) until the peer closes.
asio::awaitable<void> websocket_echo(std::shared_ptr<websocket_session> session);

}  // namespace corvid::server
