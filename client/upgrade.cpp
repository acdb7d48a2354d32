// Tunnels: an HTTP/1.1 connection handed over by a 101 (Upgrade), or an
// HTTP/2 stream opened by an extended CONNECT (RFC 8441), for the WebSocket
// client. The request goes through the same pieces as any other (fields,
// profile, cookies, proxy, TLS); what differs is that the connection or
// stream is handed to the caller instead of carrying a response body.

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "client/impl.hpp"
#include "proto/h1/serializer.hpp"

namespace corvid::detail {

namespace {

constexpr std::size_t refusal_body_limit = 64 * 1024;

// Reads up to refusal_body_limit of a refusing response's body, so the
// caller can show what the server said.
asio::awaitable<std::string> read_refusal(exchange& ex) {
    std::string body;
    while (!ex.complete && body.size() < refusal_body_limit) {
        auto piece = co_await ex.next_chunk();
        if (!piece || piece->empty()) {
            break;
        }
        body.append(piece->substr(0, refusal_body_limit - body.size()));
    }
    co_return body;
}

}  // namespace

asio::awaitable<result<tunnel>> client_impl::open_tunnel(
    corvid::url target, std::string protocol, std::function<corvid::headers(bool http2)> fields_for,
    tunnel_version version, std::chrono::milliseconds timeout) {
    auto self = shared_from_this();
    const auto start = clock::now();
    if (setup_error) {
        co_return setup_error;
    }
    auto dog = std::make_shared<net::watchdog>(executor);
    if (timeout.count() > 0) {
        dog->set_deadline(start + timeout);
    }
    const bool absolute_form = proxy.type == proxy_config::kind::http && !target.is_tls();
    const std::string key = pool_key_for(target, proxy);
    const bool prior_knowledge = options.http_version == http_version_policy::http2_prior_knowledge;
    const bool h2_possible = !absolute_form &&
                             options.http_version != http_version_policy::http1_1 &&
                             (target.is_tls() || prior_knowledge);
    if (version == tunnel_version::http2 && !h2_possible) {
        co_return websocket_errc::extended_connect_unsupported;
    }

    // HTTP/2: an origin's connection that allows extended CONNECT.
    std::shared_ptr<h2_connection> h2c;
    if (version != tunnel_version::http1_1 && h2_possible) {
        h2c = find_h2(key);
        if (h2c && !h2c->extended_connect()) {
            h2c = nullptr;
        }
    }
    if (!h2c && version == tunnel_version::http2) {
        // None: open an ordinary connection (taking a slot of the origin's)
        // and require h2 of it. An idle HTTP/1.1 connection is of no use.
        for (;;) {
            auto slot = co_await pool.checkout(key, *dog);
            if (!slot) {
                co_return slot.error();
            }
            if (*slot) {
                (*slot)->stream->close();
                pool.release(key);
                continue;
            }
            break;
        }
        corvid::timings setup;
        const auto context = tls_context;
        auto opened = co_await open_connection(target, proxy, options, context.get(), *dog, start,
                                               setup, alpn_for(target, request_kind::navigation));
        if (!opened) {
            pool.release(key);
            co_return opened.error();
        }
        auto conn = std::move(*opened);
        conn->pool_key = key;
        conn->host = target.host;
        conn->id = next_connection_id++;
        ++connects;
        if (conn->info.alpn != "h2" && !prior_knowledge) {
            conn->stream->close();
            pool.release(key);
            co_return websocket_errc::extended_connect_unsupported;
        }
        auto adopted = adopt_h2(std::move(conn));
        if (!adopted) {
            pool.release(key);
            co_return adopted.error();
        }
        h2c = *adopted;
        h2c->setup_timings = setup;
        // Whether it allows extended CONNECT is in the server's SETTINGS.
        while (h2c->settling()) {
            auto waiter = std::make_shared<asio::steady_timer>(executor);
            waiter->expires_at(asio::steady_timer::time_point::max());
            h2_waiters[key].push_back(waiter);
            dog->on_fire([waiter] { waiter->cancel(); });
            std::error_code ignored;
            co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
            dog->on_fire(nullptr);
            if (dog->reason()) {
                co_return dog->reason();
            }
        }
        if (!h2c->extended_connect()) {
            co_return websocket_errc::extended_connect_unsupported;
        }
    }

    tunnel t;
    if (h2c) {
        outgoing out{"CONNECT", target, fields_for(true), {}, {}};
        out.kind = request_kind::websocket;
        out.protocol = std::move(protocol);
        auto fields = build_fields(*this, out, false);
        if (auto bad =
                h1::try_serialize_request_head(t.request_head, "CONNECT", target.target, fields)) {
            co_return bad;
        }
        t.request_head.replace(t.request_head.find(" HTTP/1.1\r\n"), 11, " HTTP/2\r\n");
        if (options.trace) {
            options.trace("WebSocket over HTTP/2 (extended CONNECT) on connection #" +
                          std::to_string(h2c->id));
        }
        auto sent = co_await exchange_h2(h2c, out, fields, dog, start);
        if (!sent) {
            co_return sent.error();
        }
        auto ex = std::static_pointer_cast<h2_exchange>(*sent);
        t.status = ex->status;
        t.version = 20;
        t.fields = ex->fields;
        t.info = ex->info;
        if (options.enable_cookies) {
            for (auto value : t.fields.get_all("Set-Cookie")) {
                jar.store(target, value);
            }
        }
        if (t.status / 100 == 2 && ex->has_body) {
            // The stream is the caller's now: the exchange must not reset it.
            dog->on_fire(nullptr);
            dog->disarm();
            t.h2 = ex->conn;
            t.stream = std::move(ex->stream);
            ex->complete = true;
            co_return t;
        }
        t.refusal_body = co_await read_refusal(*ex);
        co_return t;
    }

    // HTTP/1.1: a connection of its own, outside the origin's pool (as a
    // browser keeps its WebSocket sockets apart), with the WebSocket ALPN.
    outgoing out{"GET", target, fields_for(false), {}, {}};
    out.kind = request_kind::websocket;
    auto fields = build_fields(*this, out, absolute_form);
    if (auto bad = h1::try_serialize_request_head(
            t.request_head, "GET", absolute_form ? target.to_string() : target.target, fields)) {
        co_return bad;
    }
    const std::string tunnel_key = key + " (upgrade)";
    std::size_t connects_total = 0;
    auto sent = co_await exchange_h1(out, tunnel_key, t.request_head, false, dog, start,
                                     connects_total, nullptr);
    if (!sent) {
        co_return sent.error();
    }
    auto ex = std::static_pointer_cast<h1_exchange>(*sent);
    t.status = ex->status;
    t.reason = ex->reason;
    t.version = ex->version;
    t.fields = ex->fields;
    t.info = ex->info;
    if (options.enable_cookies) {
        for (auto value : t.fields.get_all("Set-Cookie")) {
            jar.store(target, value);
        }
    }
    if (t.status == 101 && ex->conn) {
        dog->on_fire(nullptr);
        dog->disarm();
        t.conn = std::move(ex->conn);
        pool.release(tunnel_key);  // it never comes back to the pool
        ex->complete = true;
        co_return t;
    }
    t.refusal_body = co_await read_refusal(*ex);
    co_return t;
}

}  // namespace corvid::detail
