#pragma once

// corvid's HTTP client.
//
// Two ways in:
//  - the coroutine API, `co_await client.send(request)`, which returns once the
//    response head has arrived and lets the caller read the body as a stream;
//  - the blocking API (`corvid::blocking_client`) for simple programs.
//
// @par Threading
// A `client` belongs to one executor (typically an `asio::io_context` run by one
// thread). Call it, and the responses it returns, only from coroutines running
// on that executor. `cancel_token::cancel()` may be called from any coroutine
// on the same executor. Separate clients share nothing and may live on
// separate threads.
//
// @par Errors
// Every asynchronous call returns `result<T>`: a value, or a std::error_code in
// one of corvid's categories (net_errc, tls_errc, http1_errc, client_errc; see
// error.hpp) whose message() tells the user what went wrong and what to do.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "corvid/cookies.hpp"
#include "corvid/headers.hpp"
#include "corvid/profile.hpp"
#include "corvid/result.hpp"
#include "corvid/url.hpp"

namespace corvid {

namespace detail {
struct exchange;
struct client_impl;
struct cancel_state;
}  // namespace detail

/// Lets one coroutine cancel a request that another is running.
///
/// Copies share one state. After cancel(), the request's pending and future
/// operations fail with net_errc::cancelled, and the connection it used is
/// closed (never returned to the pool).
class cancel_token {
  public:
    cancel_token();
    void cancel();
    bool cancelled() const noexcept;
    std::shared_ptr<detail::cancel_state> state() const noexcept { return state_; }

  private:
    std::shared_ptr<detail::cancel_state> state_;
};

/// A streaming request body: each call yields the next chunk, an empty view
/// at the end. The view must stay valid until the next call. Without a
/// Content-Length set by the caller the body is sent chunked.
using body_source = std::function<asio::awaitable<result<std::string_view>>()>;

/// Which HTTP version to use (curl's --http1.1, --http2, --http2-prior-knowledge).
enum class http_version_policy {
    any,      ///< https: offer h2 and http/1.1 by ALPN; http: HTTP/1.1
    http1_1,  ///< HTTP/1.1 only
    http2,    ///< https: require h2 (tls_errc::alpn_mismatch otherwise); http: HTTP/1.1
    http2_prior_knowledge  ///< HTTP/2 without negotiation, also over plain TCP (h2c)
};

struct tls_options {
    bool verify_peer = true;         ///< verify chain and host name (off only with --insecure)
    std::string ca_file;             ///< PEM bundle trusted instead of the system store
    bool session_resumption = true;  ///< keep session tickets per origin
};

/// HTTP/2 connection settings (client_options::http2).
struct http2_options {
    /// Receive window of each stream, advertised as
    /// SETTINGS_INITIAL_WINDOW_SIZE: how much of one response body the server
    /// may send ahead of what the application has read (1 to 2^31-1). The
    /// window reopens as response::read_some() hands bytes over, so a slow
    /// reader holds the server back instead of making the client buffer.
    ///
    /// The defaults are Chrome's (6 MiB per stream, 15 MiB per connection):
    /// at most 15 MiB of unread body per connection, and few enough
    /// WINDOW_UPDATEs that a fast download does not wait for them. Measured
    /// against nghttpd on loopback (docs/benchmarks/README.md), a 1 MiB
    /// stream window made a 64 MiB download 8% slower than libcurl's, against
    /// 3% with libcurl's windows: nghttpd ran out of window between updates
    /// and read five times as many frames. libcurl uses 32 MiB for both and
    /// so buffers up to 32 MiB per stream.
    std::uint32_t stream_window = 6u << 20;
    /// Receive window of the whole connection, shared by its streams (65535
    /// to 2^31-1); raised from the RFC's 65535 by a WINDOW_UPDATE sent right
    /// after the preface.
    std::uint32_t connection_window = 15u << 20;
    /// Keepalive: after this long without a byte from the server, with or
    /// without requests in flight, send a PING; 0 turns keepalive off.
    std::chrono::milliseconds ping_interval{30'000};
    /// Keepalive: a PING still unanswered (nothing at all received) after
    /// this long closes the connection; its requests fail with
    /// http2_errc::ping_timeout. A dead peer or path is found this way in
    /// ping_interval + ping_timeout, where TCP alone may take many minutes.
    std::chrono::milliseconds ping_timeout{20'000};
};

struct client_options {
    std::chrono::milliseconds connect_timeout{30'000};    ///< per connection attempt set
    std::chrono::milliseconds read_timeout{0};            ///< max silence while reading; 0 = none
    std::chrono::milliseconds total_timeout{0};           ///< whole request incl. body; 0 = none
    std::chrono::milliseconds happy_eyeballs_delay{250};  ///< RFC 8305 attempt stagger

    bool follow_redirects = false;
    int max_redirects = 30;

    bool decompress = false;  ///< send Accept-Encoding: gzip, deflate, br, zstd and decode
    std::uint64_t max_decoded_bytes = std::uint64_t{1} << 30;  ///< decompression bomb limit

    /// Response header section limit. Over HTTP/2 it is the header list size
    /// as RFC 9113 counts it (each field: name + value + 32), also advertised
    /// as SETTINGS_MAX_HEADER_LIST_SIZE.
    std::size_t max_header_bytes = 64 * 1024;
    std::size_t max_header_fields = 256;  ///< most fields in a response head or trailers

    std::size_t max_connections_per_origin = 6;
    std::chrono::milliseconds pool_idle_timeout{60'000};

    bool enable_cookies = true;  ///< keep a cookie jar across requests
    tls_options tls;
    http_version_policy http_version = http_version_policy::any;
    http2_options http2;

    /// "http://host:port" (HTTP CONNECT) or "socks5://host:port" /
    /// "socks5h://host:port" (name resolved by the proxy). Empty: direct.
    std::string proxy;

    std::string user_agent = "corvid/0.1";  ///< empty: no User-Agent header
    std::string accept = "*/*";             ///< default Accept; empty: no Accept header

    /// A browser profile (profile.hpp, e.g. profile::load("chrome")): the
    /// TLS ClientHello, the HTTP/2 preface and HEADERS, and the default
    /// request headers of that browser. Null (the default): corvid's own
    /// plain client. With a profile:
    /// - user_agent and accept are ignored: the profile's headers for the
    ///   request's kind (request::kind) are sent, in the profile's order; a
    ///   header in request::headers replaces the profile's in its position,
    ///   one the profile does not have goes where the browser would put it;
    /// - responses are decoded when the profile sent Accept-Encoding (as a
    ///   browser does), whatever `decompress` says;
    /// - over HTTP/2 the profile's SETTINGS, windows and priorities replace
    ///   `http2`'s windows, and its MAX_HEADER_LIST_SIZE, when it sends one,
    ///   is the response header limit;
    /// - ALPN is the profile's list unless http_version restricts it.
    std::shared_ptr<const corvid::profile> profile;

    /// Receives one human-readable line per connection event (resolving,
    /// trying an address, TLS details). Used by `corvid -v`.
    std::function<void(std::string_view)> trace;
};

struct request {
    std::string method = "GET";
    std::string url;
    corvid::headers headers;  ///< sent in exactly this order, after Host
    std::string body;         ///< a whole body (ignored when body_stream is set)
    body_source body_stream;  ///< a streaming body
    cancel_token cancel;
    /// Overrides client_options::total_timeout for this request.
    std::optional<std::chrono::milliseconds> timeout;
    /// Which of a browser profile's header sets to send (ignored without a
    /// profile).
    request_kind kind = request_kind::navigation;
};

/// Connection facts for `-v` and `-w`.
struct connection_info {
    std::string remote_address;
    std::uint16_t remote_port = 0;
    std::string local_address;
    std::uint16_t local_port = 0;
    bool reused = false;  ///< came from the pool
    bool tls = false;
    std::string tls_version;  ///< e.g. "TLSv1.3"
    std::string tls_cipher;   ///< e.g. "TLS_AES_128_GCM_SHA256"
    std::string alpn;         ///< negotiated ALPN protocol, empty if none
    bool tls_resumed = false;
    std::string peer_subject;  ///< certificate subject, when verified
    std::string peer_issuer;
};

/// Seconds since the request started, as curl's -w reports them.
struct timings {
    double name_lookup = 0;
    double connect = 0;
    double app_connect = 0;     ///< TLS handshake done (0 for plain HTTP)
    double start_transfer = 0;  ///< first response byte
    double total = 0;           ///< body complete (or now, while streaming)
    double redirect = 0;        ///< time spent in earlier redirect hops
};

/// A response whose body is read as a stream.
///
/// Owns the connection until the body has been read to the end, then returns
/// it to the pool. Destroying a response whose body is unread closes the
/// connection instead: a connection is never reused half-read.
class response {
  public:
    response();
    ~response();
    response(response&&) noexcept;
    response& operator=(response&&) noexcept;

    int status = 0;
    std::string reason;
    int version = 11;  ///< 10 or 11 for HTTP/1.x, 20 for HTTP/2
    corvid::headers headers;
    std::string effective_url;  ///< after redirects
    int redirect_count = 0;
    connection_info connection;
    std::size_t connects = 0;  ///< new connections this request opened
    /// The request head exactly as sent (the last hop's), CRLFs included.
    std::string request_head;

    /// Trailer fields; complete once the body has been read to the end.
    const corvid::headers& trailers() const;
    /// Timings; `total` is final once the body has been read to the end.
    corvid::timings timings() const;
    /// Body bytes received on the wire so far (before decoding).
    std::uint64_t wire_body_bytes() const;

    /// The next piece of the (decoded) body, an empty view at the end. The
    /// view is valid until the next call on this response.
    asio::awaitable<result<std::string_view>> read_some();
    /// The rest of the body; fails with http1_errc::body_too_large past `limit`.
    asio::awaitable<result<std::string>> read_all(std::uint64_t limit = UINT64_MAX);
    /// Reads and drops the rest of the body, so the connection can be reused.
    asio::awaitable<result<void>> discard();
    bool body_complete() const;

  private:
    friend struct detail::client_impl;
    std::shared_ptr<detail::exchange> exchange_;
};

/// A response with its whole body.
struct buffered_response {
    int status = 0;
    std::string reason;
    int version = 11;
    corvid::headers headers;
    corvid::headers trailers;
    std::string body;
    std::string effective_url;
    int redirect_count = 0;
    connection_info connection;
    corvid::timings timings;
    std::size_t connects = 0;
    std::string request_head;
};

/// An HTTP client with a keep-alive pool per origin, cookies, redirects,
/// content decoding and proxies. See the threading note at the top.
class client {
  public:
    explicit client(asio::any_io_executor executor, client_options options = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Sends `req` and returns once the final response head has arrived
    /// (after following redirects when enabled).
    asio::awaitable<result<response>> send(request req);
    /// send() and read the whole body.
    asio::awaitable<result<buffered_response>> fetch(request req);

    cookie_jar& cookies() noexcept;
    const client_options& options() const noexcept;
    /// Connections opened since the client was made.
    std::size_t total_connects() const noexcept;
    /// Idle connections currently pooled (HTTP/2 ones without open streams included).
    std::size_t idle_connections() const noexcept;
    /// Closes pooled idle connections, HTTP/2 connections without open
    /// streams included. An open HTTP/2 connection keeps a read pending (to
    /// see PINGs, SETTINGS and GOAWAY), so an `io_context::run()` does not
    /// return while one is open: call this (or destroy the client) when done.
    void close_idle();

    /// Switches the browser profile (null: none) for what follows: requests
    /// sent from now on use its headers, and connections opened from now on
    /// its ClientHello and HTTP/2 settings. Idle pooled connections are
    /// closed, so the next request opens a connection with the new
    /// fingerprint; a connection busy with a request keeps the fingerprint
    /// it was opened with and may be reused afterwards, as a browser reuses
    /// its connections. Session tickets cached so far are dropped (a new
    /// profile is a new browser). Errors: the profile's TLS settings refused by the
    /// library (tls_errc::bad_profile), in which case nothing changes.
    result<void> set_profile(std::shared_ptr<const corvid::profile> browser);

  private:
    friend class websocket;  // opens its tunnel through the client's pool and settings
    std::shared_ptr<detail::client_impl> impl_;
};

/// A blocking client for simple programs: each call runs its own event loop
/// on the calling thread until the response body is complete. Throws
/// corvid::error on failure. Not thread-safe: one per thread.
class blocking_client {
  public:
    explicit blocking_client(client_options options = {});
    ~blocking_client();
    buffered_response fetch(request req);
    buffered_response get(std::string url);
    buffered_response post(std::string url, std::string body,
                           std::string content_type = "application/octet-stream");
    cookie_jar& cookies() noexcept;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace corvid
