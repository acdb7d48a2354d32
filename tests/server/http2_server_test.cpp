// corvid's HTTP/2 server side (server/http2_server.cpp) against real
// clients: h2load (nghttp2-client) as a load smoke check and curl, plus
// corvid's own client multiplexing on it.

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "corvid/client.hpp"
#include "server/http1_server.hpp"
#include "support/async.hpp"
#include "support/external_server.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

using server::incoming_request;
using server::outgoing_response;

std::string run_command(const std::string& cmd) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen((cmd + " 2>&1").c_str(), "r"), ::pclose);
    std::array<char, 4096> buf{};
    while (pipe && std::fgets(buf.data(), buf.size(), pipe.get()) != nullptr) {
        out += buf.data();
    }
    return out;
}

asio::awaitable<outgoing_response> handle(const incoming_request& req) {
    outgoing_response res;
    if (req.target == "/stream") {
        res.chunks = {"one ", "two ", "three"};
        res.trailers.add("x-done", "yes");
    } else if (req.target == "/echo") {
        res.body = req.method + " " + std::to_string(req.version) + " " + req.body;
    } else {
        res.body = "hello over h2";
    }
    co_return res;
}

// A TLS server (ALPN h2, http/1.1) on its own thread, for external clients.
class Http2Server : public ::testing::Test {
  protected:
    void SetUp() override {
        auto ca = tls::test_ca::create().value();
        dir_ = std::make_unique<test::temp_dir>("h2server");
        ca_file_ = dir_->file("ca.pem");
        ASSERT_TRUE(tls::write_file(ca_file_, ca.cert_pem()));
        auto leaf = ca.issue({}).value();
        auto ctx = tls::server_context::create({leaf.cert_pem, leaf.key_pem, {"h2", "http/1.1"}});
        ASSERT_TRUE(ctx);
        server_ = server::http1_server::create(io_.get_executor(), handle, *ctx);
        ASSERT_TRUE(server_->listen());
        plain_ = server::http1_server::create(io_.get_executor(), handle);
        ASSERT_TRUE(plain_->listen());
        thread_ = std::thread([this] {
            auto guard = asio::make_work_guard(io_);
            io_.run();
        });
    }
    void TearDown() override {
        asio::post(io_, [this] {
            server_->stop();
            plain_->stop();
            io_.stop();
        });
        thread_.join();
    }
    std::string url(const std::string& path) const {
        return "https://localhost:" + std::to_string(server_->port()) + path;
    }

    asio::io_context io_{1};
    std::unique_ptr<test::temp_dir> dir_;
    std::string ca_file_;
    std::shared_ptr<server::http1_server> server_;
    std::shared_ptr<server::http1_server> plain_;
    std::thread thread_;
};

TEST_F(Http2Server, H2loadSmoke) {
    auto out = run_command("h2load -n 2000 -c 2 -m 50 " + url("/"));
    EXPECT_NE(out.find("2000 succeeded, 0 failed, 0 errored"), std::string::npos) << out;
    auto h2c = run_command(
        "h2load -n 500 -c 1 -m 20 http://127.0.0.1:" + std::to_string(plain_->port()) + "/");
    EXPECT_NE(h2c.find("500 succeeded, 0 failed, 0 errored"), std::string::npos) << h2c;
}

TEST_F(Http2Server, CurlStreamsChunksWithTrailers) {
    auto out = run_command("curl -sS --http2 --cacert " + ca_file_ + " -w '|%{http_version}' " +
                           url("/stream"));
    EXPECT_EQ(out, "one two three|2");
    auto post =
        run_command("curl -sS --http2 --cacert " + ca_file_ + " -d payload " + url("/echo"));
    EXPECT_EQ(post, "POST 20 payload");
}

TEST_F(Http2Server, CorvidClientMultiplexesOnOneConnection) {
    asio::io_context client_io(1);
    client_options o;
    o.tls.ca_file = ca_file_;
    o.http_version = http_version_policy::http2;
    client c(client_io.get_executor(), o);
    int done = 0;
    for (int i = 0; i < 20; ++i) {
        asio::co_spawn(
            client_io,
            [&]() -> asio::awaitable<void> {
                request req;
                req.url = url("/stream");
                auto res = co_await c.fetch(std::move(req));
                EXPECT_TRUE(res) << res.error().message();
                if (res) {
                    EXPECT_EQ(res->version, 20);
                    EXPECT_EQ(res->body, "one two three");
                    EXPECT_EQ(res->trailers.get("x-done"), "yes");
                }
                ++done;
            },
            asio::detached);
    }
    while (done < 20 && client_io.run_one() > 0) {
    }
    EXPECT_EQ(done, 20);
    EXPECT_EQ(c.total_connects(), 1u);
    c.close_idle();
}

}  // namespace
}  // namespace corvid
