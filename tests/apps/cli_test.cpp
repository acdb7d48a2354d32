// End-to-end tests of the `corvid` binary against real servers: nginx (over
// HTTP and HTTPS), tinyproxy and microsocks, started by tests/support.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli_runner.hpp"
#include "support/external_server.hpp"
#include "tls/test_pki.hpp"

extern char** environ;

namespace corvid::test {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

constexpr const char* hello = "hello world\n";

// A text body large enough for gzip to shrink it.
std::string big_text() {
    std::string s;
    for (int i = 0; i < 4000; ++i) {
        s += "line " + std::to_string(i) + " of a compressible document\n";
    }
    return s;
}

class Cli : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        auto ca = tls::test_ca::create();
        ASSERT_TRUE(ca);
        auto leaf = ca->issue(tls::leaf_spec{});
        ASSERT_TRUE(leaf);
        files_ = std::make_unique<temp_dir>("cli-files");
        ca_file_ = files_->file("ca.pem");
        write_text_file(ca_file_, ca->cert_pem());

        temp_dir docs("cli-docs");
        write_text_file(docs.path() / "hello.txt", hello);
        write_text_file(docs.path() / "other.txt", "other\n");
        write_text_file(docs.path() / "big.txt", big_text());
        // 200 KiB at 1 KiB/s: only --max-time ends it.
        write_text_file(docs.path() / "slow.txt", std::string(200 * 1024, 's'));

        nginx_site_options options;
        options.document_root = docs.path();
        options.certificate = *leaf;
        options.extra_locations =
            "location = /r { return 302 /hello.txt; }\n"
            "location = /r2 { return 301 /r; }\n"
            "location = /loop { return 302 /loop; }\n"
            "location = /see-other { return 303 /echo; }\n"
            "location = /echo { default_type text/plain; return 200 "
            "\"$request_method|$content_type|$content_length|$http_user_agent|$http_accept|"
            "$http_authorization|$http_cookie|$http_referer|$http_x_custom\\n\"; }\n"
            "location = /c { add_header Set-Cookie \"a=b; Path=/\"; default_type text/plain; "
            "return 200 \"ok\\n\"; }\n"
            "location = /close { return 444; }\n"
            "location = /slow.txt { limit_rate 1k; }\n";
        site_ = std::make_unique<nginx_site>(start_nginx_site(options));
    }

    static void TearDownTestSuite() {
        site_.reset();
        files_.reset();
    }

    static std::string http(const std::string& path) {
        return "http://127.0.0.1:" + std::to_string(site_->http_port) + path;
    }
    static std::string https(const std::string& path) {
        return "https://localhost:" + std::to_string(site_->https_port) + path;
    }

    static std::unique_ptr<nginx_site> site_;
    static std::unique_ptr<temp_dir> files_;
    static std::string ca_file_;
};

std::unique_ptr<nginx_site> Cli::site_;
std::unique_ptr<temp_dir> Cli::files_;
std::string Cli::ca_file_;

TEST_F(Cli, PrintsTheBody) {
    auto r = run_corvid({http("/hello.txt")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out, hello);
    EXPECT_EQ(r.err, "");
}

TEST_F(Cli, SeveralUrlsReuseOneConnection) {
    auto r = run_corvid({"-s", "-w", "%{num_connects} %{http_code}\\n", http("/hello.txt"),
                         http("/other.txt"), http("/hello.txt")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out, std::string(hello) + "1 200\nother\n0 200\n" + hello + "0 200\n");
}

TEST_F(Cli, OutputFilesOnePerUrlInOrder) {
    temp_dir dir("cli-out");
    auto a = dir.file("a.txt");
    auto b = dir.file("b.txt");
    auto r = run_corvid(
        {"-s", "-o", a, "-o", b, http("/hello.txt"), http("/other.txt"), http("/hello.txt")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(slurp(a), hello);
    EXPECT_EQ(slurp(b), "other\n");
    // The third URL has no -o: stdout.
    EXPECT_EQ(r.out, hello);
}

TEST_F(Cli, RemoteNameWritesIntoTheWorkingDirectory) {
    temp_dir dir("cli-remote");
    auto cwd = fs::current_path();
    fs::current_path(dir.path());
    auto r = run_corvid({"-sO", http("/other.txt")});
    fs::current_path(cwd);
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(slurp(dir.path() / "other.txt"), "other\n");
    auto none = run_corvid({"-sSO", http("/")});
    EXPECT_EQ(none.code, 23) << describe(none);
}

TEST_F(Cli, IncludeWritesStatusLineAndHeadersBeforeTheBody) {
    auto r = run_corvid({"-i", http("/hello.txt")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.out;
    EXPECT_TRUE(contains(r.out, "\r\nServer: nginx")) << r.out;
    EXPECT_TRUE(contains(r.out, "\r\nContent-Length: 12\r\n")) << r.out;
    EXPECT_TRUE(r.out.ends_with(std::string("\r\n\r\n") + hello)) << r.out;
}

TEST_F(Cli, HeadWritesOnlyTheHead) {
    auto r = run_corvid({"-I", http("/hello.txt")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.out;
    EXPECT_TRUE(contains(r.out, "\r\nContent-Length: 12\r\n")) << r.out;
    EXPECT_TRUE(r.out.ends_with("\r\n\r\n")) << r.out;
    EXPECT_FALSE(contains(r.out, "hello")) << r.out;
}

TEST_F(Cli, WriteOutVariables) {
    auto r = run_corvid(
        {"-s", "-o", "/dev/null", "-w",
         "%{http_code}|%{response_code}|%{http_version}|%{size_download}|%{content_type}|"
         "%{remote_ip}|%{remote_port}|%{url_effective}|%{num_redirects}|%header{content-length}|"
         "%{exitcode}|%{method}|%{num_headers}",
         http("/hello.txt")});
    EXPECT_EQ(r.code, 0) << describe(r);
    std::string want = "200|200|1.1|12|text/plain|127.0.0.1|" + std::to_string(site_->http_port) +
                       "|" + http("/hello.txt") + "|0|12|0|GET|";
    EXPECT_EQ(r.out.rfind(want, 0), 0u) << r.out;

    auto t = run_corvid({"-s", "-o", "/dev/null", "-w",
                         "%{time_namelookup} %{time_connect} %{time_appconnect} "
                         "%{time_starttransfer} %{time_total} %{size_header}",
                         https("/hello.txt"), "--cacert", ca_file_});
    EXPECT_EQ(t.code, 0) << describe(t);
    std::regex six(R"(\d+\.\d{6} \d+\.\d{6} \d+\.\d{6} \d+\.\d{6} \d+\.\d{6} \d+)");
    EXPECT_TRUE(std::regex_match(t.out, six)) << t.out;
    // TLS was used, so the handshake time is not zero.
    EXPECT_FALSE(contains(t.out, " 0.000000 ")) << t.out;
}

TEST_F(Cli, WriteOutFormatFromAFileAndUnknownVariables) {
    auto fmt = files_->file("fmt.txt");
    write_text_file(fmt, "code=%{http_code}%{bogus}\\n");
    auto r = run_corvid({"-s", "-o", "/dev/null", "-w", "@" + fmt, http("/hello.txt")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out, "code=200\n");
    EXPECT_TRUE(contains(r.err, "unknown --write-out variable: 'bogus'")) << r.err;
}

TEST_F(Cli, LocationFollowsRedirects) {
    auto no =
        run_corvid({"-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", http("/r")});
    EXPECT_EQ(no.code, 0) << describe(no);
    EXPECT_EQ(no.out, "302 " + http("/hello.txt"));

    auto r =
        run_corvid({"-sL", "-w", "|%{http_code} %{num_redirects} %{url_effective}", http("/r2")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out, std::string(hello) + "|200 2 " + http("/hello.txt"));
}

TEST_F(Cli, HeadWithLocationShowsEveryHop) {
    auto r = run_corvid({"-sIL", http("/r2")});
    EXPECT_EQ(r.code, 0) << describe(r);
    auto first = r.out.find("HTTP/1.1 301");
    auto second = r.out.find("HTTP/1.1 302");
    auto third = r.out.find("HTTP/1.1 200 OK");
    EXPECT_EQ(first, 0u) << r.out;
    EXPECT_NE(second, std::string::npos) << r.out;
    EXPECT_NE(third, std::string::npos) << r.out;
    EXPECT_LT(second, third) << r.out;
}

TEST_F(Cli, TooManyRedirectsExits47) {
    auto r = run_corvid({"-sSL", "--max-redirs", "3", "-w", "%{num_redirects}", http("/loop")});
    EXPECT_EQ(r.code, 47) << describe(r);
    EXPECT_TRUE(contains(r.err, "corvid: (47) Maximum (3) redirects followed")) << r.err;
    EXPECT_EQ(r.out, "3");
}

TEST_F(Cli, SeeOtherTurnsPostIntoGet) {
    auto r = run_corvid({"-sL", "-d", "x=1", http("/see-other")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out.rfind("GET|", 0), 0u) << r.out;
}

TEST_F(Cli, FailExits22WithoutOutput) {
    auto r = run_corvid({"-f", "-i", http("/missing")});
    EXPECT_EQ(r.code, 22) << describe(r);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "corvid: (22) The requested URL returned error: 404\n");

    auto quiet = run_corvid({"-sf", http("/missing")});
    EXPECT_EQ(quiet.code, 22) << describe(quiet);
    EXPECT_EQ(quiet.err, "");

    auto body = run_corvid({"-s", "--fail-with-body", http("/missing")});
    EXPECT_EQ(body.code, 22) << describe(body);
    EXPECT_TRUE(contains(body.out, "404")) << body.out;

    auto plain = run_corvid({"-s", "-w", "%{http_code}", http("/missing")});
    EXPECT_EQ(plain.code, 0) << describe(plain);
    EXPECT_TRUE(plain.out.ends_with("404")) << plain.out;
}

TEST_F(Cli, ConnectionRefusedExits7AndLeavesNoFile) {
    temp_dir dir("cli-refused");
    auto path = dir.file("never.txt");
    auto r = run_corvid({"-o", path, "-w", "%{http_code}",
                         "http://127.0.0.1:" + std::to_string(free_port()) + "/"});
    EXPECT_EQ(r.code, 7) << describe(r);
    EXPECT_TRUE(contains(r.err, "corvid: (7) ")) << r.err;
    EXPECT_EQ(r.out, "000");
    EXPECT_FALSE(fs::exists(path));
}

TEST_F(Cli, UnresolvableHostExits6) {
    auto r = run_corvid({"http://no-such-host.invalid/"});
    EXPECT_EQ(r.code, 6) << describe(r);
    EXPECT_TRUE(contains(r.err, "corvid: (6) could not resolve host")) << r.err;
}

TEST_F(Cli, LastUrlDecidesTheExitCode) {
    auto r = run_corvid({"-s", "http://no-such-host.invalid/", http("/hello.txt")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out, hello);
    auto bad_last = run_corvid({"-s", http("/hello.txt"), "http://no-such-host.invalid/"});
    EXPECT_EQ(bad_last.code, 6) << describe(bad_last);
}

TEST_F(Cli, UntrustedCertificateExits60UntilTrusted) {
    auto r = run_corvid({https("/hello.txt")});
    EXPECT_EQ(r.code, 60) << describe(r);
    EXPECT_TRUE(contains(r.err, "corvid: (60) ")) << r.err;
    EXPECT_TRUE(contains(r.err, "--cacert")) << r.err;

    auto k = run_corvid({"-k", https("/hello.txt")});
    EXPECT_EQ(k.code, 0) << describe(k);
    EXPECT_EQ(k.out, hello);

    auto ca = run_corvid({"--cacert", ca_file_, https("/hello.txt")});
    EXPECT_EQ(ca.code, 0) << describe(ca);
    EXPECT_EQ(ca.out, hello);
}

TEST_F(Cli, SelfSignedCertificateExits60WithAdvice) {
    auto leaf = tls::make_self_signed(tls::leaf_spec{});
    ASSERT_TRUE(leaf);
    temp_dir docs("cli-ss-docs");
    write_text_file(docs.path() / "hello.txt", hello);
    nginx_site_options options;
    options.document_root = docs.path();
    options.certificate = *leaf;
    auto site = start_nginx_site(options);
    auto url = "https://127.0.0.1:" + std::to_string(site.https_port) + "/hello.txt";

    auto r = run_corvid({"-w", "%{ssl_verify_result}", url});
    EXPECT_EQ(r.code, 60) << describe(r);
    EXPECT_TRUE(contains(r.err, "self-signed")) << r.err;
    EXPECT_TRUE(contains(r.err, "-k")) << r.err;

    auto k = run_corvid({"-k", url});
    EXPECT_EQ(k.code, 0) << describe(k);
    EXPECT_EQ(k.out, hello);
}

TEST_F(Cli, EmptyReplyExits52) {
    auto r = run_corvid({"-sS", http("/close")});
    EXPECT_EQ(r.code, 52) << describe(r);
    EXPECT_TRUE(contains(r.err, "corvid: (52) ")) << r.err;
}

TEST_F(Cli, MaxTimeExits28) {
    auto r = run_corvid({"-sS", "--max-time", "0.5", "-o", "/dev/null", http("/slow.txt")});
    EXPECT_EQ(r.code, 28) << describe(r);
    EXPECT_TRUE(contains(r.err, "corvid: (28) ")) << r.err;
}

TEST_F(Cli, RequestHeadersAndData) {
    auto r = run_corvid({"-s", "-d", "a=1", "-d", "b=2", "-A", "agent/1", "-e", "http://ref/", "-u",
                         "user:pw", "-b", "k=v", "-H", "X-Custom: yes", http("/echo")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out,
              "POST|application/x-www-form-urlencoded|7|agent/1|*/*|Basic dXNlcjpwdw==|k=v|"
              "http://ref/|yes\n");

    auto d = run_corvid(
        {"-s", "-X", "PUT", "--data-binary", "@-", "-H", "Content-Type: text/x", http("/echo")},
        "a\r\nb");
    EXPECT_EQ(d.code, 0) << describe(d);
    EXPECT_EQ(d.out.rfind("PUT|text/x|4|corvid/", 0), 0u) << d.out;
}

TEST_F(Cli, DataFileThatCannotBeReadExits26) {
    auto r = run_corvid({"-d", "@/nonexistent/corvid-data", http("/echo")});
    EXPECT_EQ(r.code, 26) << describe(r);
    EXPECT_TRUE(contains(r.err, "corvid: (26) ")) << r.err;
}

TEST_F(Cli, CookieJarRoundTrip) {
    temp_dir dir("cli-cookies");
    auto jar = dir.file("jar.txt");
    auto w = run_corvid({"-s", "-c", jar, http("/c")});
    EXPECT_EQ(w.code, 0) << describe(w);
    auto text = slurp(jar);
    EXPECT_TRUE(contains(text, "\ta\tb")) << text;

    auto r = run_corvid({"-s", "-b", jar, http("/echo")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_TRUE(contains(r.out, "|a=b|")) << r.out;

    // Within one run the jar carries a cookie from one URL to the next.
    auto both = run_corvid({"-s", "-c", dir.file("jar2.txt"), http("/c"), http("/echo")});
    EXPECT_EQ(both.code, 0) << describe(both);
    EXPECT_TRUE(contains(both.out, "|a=b|")) << both.out;
}

TEST_F(Cli, CompressedDecodesAndCountsWireBytes) {
    auto r = run_corvid({"-s", "--compressed", "-w", "\\n%{size_download}", http("/big.txt")});
    EXPECT_EQ(r.code, 0) << describe(r);
    auto body = big_text();
    ASSERT_GT(r.out.size(), body.size());
    EXPECT_EQ(r.out.substr(0, body.size()), body);
    auto wire = std::stoul(r.out.substr(body.size() + 1));
    EXPECT_LT(wire, body.size() / 2);
}

TEST_F(Cli, VerboseShowsConnectionAndHeads) {
    auto r = run_corvid({"-sv", "-o", "/dev/null", http("/hello.txt"), http("/hello.txt")});
    EXPECT_EQ(r.code, 0) << describe(r);
    for (auto s : {"* Connected to", "> GET /hello.txt HTTP/1.1\r\n",
                   "> Host: 127.0.0.1:", "> User-Agent: corvid/", "< HTTP/1.1 200 OK\r\n",
                   "< Content-Length: 12\r\n", "left intact", "Re-using existing connection"}) {
        EXPECT_TRUE(contains(r.err, s)) << s << "\n" << r.err;
    }
    // -H 'Name:' removes a default header, Accept included.
    auto no_accept = run_corvid({"-sv", "-H", "Accept:", "-o", "/dev/null", http("/hello.txt")});
    EXPECT_EQ(no_accept.code, 0) << describe(no_accept);
    EXPECT_FALSE(contains(no_accept.err, "> Accept")) << no_accept.err;
    auto t = run_corvid({"-sv", "-k", "-o", "/dev/null", https("/hello.txt")});
    EXPECT_EQ(t.code, 0) << describe(t);
    EXPECT_TRUE(contains(t.err, "* SSL connection using TLSv1.")) << t.err;
    EXPECT_TRUE(contains(t.err, "ALPN")) << t.err;
}

TEST_F(Cli, WriteErrorExits23) {
    auto r = run_corvid({"-sS", "-o", "/nonexistent-dir/corvid/out.txt", http("/hello.txt")});
    EXPECT_EQ(r.code, 23) << describe(r);
    EXPECT_TRUE(contains(r.err, "corvid: (23) ")) << r.err;
}

TEST_F(Cli, UsageErrorsExit2) {
    auto r = run_corvid({"--bogus", http("/")});
    EXPECT_EQ(r.code, 2) << describe(r);
    EXPECT_TRUE(r.err.starts_with("corvid: option --bogus: is unknown\n")) << r.err;
    auto none = run_corvid({"-s"});
    EXPECT_EQ(none.code, 2) << describe(none);
    auto scheme = run_corvid({"ftp://127.0.0.1/"});
    EXPECT_EQ(scheme.code, 1) << describe(scheme);
}

TEST_F(Cli, HelpAndVersion) {
    auto h = run_corvid({"--help"});
    EXPECT_EQ(h.code, 0);
    EXPECT_TRUE(contains(h.out, "--write-out")) << h.out;
    EXPECT_TRUE(contains(h.out, "Exit codes")) << h.out;
    auto v = run_corvid({"-V"});
    EXPECT_EQ(v.code, 0);
    EXPECT_TRUE(v.out.starts_with("corvid ")) << v.out;
}

TEST_F(Cli, HttpProxyForHttpAndHttps) {
    auto proxy = start_tinyproxy();
    auto p = "http://127.0.0.1:" + std::to_string(proxy.port());
    auto r = run_corvid({"-s", "-x", p, "-w", "|%{remote_port}", http("/hello.txt")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out, std::string(hello) + "|" + std::to_string(proxy.port()));
    auto t = run_corvid({"-s", "-x", p, "--cacert", ca_file_, https("/hello.txt")});
    EXPECT_EQ(t.code, 0) << describe(t);
    EXPECT_EQ(t.out, hello);
}

TEST_F(Cli, Socks5Proxy) {
    auto proxy = start_microsocks();
    auto hostport = "127.0.0.1:" + std::to_string(proxy.port());
    auto r = run_corvid({"-s", "--socks5-hostname", hostport, http("/hello.txt")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out, hello);
    auto local = run_corvid({"-s", "-x", "socks5://" + hostport, "-k", https("/hello.txt")});
    EXPECT_EQ(local.code, 0) << describe(local);
    EXPECT_EQ(local.out, hello);
}

TEST_F(Cli, UnresolvableProxyExits5) {
    auto r = run_corvid({"-sS", "-x", "http://no-such-proxy.invalid:3128", http("/hello.txt")});
    EXPECT_EQ(r.code, 5) << describe(r);
    EXPECT_TRUE(contains(r.err, "corvid: (5) ")) << r.err;
}

}  // namespace
}  // namespace corvid::test
