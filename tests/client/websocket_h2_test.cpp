// corvid's WebSocket client over HTTP/2 (RFC 8441 extended CONNECT) against
// corvid's own server (the only HTTP/2 WebSocket server among the peers
// here), and the choice between HTTP/2 and HTTP/1.1.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include <asio/io_context.hpp>

#include "corvid/client.hpp"
#include "corvid/websocket.hpp"
#include "server/http1_server.hpp"
#include "server/websocket.hpp"
#include "tests/support/async.hpp"
#include "tls/context.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

class WebSocketH2 : public ::testing::Test {
  protected:
    void start(bool extended_connect) {
        auto ca = tls::test_ca::create().value();
        auto leaf = ca.issue({}).value();
        ca_file_ = (std::filesystem::temp_directory_path() /
                    ("corvid-wsh2-ca-" + std::to_string(::getpid()) + ".pem"))
                       .string();
        ASSERT_TRUE(tls::write_file(ca_file_, ca.cert_pem()));
        auto ctx = tls::server_context::create({leaf.cert_pem, leaf.key_pem, {"h2", "http/1.1"}});
        ASSERT_TRUE(ctx);
        server::server_options so;
        so.enable_connect_protocol = extended_connect;
        auto handle =
            [](const server::incoming_request& req) -> asio::awaitable<server::outgoing_response> {
            if (req.target == "/ws") {
                server::websocket_options o;
                co_return server::accept_websocket(req, o, server::websocket_echo);
            }
            server::outgoing_response r;
            r.body = "ok";
            co_return r;
        };
        server_ = server::http1_server::create(io_.get_executor(), handle, *ctx, so);
        ASSERT_TRUE(server_->listen());
    }
    void TearDown() override {
        if (server_) {
            server_->stop();
        }
        std::error_code ignored;
        std::filesystem::remove(ca_file_, ignored);
    }

    client_options options() {
        client_options o;
        o.tls.ca_file = ca_file_;
        return o;
    }
    std::string base() const { return "127.0.0.1:" + std::to_string(server_->port()); }

    asio::awaitable<void> echo(websocket& ws, int count, std::size_t size) {
        for (int i = 0; i < count; ++i) {
            std::string payload(size, static_cast<char>('a' + i % 26));
            EXPECT_TRUE(co_await ws.send_text(payload));
            auto back = co_await ws.receive();
            EXPECT_TRUE(back) << back.error().message();
            if (!back) {
                co_return;
            }
            EXPECT_EQ(back->data, payload);
        }
    }

    asio::io_context io_;
    std::shared_ptr<server::http1_server> server_;
    std::string ca_file_;
};

TEST_F(WebSocketH2, AutomaticUsesThePooledHttp2Connection) {
    start(true);
    client http(io_.get_executor(), options());
    test::run(io_, [&]() -> asio::awaitable<void> {
        // (A named request: GCC 12 mishandles a braced temporary in co_await.)
        request get;
        get.url = "https://" + base() + "/";
        auto page = co_await http.fetch(get);
        EXPECT_TRUE(page);
        EXPECT_EQ(page->version, 20);
        auto ws = co_await websocket::connect(http, "wss://" + base() + "/ws");
        EXPECT_TRUE(ws) << ws.error().message();
        if (!ws) {
            co_return;
        }
        EXPECT_EQ(ws->http_version(), 20);
        EXPECT_EQ(ws->handshake_status(), 200);
        EXPECT_NE(ws->extensions().find("permessage-deflate"), std::string::npos);
        EXPECT_NE(ws->request_head().find("CONNECT /ws HTTP/2"), std::string::npos)
            << ws->request_head();
        co_await echo(*ws, 20, 70000);
        // The page's connection carries both, and more requests meanwhile.
        auto again = co_await http.fetch(get);
        EXPECT_TRUE(again);
        EXPECT_EQ(http.total_connects(), 1u);
        co_await echo(*ws, 3, 10);
        EXPECT_TRUE(co_await ws->close(1000));
        EXPECT_EQ(ws->close_code(), 1000);
        http.close_idle();
    }());
}

TEST_F(WebSocketH2, AutomaticWithoutAPooledConnectionUsesHttp1) {
    start(true);
    client http(io_.get_executor(), options());
    test::run(io_, [&]() -> asio::awaitable<void> {
        auto ws = co_await websocket::connect(http, "wss://" + base() + "/ws");
        EXPECT_TRUE(ws) << ws.error().message();
        if (!ws) {
            co_return;
        }
        EXPECT_EQ(ws->http_version(), 11);
        EXPECT_EQ(ws->connection().alpn, "http/1.1");
        co_await echo(*ws, 5, 1000);
        auto closed = co_await ws->close();
        EXPECT_TRUE(closed) << closed.error().message();
    }());
}

TEST_F(WebSocketH2, ForcedHttp2OpensAConnection) {
    start(true);
    client http(io_.get_executor(), options());
    test::run(io_, [&]() -> asio::awaitable<void> {
        websocket_options wo;
        wo.transport = websocket_transport::http2;
        wo.deflate.enabled = false;
        auto ws = co_await websocket::connect(http, "wss://" + base() + "/ws", wo);
        EXPECT_TRUE(ws) << ws.error().message();
        if (!ws) {
            co_return;
        }
        EXPECT_EQ(ws->http_version(), 20);
        EXPECT_EQ(ws->extensions(), "");
        co_await echo(*ws, 5, 100000);
        EXPECT_TRUE(co_await ws->close());
        http.close_idle();
    }());
}

TEST_F(WebSocketH2, ForcedHttp2FailsWithoutExtendedConnect) {
    start(false);
    client http(io_.get_executor(), options());
    test::run(io_, [&]() -> asio::awaitable<void> {
        websocket_options wo;
        wo.transport = websocket_transport::http2;
        auto ws = co_await websocket::connect(http, "wss://" + base() + "/ws", wo);
        EXPECT_FALSE(ws);
        if (!ws) {
            EXPECT_EQ(ws.error(), make_error_code(websocket_errc::extended_connect_unsupported));
        }
        // Automatic falls back to HTTP/1.1 on the same origin.
        auto fallback = co_await websocket::connect(http, "wss://" + base() + "/ws");
        EXPECT_TRUE(fallback) << fallback.error().message();
        if (fallback) {
            EXPECT_EQ(fallback->http_version(), 11);
            co_await echo(*fallback, 2, 10);
            (void)co_await fallback->close();
        }
        http.close_idle();
    }());
}

TEST_F(WebSocketH2, TwoWebSocketsShareOneConnectionIndependently) {
    start(true);
    client http(io_.get_executor(), options());
    test::run(io_, [&]() -> asio::awaitable<void> {
        websocket_options wo;
        wo.transport = websocket_transport::http2;
        auto a = co_await websocket::connect(http, "wss://" + base() + "/ws", wo);
        auto b = co_await websocket::connect(http, "wss://" + base() + "/ws", wo);
        EXPECT_TRUE(a && b);
        if (!a || !b) {
            co_return;
        }
        EXPECT_EQ(http.total_connects(), 1u);
        co_await echo(*a, 3, 5000);
        co_await echo(*b, 3, 5000);
        EXPECT_TRUE(co_await a->close(4000, "one done"));
        co_await echo(*b, 3, 5000);  // the other stream is unaffected
        EXPECT_TRUE(co_await b->close());
        http.close_idle();
    }());
}

}  // namespace
}  // namespace corvid
