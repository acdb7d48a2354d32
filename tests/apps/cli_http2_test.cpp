// `corvid --http2` against nghttpd (Debian nghttp2-server), as issue 3's
// "done when" reads: an HTTP/2 exchange shown by -v, and 20 URLs in one
// invocation on one connection.

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <sys/wait.h>

#include "support/external_server.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

struct output {
    int code = -1;
    std::string out;
    std::string err;
};

output run(const std::string& args, const test::temp_dir& dir) {
    std::string err_file = dir.file("stderr.txt");
    std::string cmd = std::string(CORVID_BUILD_DIR) + "/corvid " + args + " 2>" + err_file;
    output r;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), buf.size(), pipe.get()) != nullptr) {
        r.out += buf.data();
    }
    int status = ::pclose(pipe.release());
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(err_file);
    r.err.assign(std::istreambuf_iterator<char>(in), {});
    return r;
}

TEST(CliHttp2, VerboseExchangeAndTwentyUrlsOnOneConnection) {
    test::temp_dir dir("cli-h2");
    std::filesystem::create_directories(dir.path() / "root");
    std::ofstream(dir.path() / "root/index.html") << "hello from nghttpd\n";
    auto ca = tls::test_ca::create().value();
    ASSERT_TRUE(tls::write_file(dir.file("ca.pem"), ca.cert_pem()));
    auto nghttpd = test::start_nghttpd(dir.path() / "root", ca.issue({}).value());
    std::string url = "https://localhost:" + std::to_string(nghttpd.port()) + "/index.html";

    auto verbose = run("--http2 -v --cacert " + dir.file("ca.pem") + " " + url, dir);
    ASSERT_EQ(verbose.code, 0) << verbose.err;
    EXPECT_EQ(verbose.out, "hello from nghttpd\n");
    for (const char* line : {"* ALPN: server accepted h2", "> GET /index.html HTTP/2",
                             "< HTTP/2 200", "< server: nghttpd"}) {
        EXPECT_NE(verbose.err.find(line), std::string::npos) << line << "\n" << verbose.err;
    }

    std::string urls;
    for (int i = 0; i < 20; ++i) {
        urls += " " + url;
    }
    auto many = run("-s --http2 --cacert " + dir.file("ca.pem") +
                        " -o /dev/null -w '%{http_version} %{num_connects}\\n'" + urls,
                    dir);
    ASSERT_EQ(many.code, 0) << many.err;
    // As in curl, the one -o applies to the first URL; the others go to stdout.
    std::string expected = "2 1\n";
    for (int i = 1; i < 20; ++i) {
        expected += "hello from nghttpd\n2 0\n";
    }
    EXPECT_EQ(many.out, expected);
}

TEST(CliHttp2, RequiredHttp2AgainstAnHttp11OnlyServerFails) {
    test::temp_dir dir("cli-h2-refused");
    std::filesystem::create_directories(dir.path() / "root");
    std::ofstream(dir.path() / "root/index.html") << "x";
    auto ca = tls::test_ca::create().value();
    ASSERT_TRUE(tls::write_file(dir.file("ca.pem"), ca.cert_pem()));
    test::nginx_site_options o;
    o.document_root = dir.path() / "root";
    o.certificate = ca.issue({}).value();
    auto site = test::start_nginx_site(o);  // HTTP/1.1 only
    std::string url = "https://localhost:" + std::to_string(site.https_port) + "/index.html";
    auto r = run("-sS --http2 --cacert " + dir.file("ca.pem") + " " + url, dir);
    EXPECT_EQ(r.code, 35) << r.err;  // curl's "SSL connect error"
    EXPECT_NE(r.err.find("ALPN"), std::string::npos) << r.err;
    auto fallback = run("-s --cacert " + dir.file("ca.pem") + " -w '%{http_version}' " + url, dir);
    EXPECT_EQ(fallback.out, "x1.1");
}

}  // namespace
}  // namespace corvid
