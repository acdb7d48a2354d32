// An HTTP/2 connection without streams is closed after the pool's idle
// timeout, like an idle HTTP/1.1 connection.

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "corvid/client.hpp"
#include "server/http1_server.hpp"
#include "support/async.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

TEST(H2Idle, ConnectionWithoutStreamsClosesAfterTheIdleTimeout) {
    asio::io_context io(1);
    auto ca = tls::test_ca::create().value();
    auto leaf = ca.issue({}).value();
    auto ctx = tls::server_context::create({leaf.cert_pem, leaf.key_pem, {"h2"}}).value();
    auto srv = server::http1_server::create(
        io.get_executor(),
        [](const server::incoming_request&) -> asio::awaitable<server::outgoing_response> {
            server::outgoing_response res;
            res.body = "ok";
            co_return res;
        },
        ctx);
    ASSERT_TRUE(srv->listen());
    std::string ca_file =
        ::testing::TempDir() + "/h2_idle_ca." + std::to_string(::getpid()) + ".pem";
    ASSERT_TRUE(tls::write_file(ca_file, ca.cert_pem()));
    client_options o;
    o.tls.ca_file = ca_file;
    o.pool_idle_timeout = std::chrono::milliseconds(100);
    client c(io.get_executor(), o);
    request req;
    req.url = "https://localhost:" + std::to_string(srv->port()) + "/";
    auto res = test::run(io, c.fetch(req));
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->version, 20);
    // The request that opened the connection reports its setup times.
    EXPECT_GT(res->timings.connect, 0.0);
    EXPECT_GE(res->timings.app_connect, res->timings.connect);
    EXPECT_GT(res->timings.app_connect, 0.0);
    EXPECT_EQ(c.idle_connections(), 1u);
    test::run(io, [&]() -> asio::awaitable<void> {
        asio::steady_timer t(io, std::chrono::milliseconds(400));
        co_await t.async_wait(asio::use_awaitable);
    }());
    EXPECT_EQ(c.idle_connections(), 0u);
    // The next request opens a new connection.
    auto again = test::run(io, c.fetch(req));
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(again->connects, 1u);
    c.close_idle();
    srv->stop();
}

}  // namespace
}  // namespace corvid
