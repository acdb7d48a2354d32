#pragma once

// A small HTTP/1.1 and HTTP/2 server on corvid's own codecs and TLS layer: the in-process
// fixture for tests, the demo and benchmarks, and the listener of
// corvid-server (engine/).
//
// Each accepted connection runs as one coroutine: parse a request
// (h1::request_parser, with its limits), call the handler, write the
// response (whole, chunked pieces with optional pacing and trailers, or a
// streamed body), repeat while keep-alive allows. Malformed requests get a
// 400 and the connection is closed; other connections are unaffected.
//
// Several workers: one io_context, thread and http1_server each, all
// listening on one port with server_options::reuse_port, sharing one
// connection_limiter; stop_accepting() on each for a graceful drain.
//
// @par Threading
// One executor. listen(), stop(), stop_accepting() and the accessors are
// called from it (or before it runs). The limiter is the only shared part.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>

#include "corvid/headers.hpp"
#include "corvid/result.hpp"
#include "net/stream.hpp"
#include "proto/h1/parser_types.hpp"
#include "server/limits.hpp"
#include "tls/context.hpp"

namespace corvid::server {

struct incoming_request {
    std::string method;
    std::string target;
    int version = 11;  ///< 11 or 20
    /// HTTP/2 extended CONNECT (RFC 8441): the :protocol value, e.g.
    /// "websocket"; empty otherwise.
    std::string protocol;
    corvid::headers fields;
    std::string body;
    corvid::headers trailers;
    std::string remote_address;
    bool tls = false;
};

/// The bytes of an upgraded connection (HTTP/1.1 after 101) or of an
/// extended CONNECT stream (HTTP/2 after 2xx), for an upgrade handler.
///
/// @par Threading and lifetime
/// Valid only while the upgrade handler runs, on the server's executor. One
/// read_some() and one write() may be pending at once (from two coroutines).
class byte_stream {
  public:
    virtual ~byte_stream() = default;

    /// Reads at least one byte into `buffer`; 0 at the peer's clean end
    /// (TCP FIN or close_notify on HTTP/1.1, END_STREAM on HTTP/2). Errors:
    /// the transport's (system errors, tls_errc) on HTTP/1.1; on HTTP/2 the
    /// stream's (http2_errc::stream_reset when the client reset it) or
    /// std::errc::connection_aborted once the stream or connection is gone.
    /// After close() or http1_server::stop(): connection_aborted or the
    /// transport's operation_aborted.
    /// On HTTP/2 at most the stream's receive window (the server's
    /// SETTINGS_INITIAL_WINDOW_SIZE, 1 MiB) is buffered for the reader.
    virtual asio::awaitable<result<std::size_t>> read_some(std::span<char> buffer) = 0;

    /// Writes every byte of every buffer, waiting while the transport (or
    /// the HTTP/2 flow-control window) is full. Errors as read_some().
    virtual asio::awaitable<result<void>> write(std::span<const asio::const_buffer> buffers) = 0;

    /// Aborts at once: the TCP connection (HTTP/1.1) or the stream
    /// (HTTP/2, RST_STREAM CANCEL) is closed; pending operations fail.
    /// Idempotent.
    virtual void close() noexcept = 0;

    /// 11 or 20: the HTTP version the stream runs over.
    virtual int http_version() const noexcept = 0;
};

/// Takes over a connection or stream; see the header comment.
using upgrade_handler = std::function<asio::awaitable<void>(byte_stream&)>;

// Streamed response bodies (outgoing_response::stream_body), e.g. for
// server-sent events. Set with a 2xx status (not 204) on an ordinary
// request (not CONNECT, not an upgrade): the head goes out at once without
// Content-Length (HTTP/1.1: Transfer-Encoding: chunked; an HTTP/1.0 request
// gets no framing, the body ending with the connection; HTTP/2: HEADERS
// without END_STREAM); then stream_body runs with a byte_stream whose
// - write() sends its bytes as one chunk (HTTP/1.1; a write of no bytes
//   sends nothing) or as DATA (HTTP/2; consecutive writes may share a
//   frame), waiting while TCP (HTTP/1.1) or the stream's send buffer
//   (HTTP/2; flow control) is full;
// - read_some() never returns request bytes: it completes only when the
//   client has gone, with 0 or an error (HTTP/1.1: FIN or a broken
//   connection; bytes the client sends meanwhile, e.g. a pipelined request,
//   are kept for after the body, up to the connection's 64 KiB read buffer
//   and discarded beyond it; HTTP/2: RST_STREAM, http2_errc::stream_reset,
//   or the connection's end, connection_aborted), so a handler can race
//   "client gone" against its message source. Cancelling a pending
//   read_some() (asio per-operation cancellation, e.g. awaitable operators'
//   `||`) completes it with operation_aborted;
// - close() aborts: HTTP/1.1 closes the connection, HTTP/2 resets the
//   stream (RST_STREAM CANCEL).
// When stream_body returns (without close()) the body ends properly: the
// last chunk `0\r\n\r\n` (HTTP/1.1) or an empty DATA with END_STREAM
// (HTTP/2). An HTTP/1.1 connection then carries the client's next request,
// like any keep-alive response (LLM APIs stream completions this way, one
// after another on one connection), unless the request or the response
// said Connection: close, the server is draining, the client left, a
// read_some() was still running when stream_body returned, or bytes were
// discarded: then it closes (and the head said Connection: close whenever
// that was known before the body). A HEAD request gets the head only, with
// Connection: close; stream_body does not run. `body`, `chunks`
// and `trailers` must be empty; with any other status stream_body is
// ignored and the response is sent as usual.

struct outgoing_response {
    int status = 200;
    std::string reason;  ///< empty: the standard phrase
    corvid::headers fields;
    std::string body;                 ///< sent with Content-Length (unless `chunks` is used)
    std::vector<std::string> chunks;  ///< non-empty: sent chunked, one chunk each
    std::chrono::milliseconds chunk_interval{0};  ///< pacing between chunks (absolute deadlines)
    corvid::headers trailers;                     ///< chunked only
    bool close = false;                           ///< close the connection after this response
    bool until_close = false;            ///< no framing: the body ends when the connection closes
    std::chrono::milliseconds delay{0};  ///< wait before sending the head
    /// Set with status 101 (HTTP/1.1) or 2xx to a CONNECT (HTTP/2): runs on
    /// the connection/stream after the head is sent (see the header comment).
    /// `body`, `chunks` and `trailers` must then be empty.
    upgrade_handler upgrade;
    /// Set with a 2xx status on an ordinary request: a body streamed by this
    /// handler, e.g. server-sent events (see "Streamed response bodies"
    /// above).
    upgrade_handler stream_body;
};

using handler = std::function<asio::awaitable<outgoing_response>(const incoming_request&)>;

struct server_options {
    /// Request head limits, on both HTTP versions. HTTP/1.1: a head over
    /// max_header_bytes gets 431, more than max_fields fields 400 (then the
    /// connection closes). HTTP/2: max_header_bytes is advertised as
    /// SETTINGS_MAX_HEADER_LIST_SIZE and enforced (RFC 9113 accounting,
    /// name + value + 32 per field), max_fields likewise; a request over
    /// either is reset (the connection goes on). max_body_bytes is ignored
    /// here: see max_request_body.
    h1::parser_limits limits;
    /// Request body bytes (after chunked decoding), on both versions:
    /// HTTP/1.1 answers 413 and closes; HTTP/2 resets the stream
    /// (REFUSED_STREAM).
    std::uint64_t max_request_body = 16 * 1024 * 1024;
    /// How long a connection may sit without a request in progress, on both
    /// versions. HTTP/1.1: from accept (or the end of the previous
    /// response) until a request head is complete, so a slow head counts
    /// too; then closed without an answer. HTTP/2: no bytes received and no
    /// stream open for this long; then GOAWAY and close. Upgraded and
    /// streamed-body connections are not subject to it (the WebSocket has
    /// its own keepalive).
    std::chrono::milliseconds idle_timeout{30'000};
    /// Serve HTTP/2 too: over TLS when ALPN selects "h2" (list "h2" in the
    /// server context's ALPN), and over plain TCP when a connection opens
    /// with the HTTP/2 preface (h2c with prior knowledge).
    bool http2 = true;
    /// Most concurrent streams per HTTP/2 connection.
    std::uint32_t max_concurrent_streams = 100;
    /// HTTP/2: advertise SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441) so
    /// clients may send extended CONNECT (:protocol), e.g. for WebSocket.
    /// Without it nghttp2 refuses requests carrying :protocol.
    bool enable_connect_protocol = false;
    /// SO_REUSEPORT on the listening socket (before bind): several servers
    /// (e.g. one per worker thread, each with its own io_context) listen on
    /// the same address and port and the kernel spreads new connections
    /// among them. Every server on the port must set it. Beware: any other
    /// process of the same user that sets it may join the port too (Linux
    /// shares it by effective UID), so a second instance started by mistake
    /// silently takes a share of the connections instead of failing to bind.
    bool reuse_port = false;
    /// Connection limits (server/limits.hpp), shared by every server that
    /// should count together; null: none. Checked right after accept, before
    /// the TLS handshake or any read. A connection over a limit is closed at
    /// once; on plain TCP it first gets, best effort (one non-blocking send,
    /// nothing read), `HTTP/1.1 503 Service Unavailable` with Retry-After: 1,
    /// Connection: close and an empty body (an HTTP/2 prior-knowledge client
    /// sees a protocol error instead); a TLS connection is closed without a
    /// word (no handshake is spent on it). Admitted connections hold their
    /// place until they end, upgraded (WebSocket) and streaming ones
    /// included.
    std::shared_ptr<connection_limiter> limiter;
};

class http1_server : public std::enable_shared_from_this<http1_server> {
  public:
    /// `tls` null: plain HTTP.
    static std::shared_ptr<http1_server> create(asio::any_io_executor executor, handler h,
                                                std::shared_ptr<tls::server_context> tls = nullptr,
                                                server_options options = {});

    /// Binds and starts accepting. Port 0 picks a free one (see port()).
    /// The listening socket and every accepted one are close-on-exec, so a
    /// child process does not keep them (or the port) open.
    result<void> listen(const std::string& address = "127.0.0.1", std::uint16_t port = 0);
    /// Stops accepting and closes every open connection.
    void stop();
    /// Stops accepting (closes the listening socket; with reuse_port, the
    /// other servers on the port get the new connections) and lets open
    /// connections finish: HTTP/1.1 connections idle between requests are
    /// closed now, busy ones after their current response (which says
    /// Connection: close); HTTP/2 connections get GOAWAY (NO_ERROR: their
    /// open streams finish, new ones are refused) and are closed once no
    /// stream is open; upgraded WebSockets and streamed bodies go on until
    /// they end. stop() still closes everything. listen() may not be called
    /// again.
    void stop_accepting();

    std::uint16_t port() const noexcept { return port_; }
    std::size_t connections_accepted() const noexcept { return accepted_; }
    std::size_t requests_served() const noexcept { return served_; }
    std::size_t open_connections() const noexcept { return live_.size(); }
    /// Connections closed right after accept by server_options::limiter.
    std::size_t connections_refused() const noexcept { return refused_; }

  private:
    // What stop_accepting() needs to know about an open connection.
    struct live_connection {
        bool idle = false;            // HTTP/1.1, waiting for a request's first byte
        std::function<void()> drain;  // HTTP/2: GOAWAY, close when no stream is open
    };

    http1_server(asio::any_io_executor executor, handler h,
                 std::shared_ptr<tls::server_context> tls, server_options options);
    asio::awaitable<void> accept_loop();
    void on_accepted(asio::ip::tcp::socket socket);
    asio::awaitable<void> serve(asio::ip::tcp::socket socket, std::string remote,
                                connection_permit permit);
    /// Serves one HTTP/2 connection; `received` holds bytes already read.
    asio::awaitable<void> serve_h2(net::stream& stream, std::string received, live_connection& conn,
                                   std::string remote);

    asio::any_io_executor executor_;
    handler handler_;
    std::shared_ptr<tls::server_context> tls_;
    server_options options_;
    asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::size_t accepted_ = 0;
    std::size_t served_ = 0;
    std::size_t refused_ = 0;
    bool stopped_ = false;
    bool draining_ = false;                          // stop_accepting() was called
    std::map<net::stream*, live_connection*> live_;  // open connections, closed by stop()
};

/// Whether `res`, answering a request with `method`, has a streamed body
/// (stream_body set, 2xx but not 204, not CONNECT).
bool streams_body(const outgoing_response& res, std::string_view method) noexcept;

/// The standard reason phrase for a status code ("OK", "Not Found", ...).
const char* reason_phrase(int status) noexcept;

}  // namespace corvid::server
