// Impersonated requests against real servers: nginx over TLS 1.3 and TLS 1.2
// (HTTP/2 by ALPN, gzip-encoded bodies the profile asked for and the client
// decodes), nghttpd, and corvid's own TLS server compressing its
// certificate chain with each algorithm a profile offers, so the
// decompressors really run.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <asio/io_context.hpp>

#include "corvid/client.hpp"
#include "corvid/profile.hpp"
#include "server/http1_server.hpp"
#include "support/async.hpp"
#include "support/external_server.hpp"
#include "tls/cert_compression.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

const std::string page(20000, 'x');  // long enough for nginx to gzip it

class ProfileInterop : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ca_ = new tls::test_ca(tls::test_ca::create().value());
        cert_ = new tls::pem_pair(ca_->issue({}).value());
        root_ = new test::temp_dir("profile-interop");
        std::filesystem::create_directories(root_->path() / "site");
        std::ofstream(root_->path() / "site/page.html") << page;
        ca_file_ = new std::string((root_->path() / "ca.pem").string());
        ASSERT_TRUE(tls::write_file(*ca_file_, ca_->cert_pem()));
    }
    static void TearDownTestSuite() {
        delete ca_file_;
        delete root_;
        delete cert_;
        delete ca_;
    }

    result<buffered_response> get(const char* profile_name, const std::string& url) {
        auto p = profile::load(profile_name);
        EXPECT_TRUE(p);
        client_options o;
        o.tls.ca_file = *ca_file_;
        o.profile = p ? *p : nullptr;
        client c(io_.get_executor(), o);
        request req;
        req.url = url;
        auto res = test::run(io_, c.fetch(std::move(req)));
        c.close_idle();
        return res;
    }

    test::nginx_site nginx(const std::string& protocols) {
        test::nginx_site_options so;
        so.document_root = root_->path() / "site";
        so.certificate = *cert_;
        so.http2 = true;
        so.ssl_protocols = protocols;
        return test::start_nginx_site(so);
    }

    asio::io_context io_{1};
    static inline tls::test_ca* ca_ = nullptr;
    static inline tls::pem_pair* cert_ = nullptr;
    static inline test::temp_dir* root_ = nullptr;
    static inline std::string* ca_file_ = nullptr;
};

TEST_F(ProfileInterop, NginxOverTls13AndTls12) {
    for (const char* protocols : {"TLSv1.3", "TLSv1.2"}) {
        auto site = nginx(protocols);
        const std::string url =
            "https://localhost:" + std::to_string(site.https_port) + "/page.html";
        for (const char* name : {"chrome", "firefox"}) {
            auto res = get(name, url);
            ASSERT_TRUE(res) << name << " " << protocols << ": " << res.error().message();
            EXPECT_EQ(res->status, 200);
            EXPECT_EQ(res->version, 20) << name;
            EXPECT_EQ(res->connection.tls_version, std::string(protocols).replace(0, 4, "TLSv"));
            // The profile asked for compression; the body arrives decoded.
            EXPECT_EQ(res->headers.get("content-encoding"), "gzip") << name;
            EXPECT_EQ(res->body, page) << name;
        }
    }
}

TEST_F(ProfileInterop, Nghttpd) {
    auto site = test::start_nghttpd(root_->path() / "site", *cert_);
    for (const char* name : {"chrome", "firefox"}) {
        auto res = get(name, "https://localhost:" + std::to_string(site.port()) + "/page.html");
        ASSERT_TRUE(res) << name << ": " << res.error().message();
        EXPECT_EQ(res->status, 200);
        EXPECT_EQ(res->version, 20);
        EXPECT_EQ(res->body, page);
    }
}

// corvid's server compresses its chain with `algorithm` only; the profile
// must decompress it with the real codec.
TEST_F(ProfileInterop, CompressedCertificateChains) {
    struct combo {
        const char* profile;
        std::uint16_t algorithm;
    };
    for (auto [name, algorithm] : {combo{"chrome", tls::cert_compression_brotli},
                                   combo{"firefox", tls::cert_compression_zlib},
                                   combo{"firefox", tls::cert_compression_brotli},
                                   combo{"firefox", tls::cert_compression_zstd}}) {
        tls::server_config sc{cert_->cert_pem, cert_->key_pem, {"http/1.1"}};
        sc.cert_compression = {algorithm};
        auto ctx = tls::server_context::create(sc);
        ASSERT_TRUE(ctx) << ctx.error().message();
        server::server_options so;
        so.http2 = false;
        auto srv = server::http1_server::create(
            io_.get_executor(),
            [](const server::incoming_request&) -> asio::awaitable<server::outgoing_response> {
                server::outgoing_response r;
                r.body = "compressed chain ok";
                co_return r;
            },
            *ctx, so);
        ASSERT_TRUE(srv->listen());
        const auto before = tls::certificates_decompressed(algorithm);
        auto res = get(name, "https://localhost:" + std::to_string(srv->port()) + "/");
        ASSERT_TRUE(res) << name << " " << algorithm << ": " << res.error().message();
        EXPECT_EQ(res->body, "compressed chain ok");
        EXPECT_EQ(tls::certificates_decompressed(algorithm), before + 1)
            << name << " " << algorithm;
        srv->stop();
    }
}

}  // namespace
}  // namespace corvid
