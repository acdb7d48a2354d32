#include "net/connect.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>

#include "support/async.hpp"

namespace corvid::net {
namespace {

tcp::endpoint ep(const char* addr, std::uint16_t port) {
    return {asio::ip::make_address(addr), port};
}

// A loopback port whose accept queue is full: the kernel drops further SYNs,
// so a connect to it hangs like one to a black-holed address would. Only
// loopback is used, never a real unreachable address.
class blackhole {
  public:
    blackhole() {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
        ::listen(listener_, 0);
        socklen_t len = sizeof(addr);
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        // Fill the queue with non-blocking connects that nobody accepts.
        for (int i = 0; i < 4; ++i) {
            int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
            fillers_.push_back(s);
        }
        ::usleep(20000);
    }
    ~blackhole() {
        for (int s : fillers_) {
            ::close(s);
        }
        ::close(listener_);
    }
    std::uint16_t port() const { return port_; }

  private:
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::vector<int> fillers_;
};

TEST(Connect, InterleavesFamiliesStartingWithTheFirst) {
    std::vector<tcp::endpoint> in{ep("::1", 1), ep("::2", 2), ep("::3", 3), ep("127.0.0.1", 4),
                                  ep("127.0.0.2", 5)};
    auto out = interleave_families(in);
    std::vector<std::uint16_t> ports;
    for (const auto& e : out) {
        ports.push_back(e.port());
    }
    EXPECT_EQ(ports, (std::vector<std::uint16_t>{1, 4, 2, 5, 3}));
    EXPECT_TRUE(interleave_families({}).empty());
}

TEST(Connect, ResolvesLiteralsWithoutDns) {
    asio::io_context io;
    auto r = test::run(io, resolve("::1", 8080));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ(r->front(), ep("::1", 8080));
    auto bad = test::run(io, resolve("name.invalid", 80));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), net_errc::dns_failed);
}

TEST(HappyEyeballs, RefusedAddressFallsThroughToTheNext) {
    asio::io_context io;
    tcp::acceptor good(io, ep("127.0.0.1", 0));
    tcp::acceptor closed(io, ep("127.0.0.1", 0));
    auto closed_port = closed.local_endpoint().port();
    closed.close();
    std::vector<std::string> lines;
    connect_options o;
    o.trace = [&](std::string_view l) { lines.emplace_back(l); };
    auto he = std::make_shared<happy_eyeballs>(io.get_executor(), o);
    auto s = test::run(io, he->connect({ep("127.0.0.1", closed_port), good.local_endpoint()}));
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->remote_endpoint().port(), good.local_endpoint().port());
    EXPECT_GE(lines.size(), 2u);
}

TEST(HappyEyeballs, StalledAttemptIsOvertakenAfterTheDelay) {
    asio::io_context io;
    blackhole hole;
    tcp::acceptor good(io, ep("127.0.0.1", 0));
    std::vector<std::string> lines;
    connect_options o;
    o.attempt_delay = std::chrono::milliseconds(100);
    o.trace = [&](std::string_view l) { lines.emplace_back(l); };
    auto he = std::make_shared<happy_eyeballs>(io.get_executor(), o);
    auto s = test::run(io, he->connect({ep("127.0.0.1", hole.port()), good.local_endpoint()}));
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->remote_endpoint().port(), good.local_endpoint().port());
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find(std::to_string(hole.port())), std::string::npos);
}

TEST(HappyEyeballs, AllRefusedAndTimeout) {
    asio::io_context io;
    tcp::acceptor a(io, ep("127.0.0.1", 0));
    auto port = a.local_endpoint().port();
    a.close();
    auto he = std::make_shared<happy_eyeballs>(io.get_executor(), connect_options{});
    auto refused = test::run(io, he->connect({ep("127.0.0.1", port), ep("::1", port)}));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), net_errc::connect_failed);

    blackhole hole;
    connect_options o;
    o.timeout = std::chrono::milliseconds(200);
    auto slow = std::make_shared<happy_eyeballs>(io.get_executor(), o);
    auto timed_out = test::run(io, slow->connect({ep("127.0.0.1", hole.port())}));
    ASSERT_FALSE(timed_out);
    EXPECT_EQ(timed_out.error(), net_errc::connect_timeout);
}

TEST(HappyEyeballs, CancelAbortsAConnectInProgress) {
    asio::io_context io;
    blackhole hole;
    auto he = std::make_shared<happy_eyeballs>(io.get_executor(), connect_options{});
    asio::steady_timer t(io, std::chrono::milliseconds(50));
    t.async_wait([he](std::error_code) { he->cancel(); });
    auto r = test::run(io, he->connect({ep("127.0.0.1", hole.port())}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), net_errc::cancelled);
}

}  // namespace
}  // namespace corvid::net
