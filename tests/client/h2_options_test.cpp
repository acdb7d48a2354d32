// client_options::http2 and the header limits over HTTP/2: the receive
// windows the client advertises, PING keepalive (sent on a quiet connection,
// and a dead peer found by it), and the response field count limit. Peers:
// the python3-h2 test server (its /frames report decodes what the client
// sent) and, for a peer that stops answering, a raw TCP server in the test
// that sends a SETTINGS frame and then nothing.

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <sstream>
#include <string>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "corvid/client.hpp"
#include "support/async.hpp"
#include "support/external_server.hpp"

namespace corvid {
namespace {

using namespace std::chrono_literals;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// Frames of `type` (e.g. "PING") the client sent, from the /frames JSON (one
// frame object per line) whose flags equal `flags`.
int frames_of(const std::string& json, const std::string& type, int flags) {
    std::istringstream lines(json);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
        if (line.find("\"type\": \"" + type + "\"") != std::string::npos &&
            line.find("\"flags\": " + std::to_string(flags) + ",") != std::string::npos) {
            ++n;
        }
    }
    return n;
}

class H2Options : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { server_ = new test::external_server(test::start_h2_server({})); }
    static void TearDownTestSuite() { delete server_; }

    static std::string url(const std::string& path) {
        return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
    }
    static client_options opts() {
        client_options o;
        o.http_version = http_version_policy::http2_prior_knowledge;
        return o;
    }
    result<buffered_response> get(client& c, const std::string& path) {
        request req;
        req.url = url(path);
        return test::run(io_, c.fetch(std::move(req)));
    }

    asio::io_context io_{1};
    static inline test::external_server* server_ = nullptr;
};

TEST_F(H2Options, WindowsAreAdvertisedAsConfigured) {
    client_options o = opts();
    o.http2.stream_window = 100'000;
    o.http2.connection_window = 1 << 20;
    client c(io_.get_executor(), o);
    auto frames = get(c, "/frames");
    ASSERT_TRUE(frames) << frames.error().message();
    EXPECT_NE(frames->body.find("\"name\": \"INITIAL_WINDOW_SIZE\", \"value\": 100000}"),
              std::string::npos)
        << frames->body;
    EXPECT_NE(frames->body.find("\"after_first_settings\": 1, \"increment\": " +
                                std::to_string((1 << 20) - 65535) + "}"),
              std::string::npos)
        << frames->body;
    // The stream window really bounds what the server sends ahead: a body
    // larger than it arrives whole (the client reopens it as it reads).
    auto big = get(c, "/bytes/300000");
    ASSERT_TRUE(big) << big.error().message();
    EXPECT_EQ(big->body.size(), 300'000u);
    EXPECT_EQ(big->connects, 0u);
    c.close_idle();
}

TEST_F(H2Options, ConnectionWindowAtTheRfcDefaultSendsNoWindowUpdate) {
    client_options o = opts();
    o.http2.connection_window = 65535;
    client c(io_.get_executor(), o);
    auto frames = get(c, "/frames");
    ASSERT_TRUE(frames) << frames.error().message();
    EXPECT_NE(frames->body.find("\"connection_window_updates\": [],"), std::string::npos)
        << frames->body;
    c.close_idle();
}

TEST_F(H2Options, InvalidWindowsAreRefusedBeforeAnyRequest) {
    for (auto [stream, conn] : {std::pair<std::uint32_t, std::uint32_t>{0, 1 << 20},
                                {0x80000000u, 1 << 20},
                                {65535, 1000},
                                {65535, 0x80000000u}}) {
        client_options o = opts();
        o.http2.stream_window = stream;
        o.http2.connection_window = conn;
        client c(io_.get_executor(), o);
        auto res = get(c, "/hello");
        ASSERT_FALSE(res) << stream << " " << conn;
        EXPECT_EQ(res.error(), http2_errc::invalid_settings) << res.error().message();
    }
}

TEST_F(H2Options, KeepalivePingsAQuietConnectionAndKeepsIt) {
    client_options o = opts();
    o.http2.ping_interval = 50ms;
    o.http2.ping_timeout = 5s;
    client c(io_.get_executor(), o);
    auto first = get(c, "/hello");
    ASSERT_TRUE(first) << first.error().message();
    test::run(io_, sleep_for(300ms));
    auto frames = get(c, "/frames");
    ASSERT_TRUE(frames) << frames.error().message();
    EXPECT_EQ(frames->connects, 0u);  // the same connection, kept alive
    // About one PING per 50 ms of silence; at least two in 300 ms.
    EXPECT_GE(frames_of(frames->body, "PING", 0), 2) << frames->body;
    c.close_idle();
}

TEST_F(H2Options, NoPingWhenKeepaliveIsOff) {
    client_options o = opts();
    o.http2.ping_interval = 0ms;
    client c(io_.get_executor(), o);
    auto first = get(c, "/hello");
    ASSERT_TRUE(first) << first.error().message();
    test::run(io_, sleep_for(200ms));
    auto frames = get(c, "/frames");
    ASSERT_TRUE(frames) << frames.error().message();
    EXPECT_EQ(frames_of(frames->body, "PING", 0), 0) << frames->body;
    c.close_idle();
}

TEST_F(H2Options, TooManyResponseFieldsFailThatRequestOnly) {
    client_options o = opts();
    o.max_header_fields = 6;
    client c(io_.get_executor(), o);
    // About 10 x-big-N fields plus the server's own: over 6.
    auto many = get(c, "/big-headers/40000");
    ASSERT_FALSE(many);
    EXPECT_EQ(many.error(), http2_errc::too_many_headers) << many.error().message();
    auto few = get(c, "/hello");
    ASSERT_TRUE(few) << few.error().message();
    EXPECT_EQ(few->connects, 0u);
    c.close_idle();
}

// A peer that completes the HTTP/2 handshake and then goes silent (a hung
// process, or a path that drops packets without a reset): it sends its
// SETTINGS, then reads and never writes again.
TEST(H2Keepalive, UnansweredPingFailsTheRequestsOfADeadConnection) {
    asio::io_context io(1);
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto sock = co_await acceptor.async_accept(asio::use_awaitable);
            // An empty SETTINGS frame: length 0, type 4, flags 0, stream 0.
            static constexpr std::array<unsigned char, 9> settings{0, 0, 0, 4, 0, 0, 0, 0, 0};
            co_await asio::async_write(sock, asio::buffer(settings), asio::use_awaitable);
            std::array<char, 4096> sink;
            std::error_code ec;
            while (!ec) {
                co_await sock.async_read_some(asio::buffer(sink),
                                              asio::redirect_error(asio::use_awaitable, ec));
            }
        },
        asio::detached);
    client_options o;
    o.http_version = http_version_policy::http2_prior_knowledge;
    o.http2.ping_interval = 50ms;
    o.http2.ping_timeout = 100ms;
    std::string trace;
    o.trace = [&](std::string_view line) {
        trace += line;
        trace += '\n';
    };
    client c(io.get_executor(), o);
    request req;
    req.url = "http://127.0.0.1:" + std::to_string(port) + "/never-answered";
    auto res = test::run(io, c.fetch(std::move(req)));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error(), http2_errc::ping_timeout) << res.error().message();
    EXPECT_NE(trace.find("PING unanswered for 100 ms"), std::string::npos) << trace;
    EXPECT_EQ(c.idle_connections(), 0u);
    acceptor.close();
}

}  // namespace
}  // namespace corvid
