#include "proto/socks5/client.hpp"

#include <gtest/gtest.h>
#include <asio.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/external_server.hpp"

namespace corvid::socks5 {
namespace {

using namespace std::string_literals;

std::string bytes(std::initializer_list<int> v) {
    std::string out;
    for (int b : v) {
        out.push_back(static_cast<char>(b));
    }
    return out;
}

client make(std::string_view host, std::uint16_t port,
            std::optional<credentials> auth = std::nullopt) {
    auto c = client::create(host, port, std::move(auth));
    EXPECT_TRUE(c) << c.error().message();
    return std::move(c).value();
}

// Takes all pending output, as a transport would after writing it.
std::string drain(client& c) {
    std::string out(c.pending_output());
    c.consume_output(out.size());
    return out;
}

// Feeds `in` and expects all of it to be consumed without error.
void feed_all(client& c, const std::string& in) {
    std::error_code ec;
    EXPECT_EQ(c.feed(in, ec), in.size());
    EXPECT_FALSE(ec) << ec.message();
}

const std::string k_ipv4_reply = bytes({5, 0, 0, 1, 10, 0, 0, 7, 0xc3, 0x50});  // 10.0.0.7:50000

// ---------------------------------------------------------------- requests

TEST(Socks5Client, GreetingWithoutCredentialsOffersOnlyNoAuth) {
    client c = make("example.com", 443);
    EXPECT_EQ(drain(c), bytes({5, 1, 0}));
    EXPECT_TRUE(c.pending_output().empty());
    EXPECT_FALSE(c.done());
    EXPECT_FALSE(c.failed());
}

TEST(Socks5Client, GreetingWithCredentialsOffersBoth) {
    client c = make("example.com", 443, credentials{"alice", "secret"});
    EXPECT_EQ(drain(c), bytes({5, 2, 0, 2}));
}

TEST(Socks5Client, NoAuthDomainConnect) {
    client c = make("example.com", 443);
    drain(c);
    feed_all(c, bytes({5, 0}));
    EXPECT_EQ(c.selected_method(), 0);
    EXPECT_EQ(drain(c), bytes({5, 1, 0, 3, 11}) + "example.com" + bytes({0x01, 0xbb}));
    EXPECT_FALSE(c.done());
    feed_all(c, k_ipv4_reply);
    ASSERT_TRUE(c.done());
    EXPECT_EQ(c.reply_code(), 0);
    EXPECT_EQ(c.bound().type, address_type::ipv4);
    EXPECT_EQ(c.bound().host, "10.0.0.7");
    EXPECT_EQ(c.bound().port, 50000);
    EXPECT_TRUE(c.pending_output().empty());
}

TEST(Socks5Client, Ipv4Target) {
    client c = make("127.0.0.1", 8080);
    drain(c);
    feed_all(c, bytes({5, 0}));
    EXPECT_EQ(drain(c), bytes({5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90}));
}

TEST(Socks5Client, Ipv6Target) {
    for (const char* host : {"2001:db8::1", "[2001:db8::1]"}) {
        client c = make(host, 1);
        drain(c);
        feed_all(c, bytes({5, 0}));
        EXPECT_EQ(drain(c), bytes({5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,
                                   0, 0, 0, 0, 0,    0,    0,    0,    1, 0, 1}))
            << host;
    }
}

TEST(Socks5Client, NotQuiteAddressesAreDomains) {
    // Only exact literals become ATYP 1/4; the proxy resolves the rest.
    for (std::string host :
         {"1.2.3"s, "1.2.3.4.5"s, "256.1.1.1"s, "::1]"s, "1.2.3.4\0x"s, "localhost"s}) {
        client c = make(host, 80);
        drain(c);
        feed_all(c, bytes({5, 0}));
        std::string req = drain(c);
        ASSERT_GE(req.size(), 5u);
        EXPECT_EQ(req[3], 3) << host;
        EXPECT_EQ(req.substr(5, host.size()), host);
    }
}

TEST(Socks5Client, UserPassAuthentication) {
    client c = make("example.com", 80, credentials{"alice", "secret"});
    EXPECT_EQ(drain(c), bytes({5, 2, 0, 2}));
    feed_all(c, bytes({5, 2}));
    EXPECT_EQ(c.selected_method(), 2);
    EXPECT_EQ(drain(c), bytes({1, 5}) + "alice" + bytes({6}) + "secret");
    feed_all(c, bytes({1, 0}));
    EXPECT_EQ(drain(c), bytes({5, 1, 0, 3, 11}) + "example.com" + bytes({0, 80}));
    feed_all(c, k_ipv4_reply);
    EXPECT_TRUE(c.done());
}

TEST(Socks5Client, EmptyPasswordIsSentAsZeroLength) {
    client c = make("h", 80, credentials{"u", ""});
    drain(c);
    feed_all(c, bytes({5, 2}));
    EXPECT_EQ(drain(c), bytes({1, 1, 'u', 0}));
}

TEST(Socks5Client, AuthStatusWithVersion5IsAccepted) {
    client c = make("h", 80, credentials{"u", "p"});
    drain(c);
    feed_all(c, bytes({5, 2}));
    drain(c);
    feed_all(c, bytes({5, 0}));
    EXPECT_EQ(drain(c), bytes({5, 1, 0, 3, 1, 'h', 0, 80}));
}

TEST(Socks5Client, ProxyMayDeclineAuthenticationWhenOffered) {
    client c = make("h", 80, credentials{"u", "p"});
    drain(c);
    feed_all(c, bytes({5, 0}));
    // Straight to the request: the credentials are never sent.
    EXPECT_EQ(drain(c), bytes({5, 1, 0, 3, 1, 'h', 0, 80}));
}

TEST(Socks5Client, LongestHostAndCredentialsFit) {
    std::string host(255, 'a');
    client c = make(host, 80, credentials{std::string(255, 'u'), std::string(255, 'p')});
    drain(c);
    feed_all(c, bytes({5, 2}));
    std::string auth = drain(c);
    ASSERT_EQ(auth.size(), 1u + 1 + 255 + 1 + 255);
    EXPECT_EQ(static_cast<unsigned char>(auth[1]), 255);
    EXPECT_EQ(static_cast<unsigned char>(auth[257]), 255);
    feed_all(c, bytes({1, 0}));
    std::string req = drain(c);
    ASSERT_EQ(req.size(), 4u + 1 + 255 + 2);
    EXPECT_EQ(static_cast<unsigned char>(req[4]), 255);
}

TEST(Socks5Client, CreateRejectsBadInput) {
    EXPECT_EQ(client::create(std::string(256, 'a'), 80).error(), socks5_errc::host_too_long);
    EXPECT_EQ(client::create("", 80).error(), socks5_errc::empty_host);
    EXPECT_EQ(client::create("h", 80, credentials{"", "p"}).error(), socks5_errc::bad_credentials);
    EXPECT_EQ(client::create("h", 80, credentials{std::string(256, 'u'), "p"}).error(),
              socks5_errc::bad_credentials);
    EXPECT_EQ(client::create("h", 80, credentials{"u", std::string(256, 'p')}).error(),
              socks5_errc::bad_credentials);
}

TEST(Socks5Client, PartialWritesAreTracked) {
    client c = make("h", 80);
    c.consume_output(1);
    EXPECT_EQ(c.pending_output(), bytes({1, 0}));
    c.consume_output(1);
    EXPECT_EQ(c.pending_output(), bytes({0}));
    c.consume_output(1);
    EXPECT_TRUE(c.pending_output().empty());
    c.consume_output(5);  // over-consuming is clamped
    EXPECT_TRUE(c.pending_output().empty());
}

TEST(Socks5Client, ConfigConstructor) {
    client plain(client_config{"example.com", 443, "", ""});
    EXPECT_FALSE(plain.failed());
    EXPECT_EQ(drain(plain), bytes({5, 1, 0}));

    client with_auth(client_config{"example.com", 443, "alice", "secret"});
    EXPECT_EQ(drain(with_auth), bytes({5, 2, 0, 2}));
    feed_all(with_auth, bytes({5, 2}));
    EXPECT_EQ(drain(with_auth), bytes({1, 5}) + "alice" + bytes({6}) + "secret");
}

TEST(Socks5Client, InvalidConfigLeavesTheClientFailed) {
    struct bad_case {
        client_config config;
        socks5_errc expected;
    };
    for (const auto& bc :
         {bad_case{{"", 80, "", ""}, socks5_errc::empty_host},
          bad_case{{std::string(256, 'h'), 80, "", ""}, socks5_errc::host_too_long},
          bad_case{{"h", 80, "", "password-only"}, socks5_errc::bad_credentials},
          bad_case{{"h", 80, std::string(256, 'u'), ""}, socks5_errc::bad_credentials}}) {
        client c(bc.config);
        EXPECT_TRUE(c.failed());
        EXPECT_EQ(c.error(), bc.expected);
        EXPECT_TRUE(c.pending_output().empty());
        EXPECT_EQ(c.want_bytes(512), 0u);
        std::error_code ec;
        EXPECT_EQ(c.feed(bytes({5, 0}), ec), 0u);
        EXPECT_EQ(ec, bc.expected);
    }
}

TEST(Socks5Client, WantBytesNeverReadsPastTheReply) {
    const std::string server =
        bytes({5, 2, 1, 0}) + bytes({5, 0, 0, 3, 5}) + "proxy" + bytes({0, 9}) + "TUNNEL DATA";
    client c = make("h", 80, credentials{"u", "p"});
    std::vector<std::size_t> reads;
    std::size_t pos = 0;
    while (!c.done()) {
        drain(c);
        std::size_t n = c.want_bytes(512);
        ASSERT_GT(n, 0u);
        reads.push_back(n);
        std::error_code ec;
        ASSERT_EQ(c.feed(std::string_view(server).substr(pos, n), ec), n);
        ASSERT_FALSE(ec);
        pos += n;
    }
    // method, auth status, VER REP, RSV ATYP, domain length, domain + port.
    EXPECT_EQ(reads, (std::vector<std::size_t>{2, 2, 2, 2, 1, 7}));
    EXPECT_EQ(server.substr(pos), "TUNNEL DATA");
    EXPECT_EQ(c.want_bytes(512), 0u);
    EXPECT_EQ(c.bound().host, "proxy");

    client small = make("h", 80);
    EXPECT_EQ(small.want_bytes(1), 1u);  // capped by max
}

// ----------------------------------------------------------------- replies

TEST(Socks5Client, BoundAddressOfEachType) {
    struct reply_case {
        std::string reply;
        address_type type;
        std::string host;
        std::uint16_t port;
    };
    std::vector<reply_case> cases = {
        {bytes({5, 0, 0, 1, 192, 168, 1, 2, 0, 80}), address_type::ipv4, "192.168.1.2", 80},
        {bytes({5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,
                0, 0, 0, 0, 0,    0,    0,    0,    0x42, 0xff, 0xff}),
         address_type::ipv6, "2001:db8::42", 65535},
        {bytes({5, 0, 0, 3, 11}) + "proxy.local" + bytes({0x12, 0x34}), address_type::domain,
         "proxy.local", 0x1234},
        {bytes({5, 0, 0, 3, 0, 0, 1}), address_type::domain, "", 1},
        {bytes({5, 0, 0x7f, 1, 1, 2, 3, 4, 0, 0}), address_type::ipv4, "1.2.3.4",
         0},  // RSV ignored
    };
    for (const auto& rc : cases) {
        client c = make("h", 80);
        drain(c);
        feed_all(c, bytes({5, 0}));
        drain(c);
        feed_all(c, rc.reply);
        ASSERT_TRUE(c.done()) << rc.host;
        EXPECT_EQ(c.bound().type, rc.type);
        EXPECT_EQ(c.bound().host, rc.host);
        EXPECT_EQ(c.bound().port, rc.port);
    }
}

TEST(Socks5Client, BytesAfterTheReplyAreLeftToTheCaller) {
    client c = make("h", 80);
    drain(c);
    std::string in = bytes({5, 0}) + k_ipv4_reply + "220 smtp ready\r\n";
    std::error_code ec;
    std::size_t used = c.feed(in, ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(used, 2 + k_ipv4_reply.size());
    EXPECT_TRUE(c.done());
    EXPECT_EQ(in.substr(used), "220 smtp ready\r\n");
    // Once done, nothing more is taken.
    EXPECT_EQ(c.feed("more", ec), 0u);
    EXPECT_FALSE(ec);
}

TEST(Socks5Client, EmptyFeedIsHarmless) {
    client c = make("h", 80);
    std::error_code ec = make_error_code(socks5_errc::bad_reply);
    EXPECT_EQ(c.feed({}, ec), 0u);
    EXPECT_FALSE(ec);
    EXPECT_FALSE(c.done());
}

// The whole server side of a handshake, fed with every possible split: one
// byte at a time, and in two pieces cut at every position. The trailing
// tunnel data must come out untouched.
void check_every_split(const std::optional<credentials>& auth, const std::string& server,
                       const std::string& tunnel, const std::string& expected_client) {
    const std::string all = server + tunnel;
    auto run = [&](const std::vector<std::size_t>& cuts) {
        client c = make("example.com", 443, auth);
        std::string sent = drain(c);
        std::string leftover;
        std::size_t pos = 0;
        for (std::size_t i = 0; i <= cuts.size(); ++i) {
            std::size_t end = i < cuts.size() ? cuts[i] : all.size();
            std::string piece = all.substr(pos, end - pos);
            pos = end;
            std::error_code ec;
            std::size_t used = c.feed(piece, ec);
            EXPECT_FALSE(ec) << ec.message();
            leftover += piece.substr(used);
            sent += drain(c);
            if (!c.done()) {
                EXPECT_EQ(used, piece.size());
            }
        }
        EXPECT_TRUE(c.done());
        EXPECT_EQ(leftover, tunnel);
        EXPECT_EQ(sent, expected_client);
    };
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < all.size(); ++i) {
        every.push_back(i);
    }
    run(every);
    for (std::size_t cut = 0; cut <= all.size(); ++cut) {
        SCOPED_TRACE("cut at " + std::to_string(cut));
        run({cut});
    }
}

TEST(Socks5Client, RepliesSplitAtEveryByte) {
    const std::string request = bytes({5, 1, 0, 3, 11}) + "example.com" + bytes({1, 0xbb});
    const std::string domain_reply = bytes({5, 0, 0, 3, 5}) + "proxy" + bytes({0, 9});
    const std::string v6_reply =
        bytes({5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 9});
    {
        SCOPED_TRACE("no auth, ipv4 reply");
        check_every_split(std::nullopt, bytes({5, 0}) + k_ipv4_reply, "tunnel!",
                          bytes({5, 1, 0}) + request);
    }
    {
        SCOPED_TRACE("no auth, domain reply");
        check_every_split(std::nullopt, bytes({5, 0}) + domain_reply, "x",
                          bytes({5, 1, 0}) + request);
    }
    {
        SCOPED_TRACE("user/pass, ipv6 reply");
        check_every_split(
            credentials{"bob", "pw"}, bytes({5, 2, 1, 0}) + v6_reply, "data",
            bytes({5, 2, 0, 2}) + bytes({1, 3}) + "bob" + bytes({2}) + "pw" + request);
    }
    {
        SCOPED_TRACE("no tunnel data");
        check_every_split(std::nullopt, bytes({5, 0}) + k_ipv4_reply, "",
                          bytes({5, 1, 0}) + request);
    }
}

// ------------------------------------------------------------------ errors

struct error_case {
    const char* name;
    std::optional<credentials> auth;
    std::string server;
    socks5_errc expected;
};

TEST(Socks5Client, EachErrorIsReported) {
    const credentials cr{"u", "p"};
    std::vector<error_case> cases = {
        {"method reply version 4", std::nullopt, bytes({4, 0}), socks5_errc::bad_version},
        {"HTTP proxy answering", std::nullopt, "HTTP/1.1 400 Bad Request\r\n",
         socks5_errc::bad_version},
        {"no acceptable method", std::nullopt, bytes({5, 0xff}), socks5_errc::no_acceptable_method},
        {"no acceptable method with creds", cr, bytes({5, 0xff}),
         socks5_errc::no_acceptable_method},
        {"user/pass not offered", std::nullopt, bytes({5, 2}), socks5_errc::bad_reply},
        {"GSSAPI not offered", cr, bytes({5, 1}), socks5_errc::bad_reply},
        {"auth rejected", cr, bytes({5, 2, 1, 1}), socks5_errc::auth_failed},
        {"auth status 0xff", cr, bytes({5, 2, 1, 0xff}), socks5_errc::auth_failed},
        {"auth reply version 2", cr, bytes({5, 2, 2, 0}), socks5_errc::bad_version},
        {"reply version 4", std::nullopt, bytes({5, 0, 4, 0}), socks5_errc::bad_version},
        {"REP 1", std::nullopt, bytes({5, 0, 5, 1}), socks5_errc::general_failure},
        {"REP 2", std::nullopt, bytes({5, 0, 5, 2}), socks5_errc::not_allowed},
        {"REP 3", std::nullopt, bytes({5, 0, 5, 3}), socks5_errc::network_unreachable},
        {"REP 4", std::nullopt, bytes({5, 0, 5, 4}), socks5_errc::host_unreachable},
        {"REP 5", std::nullopt, bytes({5, 0, 5, 5}), socks5_errc::connection_refused},
        {"REP 6", std::nullopt, bytes({5, 0, 5, 6}), socks5_errc::ttl_expired},
        {"REP 7", std::nullopt, bytes({5, 0, 5, 7}), socks5_errc::command_not_supported},
        {"REP 8", std::nullopt, bytes({5, 0, 5, 8}), socks5_errc::address_type_not_supported},
        {"REP 9 (unassigned)", std::nullopt, bytes({5, 0, 5, 9}), socks5_errc::bad_reply},
        {"REP 0xff (unassigned)", std::nullopt, bytes({5, 0, 5, 0xff}), socks5_errc::bad_reply},
        {"ATYP 0", std::nullopt, bytes({5, 0, 5, 0, 0, 0}), socks5_errc::bad_reply},
        {"ATYP 2", std::nullopt, bytes({5, 0, 5, 0, 0, 2, 1, 2, 3, 4, 0, 0}),
         socks5_errc::bad_reply},
        {"ATYP 5", std::nullopt, bytes({5, 0, 5, 0, 0, 5}), socks5_errc::bad_reply},
    };
    for (const auto& ec_case : cases) {
        SCOPED_TRACE(ec_case.name);
        // Whole, and byte by byte: the error is the same either way.
        for (bool bytewise : {false, true}) {
            client c = make("h", 80, ec_case.auth);
            drain(c);
            std::error_code ec;
            if (bytewise) {
                for (char b : ec_case.server) {
                    c.feed(std::string_view(&b, 1), ec);
                    drain(c);
                    if (ec) {
                        break;
                    }
                }
            } else {
                c.feed(ec_case.server, ec);
            }
            EXPECT_EQ(ec, ec_case.expected) << ec.message();
            EXPECT_TRUE(c.failed());
            EXPECT_FALSE(c.done());
            EXPECT_EQ(c.error(), ec_case.expected);
            // Final: nothing more is consumed and the error repeats.
            std::error_code again;
            EXPECT_EQ(c.feed(k_ipv4_reply, again), 0u);
            EXPECT_EQ(again, ec_case.expected);
        }
    }
}

TEST(Socks5Client, RefusalIsReportedFromTheFirstTwoBytes) {
    // A proxy may send just VER REP and close; that is enough to know why.
    client c = make("h", 80);
    drain(c);
    std::error_code ec;
    EXPECT_EQ(c.feed(bytes({5, 0, 5, 4}), ec), 4u);
    EXPECT_EQ(ec, socks5_errc::host_unreachable);
    EXPECT_EQ(c.reply_code(), 4);
}

TEST(Socks5Client, CredentialsAreNotSentAfterAFailedGreeting) {
    client c = make("h", 80, credentials{"u", "p"});
    drain(c);
    std::error_code ec;
    c.feed(bytes({5, 0xff}), ec);
    EXPECT_TRUE(c.pending_output().empty());
}

TEST(Socks5Client, ErrorMessagesSayWhatTheProxyReported) {
    EXPECT_STREQ(socks5_category().name(), "corvid.socks5");
    for (int v = static_cast<int>(socks5_errc::bad_version);
         v <= static_cast<int>(socks5_errc::bad_credentials); ++v) {
        std::error_code ec(v, socks5_category());
        EXPECT_EQ(ec.message().find("unknown"), std::string::npos) << v;
        EXPECT_FALSE(ec.message().empty());
    }
    EXPECT_NE(make_error_code(socks5_errc::connection_refused).message().find("refused"),
              std::string::npos);
    EXPECT_NE(make_error_code(socks5_errc::auth_failed).message().find("username or password"),
              std::string::npos);
}

// ---------------------------------------------------- interop: microsocks

// A loopback server (127.0.0.1 and, when available, ::1, on one port) that
// greets each connection with a banner, then echoes what it receives.
class echo_server {
  public:
    static constexpr std::string_view banner = "echo-ready\n";

    echo_server() : v4_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        port_ = v4_.local_endpoint().port();
        try {
            v6_.emplace(io_, asio::ip::tcp::endpoint{asio::ip::make_address("::1"), port_});
        } catch (const std::system_error&) {
            v6_.reset();  // no IPv6 loopback here (or the port is taken on ::1)
        }
        accept(v4_);
        if (v6_) {
            accept(*v6_);
        }
        thread_ = std::thread([this] { io_.run(); });
    }
    ~echo_server() {
        io_.stop();
        thread_.join();
    }

    std::uint16_t port() const { return port_; }
    bool has_ipv6() const { return v6_.has_value(); }

  private:
    void accept(asio::ip::tcp::acceptor& a) {
        a.async_accept([this, &a](std::error_code ec, asio::ip::tcp::socket s) {
            if (ec) {
                return;
            }
            auto sock = std::make_shared<asio::ip::tcp::socket>(std::move(s));
            asio::async_write(*sock, asio::buffer(banner),
                              [this, sock](std::error_code wec, std::size_t) {
                                  if (!wec) {
                                      echo(sock);
                                  }
                              });
            accept(a);
        });
    }
    void echo(std::shared_ptr<asio::ip::tcp::socket> sock) {
        auto buf = std::make_shared<std::array<char, 4096>>();
        sock->async_read_some(
            asio::buffer(*buf), [this, sock, buf](std::error_code ec, std::size_t n) {
                if (ec) {
                    return;
                }
                asio::async_write(*sock, asio::buffer(*buf, n),
                                  [this, sock, buf](std::error_code wec, std::size_t) {
                                      if (!wec) {
                                          echo(sock);
                                      }
                                  });
            });
    }

    asio::io_context io_;
    asio::ip::tcp::acceptor v4_;
    std::optional<asio::ip::tcp::acceptor> v6_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

struct handshake_outcome {
    std::error_code ec;
    std::string leftover;  // tunnel bytes that arrived with the reply
};

// Runs the codec over a real socket: write what it wants, read, feed.
handshake_outcome run_handshake(asio::ip::tcp::socket& sock, client& c) {
    handshake_outcome out;
    std::array<char, 512> buf;
    while (!c.done()) {
        while (!c.pending_output().empty()) {
            std::size_t n = sock.write_some(
                asio::buffer(c.pending_output().data(), c.pending_output().size()), out.ec);
            if (out.ec) {
                return out;
            }
            c.consume_output(n);
        }
        std::size_t n = sock.read_some(asio::buffer(buf), out.ec);
        if (out.ec) {
            return out;
        }
        std::size_t used = c.feed(std::string_view(buf.data(), n), out.ec);
        if (out.ec) {
            return out;
        }
        if (c.done()) {
            out.leftover.assign(buf.data() + used, n - used);
        }
    }
    return out;
}

std::string read_exactly(asio::ip::tcp::socket& sock, std::string have, std::size_t n) {
    std::array<char, 512> buf;
    while (have.size() < n) {
        std::error_code ec;
        std::size_t got = sock.read_some(asio::buffer(buf), ec);
        if (ec) {
            break;
        }
        have.append(buf.data(), got);
    }
    return have;
}

class Socks5Interop : public ::testing::Test {
  protected:
    // Connects to the proxy, runs the handshake to host:port and, on
    // success, checks the tunnel: the banner first, then an echo.
    std::error_code connect_through(std::uint16_t proxy_port, std::string_view host,
                                    std::uint16_t port,
                                    std::optional<credentials> auth = std::nullopt) {
        asio::ip::tcp::socket sock(io_);
        sock.connect({asio::ip::make_address("127.0.0.1"), proxy_port});
        auto created = client::create(host, port, std::move(auth));
        EXPECT_TRUE(created);
        client c = std::move(created).value();
        handshake_outcome out = run_handshake(sock, c);
        if (out.ec) {
            return out.ec;
        }
        EXPECT_TRUE(c.done());
        std::string banner = read_exactly(sock, out.leftover, echo_server::banner.size());
        EXPECT_EQ(banner, echo_server::banner);
        asio::write(sock, asio::buffer(std::string_view("ping through socks")));
        EXPECT_EQ(read_exactly(sock, banner.substr(echo_server::banner.size()), 18),
                  "ping through socks");
        return {};
    }

    asio::io_context io_;
    echo_server echo_;
};

TEST_F(Socks5Interop, MicrosocksConnectsToIpv4) {
    test::external_server proxy = test::start_microsocks();
    EXPECT_FALSE(connect_through(proxy.port(), "127.0.0.1", echo_.port()));
}

TEST_F(Socks5Interop, MicrosocksResolvesDomainNames) {
    test::external_server proxy = test::start_microsocks();
    // "localhost" may resolve to ::1 or 127.0.0.1 at the proxy; the echo
    // server listens on both when it can.
    if (!echo_.has_ipv6()) {
        GTEST_SKIP() << "no IPv6 loopback: localhost may resolve to an address we cannot serve";
    }
    EXPECT_FALSE(connect_through(proxy.port(), "localhost", echo_.port()));
}

TEST_F(Socks5Interop, MicrosocksConnectsToIpv6) {
    if (!echo_.has_ipv6()) {
        GTEST_SKIP() << "no IPv6 loopback";
    }
    test::external_server proxy = test::start_microsocks();
    EXPECT_FALSE(connect_through(proxy.port(), "::1", echo_.port()));
}

TEST_F(Socks5Interop, MicrosocksWithUsernameAndPassword) {
    test::external_server proxy = test::start_microsocks("alice", "s3cret");
    EXPECT_FALSE(
        connect_through(proxy.port(), "127.0.0.1", echo_.port(), credentials{"alice", "s3cret"}));
    EXPECT_EQ(
        connect_through(proxy.port(), "127.0.0.1", echo_.port(), credentials{"alice", "wrong"}),
        socks5_errc::auth_failed);
    EXPECT_EQ(connect_through(proxy.port(), "127.0.0.1", echo_.port()),
              socks5_errc::no_acceptable_method);
}

TEST_F(Socks5Interop, MicrosocksReportsARefusedTarget) {
    test::external_server proxy = test::start_microsocks();
    EXPECT_EQ(connect_through(proxy.port(), "127.0.0.1", test::free_port()),
              socks5_errc::connection_refused);
}

}  // namespace
}  // namespace corvid::socks5
