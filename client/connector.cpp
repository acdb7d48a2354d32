// Connection establishment: each step is one layer of the stack (TCP with
// Happy Eyeballs, then an HTTP CONNECT or SOCKS5 tunnel, then TLS), as curl's
// connection filters stack.

#include <asio/co_spawn.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "client/impl.hpp"
#include "core/encoding.hpp"
#include "net/connect.hpp"
#include "proto/h1/serializer.hpp"
#include "proto/socks5/client.hpp"

namespace corvid::detail {

namespace {

void trace(const client_options& options, const std::string& line) {
    if (options.trace) {
        options.trace(line);
    }
}

// Reads the proxy's answer to CONNECT with the same HTTP/1.1 parser as
// responses. Bytes after the head belong to the tunnel: a proxy must not send
// any before we speak, so extra bytes are an error rather than silently lost.
asio::awaitable<result<void>> http_connect_tunnel(asio::ip::tcp::socket& socket,
                                                  const corvid::url& target,
                                                  const proxy_config& proxy,
                                                  const client_options& options) {
    std::string authority = (target.host_is_ipv6() ? "[" + target.host + "]" : target.host) + ":" +
                            std::to_string(target.port);
    corvid::headers fields;
    fields.add("Host", authority);
    if (!proxy.address.userinfo.empty()) {
        fields.add("Proxy-Authorization",
                   "Basic " + base64_encode(percent_decode(proxy.address.userinfo)));
    }
    if (!options.user_agent.empty()) {
        fields.add("User-Agent", options.user_agent);
    }
    fields.add("Proxy-Connection", "Keep-Alive");
    std::string head;
    h1::serialize_request_head(head, "CONNECT", authority, fields);
    trace(options, "Establish HTTP proxy tunnel to " + authority);

    std::error_code ec;
    co_await asio::async_write(socket, asio::buffer(head),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        co_return client_errc::proxy_failed;
    }
    h1::response_parser parser;
    parser.reset(true);  // a 2xx to CONNECT has no body
    char buffer[4096];
    for (;;) {
        std::size_t n = co_await socket.async_read_some(
            asio::buffer(buffer, sizeof(buffer)), asio::redirect_error(asio::use_awaitable, ec));
        if (ec || n == 0) {
            co_return client_errc::proxy_failed;
        }
        // The parser keeps what it has taken; only new bytes go in. Its
        // header limit bounds an oversized head from the proxy.
        std::string_view fresh(buffer, n);
        while (!fresh.empty()) {
            std::error_code perr;
            auto ev = parser.parse(fresh, perr);
            if (perr) {
                co_return client_errc::proxy_failed;
            }
            fresh.remove_prefix(ev.consumed);
            if (ev.kind != h1::event_kind::head || parser.status() / 100 == 1) {
                continue;  // need_more (all taken) or an interim 1xx: go on
            }
            trace(options, "CONNECT tunnel: HTTP/1." + std::to_string(parser.version() % 10) + " " +
                               std::to_string(parser.status()));
            if (parser.status() == 407) {
                co_return client_errc::proxy_auth_required;
            }
            if (parser.status() / 100 != 2 || !fresh.empty()) {
                co_return client_errc::proxy_failed;
            }
            co_return result<void>{};
        }
    }
}

asio::awaitable<result<void>> socks5_tunnel(asio::ip::tcp::socket& socket,
                                            const corvid::url& target, const proxy_config& proxy,
                                            const client_options& options) {
    socks5::client_config config;
    if (proxy.type == proxy_config::kind::socks5h) {
        config.target_host = target.host;  // the proxy resolves the name
    } else {
        // socks5://: resolve locally, send an address.
        auto resolved = co_await net::resolve(target.host, target.port);
        if (!resolved) {
            co_return resolved.error();
        }
        config.target_host = resolved->front().address().to_string();
    }
    config.target_port = target.port;
    if (!proxy.address.userinfo.empty()) {
        auto decoded = percent_decode(proxy.address.userinfo);
        auto colon = decoded.find(':');
        config.username = decoded.substr(0, colon);
        config.password = colon == std::string::npos ? "" : decoded.substr(colon + 1);
    }
    trace(options, "SOCKS5 connect to " + target.host + ":" + std::to_string(target.port) +
                       (proxy.type == proxy_config::kind::socks5h ? " (remotely resolved)" : ""));
    std::error_code ec;
    socks5::client codec(config);
    if (auto setup = codec.error()) {
        co_return setup;
    }
    char buf[512];
    while (!codec.done()) {
        if (auto out = codec.pending_output(); !out.empty()) {
            co_await asio::async_write(socket, asio::buffer(out.data(), out.size()),
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                co_return client_errc::proxy_failed;
            }
            codec.consume_output(out.size());
            continue;
        }
        std::size_t n =
            co_await socket.async_read_some(asio::buffer(buf, codec.want_bytes(sizeof(buf))),
                                            asio::redirect_error(asio::use_awaitable, ec));
        if (ec || n == 0) {
            co_return client_errc::proxy_failed;
        }
        std::error_code perr;
        std::size_t used = codec.feed(std::string_view(buf, n), perr);
        if (perr) {
            co_return perr;
        }
        if (used != n) {
            co_return client_errc::proxy_failed;  // bytes past the reply before we spoke
        }
    }
    co_return result<void>{};
}

}  // namespace

result<proxy_config> parse_proxy(const std::string& text) {
    proxy_config out;
    if (text.empty()) {
        return out;
    }
    std::string full = text.find("://") == std::string::npos ? "http://" + text : text;
    auto parsed = url::parse(full);
    if (!parsed) {
        return client_errc::bad_url;
    }
    out.address = *parsed;
    if (out.address.scheme == "http") {
        out.type = proxy_config::kind::http;
    } else if (out.address.scheme == "socks5") {
        out.type = proxy_config::kind::socks5;
    } else if (out.address.scheme == "socks5h") {
        out.type = proxy_config::kind::socks5h;
    } else {
        return client_errc::unsupported_scheme;
    }
    return out;
}

asio::awaitable<result<std::unique_ptr<connection>>> open_connection(
    const corvid::url& target, const proxy_config& proxy, const client_options& options,
    tls::client_context* tls_context, net::watchdog& dog, clock::time_point start,
    corvid::timings& timings, const std::vector<std::string>& alpn) {
    auto executor = co_await asio::this_coro::executor;
    const bool via_proxy = proxy.type != proxy_config::kind::none;
    const corvid::url& first_hop = via_proxy ? proxy.address : target;

    // The connect phase has its own deadline (connect timeout) inside the
    // request's total deadline.
    auto connect_dog = std::make_shared<net::watchdog>(executor);
    connect_dog->set_deadline(clock::now() + options.connect_timeout);

    auto map_connect_error = [&](std::error_code ec) -> std::error_code {
        if (dog.reason()) {
            return dog.reason();
        }
        if (connect_dog->reason() == net_errc::total_timeout) {
            return net_errc::connect_timeout;
        }
        return ec;
    };

    if (via_proxy) {
        trace(options, "Using proxy " + proxy.address.scheme + "://" + proxy.address.authority());
    }
    auto endpoints = co_await net::resolve(first_hop.host, first_hop.port);
    if (!endpoints) {
        if (via_proxy && endpoints.error() == net_errc::dns_failed) {
            co_return client_errc::proxy_resolve_failed;
        }
        co_return map_connect_error(endpoints.error());
    }
    timings.name_lookup = seconds_since(start);

    net::connect_options copts;
    copts.timeout = options.connect_timeout;
    copts.attempt_delay = options.happy_eyeballs_delay;
    copts.trace = options.trace;
    auto racer = std::make_shared<net::happy_eyeballs>(executor, copts);
    dog.on_fire([racer] { racer->cancel(); });
    auto socket = co_await racer->connect(net::interleave_families(*endpoints));
    dog.on_fire(nullptr);
    if (!socket) {
        co_return map_connect_error(socket.error());
    }
    socket->set_option(asio::ip::tcp::no_delay(true));
    timings.connect = seconds_since(start);

    auto conn = std::make_unique<connection>();
    std::error_code ignored;
    auto remote = socket->remote_endpoint(ignored);
    auto local = socket->local_endpoint(ignored);
    conn->info.remote_address = remote.address().to_string();
    conn->info.remote_port = remote.port();
    conn->info.local_address = local.address().to_string();
    conn->info.local_port = local.port();
    trace(options, "Connected to " + first_hop.host + " (" + net::format_address(remote.address()) +
                       ") port " + std::to_string(remote.port()));

    // Everything below runs under both deadlines: closing the socket aborts it.
    asio::ip::tcp::socket* raw = &*socket;
    auto abort_socket = [raw] {
        std::error_code e;
        raw->close(e);
    };
    dog.on_fire(abort_socket);
    connect_dog->on_fire(abort_socket);

    if (proxy.type == proxy_config::kind::http && target.is_tls()) {
        auto tunnel = co_await http_connect_tunnel(*socket, target, proxy, options);
        if (!tunnel) {
            co_return map_connect_error(tunnel.error());
        }
    } else if (proxy.type == proxy_config::kind::socks5 ||
               proxy.type == proxy_config::kind::socks5h) {
        auto tunnel = co_await socks5_tunnel(*socket, target, proxy, options);
        if (!tunnel) {
            co_return map_connect_error(tunnel.error());
        }
    }

    if (target.is_tls()) {
        auto tls = std::make_unique<tls::tls_stream>(std::move(*socket), tls_context->native());
        raw = &tls->socket();
        auto hs = co_await tls->handshake_client(*tls_context, target.host, alpn, target.origin());
        if (!hs) {
            dog.on_fire(nullptr);
            co_return map_connect_error(hs.error());
        }
        auto info = tls->info();
        if (options.http_version == http_version_policy::http2 && info.alpn != "h2") {
            dog.on_fire(nullptr);
            trace(options, "ALPN: server did not accept h2, which --http2 requires");
            co_return tls_errc::alpn_mismatch;
        }
        conn->info.tls = true;
        conn->info.tls_version = info.version;
        conn->info.tls_cipher = info.cipher;
        conn->info.alpn = info.alpn;
        conn->info.tls_resumed = info.resumed;
        conn->info.peer_subject = info.peer_subject;
        conn->info.peer_issuer = info.peer_issuer;
        timings.app_connect = seconds_since(start);
        trace(options, "SSL connection using " + info.version + " / " + info.cipher +
                           (info.resumed ? " (resumed)" : ""));
        trace(options, info.alpn.empty() ? std::string("ALPN: server did not agree on a protocol")
                                         : "ALPN: server accepted " + info.alpn);
        if (!info.peer_subject.empty()) {
            trace(options, "Server certificate: subject: " + info.peer_subject);
            trace(options, "Server certificate: issuer: " + info.peer_issuer);
            trace(options, tls_context->config().verify_peer
                               ? std::string("SSL certificate verify ok.")
                               : std::string("SSL certificate verification SKIPPED (--insecure)"));
        }
        conn->stream = std::move(tls);
    } else {
        conn->stream = std::make_unique<net::tcp_stream>(std::move(*socket));
    }
    dog.on_fire(nullptr);
    connect_dog->disarm();
    co_return conn;
}

}  // namespace corvid::detail
