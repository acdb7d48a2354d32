// The client against corvid's own in-process HTTP/1.1 server (plain and
// TLS): pooling, framing, redirects, cookies, decoding, timeouts,
// cancellation, uploads and TLS verification failures.

#include "corvid/client.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <brotli/encode.h>
#include <zstd.h>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <thread>

#include "server/http1_server.hpp"
#include "support/async.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

using server::incoming_request;
using server::outgoing_response;
using namespace std::chrono_literals;

std::string gzip(std::string_view in) {
    z_stream zs{};
    deflateInit2(&zs, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&zs, in.size()) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

std::string brotli(std::string_view in) {
    std::size_t size = BrotliEncoderMaxCompressedSize(in.size());
    std::string out(size, '\0');
    BrotliEncoderCompress(5, 22, BROTLI_MODE_GENERIC, in.size(),
                          reinterpret_cast<const uint8_t*>(in.data()), &size,
                          reinterpret_cast<uint8_t*>(out.data()));
    out.resize(size);
    return out;
}

std::string zstd(std::string_view in) {
    std::string out(ZSTD_compressBound(in.size()), '\0');
    out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3));
    return out;
}

class ClientTest : public ::testing::Test {
  protected:
    void start(server::handler h, bool tls = false, tls::leaf_spec spec = {}) {
        std::shared_ptr<tls::server_context> ctx;
        if (tls) {
            auto leaf = ca_.issue(spec);
            ASSERT_TRUE(leaf);
            auto created =
                tls::server_context::create({leaf->cert_pem, leaf->key_pem, {"http/1.1"}});
            ASSERT_TRUE(created);
            ctx = *created;
        }
        server_ = server::http1_server::create(io_.get_executor(), std::move(h), ctx);
        ASSERT_TRUE(server_->listen());
        base_ =
            std::string(tls ? "https" : "http") + "://localhost:" + std::to_string(server_->port());
    }

    client_options tls_options() {
        client_options o;
        // Per process: ctest runs tests of this fixture in parallel
        // processes, each with its own CA; a shared path let one test read
        // another's CA (a CI failure: "not signed by a trusted CA").
        ca_file_ = ::testing::TempDir() + "/client_test_ca." + std::to_string(::getpid()) + ".pem";
        EXPECT_TRUE(tls::write_file(ca_file_, ca_.cert_pem()));
        o.tls.ca_file = ca_file_;
        return o;
    }

    result<buffered_response> get(client& c, std::string path) {
        request req;
        req.url = base_ + path;
        return test::run(io_, c.fetch(std::move(req)));
    }

    void TearDown() override {
        if (server_) {
            server_->stop();
        }
    }

    asio::io_context io_{1};
    tls::test_ca ca_ = tls::test_ca::create().value();
    std::string ca_file_;
    std::shared_ptr<server::http1_server> server_;
    std::string base_;
};

asio::awaitable<outgoing_response> echo_handler(const incoming_request& req) {
    outgoing_response res;
    res.fields.add("X-Method", req.method);
    res.fields.add("X-Target", req.target);
    std::string fields;
    for (const auto& f : req.fields) {
        fields += f.name + ": " + f.value + "\n";
    }
    res.fields.add("X-Body-Size", std::to_string(req.body.size()));
    res.body = fields + "\n" + req.body;
    co_return res;
}

TEST_F(ClientTest, GetReusesOneConnection) {
    start(echo_handler);
    client c(io_.get_executor());
    for (int i = 0; i < 3; ++i) {
        auto res = get(c, "/x?i=" + std::to_string(i));
        ASSERT_TRUE(res) << res.error().message();
        EXPECT_EQ(res->status, 200);
        EXPECT_EQ(res->headers.get("X-Target"), "/x?i=" + std::to_string(i));
        EXPECT_EQ(res->connects, i == 0 ? 1u : 0u);
        EXPECT_EQ(res->connection.reused, i > 0);
    }
    EXPECT_EQ(server_->connections_accepted(), 1u);
    EXPECT_EQ(c.total_connects(), 1u);
}

TEST_F(ClientTest, SendsHeadersInTheGivenOrderAfterHost) {
    start(echo_handler);
    client c(io_.get_executor());
    request req;
    req.url = base_ + "/";
    req.headers.add("X-Zeta", "1");
    req.headers.add("accept", "text/html");
    req.headers.add("X-Alpha", "2");
    auto res = test::run(io_, c.fetch(std::move(req)));
    ASSERT_TRUE(res);
    auto host = "Host: localhost:" + std::to_string(server_->port());
    EXPECT_EQ(res->body.substr(0, res->body.find("\n\n")),
              host + "\nUser-Agent: corvid/0.1\nX-Zeta: 1\naccept: text/html\nX-Alpha: 2");
}

TEST_F(ClientTest, RefusesHeaderInjection) {
    start(echo_handler);
    client c(io_.get_executor());
    request req;
    req.url = base_ + "/";
    req.headers.add("X-Evil", "a\r\nInjected: yes");
    auto res = test::run(io_, c.fetch(std::move(req)));
    ASSERT_FALSE(res);
    EXPECT_EQ(server_->requests_served(), 0u);
}

TEST_F(ClientTest, StreamsChunkedBodyWithTrailers) {
    start([](const incoming_request&) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        res.chunks = {"alpha-", "beta-", "gamma"};
        res.trailers.add("X-Checksum", "42");
        co_return res;
    });
    client c(io_.get_executor());
    test::run(io_, [&]() -> asio::awaitable<void> {
        request req;
        req.url = base_ + "/";
        auto res = co_await c.send(std::move(req));
        EXPECT_TRUE(res);
        std::string body;
        int pieces = 0;
        for (;;) {
            auto piece = co_await res->read_some();
            EXPECT_TRUE(piece);
            if (!piece || piece->empty()) {
                break;
            }
            body.append(*piece);
            ++pieces;
        }
        EXPECT_EQ(body, "alpha-beta-gamma");
        EXPECT_GE(pieces, 1);
        EXPECT_EQ(res->trailers().get("X-Checksum"), "42");
        EXPECT_TRUE(res->body_complete());
    }());
    EXPECT_EQ(c.idle_connections(), 1u);
}

TEST_F(ClientTest, HeadAnd204HaveNoBodyAndKeepTheConnection) {
    start([](const incoming_request& req) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        if (req.target == "/204") {
            res.status = 204;
        } else {
            res.body = std::string(1000, 'x');
        }
        co_return res;
    });
    client c(io_.get_executor());
    request head;
    head.method = "HEAD";
    head.url = base_ + "/";
    auto h = test::run(io_, c.fetch(std::move(head)));
    ASSERT_TRUE(h);
    EXPECT_EQ(h->headers.get("Content-Length"), "1000");
    EXPECT_TRUE(h->body.empty());
    auto n = get(c, "/204");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->status, 204);
    auto full = get(c, "/");
    ASSERT_TRUE(full);
    EXPECT_EQ(full->body.size(), 1000u);
    EXPECT_EQ(server_->connections_accepted(), 1u);
}

TEST_F(ClientTest, UnreadBodyClosesTheConnectionInsteadOfReusingIt) {
    start([](const incoming_request&) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        res.body = std::string(200000, 'y');
        co_return res;
    });
    client c(io_.get_executor());
    test::run(io_, [&]() -> asio::awaitable<void> {
        request req;
        req.url = base_ + "/";
        {
            auto res = co_await c.send(req);
            EXPECT_TRUE(res);
            auto first = co_await res->read_some();
            EXPECT_TRUE(first && !first->empty());
        }  // dropped half-read
        EXPECT_EQ(c.idle_connections(), 0u);
        auto again = co_await c.fetch(req);
        EXPECT_TRUE(again);
        EXPECT_EQ(again->body.size(), 200000u);
        EXPECT_EQ(again->connects, 1u);
    }());
    EXPECT_EQ(server_->connections_accepted(), 2u);
}

TEST_F(ClientTest, CloseDelimitedBody) {
    start([](const incoming_request&) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        res.until_close = true;
        res.body = "until the end";
        co_return res;
    });
    client c(io_.get_executor());
    auto res = get(c, "/");
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->body, "until the end");
    EXPECT_EQ(c.idle_connections(), 0u);
}

TEST_F(ClientTest, FollowsRedirectsWithFetchMethodRules) {
    start([](const incoming_request& req) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        if (req.target == "/303") {
            res.status = 303;
            res.fields.add("Location", "/final");
        } else if (req.target == "/307") {
            res.status = 307;
            res.fields.add("Location", "final");
        } else if (req.target == "/loop") {
            res.status = 302;
            res.fields.add("Location", "/loop");
        } else {
            res.body = req.method + " " + req.target + " " + req.body;
        }
        co_return res;
    });
    client_options o;
    o.follow_redirects = true;
    o.max_redirects = 5;
    client c(io_.get_executor(), o);

    request post;
    post.method = "POST";
    post.url = base_ + "/303";
    post.body = "payload";
    auto r1 = test::run(io_, c.fetch(post));
    ASSERT_TRUE(r1);
    EXPECT_EQ(r1->body, "GET /final ");
    EXPECT_EQ(r1->redirect_count, 1);
    EXPECT_EQ(r1->effective_url, base_ + "/final");

    post.url = base_ + "/307";
    auto r2 = test::run(io_, c.fetch(post));
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->body, "POST /final payload");

    auto r3 = get(c, "/loop");
    ASSERT_FALSE(r3);
    EXPECT_EQ(r3.error(), client_errc::too_many_redirects);
    EXPECT_EQ(server_->connections_accepted(), 1u);  // drained bodies kept the connection
}

TEST_F(ClientTest, RedirectToAnotherOriginDropsAuthorizationAndCookie) {
    asio::io_context& io = io_;
    // A second server: another origin (port).
    std::string seen;
    auto other = server::http1_server::create(
        io.get_executor(), [&](const incoming_request& req) -> asio::awaitable<outgoing_response> {
            seen = std::string(req.fields.get("Authorization").value_or("-")) + "|" +
                   std::string(req.fields.get("Cookie").value_or("-"));
            co_return outgoing_response{};
        });
    ASSERT_TRUE(other->listen());
    std::string target = "http://127.0.0.1:" + std::to_string(other->port()) + "/landing";
    start([&](const incoming_request&) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        res.status = 302;
        res.fields.add("Location", target);
        co_return res;
    });
    client_options o;
    o.follow_redirects = true;
    client c(io_.get_executor(), o);
    request req;
    req.url = base_ + "/";
    req.headers.add("Authorization", "Bearer secret");
    req.headers.add("Cookie", "sid=secret");
    auto res = test::run(io_, c.fetch(req));
    ASSERT_TRUE(res);
    EXPECT_EQ(seen, "-|-");
    other->stop();
}

TEST_F(ClientTest, CookieJarAcrossRequests) {
    start([](const incoming_request& req) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        if (req.target == "/login") {
            res.fields.add("Set-Cookie", "sid=abc; Path=/; HttpOnly");
            res.fields.add("Set-Cookie", "theme=dark; Path=/prefs");
        }
        res.body = std::string(req.fields.get("Cookie").value_or(""));
        co_return res;
    });
    client c(io_.get_executor());
    ASSERT_TRUE(get(c, "/login"));
    EXPECT_EQ(get(c, "/").value().body, "sid=abc");
    EXPECT_EQ(get(c, "/prefs/x").value().body, "theme=dark; sid=abc");
    EXPECT_EQ(c.cookies().size(), 2u);
}

TEST_F(ClientTest, DecodesGzipBrotliAndZstd) {
    const std::string text = [] {
        std::string s;
        for (int i = 0; i < 5000; ++i) {
            s += "line " + std::to_string(i) + " of a compressible body\n";
        }
        return s;
    }();
    start([&](const incoming_request& req) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        std::string coding = req.target.substr(1);
        res.fields.add("Content-Encoding", coding);
        res.body = coding == "gzip" ? gzip(text) : coding == "br" ? brotli(text) : zstd(text);
        co_return res;
    });
    client_options o;
    o.decompress = true;
    client c(io_.get_executor(), o);
    for (const char* coding : {"gzip", "br", "zstd"}) {
        auto res = get(c, std::string("/") + coding);
        ASSERT_TRUE(res) << coding << ": " << res.error().message();
        EXPECT_EQ(res->body, text) << coding;
    }
}

TEST_F(ClientTest, DecompressionBombIsStopped) {
    start([](const incoming_request&) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        res.fields.add("Content-Encoding", "gzip");
        res.body = gzip(std::string(64 * 1024 * 1024, '\0'));
        co_return res;
    });
    client_options o;
    o.decompress = true;
    o.max_decoded_bytes = 1024 * 1024;
    client c(io_.get_executor(), o);
    auto res = get(c, "/");
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error(), client_errc::decoded_too_large);
}

TEST_F(ClientTest, StreamingUploadIsChunked) {
    start(echo_handler);
    client c(io_.get_executor());
    int calls = 0;
    std::vector<std::string> parts{"one,", "two,", "three"};
    request req;
    req.method = "PUT";
    req.url = base_ + "/upload";
    req.body_stream = [&]() -> asio::awaitable<result<std::string_view>> {
        if (calls < static_cast<int>(parts.size())) {
            co_return std::string_view(parts[calls++]);
        }
        co_return std::string_view{};
    };
    auto res = test::run(io_, c.fetch(std::move(req)));
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_NE(res->body.find("Transfer-Encoding: chunked"), std::string::npos);
    EXPECT_EQ(res->body.substr(res->body.find("\n\n") + 2), "one,two,three");
}

TEST_F(ClientTest, ExpectContinueWaitsForTheServer) {
    start(echo_handler);
    client c(io_.get_executor());
    request req;
    req.method = "POST";
    req.url = base_ + "/";
    req.headers.add("Expect", "100-continue");
    req.body = std::string(5000, 'b');
    auto res = test::run(io_, c.fetch(std::move(req)));
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->headers.get("X-Body-Size"), "5000");
}

TEST_F(ClientTest, TotalTimeout) {
    start([](const incoming_request&) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        res.delay = 2s;
        co_return res;
    });
    client_options o;
    o.total_timeout = 200ms;
    client c(io_.get_executor(), o);
    auto res = get(c, "/");
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error(), net_errc::total_timeout);
}

TEST_F(ClientTest, ReadTimeoutBetweenChunks) {
    start([](const incoming_request&) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        res.chunks = {"a", "b"};
        res.chunk_interval = 1500ms;
        co_return res;
    });
    client_options o;
    o.read_timeout = 300ms;
    client c(io_.get_executor(), o);
    auto res = get(c, "/");
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error(), net_errc::read_timeout);
}

TEST_F(ClientTest, CancelFromAnotherCoroutine) {
    start([](const incoming_request&) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        res.delay = 5s;
        co_return res;
    });
    client c(io_.get_executor());
    request req;
    req.url = base_ + "/";
    cancel_token token = req.cancel;
    asio::steady_timer t(io_, 100ms);
    t.async_wait([token](std::error_code) mutable { token.cancel(); });
    auto res = test::run(io_, c.fetch(std::move(req)));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error(), net_errc::cancelled);
}

TEST_F(ClientTest, MaxConnectionsPerOriginQueuesRequests) {
    start([](const incoming_request&) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        res.delay = 50ms;
        res.body = "ok";
        co_return res;
    });
    client_options o;
    o.max_connections_per_origin = 2;
    client c(io_.get_executor(), o);
    int done = 0;
    for (int i = 0; i < 6; ++i) {
        asio::co_spawn(
            io_,
            [&]() -> asio::awaitable<void> {
                request req;
                req.url = base_ + "/";
                auto res = co_await c.fetch(std::move(req));
                EXPECT_TRUE(res);
                ++done;
            },
            asio::detached);
    }
    while (done < 6 && io_.run_one() > 0) {
    }
    EXPECT_EQ(done, 6);
    EXPECT_EQ(server_->connections_accepted(), 2u);
}

TEST_F(ClientTest, ConnectRefusedAndDnsFailure) {
    client c(io_.get_executor());
    request req;
    // A port nobody listens on: bind then close.
    asio::ip::tcp::acceptor a(io_, {asio::ip::make_address("127.0.0.1"), 0});
    auto port = a.local_endpoint().port();
    a.close();
    req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
    auto refused = test::run(io_, c.fetch(req));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), net_errc::connect_failed);
    req.url = "http://no-such-host.invalid/";
    auto dns = test::run(io_, c.fetch(req));
    ASSERT_FALSE(dns);
    EXPECT_EQ(dns.error(), net_errc::dns_failed);
}

TEST_F(ClientTest, StaleIdleConnectionIsReplacedTransparently) {
    start([](const incoming_request&) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        res.body = "fresh";
        co_return res;
    });
    client c(io_.get_executor());
    ASSERT_TRUE(get(c, "/"));
    // Restart the server on the same port: the pooled connection is dead.
    auto port = server_->port();
    server_->stop();
    io_.poll();
    test::run(io_, [&]() -> asio::awaitable<void> {
        asio::steady_timer t(io_, 50ms);
        co_await t.async_wait(asio::use_awaitable);
    }());
    server_ = server::http1_server::create(
        io_.get_executor(), [](const incoming_request&) -> asio::awaitable<outgoing_response> {
            outgoing_response res;
            res.body = "again";
            co_return res;
        });
    ASSERT_TRUE(server_->listen("127.0.0.1", port));
    auto res = get(c, "/");
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->body, "again");
}

// ------------------------------------------------------------------ TLS ---

TEST_F(ClientTest, TlsVerifiedAgainstTheGivenCa) {
    start(echo_handler, true);
    client c(io_.get_executor(), tls_options());
    auto res = get(c, "/");
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_TRUE(res->connection.tls);
    EXPECT_EQ(res->connection.tls_version, "TLSv1.3");
    EXPECT_EQ(res->connection.alpn, "http/1.1");
    EXPECT_FALSE(res->connection.tls_cipher.empty());
}

TEST_F(ClientTest, Tls12WhenTheServerStopsThere) {
    auto leaf = ca_.issue({});
    ASSERT_TRUE(leaf);
    tls::server_config config{leaf->cert_pem, leaf->key_pem, {"http/1.1"}};
    config.max_version = TLS1_2_VERSION;
    auto ctx = tls::server_context::create(config);
    ASSERT_TRUE(ctx);
    server_ = server::http1_server::create(io_.get_executor(), echo_handler, *ctx);
    ASSERT_TRUE(server_->listen());
    base_ = "https://localhost:" + std::to_string(server_->port());
    client c(io_.get_executor(), tls_options());
    auto first = get(c, "/");
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(first->connection.tls_version, "TLSv1.2");
    EXPECT_EQ(first->connection.alpn, "http/1.1");
    c.close_idle();
    auto second = get(c, "/");  // TLS 1.2 session tickets resume too
    ASSERT_TRUE(second);
    EXPECT_TRUE(second->connection.tls_resumed);
}

TEST_F(ClientTest, TlsSessionIsResumedOnANewConnection) {
    start(echo_handler, true);
    client c(io_.get_executor(), tls_options());
    auto first = get(c, "/");
    ASSERT_TRUE(first);
    EXPECT_FALSE(first->connection.tls_resumed);
    c.close_idle();
    auto second = get(c, "/");
    ASSERT_TRUE(second);
    EXPECT_EQ(second->connects, 1u);
    EXPECT_TRUE(second->connection.tls_resumed);
}

struct tls_failure_case {
    const char* name;
    tls::leaf_spec spec;
    bool self_signed;
    bool trust_ca;
    tls_errc expected;
};

TEST_F(ClientTest, TlsFailuresAreRefusedByDefaultWithTheReason) {
    tls::leaf_spec expired;
    expired.not_before_offset = -std::chrono::hours(48);
    expired.not_after_offset = -std::chrono::hours(24);
    tls::leaf_spec future;
    future.not_before_offset = std::chrono::hours(24);
    tls::leaf_spec wrong_host;
    wrong_host.dns_names = {"other.example"};
    wrong_host.ip_addresses = {};
    const tls_failure_case cases[] = {
        {"expired", expired, false, true, tls_errc::cert_expired},
        {"not yet valid", future, false, true, tls_errc::cert_not_yet_valid},
        {"wrong host", wrong_host, false, true, tls_errc::cert_hostname_mismatch},
        {"untrusted CA", {}, false, false, tls_errc::cert_untrusted},
        {"self-signed", {}, true, true, tls_errc::cert_self_signed},
    };
    for (const auto& tc : cases) {
        SCOPED_TRACE(tc.name);
        auto pair = tc.self_signed ? tls::make_self_signed(tc.spec) : ca_.issue(tc.spec);
        ASSERT_TRUE(pair);
        auto ctx = tls::server_context::create({pair->cert_pem, pair->key_pem, {"http/1.1"}});
        ASSERT_TRUE(ctx);
        auto srv = server::http1_server::create(io_.get_executor(), echo_handler, *ctx);
        ASSERT_TRUE(srv->listen());
        std::string url = "https://localhost:" + std::to_string(srv->port()) + "/";
        client_options o = tc.trust_ca ? tls_options() : client_options{};
        client c(io_.get_executor(), o);
        request req;
        req.url = url;
        auto res = test::run(io_, c.fetch(req));
        ASSERT_FALSE(res);
        EXPECT_EQ(res.error(), tc.expected) << res.error().message();
        // --insecure accepts it.
        o.tls.verify_peer = false;
        client lax(io_.get_executor(), o);
        auto ok = test::run(io_, lax.fetch(req));
        EXPECT_TRUE(ok) << ok.error().message();
        srv->stop();
    }
}

TEST(BlockingClient, GetFromALocalServer) {
    asio::io_context io(1);
    auto srv = server::http1_server::create(
        io.get_executor(), [](const incoming_request&) -> asio::awaitable<outgoing_response> {
            outgoing_response res;
            res.body = "blocking works";
            co_return res;
        });
    ASSERT_TRUE(srv->listen());
    std::thread t([&] { io.run(); });
    {
        blocking_client c;
        auto res = c.get("http://127.0.0.1:" + std::to_string(srv->port()) + "/");
        EXPECT_EQ(res.status, 200);
        EXPECT_EQ(res.body, "blocking works");
        EXPECT_THROW(c.get("http://no-such-host.invalid/"), corvid::error);
    }
    asio::post(io, [&] { srv->stop(); });
    io.stop();
    t.join();
}

}  // namespace
}  // namespace corvid
