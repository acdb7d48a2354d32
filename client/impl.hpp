#pragma once

// Private pieces shared by client.cpp, connector.cpp and blocking.cpp.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/content_decoder.hpp"
#include "client/h2_connection.hpp"
#include "client/pool.hpp"
#include "corvid/client.hpp"
#include "net/watchdog.hpp"
#include "proto/h1/response_parser.hpp"
#include "tls/context.hpp"

namespace corvid::detail {

using clock = std::chrono::steady_clock;

struct cancel_state {
    bool cancelled = false;
    std::function<void()> hook;  ///< set by the running request
};

inline double seconds_since(clock::time_point start) {
    return std::chrono::duration<double>(clock::now() - start).count();
}

/// The proxy configuration parsed from client_options::proxy.
struct proxy_config {
    enum class kind { none, http, socks5, socks5h } type = kind::none;
    corvid::url address;  ///< the proxy itself
};
result<proxy_config> parse_proxy(const std::string& text);

/// Opens a connection for `target`: resolve, Happy Eyeballs, proxy tunnel or
/// SOCKS, TLS. Updates the name_lookup/connect/app_connect timings (seconds
/// since `start`).
asio::awaitable<result<std::unique_ptr<connection>>> open_connection(
    const corvid::url& target, const proxy_config& proxy, const client_options& options,
    tls::client_context* tls_context, net::watchdog& dog, clock::time_point start,
    corvid::timings& timings, const std::vector<std::string>& alpn);

/// One response body being read, owned by the response: the part every
/// protocol shares (content decoding, timings, trailers, completion) over a
/// protocol-specific source of the body's wire bytes.
struct exchange {
    // The response head, whatever the protocol.
    int status = 0;
    std::string reason;
    int version = 11;
    corvid::headers fields;
    connection_info info;
    bool has_body = true;

    std::shared_ptr<net::watchdog> dog;
    clock::time_point start;
    corvid::timings timings;
    corvid::headers trailers;
    std::unique_ptr<content_decoder> decoder;
    std::string decoded;
    std::uint64_t wire_bytes = 0;
    bool complete = false;  ///< the wire body has ended (or failed)
    bool decoder_finished = false;
    std::error_code error;

    virtual ~exchange() = default;

    /// The next piece of the body as it came off the wire; an empty view at
    /// the end. Sets `complete` (and releases the connection) at the end.
    virtual asio::awaitable<result<std::string_view>> next_wire_chunk() = 0;
    /// Ends the exchange with `ec`, closing what it holds; returns `ec`.
    virtual std::error_code fail(std::error_code ec) = 0;

    /// next_wire_chunk(), decoded when the response has a Content-Encoding.
    asio::awaitable<result<std::string_view>> next_chunk();
};

/// An HTTP/1.1 exchange: the connection is this response's alone until the
/// body has been read, then goes back to the pool.
struct h1_exchange final : exchange {
    std::weak_ptr<client_impl> owner;
    std::unique_ptr<connection> conn;
    h1::response_parser parser;
    bool no_reuse = false;  ///< the request body was not sent: close after this

    explicit h1_exchange(h1::parser_limits limits) : parser(limits) {}
    ~h1_exchange() override;

    asio::awaitable<result<std::string_view>> next_wire_chunk() override;
    std::error_code fail(std::error_code ec) override;
    void finish_ok();
};

/// An HTTP/2 exchange: one stream of a shared connection.
struct h2_exchange final : exchange {
    std::shared_ptr<h2_connection> conn;
    std::shared_ptr<h2_stream> stream;
    std::string current;  // the chunk handed out last

    ~h2_exchange() override;
    asio::awaitable<result<std::string_view>> next_wire_chunk() override;
    std::error_code fail(std::error_code ec) override;
};

/// A request as it goes out on one hop (redirects rewrite it).
struct outgoing {
    std::string method;
    corvid::url target;
    corvid::headers user_headers;
    std::string body;
    body_source body_stream;
    bool body_stream_started = false;
    request_kind kind = request_kind::navigation;
    /// RFC 8441 :protocol of an extended CONNECT over HTTP/2 (the stream
    /// then stays open for the tunnel); empty: an ordinary request.
    std::string protocol;
};

/// The pool key of `target` (its origin, and the proxy in use).
std::string pool_key_for(const corvid::url& target, const proxy_config& proxy);
/// The request's header fields, Host first: the client's defaults or the
/// browser profile's template for out.kind, cookies, the user's headers,
/// body framing.
corvid::headers build_fields(const client_impl& c, const outgoing& out, bool absolute_form);

/// A connection handed over to another protocol by an HTTP/1.1 upgrade
/// (101) or an HTTP/2 extended CONNECT (2xx), or the response that refused.
struct tunnel {
    int status = 0;
    std::string reason;
    int version = 11;  ///< 11 or 20
    corvid::headers fields;
    connection_info info;
    std::string request_head;  ///< as sent (HTTP/1.1 form)
    /// HTTP/1.1: the connection, its buffer holding any bytes read past the
    /// 101. Null when refused.
    std::unique_ptr<connection> conn;
    /// HTTP/2: the shared connection and the tunnel's stream. Null when refused.
    std::shared_ptr<h2_connection> h2;
    std::shared_ptr<h2_stream> stream;
    std::string refusal_body;  ///< the refusing response's body, up to 64 KiB
};
enum class tunnel_version { automatic, http1_1, http2 };

struct client_impl : std::enable_shared_from_this<client_impl> {
    client_impl(asio::any_io_executor executor, client_options options);

    asio::awaitable<result<response>> send(request req);

    /// One hop over HTTP/1.1: a pooled or new connection, the request, and
    /// the response head (1xx skipped, Expect: 100-continue honoured).
    /// When a new connection negotiates h2, it is adopted into `*upgraded`
    /// and a null exchange is returned: the caller sends over HTTP/2.
    asio::awaitable<result<std::shared_ptr<exchange>>> exchange_h1(
        outgoing& out, const std::string& pool_key, const std::string& head, bool expect_continue,
        std::shared_ptr<net::watchdog> dog, clock::time_point start, std::size_t& connects_total,
        std::shared_ptr<h2_connection>* upgraded);

    /// One hop over HTTP/2 on `conn`. `fields` is lent, not taken: it is
    /// moved into the stream's request head and moved back as soon as the
    /// HEADERS are submitted (nghttp2 copies them), before the first
    /// suspension, so a retry can send it again.
    asio::awaitable<result<std::shared_ptr<exchange>>> exchange_h2(
        std::shared_ptr<h2_connection> conn, outgoing& out, corvid::headers& fields,
        std::shared_ptr<net::watchdog> dog, clock::time_point start);
    /// A live HTTP/2 connection for `key` with room for a stream, other
    /// than `avoid`, if any.
    std::shared_ptr<h2_connection> find_h2(const std::string& key,
                                           const h2_connection* avoid = nullptr);
    /// Turns a new connection that negotiated h2 into a shared h2_connection.
    result<std::shared_ptr<h2_connection>> adopt_h2(std::unique_ptr<connection> conn);
    /// The ALPN list to offer for `target`.
    /// ALPN to offer: by http_version, else the profile's list (its
    /// WebSocket list for a WebSocket request), else h2 and http/1.1.
    std::vector<std::string> alpn_for(const corvid::url& target, request_kind kind) const;

    /// Opens a tunnel to `target` (see `tunnel`): over HTTP/1.1 a GET with
    /// the fields `fields_for(false)` gives on a new connection of its own
    /// (outside the pool: it never comes back); over HTTP/2 an extended
    /// CONNECT with :protocol `protocol` and `fields_for(true)` on the
    /// origin's shared connection. `automatic` takes HTTP/2 only when a
    /// pooled connection of the origin allows extended CONNECT; `http2`
    /// uses or opens one and fails with
    /// websocket_errc::extended_connect_unsupported when the server does not
    /// allow it. The request kind is request_kind::websocket.
    asio::awaitable<result<tunnel>> open_tunnel(
        corvid::url target, std::string protocol,
        std::function<corvid::headers(bool http2)> fields_for, tunnel_version version,
        std::chrono::milliseconds timeout);

    /// Returns a connection whose response was fully read (or closes it).
    void recycle(std::unique_ptr<connection> conn, bool reusable);

    asio::any_io_executor executor;
    client_options options;
    proxy_config proxy;
    std::error_code setup_error;  // bad proxy URL or CA file: every request fails with it
    std::shared_ptr<tls::client_context> tls_context;
    detail::pool pool;
    cookie_jar jar;
    std::map<std::string, std::vector<std::shared_ptr<h2_connection>>> h2_connections;
    /// New connections being opened per key with h2 offered; requests for the
    /// key wait for them (they may be multiplexed) instead of opening more.
    std::map<std::string, std::size_t> h2_connecting;
    std::map<std::string, std::vector<std::shared_ptr<asio::steady_timer>>> h2_waiters;
    std::size_t connects = 0;
    std::size_t next_connection_id = 0;
};

}  // namespace corvid::detail
