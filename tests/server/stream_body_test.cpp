// Streamed response bodies (outgoing_response::stream_body, server/http1_server.hpp)
// against real peers: raw TCP sockets for HTTP/1.1 (chunked framing checked
// byte by byte) and corvid's h2::client_session over h2c for HTTP/2; and
// client disconnect detected through read_some() on both versions.

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "proto/h2/session.hpp"
#include "server/h2_test_client.hpp"
#include "server/http1_server.hpp"
#include "support/async.hpp"
#include "support/external_server.hpp"
#include "tls/context.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

using server::byte_stream;
using server::incoming_request;
using server::outgoing_response;

asio::awaitable<result<void>> write_text(byte_stream& s, std::string_view text) {
    std::array<asio::const_buffer, 1> b{asio::buffer(text.data(), text.size())};
    co_return co_await s.write(b);
}

// Two servers on one thread: `server_` (HTTP/1.1 and h2c by prior
// knowledge) and `tls_` (ALPN h2 and http/1.1, for curl).
//   /sse       three events, then the body ends.
//   /sse-until-gone  an event every 5 ms until the client goes away; the
//              handler races read_some() against its timer with `||` (each
//              lost race cancels the read), as a real SSE source would.
//   /sse-split one write of three buffers (one chunk).
class StreamBody : public ::testing::Test {
  protected:
    void SetUp() override {
        server_ = server::http1_server::create(
            io_.get_executor(), [this](const incoming_request& req) { return handle(req); });
        ASSERT_TRUE(server_->listen());
        auto ca = tls::test_ca::create().value();
        dir_ = std::make_unique<test::temp_dir>("streambody");
        ca_file_ = dir_->file("ca.pem");
        ASSERT_TRUE(tls::write_file(ca_file_, ca.cert_pem()));
        auto leaf = ca.issue({}).value();
        auto ctx = tls::server_context::create({leaf.cert_pem, leaf.key_pem, {"h2", "http/1.1"}});
        ASSERT_TRUE(ctx);
        tls_ = server::http1_server::create(
            io_.get_executor(), [this](const incoming_request& req) { return handle(req); }, *ctx);
        ASSERT_TRUE(tls_->listen());
        thread_ = std::thread([this] {
            auto guard = asio::make_work_guard(io_);
            io_.run();
        });
    }
    void TearDown() override {
        asio::post(io_, [this] {
            server_->stop();
            if (tls_) {
                tls_->stop();
            }
            io_.stop();
        });
        thread_.join();
    }

    asio::awaitable<outgoing_response> handle(const incoming_request& req) {
        outgoing_response res;
        res.fields.add("Content-Type", "text/event-stream");
        if (req.target == "/sse") {
            res.stream_body = [](byte_stream& s) -> asio::awaitable<void> {
                for (int i = 1; i <= 3; ++i) {
                    std::string ev = "data: event " + std::to_string(i) + "\n\n";
                    auto r = co_await write_text(s, ev);
                    if (!r) {
                        co_return;
                    }
                }
            };
        } else if (req.target == "/sse-split") {
            res.stream_body = [](byte_stream& s) -> asio::awaitable<void> {
                std::array<asio::const_buffer, 3> b{asio::buffer("ab", 2), asio::buffer("", 0),
                                                    asio::buffer("cde", 3)};
                (void)co_await s.write(b);
                (void)co_await write_text(s, "");  // nothing: no premature last chunk
            };
        } else if (req.target == "/sse-until-gone") {
            res.stream_body = [this](byte_stream& s) -> asio::awaitable<void> {
                using namespace asio::experimental::awaitable_operators;
                auto ex = co_await asio::this_coro::executor;
                std::array<char, 256> buf{};
                for (int i = 0;; ++i) {
                    asio::steady_timer tick(ex, std::chrono::milliseconds(5));
                    auto which =
                        co_await (s.read_some(buf) || tick.async_wait(asio::use_awaitable));
                    if (which.index() == 0) {
                        auto& r = std::get<0>(which);
                        gone_ = (r && *r == 0) ? 1 : (r ? 3 : 2);  // 1: EOF, 2: error
                        co_return;
                    }
                    std::string ev = "data: tick " + std::to_string(i) + "\n\n";
                    auto w = co_await write_text(s, ev);
                    if (!w) {
                        gone_ = 4;  // noticed by a failed write instead
                        co_return;
                    }
                    ++ticks_;
                }
            };
        } else {
            res.status = 404;
            res.stream_body = [](byte_stream&) -> asio::awaitable<void> {  // ignored: not 2xx
                ADD_FAILURE() << "stream_body ran for a 404";
                co_return;
            };
            res.body = "no such stream";
        }
        co_return res;
    }

    bool wait_gone() {
        for (int i = 0; i < 1000 && gone_ == 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return gone_ != 0;
    }

    asio::io_context io_{1};
    std::shared_ptr<server::http1_server> server_;
    std::shared_ptr<server::http1_server> tls_;
    std::unique_ptr<test::temp_dir> dir_;
    std::string ca_file_;
    std::thread thread_;
    std::atomic<int> gone_{0};
    std::atomic<int> ticks_{0};
};

std::string run_command(const std::string& cmd) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen((cmd + " 2>&1").c_str(), "r"), ::pclose);
    std::array<char, 4096> buf{};
    while (pipe && std::fgets(buf.data(), buf.size(), pipe.get()) != nullptr) {
        out += buf.data();
    }
    return out;
}

// ------------------------------------------------------------------ curl over TLS

TEST_F(StreamBody, CurlReadsTheStreamOverBothVersions) {
    const std::string url = "https://localhost:" + std::to_string(tls_->port()) + "/sse";
    const std::string expected = "data: event 1\n\ndata: event 2\n\ndata: event 3\n\n";
    for (const std::string version : {"--http1.1", "--http2"}) {
        auto out = run_command("timeout 60 curl -sS -N --cacert " + ca_file_ + " " + version +
                               " -w '|%{http_version}|%{content_type}' " + url);
        EXPECT_EQ(out, expected + (version == "--http1.1" ? "|1.1" : "|2") + "|text/event-stream")
            << version;
    }
}

// ------------------------------------------------------------------ HTTP/1.1

// A blocking client socket with a receive timeout (no hangs).
struct raw_client {
    asio::io_context io;
    asio::ip::tcp::socket socket{io};

    explicit raw_client(std::uint16_t port) {
        socket.connect({asio::ip::make_address("127.0.0.1"), port});
        timeval tv{10, 0};
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    void send(std::string_view bytes) { asio::write(socket, asio::buffer(bytes)); }
    // Reads until `data` contains `marker` (or EOF/timeout).
    std::string read_until(std::string data, std::string_view marker) {
        char buf[4096];
        while (data.find(marker) == std::string::npos) {
            std::error_code ec;
            auto n = socket.read_some(asio::buffer(buf), ec);
            if (ec || n == 0) {
                break;
            }
            data.append(buf, n);
        }
        return data;
    }
    // Everything until EOF; `eof` says whether it was a clean end.
    std::string read_all(bool& eof) {
        std::string data;
        char buf[4096];
        for (;;) {
            std::error_code ec;
            auto n = socket.read_some(asio::buffer(buf), ec);
            if (ec || n == 0) {
                eof = ec == asio::error::eof;
                return data;
            }
            data.append(buf, n);
        }
    }
};

TEST_F(StreamBody, Http1ChunkedEventsThenCleanEndAndTheConnectionCarriesTheNextRequest) {
    raw_client c(server_->port());
    c.send("GET /sse HTTP/1.1\r\nHost: x\r\n\r\n");
    auto first = c.read_until({}, "\r\n0\r\n\r\n");
    auto head_end = first.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << first;
    auto head = first.substr(0, head_end + 4);
    EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
    EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.find("Connection"), std::string::npos) << head;  // kept alive
    EXPECT_NE(head.find("Content-Type: text/event-stream\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    // One chunk per write, then the last chunk.
    const std::string body =
        "f\r\ndata: event 1\n\n\r\n"
        "f\r\ndata: event 2\n\n\r\n"
        "f\r\ndata: event 3\n\n\r\n"
        "0\r\n\r\n";
    EXPECT_EQ(first.substr(head_end + 4), body);

    // The same connection serves the next stream; Connection: close ends it.
    c.send("GET /sse HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    bool eof = false;
    auto second = c.read_all(eof);
    EXPECT_TRUE(eof);
    head_end = second.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << second;
    EXPECT_NE(second.substr(0, head_end).find("Connection: close"), std::string::npos) << second;
    EXPECT_EQ(second.substr(head_end + 4), body);
}

TEST_F(StreamBody, Http1PipelinedRequestsAreAnsweredInOrderAfterTheStream) {
    raw_client c(server_->port());
    c.send(
        "GET /sse HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /sse-split HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    bool eof = false;
    auto all = c.read_all(eof);
    EXPECT_TRUE(eof);
    const auto first_end = all.find("\r\n0\r\n\r\n");
    ASSERT_NE(first_end, std::string::npos) << all;
    EXPECT_NE(all.find("data: event 3"), std::string::npos) << all;
    const auto second = all.substr(first_end + 7);
    EXPECT_TRUE(second.starts_with("HTTP/1.1 200 OK\r\n")) << all;
    EXPECT_TRUE(second.ends_with("\r\n\r\n5\r\nabcde\r\n0\r\n\r\n")) << all;
}

TEST_F(StreamBody, Http1OneWriteOfSeveralBuffersIsOneChunk) {
    raw_client c(server_->port());
    c.send("GET /sse-split HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    bool eof = false;
    auto all = c.read_all(eof);
    EXPECT_TRUE(eof);
    auto head_end = all.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << all;
    EXPECT_EQ(all.substr(head_end + 4), "5\r\nabcde\r\n0\r\n\r\n");
}

TEST_F(StreamBody, Http10GetsUnframedBodyEndingWithTheConnection) {
    raw_client c(server_->port());
    c.send("GET /sse HTTP/1.0\r\n\r\n");
    bool eof = false;
    auto all = c.read_all(eof);
    EXPECT_TRUE(eof);
    auto head_end = all.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << all;
    EXPECT_EQ(all.substr(0, head_end).find("Transfer-Encoding"), std::string::npos);
    EXPECT_EQ(all.substr(head_end + 4), "data: event 1\n\ndata: event 2\n\ndata: event 3\n\n");
}

TEST_F(StreamBody, Http1HeadGetsTheHeadOnly) {
    raw_client c(server_->port());
    c.send("HEAD /sse HTTP/1.1\r\nHost: x\r\n\r\n");
    bool eof = false;
    auto all = c.read_all(eof);
    EXPECT_TRUE(eof);
    EXPECT_TRUE(all.starts_with("HTTP/1.1 200 OK\r\n")) << all;
    EXPECT_TRUE(all.ends_with("\r\n\r\n")) << all;
}

TEST_F(StreamBody, Http1OtherStatusIgnoresStreamBody) {
    raw_client c(server_->port());
    c.send("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    bool eof = false;
    auto all = c.read_all(eof);
    EXPECT_TRUE(all.starts_with("HTTP/1.1 404 Not Found\r\n")) << all;
    EXPECT_NE(all.find("Content-Length: 14\r\n"), std::string::npos) << all;
    EXPECT_TRUE(all.ends_with("\r\n\r\nno such stream")) << all;
}

TEST_F(StreamBody, Http1ClientCloseIsDetectedByReadSome) {
    raw_client c(server_->port());
    // A pipelined second request: kept for after the stream, never answered
    // because the client leaves first.
    c.send(
        "GET /sse-until-gone HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /sse HTTP/1.1\r\nHost: x\r\n\r\n");
    auto got = c.read_until({}, "data: tick 2\n\n");
    ASSERT_NE(got.find("data: tick 2\n\n"), std::string::npos) << got;
    EXPECT_EQ(got.find("event 1"), std::string::npos);
    EXPECT_EQ(gone_.load(), 0);  // streaming, not ended by the pipelined bytes
    c.socket.shutdown(asio::socket_base::shutdown_send);  // FIN
    ASSERT_TRUE(wait_gone());
    EXPECT_EQ(gone_.load(), 1);  // read_some() returned 0
    // The server then ends the body and closes.
    bool eof = false;
    auto rest = c.read_all(eof);
    EXPECT_TRUE(eof);
    EXPECT_TRUE(rest.ends_with("0\r\n\r\n")) << rest;
    EXPECT_EQ(rest.find("event 1"), std::string::npos) << rest;
}

TEST_F(StreamBody, Http1AbortedClientIsDetected) {
    {
        raw_client c(server_->port());
        c.send("GET /sse-until-gone HTTP/1.1\r\nHost: x\r\n\r\n");
        auto got = c.read_until({}, "data: tick 1\n\n");
        ASSERT_NE(got.find("data: tick 1\n\n"), std::string::npos) << got;
        ::linger l{1, 0};  // close with RST
        ::setsockopt(c.socket.native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ASSERT_TRUE(wait_gone());
    EXPECT_NE(gone_.load(), 3);  // a read error (or a failed write), not data
}

// ------------------------------------------------------------------ HTTP/2

TEST_F(StreamBody, Http2DataFramesThenEndStream) {
    asio::io_context io(1);
    test::h2_get_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await c.connect(server_->port()));
        EXPECT_TRUE(co_await c.get("/sse"));
        co_await c.until_end();
        EXPECT_EQ(c.status_, 200);
        EXPECT_FALSE(c.head_ended_);
        EXPECT_FALSE(c.fields_.contains("content-length"));
        EXPECT_EQ(c.fields_.get("content-type"), "text/event-stream");
        EXPECT_TRUE(c.ended_);  // END_STREAM, not a reset
        EXPECT_EQ(c.reset_, h2::wire_error::no_error);
        EXPECT_EQ(c.body_, "data: event 1\n\ndata: event 2\n\ndata: event 3\n\n");
        EXPECT_GE(c.data_frames_, 1);  // writes may share DATA frames
        c.close();
    }());
}

TEST_F(StreamBody, Http2HeadEndsWithTheHeaders) {
    asio::io_context io(1);
    test::h2_get_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await c.connect(server_->port()));
        EXPECT_TRUE(co_await c.get("/sse", "HEAD"));
        co_await c.until_end();
        EXPECT_EQ(c.status_, 200);
        EXPECT_TRUE(c.head_ended_);
        EXPECT_EQ(c.body_, "");
        c.close();
    }());
}

TEST_F(StreamBody, Http2ResetStreamIsDetectedByReadSome) {
    asio::io_context io(1);
    test::h2_get_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await c.connect(server_->port()));
        EXPECT_TRUE(co_await c.get("/sse-until-gone"));
        EXPECT_TRUE(co_await c.until("data: tick 2\n\n"));
        EXPECT_EQ(gone_.load(), 0);
        EXPECT_TRUE(co_await c.reset());
        // The connection stays usable: another stream works meanwhile.
        EXPECT_TRUE(co_await c.get("/sse"));
        co_await c.until_end();
        EXPECT_TRUE(c.body_.ends_with("data: event 3\n\n")) << c.body_;
        c.close();
    }());
    ASSERT_TRUE(wait_gone());
    EXPECT_EQ(gone_.load(), 2);  // read_some() failed (stream_reset)
}

TEST_F(StreamBody, Http2ConnectionEndIsDetectedByReadSome) {
    asio::io_context io(1);
    test::h2_get_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await c.connect(server_->port()));
        EXPECT_TRUE(co_await c.get("/sse-until-gone"));
        EXPECT_TRUE(co_await c.until("data: tick 1\n\n"));
        c.close();
    }());
    ASSERT_TRUE(wait_gone());
    EXPECT_NE(gone_.load(), 3);
    EXPECT_GE(ticks_.load(), 2);
}

}  // namespace
}  // namespace corvid
