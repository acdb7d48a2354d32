// http1_server's listener and connection management against real sockets:
// SO_REUSEPORT (two servers, one port), close-on-exec sockets (a child
// process), the connection limiter (server/limits.hpp), stop_accepting(),
// and idle_timeout / head limits on HTTP/2. Raw TCP sockets for HTTP/1.1 and
// WebSocket frames, corvid's h2::client_session (h2_test_client.hpp) for
// HTTP/2.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include "proto/ws/codec.hpp"
#include "server/h2_test_client.hpp"
#include "server/http1_server.hpp"
#include "server/limits.hpp"
#include "server/websocket.hpp"
#include "support/async.hpp"

extern char** environ;

namespace corvid {
namespace {

using server::connection_limiter;
using server::incoming_request;
using server::outgoing_response;

// One worker: an io_context on its own thread and the servers on it.
class worker {
  public:
    worker() {
        thread_ = std::thread([this] {
            auto guard = asio::make_work_guard(io_);
            io_.run();
        });
    }
    ~worker() {
        run([this] {
            for (auto& s : servers_) {
                s->stop();
            }
        });
        io_.stop();
        thread_.join();
    }
    // Runs `fn` on the worker's thread and waits for it.
    void run(std::function<void()> fn) {
        std::promise<void> done;
        asio::post(io_, [&] {
            fn();
            done.set_value();
        });
        done.get_future().wait();
    }
    std::shared_ptr<server::http1_server> add(server::handler h, server::server_options o = {}) {
        auto s = server::http1_server::create(io_.get_executor(), std::move(h), nullptr, o);
        servers_.push_back(s);
        return s;
    }
    asio::io_context& io() { return io_; }

  private:
    asio::io_context io_{1};
    std::thread thread_;
    std::vector<std::shared_ptr<server::http1_server>> servers_;
};

server::handler text(std::string body) {
    return [body](const incoming_request&) -> asio::awaitable<outgoing_response> {
        outgoing_response res;
        res.body = body;
        co_return res;
    };
}

// A blocking client socket with a receive timeout (no hangs).
struct raw_client {
    asio::io_context io;
    asio::ip::tcp::socket socket{io};
    std::error_code connect_error;

    explicit raw_client(std::uint16_t port, const char* from = nullptr) {
        socket.open(asio::ip::tcp::v4());
        // Ours too, so that only the server's could reach a child process.
        ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
        if (from != nullptr) {
            socket.bind({asio::ip::make_address(from), 0});
        }
        socket.connect({asio::ip::make_address("127.0.0.1"), port}, connect_error);
        timeval tv{10, 0};
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    void send(std::string_view bytes) { asio::write(socket, asio::buffer(bytes)); }
    // Reads until `marker` is in what was read (or EOF/timeout).
    std::string read_until(std::string_view marker) {
        char buf[4096];
        while (data.find(marker) == std::string::npos) {
            std::error_code ec;
            auto n = socket.read_some(asio::buffer(buf), ec);
            if (ec || n == 0) {
                eof = true;
                break;
            }
            data.append(buf, n);
        }
        return data;
    }
    // One keep-alive request and its response (the handlers here answer
    // with short Content-Length bodies).
    std::string request(std::string_view path = "/") {
        data.clear();
        send("GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        read_until("\r\n\r\n");
        auto head_end = data.find("\r\n\r\n");
        auto cl = data.find("Content-Length: ");
        if (head_end == std::string::npos || cl == std::string::npos) {
            return data;
        }
        std::size_t length = std::stoul(data.substr(cl + 16));
        char buf[4096];
        while (data.size() < head_end + 4 + length) {
            std::error_code ec;
            auto n = socket.read_some(asio::buffer(buf), ec);
            if (ec || n == 0) {
                break;
            }
            data.append(buf, n);
        }
        return data;
    }
    // True when the server has closed the connection (EOF or reset).
    bool closed_by_server() {
        char buf[256];
        std::error_code ec;
        auto n = socket.read_some(asio::buffer(buf), ec);
        return (ec && ec != asio::error::would_block && ec != asio::error::try_again) || n == 0;
    }

    std::string data;
    bool eof = false;
};

bool wait_until(const std::function<bool()>& cond) {
    for (int i = 0; i < 1000; ++i) {
        if (cond()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return cond();
}

bool connection_refused(std::uint16_t port) {
    raw_client c(port);
    return c.connect_error == asio::error::connection_refused;
}

// ------------------------------------------------------------ SO_REUSEPORT

TEST(Listener, ReusePortTwoWorkersShareOnePort) {
    server::server_options o;
    o.reuse_port = true;
    worker a;
    worker b;
    auto sa = a.add(text("A"), o);
    auto sb = b.add(text("B"), o);
    ASSERT_TRUE(sa->listen("127.0.0.1", 0));
    auto bound = sb->listen("127.0.0.1", sa->port());
    ASSERT_TRUE(bound) << bound.error().message();
    EXPECT_EQ(sb->port(), sa->port());
    std::map<std::string, int> seen;
    for (int i = 0; i < 64; ++i) {
        raw_client c(sa->port());
        ASSERT_FALSE(c.connect_error) << c.connect_error.message();
        auto res = c.request();
        ASSERT_TRUE(res.starts_with("HTTP/1.1 200 ")) << res;
        ++seen[res.substr(res.size() - 1)];
    }
    // The kernel spreads connections by their 4-tuple: both serve some.
    EXPECT_GT(seen["A"], 0);
    EXPECT_GT(seen["B"], 0);
    EXPECT_EQ(seen["A"] + seen["B"], 64);
}

TEST(Listener, WithoutReusePortTheSecondBindFails) {
    worker a;
    auto sa = a.add(text("A"));
    ASSERT_TRUE(sa->listen("127.0.0.1", 0));
    server::server_options o;
    o.reuse_port = true;  // both must set it
    auto sb = a.add(text("B"), o);
    auto bound = sb->listen("127.0.0.1", sa->port());
    ASSERT_FALSE(bound);
    EXPECT_EQ(bound.error().value(), EADDRINUSE) << bound.error().message();
}

// ------------------------------------------------------------ close-on-exec

TEST(Listener, ChildProcessKeepsNeitherThePortNorTheConnections) {
    worker w;
    auto s = w.add(text("ok"));
    ASSERT_TRUE(s->listen("127.0.0.1", 0));
    const auto port = s->port();
    raw_client open(port);  // an accepted connection, kept alive
    ASSERT_TRUE(open.request().ends_with("ok"));

    // A child inherits every descriptor that is not close-on-exec.
    pid_t child = 0;
    char sleep_path[] = "/bin/sleep";
    char seconds[] = "30";
    char* argv[] = {sleep_path, seconds, nullptr};
    ASSERT_EQ(::posix_spawn(&child, sleep_path, nullptr, nullptr, argv, environ), 0);
    struct reap {
        pid_t pid;
        ~reap() {
            ::kill(pid, SIGKILL);
            int status = 0;
            ::waitpid(pid, &status, 0);
        }
    } reaper{child};

    // posix_spawn returns once the child has exec'd: what it holds now is
    // what it inherited. Not one socket.
    std::error_code ec;
    const std::string fds = "/proc/" + std::to_string(child) + "/fd";
    int sockets = 0;
    for (const auto& entry : std::filesystem::directory_iterator(fds, ec)) {
        std::error_code link_ec;
        auto target = std::filesystem::read_symlink(entry.path(), link_ec).string();
        sockets += target.starts_with("socket:") ? 1 : 0;
    }
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(sockets, 0);

    w.run([&] { s->stop(); });
    // Had the child inherited them, the port would still accept and the
    // connection would stay open.
    EXPECT_TRUE(connection_refused(port));
    EXPECT_TRUE(open.closed_by_server());
}

// ------------------------------------------------------------ limiter

TEST(ConnectionLimiter, CountsTotalAndPerIp) {
    auto l = std::make_shared<connection_limiter>(3, 2);
    EXPECT_TRUE(l->try_acquire("10.0.0.1"));
    EXPECT_TRUE(l->try_acquire("10.0.0.1"));
    EXPECT_FALSE(l->try_acquire("10.0.0.1"));  // per IP
    EXPECT_TRUE(l->try_acquire("10.0.0.2"));
    EXPECT_FALSE(l->try_acquire("10.0.0.3"));  // total
    EXPECT_EQ(l->total(), 3u);
    EXPECT_EQ(l->refused(), 2u);
    EXPECT_EQ(l->count("10.0.0.1"), 2u);
    l->release("10.0.0.1");
    EXPECT_EQ(l->count("10.0.0.1"), 1u);
    {
        auto p = l->acquire("10.0.0.3");
        EXPECT_TRUE(p);
        EXPECT_EQ(l->total(), 3u);
        auto moved = std::move(p);
        EXPECT_FALSE(p);  // NOLINT(bugprone-use-after-move): moved-from holds nothing
        EXPECT_TRUE(moved);
        EXPECT_FALSE(l->acquire("10.0.0.4"));
    }
    EXPECT_EQ(l->total(), 2u);  // the permit gave its place back
    EXPECT_EQ(l->count("10.0.0.3"), 0u);
    l->release("10.9.9.9");  // unknown: ignored
    EXPECT_EQ(l->total(), 2u);
}

TEST(ConnectionLimiter, UnlimitedAndThreadSafe) {
    auto l = std::make_shared<connection_limiter>(0, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&l, t] {
            const std::string ip = "10.0.0." + std::to_string(t);
            for (int i = 0; i < 10000; ++i) {
                auto p = l->acquire(ip);
                EXPECT_TRUE(p);
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(l->total(), 0u);
    EXPECT_EQ(l->refused(), 0u);
}

TEST(Listener, LimiterRefusesOverTotalWith503AndReleasesOnClose) {
    server::server_options o;
    o.limiter = std::make_shared<connection_limiter>(2, 0);
    worker w;
    auto s = w.add(text("ok"), o);
    ASSERT_TRUE(s->listen("127.0.0.1", 0));
    auto c1 = std::make_unique<raw_client>(s->port());
    raw_client c2(s->port());
    ASSERT_TRUE(c1->request().ends_with("ok"));
    ASSERT_TRUE(c2.request().ends_with("ok"));
    EXPECT_EQ(o.limiter->total(), 2u);

    raw_client c3(s->port());
    auto refused = c3.read_until("\r\n\r\n");
    EXPECT_TRUE(refused.starts_with("HTTP/1.1 503 Service Unavailable\r\n")) << refused;
    EXPECT_NE(refused.find("Retry-After: 1\r\n"), std::string::npos) << refused;
    EXPECT_NE(refused.find("Connection: close\r\n"), std::string::npos) << refused;
    EXPECT_TRUE(c3.closed_by_server());
    EXPECT_EQ(o.limiter->refused(), 1u);
    std::atomic<std::size_t> refused_count{0};
    w.run([&] { refused_count = s->connections_refused(); });
    EXPECT_EQ(refused_count.load(), 1u);

    c1.reset();  // the client closes: its place is given back
    ASSERT_TRUE(wait_until([&] { return o.limiter->total() == 1; }));
    raw_client c4(s->port());
    EXPECT_TRUE(c4.request().ends_with("ok"));
}

TEST(Listener, LimiterPerIpAndSharedByTwoServers) {
    server::server_options o;
    o.limiter = std::make_shared<connection_limiter>(0, 1);
    worker w;
    auto s1 = w.add(text("one"), o);
    auto s2 = w.add(text("two"), o);
    ASSERT_TRUE(s1->listen("127.0.0.1", 0));
    ASSERT_TRUE(s2->listen("127.0.0.1", 0));
    raw_client first(s1->port(), "127.0.0.1");
    ASSERT_TRUE(first.request().ends_with("one"));
    // The same address on the other server: over its per-IP limit.
    raw_client again(s2->port(), "127.0.0.1");
    EXPECT_TRUE(again.read_until("\r\n\r\n").starts_with("HTTP/1.1 503 "));
    // Another address (all of 127/8 is loopback) is counted apart.
    raw_client other(s2->port(), "127.0.0.2");
    EXPECT_TRUE(other.request().ends_with("two"));
    EXPECT_EQ(o.limiter->count("127.0.0.1"), 1u);
    EXPECT_EQ(o.limiter->count("127.0.0.2"), 1u);
}

// ------------------------------------------------------------ WebSocket helpers

void mask_fill(std::span<std::uint8_t> out) {
    static std::mt19937 gen(11);
    for (auto& b : out) {
        b = static_cast<std::uint8_t>(gen());
    }
}

std::string masked(ws::codec& c) {
    auto out = c.pending_output();
    std::string bytes(reinterpret_cast<const char*>(out.data()), out.size());
    c.consume_output(out.size());
    return bytes;
}

// /slow requests the handler has started (a test waits for its request to be
// in the server's hands before stopping).
std::atomic<int> slow_started{0};

server::handler ws_or_text(std::string body) {
    return [body](const incoming_request& req) -> asio::awaitable<outgoing_response> {
        if (req.target == "/ws") {
            server::websocket_options o;
            o.permessage_deflate = false;
            co_return server::accept_websocket(req, o, server::websocket_echo);
        }
        if (req.target == "/slow") {
            slow_started.fetch_add(1);
            outgoing_response res;
            res.delay = std::chrono::milliseconds(300);
            res.body = "slow";
            co_return res;
        }
        outgoing_response res;
        res.body = body;
        co_return res;
    };
}

// Opens a WebSocket on a raw client and checks one echo.
void open_websocket(raw_client& c) {
    c.send(
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    auto head = c.read_until("\r\n\r\n");
    ASSERT_TRUE(head.starts_with("HTTP/1.1 101 ")) << head;
    c.data.erase(0, head.find("\r\n\r\n") + 4);
}

// Sends a text message and reads its echo (unmasked server frame).
std::string ws_echo(raw_client& c, ws::codec& client, const std::string& text) {
    (void)client.send_text(text);
    c.send(masked(client));
    c.read_until(text);
    auto at = c.data.find(text);
    if (at == std::string::npos) {
        return {};
    }
    auto echoed = c.data.substr(at, text.size());
    c.data.clear();
    return echoed;
}

TEST(Listener, LimiterHoldsThePlaceOfAnUpgradedWebSocket) {
    server::server_options o;
    o.limiter = std::make_shared<connection_limiter>(1, 0);
    worker w;
    auto s = w.add(ws_or_text("ok"), o);
    ASSERT_TRUE(s->listen("127.0.0.1", 0));
    {
        raw_client c(s->port());
        ASSERT_NO_FATAL_FAILURE(open_websocket(c));
        ws::codec client(ws::role::client, mask_fill);
        EXPECT_EQ(ws_echo(c, client, "still counted"), "still counted");
        EXPECT_EQ(o.limiter->total(), 1u);
        raw_client other(s->port());
        EXPECT_TRUE(other.read_until("\r\n\r\n").starts_with("HTTP/1.1 503 "));
    }  // the WebSocket's TCP connection ends
    ASSERT_TRUE(wait_until([&] { return o.limiter->total() == 0; }));
    raw_client later(s->port());
    EXPECT_TRUE(later.request().ends_with("ok"));
}

// ------------------------------------------------------------ stop_accepting

TEST(Listener, StopAcceptingKeepsAWebSocketAndClosesIdleKeepAlive) {
    worker w;
    auto s = w.add(ws_or_text("ok"));
    ASSERT_TRUE(s->listen("127.0.0.1", 0));
    raw_client ws_conn(s->port());
    ASSERT_NO_FATAL_FAILURE(open_websocket(ws_conn));
    ws::codec client(ws::role::client, mask_fill);
    EXPECT_EQ(ws_echo(ws_conn, client, "before"), "before");
    raw_client idle(s->port());
    ASSERT_TRUE(idle.request().ends_with("ok"));  // now idle between requests
    raw_client busy(s->port());
    busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");  // answered after 300 ms
    ASSERT_TRUE(wait_until([&] {
        std::atomic<std::size_t> served{0};
        w.run([&] { served = s->requests_served(); });
        return served >= 3;  // ws upgrade, idle, slow (its handler ran)
    }));

    w.run([&] { s->stop_accepting(); });
    EXPECT_TRUE(connection_refused(s->port()));
    EXPECT_TRUE(idle.closed_by_server());
    // The busy request still gets its answer, marked as the last one.
    auto slow = busy.read_until("slow");
    EXPECT_TRUE(slow.starts_with("HTTP/1.1 200 OK\r\n")) << slow;
    EXPECT_NE(slow.find("Connection: close\r\n"), std::string::npos) << slow;
    EXPECT_TRUE(busy.closed_by_server());
    // The WebSocket goes on.
    EXPECT_EQ(ws_echo(ws_conn, client, "after stop_accepting"), "after stop_accepting");
    std::atomic<std::size_t> open_count{0};
    w.run([&] { open_count = s->open_connections(); });
    EXPECT_EQ(open_count.load(), 1u);
    // It ends normally: close handshake, then the server closes the TCP
    // connection.
    (void)client.send_close(1000);
    ws_conn.send(masked(client));
    ws_conn.read_until("\xff\xff never");  // to EOF
    EXPECT_TRUE(ws_conn.eof);
    ASSERT_TRUE(wait_until([&] {
        w.run([&] { open_count = s->open_connections(); });
        return open_count == 0;
    }));
}

TEST(Listener, StopAcceptingSendsGoawayToHttp2AndClosesWhenNoStreamIsOpen) {
    const int slow_before = slow_started.load();
    worker w;
    auto s = w.add(ws_or_text("ok"));
    ASSERT_TRUE(s->listen("127.0.0.1", 0));
    asio::io_context io(1);
    test::h2_get_client idle(io);
    test::h2_get_client busy(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await idle.connect(s->port()));
        EXPECT_TRUE(co_await idle.get("/"));
        co_await idle.until_end();
        EXPECT_EQ(idle.body_, "ok");
        EXPECT_TRUE(co_await busy.connect(s->port()));
        EXPECT_TRUE(co_await busy.get("/slow"));
        co_await busy.pump();  // SETTINGS
    }());
    // The GOAWAY must come after the server has the request (a stream it
    // has not seen yet would rightly be refused).
    ASSERT_TRUE(wait_until([&] { return slow_started.load() > slow_before; }));
    w.run([&] { s->stop_accepting(); });
    test::run(io, [&]() -> asio::awaitable<void> {
        // Idle: GOAWAY (NO_ERROR), then the connection ends.
        EXPECT_TRUE(co_await idle.until_connection_end());
        EXPECT_TRUE(idle.goaway_.has_value());
        if (idle.goaway_) {
            EXPECT_EQ(idle.goaway_->code, h2::wire_error::no_error);
        }
        // Busy: GOAWAY, the open stream still completes, then the end.
        co_await busy.until_end();
        EXPECT_EQ(busy.status_, 200);
        EXPECT_EQ(busy.body_, "slow");
        EXPECT_TRUE(co_await busy.until_connection_end());
        EXPECT_TRUE(busy.goaway_.has_value());
    }());
    EXPECT_TRUE(connection_refused(s->port()));
}

// ------------------------------------------------------------ idle timeout, head limits

TEST(Listener, IdleTimeoutClosesSilentConnectionsOnBothVersions) {
    server::server_options o;
    o.idle_timeout = std::chrono::milliseconds(200);
    worker w;
    auto s = w.add(text("ok"), o);
    ASSERT_TRUE(s->listen("127.0.0.1", 0));
    // Not a byte sent (the server waits for either HTTP/1.1 or the h2c
    // preface): closed.
    raw_client silent(s->port());
    EXPECT_TRUE(silent.closed_by_server());
    // Idle between requests.
    raw_client kept(s->port());
    ASSERT_TRUE(kept.request().ends_with("ok"));
    EXPECT_TRUE(kept.closed_by_server());
    // HTTP/2 with no stream open: GOAWAY, then the end.
    asio::io_context io(1);
    test::h2_get_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await c.connect(s->port()));
        EXPECT_TRUE(co_await c.get("/"));
        co_await c.until_end();
        EXPECT_EQ(c.body_, "ok");
        auto started = std::chrono::steady_clock::now();
        EXPECT_TRUE(co_await c.until_connection_end());
        EXPECT_TRUE(c.goaway_.has_value());
        EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(150));
    }());
}

TEST(Listener, Http2EnforcesTheHeadLimits) {
    server::server_options o;
    o.limits.max_header_bytes = 1024;
    o.limits.max_fields = 8;
    worker w;
    auto s = w.add(text("ok"), o);
    ASSERT_TRUE(s->listen("127.0.0.1", 0));
    asio::io_context io(1);
    test::h2_get_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        const std::string root = "/";
        const std::string get = "GET";
        EXPECT_TRUE(co_await c.connect(s->port()));
        while (!c.settings_) {
            bool more = co_await c.pump();
            if (!more) {
                break;
            }
        }
        EXPECT_TRUE(c.settings_ && c.settings_->max_header_list_size == 1024);
        headers big{{"x-big", std::string(2000, 'b')}};
        EXPECT_TRUE(co_await c.get(root, get, big));
        co_await c.until_end();
        EXPECT_TRUE(c.closed_);
        EXPECT_EQ(c.status_, 0);  // reset, not answered
        headers many;
        for (int i = 0; i < 20; ++i) {
            many.add("x-f" + std::to_string(i), "v");
        }
        EXPECT_TRUE(co_await c.get(root, get, many));
        co_await c.until_end();
        EXPECT_EQ(c.status_, 0);
        // Within the limits: answered, on the same connection.
        const headers small{{"x-small", "s"}};
        EXPECT_TRUE(co_await c.get(root, get, small));
        co_await c.until_end();
        EXPECT_EQ(c.status_, 200);
        EXPECT_EQ(c.body_, "ok");
        c.close();
    }());
}

}  // namespace
}  // namespace corvid
