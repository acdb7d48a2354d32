#include "support/external_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

namespace corvid::test {
namespace {

namespace fs = std::filesystem;

// A blocking loopback connection; -1 (with errno) when refused.
class connection {
  public:
    explicit connection(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            error_ = errno;
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~connection() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    bool connected() const { return fd_ >= 0; }
    int error() const { return error_; }

    void send(const std::string& data) {
        std::size_t off = 0;
        while (off < data.size()) {
            ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
            ASSERT_GT(n, 0) << std::strerror(errno);
            off += static_cast<std::size_t>(n);
        }
    }

    // Reads until `needle` has arrived or the peer closes; returns all of it.
    std::string read_until(const std::string& needle) {
        std::string out;
        char buf[4096];
        while (out.find(needle) == std::string::npos) {
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                break;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }

    std::string read_to_eof() { return read_until(std::string(1, '\0') + "never sent"); }

    // Reads exactly n bytes (fewer if the peer closes).
    std::string read_exactly(std::size_t n) {
        std::string out;
        char buf[4096];
        while (out.size() < n) {
            ssize_t r = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
            if (r <= 0) {
                break;
            }
            out.append(buf, static_cast<std::size_t>(r));
        }
        return out;
    }

  private:
    int fd_ = -1;
    int error_ = 0;
};

void expect_refused(std::uint16_t port) {
    connection c(port);
    EXPECT_FALSE(c.connected());
    EXPECT_EQ(c.error(), ECONNREFUSED);
}

std::string http_get(std::uint16_t port, const std::string& target) {
    connection c(port);
    EXPECT_TRUE(c.connected());
    if (!c.connected()) {
        return {};
    }
    c.send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    return c.read_to_eof();
}

TEST(FreePort, ReturnsABindablePort) {
    std::uint16_t port = free_port();
    EXPECT_NE(port, 0);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
}

TEST(TempDir, IsCreatedAndRemoved) {
    fs::path p;
    {
        temp_dir dir("unit");
        p = dir.path();
        EXPECT_TRUE(fs::is_directory(p));
        EXPECT_NE(p.filename().string().find("corvid-unit-"), std::string::npos);
        write_text_file(dir.path() / "a", "x");
        temp_dir moved(std::move(dir));
        EXPECT_EQ(moved.path(), p);
    }
    EXPECT_FALSE(fs::exists(p));
}

TEST(ExternalServer, MissingBinaryNamesTheDebianPackage) {
    process_spec spec{"ghost", "/nonexistent/bin/ghostd", "ghost-server", {}};
    try {
        external_server::start(spec, temp_dir("ghost"), {free_port()});
        FAIL() << "start should have thrown";
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("/nonexistent/bin/ghostd"), std::string::npos) << what;
        EXPECT_NE(what.find("ghost-server"), std::string::npos) << what;
    }
}

TEST(ExternalServer, EarlyExitIsReportedWithTheLog) {
    process_spec spec{"sh", "/bin/sh", "dash", {"-c", "echo config is broken >&2; exit 3"}};
    fs::path dir;
    try {
        external_server::start(spec, temp_dir("sh"), {free_port()});
        FAIL() << "start should have thrown";
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("/bin/sh"), std::string::npos) << what;
        EXPECT_NE(what.find("exited with status 3"), std::string::npos) << what;
        EXPECT_NE(what.find("config is broken"), std::string::npos) << what;
        auto log_pos = what.find("log: ");
        ASSERT_NE(log_pos, std::string::npos) << what;
        fs::path log = what.substr(log_pos + 5, what.find('\n', log_pos) - log_pos - 5);
        // The log survives a failed start so it can be read.
        EXPECT_TRUE(fs::exists(log)) << log;
        fs::remove_all(log.parent_path());
    }
}

TEST(ExternalServer, SilentServerTimesOutAndIsKilled) {
    process_spec spec{"sleep", "/bin/sleep", "coreutils", {"1000"}};
    try {
        external_server::start(spec, temp_dir("sleep"), {free_port()},
                               std::chrono::milliseconds(200));
        FAIL() << "start should have thrown";
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("did not accept connections"), std::string::npos) << what;
        auto log_pos = what.find("log: ");
        ASSERT_NE(log_pos, std::string::npos);
        fs::path log = what.substr(log_pos + 5, what.find('\n', log_pos) - log_pos - 5);
        fs::remove_all(log.parent_path());
    }
}

TEST(ExternalServer, NginxSiteServesHttpAndHttps) {
    auto ca = tls::test_ca::create();
    ASSERT_TRUE(ca);
    auto leaf = ca->issue(tls::leaf_spec{});
    ASSERT_TRUE(leaf);

    temp_dir docs("docs");
    write_text_file(docs.path() / "index.html", "<p>hello from nginx</p>\n");
    nginx_site_options options;
    options.document_root = docs.path();
    options.certificate = *leaf;
    options.extra_locations =
        "location = /go { return 302 /x; }\n"
        "location = /cookie { add_header Set-Cookie \"a=b; Path=/\"; "
        "return 200 \"ok\"; }\n";
    std::uint16_t http_port = 0;
    std::uint16_t https_port = 0;
    fs::path dir;
    {
        nginx_site site = start_nginx_site(options);
        http_port = site.http_port;
        https_port = site.https_port;
        dir = site.server.dir().path();
        EXPECT_TRUE(site.server.running());
        EXPECT_NE(http_port, https_port);
        EXPECT_TRUE(connection(https_port).connected());

        std::string page = http_get(http_port, "/");
        EXPECT_EQ(page.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << page;
        EXPECT_NE(page.find("hello from nginx"), std::string::npos) << page;

        std::string redirect = http_get(http_port, "/go");
        EXPECT_EQ(redirect.rfind("HTTP/1.1 302", 0), 0u) << redirect;
        EXPECT_NE(redirect.find("/x\r\n"), std::string::npos) << redirect;

        std::string cookie = http_get(http_port, "/cookie");
        EXPECT_NE(cookie.find("Set-Cookie: a=b; Path=/\r\n"), std::string::npos) << cookie;

        // gzip is on for every type.
        connection c(http_port);
        c.send(
            "GET /index.html HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n"
            "Connection: close\r\n\r\n");
        std::string gz = c.read_to_eof();
        EXPECT_NE(gz.find("Content-Encoding: gzip\r\n"), std::string::npos) << gz;
    }
    expect_refused(http_port);
    expect_refused(https_port);
    EXPECT_FALSE(fs::exists(dir));
}

TEST(ExternalServer, NginxBadConfigIsReported) {
    try {
        start_nginx(temp_dir("nginx"), "    this_is_not_a_directive;\n", {free_port()});
        FAIL() << "start should have thrown";
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("/usr/sbin/nginx"), std::string::npos) << what;
        EXPECT_NE(what.find("this_is_not_a_directive"), std::string::npos) << what;
        auto log_pos = what.find("log: ");
        ASSERT_NE(log_pos, std::string::npos);
        fs::path log = what.substr(log_pos + 5, what.find('\n', log_pos) - log_pos - 5);
        fs::remove_all(log.parent_path());
    }
}

TEST(ExternalServer, TinyproxyConnectsToAnyPort) {
    // A listener on an arbitrary high port: CONNECT must not be limited to 443.
    int target = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(target, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(target, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(target, reinterpret_cast<sockaddr*>(&addr), &len);
    const std::string target_port = std::to_string(ntohs(addr.sin_port));

    std::uint16_t port = 0;
    {
        external_server proxy = start_tinyproxy();
        port = proxy.port();
        connection c(port);
        ASSERT_TRUE(c.connected());
        c.send("CONNECT 127.0.0.1:" + target_port + " HTTP/1.1\r\nHost: 127.0.0.1:" + target_port +
               "\r\n\r\n");
        std::string reply = c.read_until("\r\n\r\n");
        EXPECT_EQ(reply.rfind("HTTP/1.", 0), 0u) << reply;
        EXPECT_NE(reply.find(" 200 "), std::string::npos) << reply;
    }
    ::close(target);
    expect_refused(port);
}

TEST(ExternalServer, MicrosocksAnswersAGreeting) {
    std::uint16_t port = 0;
    {
        external_server proxy = start_microsocks();
        port = proxy.port();
        connection c(port);
        ASSERT_TRUE(c.connected());
        c.send(std::string("\x05\x01\x00", 3));  // SOCKS5, one method: no authentication
        EXPECT_EQ(c.read_exactly(2), std::string("\x05\x00", 2));
    }
    expect_refused(port);
}

TEST(ExternalServer, MicrosocksWithCredentialsRequiresThem) {
    external_server proxy = start_microsocks("alice", "s3cret");
    connection c(proxy.port());
    ASSERT_TRUE(c.connected());
    c.send(std::string("\x05\x02\x00\x02", 4));  // offers no-auth and user/pass
    EXPECT_EQ(c.read_exactly(2), std::string("\x05\x02", 2));
}

TEST(ExternalServer, NghttpdSpeaksHttp2) {
    temp_dir docs("docs");
    write_text_file(docs.path() / "index.html", "h2\n");
    std::uint16_t port = 0;
    {
        external_server server = start_nghttpd(docs.path());
        port = server.port();
        connection c(port);
        ASSERT_TRUE(c.connected());
        // Client preface and an empty SETTINGS frame; the server's first
        // frame is its SETTINGS (type 4) on stream 0.
        c.send(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") +
               std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9));
        std::string header = c.read_exactly(9);
        ASSERT_EQ(header.size(), 9u);
        EXPECT_EQ(header[3], '\x04');
        EXPECT_EQ(header.substr(5, 4), std::string(4, '\0'));
    }
    expect_refused(port);
}

TEST(ExternalServer, NghttpdWithTlsStarts) {
    auto ca = tls::test_ca::create();
    ASSERT_TRUE(ca);
    auto leaf = ca->issue(tls::leaf_spec{});
    ASSERT_TRUE(leaf);
    external_server server = start_nghttpd({}, *leaf);
    EXPECT_TRUE(connection(server.port()).connected());
}

}  // namespace
}  // namespace corvid::test
