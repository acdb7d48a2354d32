// The client against real servers nobody here wrote: nginx (keep-alive,
// chunked, gzip, redirects, cookies, TLS), tinyproxy (HTTP CONNECT and
// absolute-form) and microsocks (SOCKS5, with and without authentication).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <asio/io_context.hpp>

#include "corvid/client.hpp"
#include "support/async.hpp"
#include "support/external_server.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>('A' + (i * 7) % 26);
    }
    return s;
}

class NginxInterop : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ca_ = new tls::test_ca(tls::test_ca::create().value());
        root_ = new test::temp_dir("nginx-root");
        std::filesystem::create_directories(root_->path() / "site");
        std::ofstream(root_->path() / "site/small.txt") << "hello from nginx\n";
        std::ofstream(root_->path() / "site/big.bin", std::ios::binary)
            << pattern(3 * 1024 * 1024 + 17);
        std::string text;
        for (int i = 0; i < 20000; ++i) {
            text += "compressible line " + std::to_string(i % 10) + "\n";
        }
        std::ofstream(root_->path() / "site/text.txt") << text;
        test::nginx_site_options o;
        o.document_root = root_->path() / "site";
        o.certificate = ca_->issue({}).value();
        o.extra_locations = R"(
            location = /redirect { return 302 /small.txt; }
            location = /redirect-301 { return 301 /text.txt; }
            location = /set-cookie { add_header Set-Cookie "sid=n1; Path=/; HttpOnly"; return 200 "set\n"; }
            location = /echo-cookie { return 200 "cookie=$http_cookie\n"; }
            location = /chunked { chunked_transfer_encoding on; gzip off; return 200 "x"; }
        )";
        site_ = new test::nginx_site(test::start_nginx_site(o));
        ca_file_ = new std::string((root_->path() / "ca.pem").string());
        ASSERT_TRUE(tls::write_file(*ca_file_, ca_->cert_pem()));
    }
    static void TearDownTestSuite() {
        delete site_;
        delete root_;
        delete ca_;
        delete ca_file_;
    }

    std::string http(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(site_->http_port) + path;
    }
    std::string https(const std::string& path) const {
        return "https://localhost:" + std::to_string(site_->https_port) + path;
    }
    client_options opts() const {
        client_options o;
        o.tls.ca_file = *ca_file_;
        return o;
    }
    result<buffered_response> fetch(client& c, std::string url, std::string method = "GET") {
        request req;
        req.url = std::move(url);
        req.method = std::move(method);
        return test::run(io_, c.fetch(std::move(req)));
    }

    asio::io_context io_{1};
    static inline tls::test_ca* ca_ = nullptr;
    static inline test::temp_dir* root_ = nullptr;
    static inline test::nginx_site* site_ = nullptr;
    static inline std::string* ca_file_ = nullptr;
};

TEST_F(NginxInterop, KeepAliveReusePlainAndTls) {
    for (bool tls : {false, true}) {
        SCOPED_TRACE(tls ? "https" : "http");
        client c(io_.get_executor(), opts());
        for (int i = 0; i < 3; ++i) {
            auto res = fetch(c, tls ? https("/small.txt") : http("/small.txt"));
            ASSERT_TRUE(res) << res.error().message();
            EXPECT_EQ(res->status, 200);
            EXPECT_EQ(res->body, "hello from nginx\n");
            EXPECT_EQ(res->connects, i == 0 ? 1u : 0u);
        }
        EXPECT_EQ(c.total_connects(), 1u);
    }
}

TEST_F(NginxInterop, LargeBodyIntact) {
    client c(io_.get_executor(), opts());
    auto res = fetch(c, https("/big.bin"));
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->body, pattern(3 * 1024 * 1024 + 17));
}

TEST_F(NginxInterop, GzipDecodedWhenAsked) {
    client_options o = opts();
    o.decompress = true;
    client c(io_.get_executor(), o);
    auto res = fetch(c, http("/text.txt"));
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->headers.get("Content-Encoding"), "gzip");
    EXPECT_EQ(res->headers.get("Transfer-Encoding"), "chunked");  // nginx streams gzip chunked
    EXPECT_EQ(res->body.size(), std::filesystem::file_size(root_->path() / "site/text.txt"));
    client raw(io_.get_executor(), opts());
    auto plain = fetch(raw, http("/text.txt"));
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->headers.contains("Content-Encoding"));
    EXPECT_EQ(plain->body, res->body);
}

TEST_F(NginxInterop, RedirectsFollowedAndCookiesKept) {
    client_options o = opts();
    o.follow_redirects = true;
    client c(io_.get_executor(), o);
    auto r = fetch(c, https("/redirect"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->body, "hello from nginx\n");
    EXPECT_EQ(r->redirect_count, 1);
    EXPECT_EQ(r->connects, 1u);
    ASSERT_TRUE(fetch(c, https("/set-cookie")));
    auto echoed = fetch(c, https("/echo-cookie"));
    ASSERT_TRUE(echoed);
    EXPECT_EQ(echoed->body, "cookie=sid=n1\n");
}

TEST_F(NginxInterop, HeadRequest) {
    client c(io_.get_executor(), opts());
    auto res = fetch(c, http("/big.bin"), "HEAD");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->headers.get("Content-Length"), std::to_string(3 * 1024 * 1024 + 17));
    EXPECT_TRUE(res->body.empty());
    auto again = fetch(c, http("/small.txt"));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->connects, 0u);
}

TEST_F(NginxInterop, ThroughTinyproxyConnectAndAbsoluteForm) {
    auto proxy = test::start_tinyproxy();
    client_options o = opts();
    o.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
    client c(io_.get_executor(), o);
    auto tunneled = fetch(c, https("/small.txt"));
    ASSERT_TRUE(tunneled) << tunneled.error().message() << "\n" << proxy.log();
    EXPECT_EQ(tunneled->body, "hello from nginx\n");
    EXPECT_TRUE(tunneled->connection.tls);
    auto forwarded = fetch(c, http("/small.txt"));
    ASSERT_TRUE(forwarded) << forwarded.error().message();
    EXPECT_EQ(forwarded->body, "hello from nginx\n");
}

TEST_F(NginxInterop, ProxyRefusal) {
    auto proxy = test::start_tinyproxy("BasicAuth user secret");
    client_options o = opts();
    o.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
    client c(io_.get_executor(), o);
    auto refused = fetch(c, https("/small.txt"));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), client_errc::proxy_auth_required);
    o.proxy = "http://user:secret@127.0.0.1:" + std::to_string(proxy.port());
    client authed(io_.get_executor(), o);
    auto ok = fetch(authed, https("/small.txt"));
    ASSERT_TRUE(ok) << ok.error().message();
}

TEST_F(NginxInterop, ThroughMicrosocks) {
    auto socks = test::start_microsocks();
    for (const char* scheme : {"socks5", "socks5h"}) {
        SCOPED_TRACE(scheme);
        client_options o = opts();
        o.proxy = std::string(scheme) + "://127.0.0.1:" + std::to_string(socks.port());
        client c(io_.get_executor(), o);
        auto res = fetch(c, https("/small.txt"));
        ASSERT_TRUE(res) << res.error().message();
        EXPECT_EQ(res->body, "hello from nginx\n");
    }
    auto authed = test::start_microsocks("alice", "pw");
    client_options o = opts();
    o.proxy = "socks5h://alice:pw@127.0.0.1:" + std::to_string(authed.port());
    client c(io_.get_executor(), o);
    auto res = fetch(c, http("/small.txt"));
    ASSERT_TRUE(res) << res.error().message();
    o.proxy = "socks5h://alice:wrong@127.0.0.1:" + std::to_string(authed.port());
    client bad(io_.get_executor(), o);
    auto refused = fetch(bad, http("/small.txt"));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), socks5_errc::auth_failed) << refused.error().message();
}

}  // namespace
}  // namespace corvid
