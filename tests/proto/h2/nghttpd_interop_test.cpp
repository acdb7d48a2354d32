// proto/h2 against a real HTTP/2 server nobody here wrote: nghttpd (Debian
// nghttp2-server) in h2c mode, driven over a plain blocking TCP socket with
// prior knowledge.

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <functional>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "proto/h2/h2_test_support.hpp"
#include "proto/h2/session.hpp"
#include "support/external_server.hpp"

namespace corvid::h2 {
namespace {

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>('A' + (i * 13 + i / 5) % 26);
    }
    return s;
}

/// A client_session on a TCP connection: writes everything it has, reads
/// when asked, records events.
struct tcp_client {
    asio::io_context io;
    asio::ip::tcp::socket socket{io};
    client_session session;
    test::event_log log;
    std::array<char, 64 * 1024> buffer{};

    explicit tcp_client(std::uint16_t port, const client_options& options = {})
        : session(client_session::create(options).value()) {
        socket.connect({asio::ip::make_address("127.0.0.1"), port});
    }

    void flush() {
        for (std::string_view out = session.pending_output(); !out.empty();
             out = session.pending_output()) {
            asio::write(socket, asio::buffer(out.data(), out.size()));
            session.consume_output(out.size());
            log.drain(session);  // writable events come from pending_output()
        }
    }

    /// Reads and processes until `done` holds; false if the connection ended
    /// or the session failed first.
    bool run_until(const std::function<bool()>& done) {
        flush();
        while (!done()) {
            std::error_code ec;
            const std::size_t n = socket.read_some(asio::buffer(buffer), ec);
            if (ec) {
                ADD_FAILURE() << "read: " << ec.message();
                return false;
            }
            if (auto err = session.receive(std::string_view(buffer.data(), n))) {
                ADD_FAILURE() << "receive: " << err.message() << " " << session.error_detail();
                return false;
            }
            log.drain(session);
            flush();
        }
        return true;
    }

    bool closed(std::int32_t id) const {
        auto it = log.streams.find(id);
        return it != log.streams.end() && it->second.closed.has_value();
    }
};

class NghttpdInterop : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        root_ = new corvid::test::temp_dir("h2-root");
        std::ofstream(root_->path() / "hello.txt") << "hello from nghttpd\n";
        std::ofstream(root_->path() / "big.bin", std::ios::binary) << pattern(3 * 1024 * 1024 + 5);
        server_ = new corvid::test::external_server(corvid::test::start_nghttpd(
            root_->path(), {}, {"--echo-upload", "--trailer=x-trailer: t1"}));
    }
    static void TearDownTestSuite() {
        delete server_;
        delete root_;
        server_ = nullptr;
        root_ = nullptr;
    }

    static request_head get(std::string path) {
        request_head h;
        h.method = "GET";
        h.scheme = "http";
        h.authority = "127.0.0.1:" + std::to_string(server_->port());
        h.path = std::move(path);
        h.fields.add("user-agent", "corvid-h2-test");
        return h;
    }

    static corvid::test::temp_dir* root_;
    static corvid::test::external_server* server_;
};

corvid::test::temp_dir* NghttpdInterop::root_ = nullptr;
corvid::test::external_server* NghttpdInterop::server_ = nullptr;

TEST_F(NghttpdInterop, GetSmallFile) {
    tcp_client c(server_->port());
    const std::int32_t id = c.session.submit_request(get("/hello.txt"), true).value();
    ASSERT_TRUE(c.run_until([&] { return c.closed(id); }));
    const auto& log = c.log.streams.at(id);
    ASSERT_EQ(log.responses.size(), 1u);
    EXPECT_EQ(log.responses[0].status, 200);
    EXPECT_EQ(log.responses[0].fields.get("content-length"), "19");
    EXPECT_EQ(log.body, "hello from nghttpd\n");
    ASSERT_TRUE(log.trailers.has_value());
    EXPECT_EQ(log.trailers->get("x-trailer"), "t1");
    EXPECT_FALSE(log.closed->error);
    EXPECT_TRUE(c.session.peer_settings_received());
}

TEST_F(NghttpdInterop, GetBigFileWithSmallWindowsAndConcurrentRequests) {
    client_options co;
    co.profile.settings = {{setting_id::enable_push, 0}, {setting_id::initial_window_size, 65535}};
    co.profile.connection_window_increment = 0;
    tcp_client c(server_->port(), co);
    std::vector<std::int32_t> ids;
    ids.push_back(c.session.submit_request(get("/big.bin"), true).value());
    for (int i = 0; i < 10; ++i) {
        ids.push_back(c.session.submit_request(get("/hello.txt"), true).value());
    }
    ids.push_back(c.session.submit_request(get("/missing"), true).value());
    ASSERT_TRUE(c.run_until([&] {
        return std::all_of(ids.begin(), ids.end(), [&](std::int32_t id) { return c.closed(id); });
    }));
    EXPECT_TRUE(c.log.streams.at(ids[0]).body == pattern(3 * 1024 * 1024 + 5));
    for (std::size_t i = 1; i + 1 < ids.size(); ++i) {
        EXPECT_EQ(c.log.streams.at(ids[i]).body, "hello from nghttpd\n");
    }
    EXPECT_EQ(c.log.streams.at(ids.back()).responses.at(0).status, 404);
}

TEST_F(NghttpdInterop, PostStreamedBodyIsEchoed) {
    client_options co;
    co.limits.stream_send_buffer = 32 * 1024;
    tcp_client c(server_->port(), co);
    request_head h = get("/echo");
    h.method = "POST";
    const std::int32_t id = c.session.submit_request(h, false).value();
    const std::string body = pattern(1024 * 1024 + 77);
    std::size_t sent = 0;
    while (sent < body.size()) {
        const std::size_t chunk = std::min<std::size_t>(1000, body.size() - sent);
        sent += c.session
                    .submit_data(id, std::string_view(body).substr(sent, chunk),
                                 sent + chunk == body.size())
                    .value();
        if (c.session.queued(id) >= 32 * 1024) {
            // Full: write, and read until the buffer drained.
            c.log.writable.clear();
            ASSERT_TRUE(c.run_until([&] { return !c.log.writable.empty() || c.closed(id); }));
        }
    }
    ASSERT_TRUE(c.run_until([&] { return c.closed(id); }));
    const auto& log = c.log.streams.at(id);
    EXPECT_EQ(log.responses.at(0).status, 200);
    EXPECT_EQ(log.body.size(), body.size());
    EXPECT_TRUE(log.body == body);
}

TEST_F(NghttpdInterop, PingAndGracefulGoaway) {
    tcp_client c(server_->port());
    ASSERT_FALSE(c.session.ping(42));
    ASSERT_TRUE(c.run_until([&] { return !c.log.pings.empty(); }));
    EXPECT_EQ(c.log.pings[0].opaque, 42u);
    ASSERT_FALSE(c.session.goaway());
    c.flush();
    EXPECT_FALSE(c.session.want_read());
    EXPECT_FALSE(c.session.want_write());
}

}  // namespace
}  // namespace corvid::h2
