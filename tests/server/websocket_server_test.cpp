// corvid's WebSocket server (server/websocket.hpp) against real peers:
// python3-websockets 10.4 (Debian's, tests/support/ws_client.py) over
// ws:// and wss://, with and without permessage-deflate; corvid's own
// h2::client_session plus the ws codec in client role for RFC 8441 over
// HTTP/2 (TLS and h2c); raw sockets for refused upgrades and hostile input.

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <asio/connect.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "proto/h2/session.hpp"
#include "proto/ws/codec.hpp"
#include "server/http1_server.hpp"
#include "server/websocket.hpp"
#include "support/async.hpp"
#include "support/external_server.hpp"
#include "tls/context.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

using server::incoming_request;
using server::outgoing_response;
using server::websocket_options;
using server::websocket_session;

std::string run_command(const std::string& cmd) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen((cmd + " 2>&1").c_str(), "r"), ::pclose);
    std::array<char, 4096> buf{};
    while (pipe && std::fgets(buf.data(), buf.size(), pipe.get()) != nullptr) {
        out += buf.data();
    }
    return out;
}

std::string ws_client(const std::string& args) {
    return run_command(
        "timeout 120 /usr/bin/python3 " CORVID_SOURCE_DIR "/tests/support/ws_client.py " + args);
}

void deterministic_fill(std::span<std::uint8_t> out) {
    static std::mt19937 gen(42);
    for (auto& b : out) {
        b = static_cast<std::uint8_t>(gen());
    }
}

// Servers on one thread: `tls_` (ALPN h2, http/1.1) and `plain_` (h2c by
// prior knowledge too) with extended CONNECT enabled, `no_connect_` without
// it, and `no_deflate_` whose WebSocket refuses permessage-deflate.
class WebSocketServer : public ::testing::Test {
  protected:
    void SetUp() override {
        auto ca = tls::test_ca::create().value();
        dir_ = std::make_unique<test::temp_dir>("wsserver");
        ca_file_ = dir_->file("ca.pem");
        ASSERT_TRUE(tls::write_file(ca_file_, ca.cert_pem()));
        auto leaf = ca.issue({}).value();
        auto ctx = tls::server_context::create({leaf.cert_pem, leaf.key_pem, {"h2", "http/1.1"}});
        ASSERT_TRUE(ctx);
        server::server_options with_connect;
        with_connect.enable_connect_protocol = true;
        auto h = [this](const incoming_request& req) { return handle(req, true); };
        tls_ = server::http1_server::create(io_.get_executor(), h, *ctx, with_connect);
        ASSERT_TRUE(tls_->listen());
        plain_ = server::http1_server::create(io_.get_executor(), h, nullptr, with_connect);
        ASSERT_TRUE(plain_->listen());
        no_connect_ = server::http1_server::create(io_.get_executor(), h);
        ASSERT_TRUE(no_connect_->listen());
        no_deflate_ = server::http1_server::create(
            io_.get_executor(), [this](const incoming_request& req) { return handle(req, false); },
            nullptr, with_connect);
        ASSERT_TRUE(no_deflate_->listen());
        thread_ = std::thread([this] {
            auto guard = asio::make_work_guard(io_);
            io_.run();
        });
    }
    void TearDown() override {
        asio::post(io_, [this] {
            tls_->stop();
            plain_->stop();
            no_connect_->stop();
            no_deflate_->stop();
            io_.stop();
        });
        thread_.join();
    }

    asio::awaitable<outgoing_response> handle(const incoming_request& req, bool deflate) {
        websocket_options o;
        o.permessage_deflate = deflate;
        o.subprotocols = {"corvid.json", "corvid.msgpack"};
        if (req.target == "/ws" || (req.method == "CONNECT" && req.target.empty())) {
            co_return server::accept_websocket(req, o, server::websocket_echo);
        }
        if (req.target == "/ws-closer") {
            // Closes with 4001 when told to, else echoes.
            co_return server::accept_websocket(
                req, o, [](std::shared_ptr<websocket_session> s) -> asio::awaitable<void> {
                    while (auto m = co_await s->receive()) {
                        if (m->data == "close please") {
                            (void)s->close(4001, "asked to");
                            continue;
                        }
                        (void)co_await s->send(m->type, m->data);
                    }
                });
        }
        if (req.target == "/ws-keepalive") {
            // Pings every 20 ms; gives up after 200 ms without input.
            o.ping_interval = std::chrono::milliseconds(20);
            o.idle_timeout = std::chrono::milliseconds(200);
            co_return server::accept_websocket(
                req, o, [this](std::shared_ptr<websocket_session> s) -> asio::awaitable<void> {
                    auto m = co_await s->receive();
                    keepalive_result_ = !m && m.error() == websocket_errc::ping_timeout ? 1 : 2;
                });
        }
        if (req.target == "/ws-flood") {
            // 200 messages of 64 KiB as fast as send() lets it, into a
            // 256 KiB queue; records the most ever queued.
            o.max_queued_bytes = 256 * 1024;
            co_return server::accept_websocket(
                req, o, [this](std::shared_ptr<websocket_session> s) -> asio::awaitable<void> {
                    std::string chunk(64 * 1024, 'f');
                    for (int i = 0; i < 200; ++i) {
                        if (!co_await s->send_binary(chunk)) {
                            break;
                        }
                        max_queued_ = std::max<std::size_t>(max_queued_, s->queued_bytes());
                        ++flood_sent_;
                    }
                    (void)co_await s->receive();  // until the client closes
                });
        }
        outgoing_response res;
        res.status = 404;
        co_return res;
    }

    std::string ws_url(const server::http1_server& s, bool tls, const std::string& path = "/ws") {
        return std::string(tls ? "wss" : "ws") + "://localhost:" + std::to_string(s.port()) + path;
    }

    asio::io_context io_{1};
    std::unique_ptr<test::temp_dir> dir_;
    std::string ca_file_;
    std::shared_ptr<server::http1_server> tls_;
    std::shared_ptr<server::http1_server> plain_;
    std::shared_ptr<server::http1_server> no_connect_;
    std::shared_ptr<server::http1_server> no_deflate_;
    std::thread thread_;
    std::atomic<std::size_t> max_queued_{0};
    std::atomic<int> flood_sent_{0};
    std::atomic<int> keepalive_result_{0};  // 1: receive() failed with ping_timeout
};

// --------------------------------------------------------------- python3-websockets

TEST_F(WebSocketServer, PythonEchoPlainWithDeflate) {
    auto out = ws_client(ws_url(*plain_, false) + " --deflate --close-code 4000");
    EXPECT_NE(out.find("extensions: permessage-deflate"), std::string::npos) << out;
    EXPECT_NE(out.find("echo ok 210"), std::string::npos) << out;
    EXPECT_NE(out.find("close: 4000"), std::string::npos) << out;
    EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
}

TEST_F(WebSocketServer, PythonEchoPlainWithoutDeflate) {
    auto out = ws_client(ws_url(*plain_, false));
    EXPECT_NE(out.find("extensions: none"), std::string::npos) << out;
    EXPECT_NE(out.find("echo ok 210"), std::string::npos) << out;
    EXPECT_NE(out.find("close: 1000"), std::string::npos) << out;
}

TEST_F(WebSocketServer, PythonEchoTlsWithDeflate) {
    auto out = ws_client(ws_url(*tls_, true) + " --ca " + ca_file_ + " --deflate");
    EXPECT_NE(out.find("extensions: permessage-deflate"), std::string::npos) << out;
    EXPECT_NE(out.find("echo ok 210"), std::string::npos) << out;
    EXPECT_NE(out.find("close: 1000"), std::string::npos) << out;
}

TEST_F(WebSocketServer, PythonEchoTlsWithoutDeflate) {
    auto out = ws_client(ws_url(*tls_, true) + " --ca " + ca_file_ + " --close-code 3999");
    EXPECT_NE(out.find("extensions: none"), std::string::npos) << out;
    EXPECT_NE(out.find("echo ok 210"), std::string::npos) << out;
    EXPECT_NE(out.find("close: 3999"), std::string::npos) << out;
}

TEST_F(WebSocketServer, PythonDeflateNoContextTakeoverAndSmallWindows) {
    auto out = ws_client(ws_url(*tls_, true) + " --ca " + ca_file_ +
                         " --deflate --client-no-context-takeover --server-no-context-takeover"
                         " --client-max-window-bits 9 --server-max-window-bits 10");
    EXPECT_NE(out.find("client_no_context_takeover"), std::string::npos) << out;
    EXPECT_NE(out.find("server_no_context_takeover"), std::string::npos) << out;
    EXPECT_NE(out.find("client_max_window_bits=9"), std::string::npos) << out;
    EXPECT_NE(out.find("server_max_window_bits=10"), std::string::npos) << out;
    EXPECT_NE(out.find("echo ok 210"), std::string::npos) << out;
    EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
}

TEST_F(WebSocketServer, PythonDeflateWindowBits8) {
    // We deflate with an 8-bit window (zlib's 9, see proto/ws/deflate.hpp);
    // Python's zlib cannot deflate with 8, so the client side stays at 9.
    auto out = ws_client(ws_url(*plain_, false) +
                         " --deflate --client-max-window-bits 9 --server-max-window-bits 8");
    EXPECT_NE(out.find("server_max_window_bits=8"), std::string::npos) << out;
    EXPECT_NE(out.find("echo ok 210"), std::string::npos) << out;
    EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
}

TEST_F(WebSocketServer, PythonDeflateDeclinedWhenDisabled) {
    auto out = ws_client(ws_url(*no_deflate_, false) + " --deflate");
    EXPECT_NE(out.find("extensions: none"), std::string::npos) << out;
    EXPECT_NE(out.find("echo ok 210"), std::string::npos) << out;
}

TEST_F(WebSocketServer, PythonSubprotocolServerPreference) {
    auto out = ws_client(ws_url(*plain_, false) +
                         " --subprotocol corvid.msgpack --subprotocol corvid.json");
    EXPECT_NE(out.find("subprotocol: corvid.json"), std::string::npos) << out;
    auto other = ws_client(ws_url(*plain_, false) + " --subprotocol corvid.msgpack");
    EXPECT_NE(other.find("subprotocol: corvid.msgpack"), std::string::npos) << other;
    auto none = ws_client(ws_url(*plain_, false) + " --subprotocol mqtt");
    // Nothing in common: the connection goes on without a subprotocol.
    EXPECT_NE(none.find("subprotocol: none"), std::string::npos) << none;
    EXPECT_NE(none.find("echo ok 210"), std::string::npos) << none;
}

// --------------------------------------------------------------- raw HTTP/1.1

// A blocking client socket with a receive timeout (no hangs).
struct raw_client {
    asio::io_context io;
    asio::ip::tcp::socket socket{io};

    /// `receive_buffer` > 0: a small SO_RCVBUF, so a reader that does not
    /// read stops the sender soon.
    explicit raw_client(std::uint16_t port, int receive_buffer = 0) {
        socket.open(asio::ip::tcp::v4());
        if (receive_buffer > 0) {
            socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
        }
        socket.connect({asio::ip::make_address("127.0.0.1"), port});
        timeval tv{10, 0};
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    void send(std::string_view bytes) { asio::write(socket, asio::buffer(bytes)); }
    // Reads until the head's end; returns the head, leaves the rest in `extra`.
    std::string read_head(std::string& extra) {
        std::string data;
        char buf[4096];
        for (;;) {
            auto end = data.find("\r\n\r\n");
            if (end != std::string::npos) {
                extra = data.substr(end + 4);
                return data.substr(0, end + 4);
            }
            std::error_code ec;
            auto n = socket.read_some(asio::buffer(buf), ec);
            if (ec || n == 0) {
                return data;
            }
            data.append(buf, n);
        }
    }
    // Everything until EOF (or the timeout).
    std::string read_all(std::string data = {}) {
        char buf[4096];
        for (;;) {
            std::error_code ec;
            auto n = socket.read_some(asio::buffer(buf), ec);
            if (ec || n == 0) {
                return data;
            }
            data.append(buf, n);
        }
    }
};

std::string upgrade_request(std::string_view extra_fields,
                            std::string_view key = "dGhlIHNhbXBsZSBub25jZQ==",
                            std::string_view version = "13") {
    std::string r =
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
        "Connection: keep-alive, Upgrade\r\n";
    if (!key.empty()) {
        r += "Sec-WebSocket-Key: " + std::string(key) + "\r\n";
    }
    if (!version.empty()) {
        r += "Sec-WebSocket-Version: " + std::string(version) + "\r\n";
    }
    r += extra_fields;
    r += "\r\n";
    return r;
}

// Parses server frames (unmasked) with the codec in client role.
struct frame_reader {
    ws::codec codec{ws::role::client, deterministic_fill};
    std::vector<ws::event> events;
    std::error_code error;
    void feed(std::string bytes) {
        std::span<std::uint8_t> in(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size());
        while (!in.empty()) {
            std::size_t n = codec.receive(in, error);
            while (auto e = codec.next_event()) {
                if (auto* d = std::get_if<ws::data_event>(&*e)) {
                    data.append(reinterpret_cast<const char*>(d->data.data()), d->data.size());
                }
                events.push_back(std::move(*e));
            }
            if (error || n == 0) {
                break;
            }
            in = in.subspan(n);
        }
    }
    std::optional<ws::close_event> close() const {
        for (const auto& e : events) {
            if (auto* c = std::get_if<ws::close_event>(&e)) {
                return *c;
            }
        }
        return std::nullopt;
    }
    std::string data;
};

std::string masked_frame(ws::message_type type, std::string_view payload) {
    ws::codec c(ws::role::client, deterministic_fill);
    (void)c.send_message(type, ws::codec::as_bytes(payload));
    auto out = c.pending_output();
    return std::string(reinterpret_cast<const char*>(out.data()), out.size());
}

TEST(WebSocketAcceptKey, Rfc6455Example) {
    // RFC 6455 section 1.3.
    EXPECT_EQ(server::websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
              "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_F(WebSocketServer, UpgradeHeadAndPipelinedFrame) {
    raw_client c(plain_->port());
    // A frame sent right behind the request head is not lost.
    c.send(upgrade_request("") + masked_frame(ws::message_type::text, "early"));
    std::string extra;
    auto head = c.read_head(extra);
    EXPECT_NE(head.find("HTTP/1.1 101 Switching Protocols\r\n"), std::string::npos) << head;
    EXPECT_NE(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
              std::string::npos)
        << head;
    EXPECT_NE(head.find("Upgrade: websocket\r\n"), std::string::npos);
    EXPECT_EQ(head.find("Content-Length"), std::string::npos);
    EXPECT_EQ(head.find("Sec-WebSocket-Extensions"), std::string::npos);  // none offered
    c.send(masked_frame(ws::message_type::binary, "late"));
    frame_reader r;
    r.feed(extra);
    while (r.data.size() < 9 && !r.error) {
        char buf[256];
        std::error_code ec;
        auto n = c.socket.read_some(asio::buffer(buf), ec);
        ASSERT_FALSE(ec) << ec.message();
        r.feed(std::string(buf, n));
    }
    EXPECT_EQ(r.data, "earlylate");
}

TEST_F(WebSocketServer, RefusedUpgrades) {
    struct bad_case {
        std::string request;
        std::string status;
    };
    std::vector<bad_case> cases = {
        {upgrade_request("", ""), "HTTP/1.1 400 "},                               // no key
        {upgrade_request("", "c2hvcnQ="), "HTTP/1.1 400 "},                       // key too short
        {upgrade_request("", "dGhlIHNhbXBsZSBub25jZQ==", "8"), "HTTP/1.1 426 "},  // version 8
        {upgrade_request("", "dGhlIHNhbXBsZSBub25jZQ==", ""), "HTTP/1.1 400 "},   // no version
        {"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
         "HTTP/1.1 400 "},  // no Upgrade: websocket
        {"POST /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Content-Length: 0\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
         "HTTP/1.1 400 "},
    };
    for (const auto& bc : cases) {
        raw_client c(plain_->port());
        c.send(bc.request);
        std::string extra;
        auto head = c.read_head(extra);
        EXPECT_EQ(head.substr(0, bc.status.size()), bc.status) << bc.request << "\n" << head;
        if (bc.status.find("426") != std::string::npos) {
            EXPECT_NE(head.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos) << head;
        }
    }
}

TEST_F(WebSocketServer, GarbageAfterUpgradeClosesThatConnectionOnly) {
    raw_client good(plain_->port());
    good.send(upgrade_request(""));
    std::string good_extra;
    ASSERT_NE(good.read_head(good_extra).find(" 101 "), std::string::npos);

    raw_client bad(plain_->port());
    // An unmasked frame with reserved opcode 0x3 and RSV2 set: a protocol error.
    bad.send(upgrade_request("") + std::string("\xa3\x05hello garbage", 14));
    std::string extra;
    ASSERT_NE(bad.read_head(extra).find(" 101 "), std::string::npos);
    frame_reader r;
    r.feed(bad.read_all(extra));  // the server closes the connection after its close frame
    auto close = r.close();
    ASSERT_TRUE(close.has_value());
    EXPECT_EQ(close->code, 1002);

    // The other connection still echoes.
    good.send(masked_frame(ws::message_type::text, "still here"));
    frame_reader g;
    g.feed(good_extra);
    while (g.data.size() < 10 && !g.error) {
        char buf[256];
        std::error_code ec;
        auto n = good.socket.read_some(asio::buffer(buf), ec);
        ASSERT_FALSE(ec) << ec.message();
        g.feed(std::string(buf, n));
    }
    EXPECT_EQ(g.data, "still here");
}

TEST_F(WebSocketServer, OversizedFrameGets1009) {
    raw_client c(plain_->port());
    // A masked binary frame announcing 2^40 bytes.
    std::string frame("\x82\xff\x00\x00\x01\x00\x00\x00\x00\x00\x01\x02\x03\x04", 14);
    c.send(upgrade_request("") + frame);
    std::string extra;
    ASSERT_NE(c.read_head(extra).find(" 101 "), std::string::npos);
    frame_reader r;
    r.feed(c.read_all(extra));
    auto close = r.close();
    ASSERT_TRUE(close.has_value());
    EXPECT_EQ(close->code, 1009);
}

TEST_F(WebSocketServer, ServerInitiatedCloseCode) {
    raw_client d(plain_->port());
    std::string req = upgrade_request("");
    req.replace(req.find("/ws"), 3, "/ws-closer");
    d.send(req + masked_frame(ws::message_type::text, "close please"));
    std::string extra;
    ASSERT_NE(d.read_head(extra).find(" 101 "), std::string::npos);
    frame_reader r;
    r.feed(extra);
    while (!r.close() && !r.error) {
        char buf[256];
        std::error_code ec;
        auto n = d.socket.read_some(asio::buffer(buf), ec);
        if (ec) {
            break;
        }
        r.feed(std::string(buf, n));
    }
    auto close = r.close();
    ASSERT_TRUE(close.has_value());
    EXPECT_EQ(close->code, 4001);
    EXPECT_EQ(close->reason, "asked to");
    ws::codec reply(ws::role::client, deterministic_fill);
    (void)reply.send_close(4001);
    auto out = reply.pending_output();
    d.send(std::string(reinterpret_cast<const char*>(out.data()), out.size()));
    EXPECT_EQ(d.read_all(), "");  // then the server closes the TCP connection
}

TEST_F(WebSocketServer, SlowReaderBoundsTheSendQueue) {
    raw_client c(no_deflate_->port(), 64 * 1024);
    std::string req = upgrade_request("");
    req.replace(req.find("/ws"), 3, "/ws-flood");
    c.send(req);
    std::string extra;
    ASSERT_NE(c.read_head(extra).find(" 101 "), std::string::npos);
    // Not reading yet: the sender stops at its bound, not at 200 messages.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_LT(flood_sent_.load(), 200);
    frame_reader r;
    r.feed(extra);
    while (r.data.size() < 200u * 64 * 1024 && !r.error) {
        char buf[65536];
        std::error_code ec;
        auto n = c.socket.read_some(asio::buffer(buf), ec);
        ASSERT_FALSE(ec) << ec.message();
        r.feed(std::string(buf, n));
    }
    EXPECT_EQ(r.data.size(), 200u * 64 * 1024);
    EXPECT_EQ(flood_sent_.load(), 200);
    // The queue never held more than its bound plus one message.
    EXPECT_LE(max_queued_.load(), 256u * 1024 + 64 * 1024 + 14);
}

TEST_F(WebSocketServer, SilentPeerIsPingedThenDropped) {
    raw_client c(plain_->port());
    std::string req = upgrade_request("");
    req.replace(req.find("/ws"), 3, "/ws-keepalive");
    c.send(req);
    std::string extra;
    ASSERT_NE(c.read_head(extra).find(" 101 "), std::string::npos);
    // We never answer: pings arrive, then the server drops the connection
    // (without a close frame: the peer is presumed gone).
    frame_reader r;
    r.feed(c.read_all(extra));
    std::size_t pings = 0;
    for (const auto& e : r.events) {
        pings += std::holds_alternative<ws::ping_event>(e) ? 1 : 0;
    }
    EXPECT_GE(pings, 1u);
    EXPECT_FALSE(r.close().has_value());
    for (int i = 0; i < 1000 && keepalive_result_ == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(keepalive_result_.load(), 1);
}

// --------------------------------------------------------------- HTTP/2 (RFC 8441)

// corvid's h2::client_session over TCP or TLS, with the ws codec (client
// role) over one extended CONNECT stream.
class h2_ws_client {
  public:
    explicit h2_ws_client(asio::io_context& io) : io_(io), watchdog_(io) {}

    asio::awaitable<bool> connect(std::uint16_t port, const std::string& ca_file) {
        asio::ip::tcp::socket s(io_);
        co_await s.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
        if (!ca_file.empty()) {
            tls::client_config cfg;
            cfg.ca_file = ca_file;
            ctx_ = tls::client_context::create(cfg).value();
            auto t = std::make_unique<tls::tls_stream>(std::move(s), ctx_->native());
            const std::vector<std::string> alpn{"h2"};
            const std::string host = "localhost";
            const std::string origin = "test";
            auto hs = co_await t->handshake_client(*ctx_, host, alpn, origin);
            if (!hs || t->info().alpn != "h2") {
                co_return false;
            }
            stream_ = std::move(t);
        } else {
            stream_ = std::make_unique<net::tcp_stream>(std::move(s));
        }
        // No hangs: the whole exchange gets 60 s.
        watchdog_.expires_after(std::chrono::seconds(60));
        watchdog_.async_wait([this](std::error_code ec) {
            if (!ec) {
                stream_->close();
            }
        });
        bool flushed = co_await flush();
        co_return flushed;
    }

    asio::awaitable<bool> flush() {
        for (;;) {
            auto out = session_.pending_output();
            if (out.empty()) {
                co_return true;
            }
            std::array<asio::const_buffer, 1> b{asio::buffer(out.data(), out.size())};
            if (!co_await stream_->write(b)) {
                co_return false;
            }
            session_.consume_output(out.size());
        }
    }

    // One read, fed to the session; events recorded.
    asio::awaitable<bool> pump() {
        auto n = co_await stream_->read_some(std::span(buf_.data(), buf_.size()));
        if (!n || *n == 0) {
            co_return false;
        }
        if (session_.receive(std::string_view(buf_.data(), *n))) {
            co_return false;
        }
        while (auto e = session_.next_event()) {
            if (auto* s = std::get_if<h2::settings_event>(&*e)) {
                settings_ = s->settings;
            } else if (auto* r = std::get_if<h2::response_event>(&*e)) {
                status_ = r->status;
                response_fields_ = r->fields;
                ended_ = ended_ || r->end_stream;
            } else if (auto* d = std::get_if<h2::data_event>(&*e)) {
                tunnel_.append(d->data);
                session_.consume(d->stream_id, d->data.size());
                ended_ = ended_ || d->end_stream;
            } else if (auto* c = std::get_if<h2::stream_closed_event>(&*e)) {
                closed_ = true;
                reset_code_ = c->code;
            }
        }
        bool flushed = co_await flush();
        co_return flushed;
    }

    asio::awaitable<bool> wait_settings() {
        bool ok = true;
        while (ok && !settings_.has_value()) {
            ok = co_await pump();
        }
        co_return ok;
    }

    // Opens the extended CONNECT; returns the response status (0: none).
    asio::awaitable<int> open(const std::string& path, const std::string& extensions,
                              const std::string& version = "13") {
        h2::request_head head;
        head.method = "CONNECT";
        head.authority = "localhost:443";
        if (!path.empty()) {  // extended CONNECT; empty: a plain CONNECT
            head.protocol = "websocket";
            head.scheme = "https";
            head.path = path;
        }
        head.fields.add("sec-websocket-version", version);
        if (!extensions.empty()) {
            head.fields.add("sec-websocket-extensions", extensions);
        }
        auto id = session_.submit_request(head, false);
        if (!id) {
            submit_error_ = id.error();
            co_return 0;
        }
        id_ = *id;
        if (!co_await flush()) {
            co_return 0;
        }
        while (status_ == 0) {
            if (!co_await pump()) {
                co_return 0;
            }
        }
        co_return status_;
    }

    // Sends whatever the codec has queued as DATA.
    asio::awaitable<bool> send_codec_output(bool end_stream = false) {
        auto out = codec_.pending_output();
        while (!out.empty()) {
            std::string bytes(reinterpret_cast<const char*>(out.data()), out.size());
            codec_.consume_output(out.size());
            if (session_.submit_data(id_, std::move(bytes), false)) {
                co_return false;
            }
            out = codec_.pending_output();
        }
        if (end_stream) {
            (void)session_.submit_data(id_, std::string_view{}, true);
        }
        bool flushed = co_await flush();
        co_return flushed;
    }

    // The next whole message (or a close event), pumping as needed.
    asio::awaitable<std::optional<ws::event>> next() {
        for (;;) {
            while (!tunnel_.empty()) {
                std::error_code ec;
                auto in = std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(tunnel_.data()),
                                                  tunnel_.size());
                std::size_t n = codec_.receive(in, ec);
                std::optional<ws::event> result;
                if (auto e = codec_.next_event()) {
                    if (auto* d = std::get_if<ws::data_event>(&*e)) {
                        std::error_code cec;
                        if (collector_.add(*d, cec)) {
                            ws::data_event whole = *d;
                            message_ = collector_.take();
                            whole.data = ws::codec::as_bytes(message_);
                            result = whole;
                        }
                    } else {
                        result = std::move(*e);
                    }
                }
                tunnel_.erase(0, n);
                if (ec) {
                    co_return std::nullopt;
                }
                if (result) {
                    co_return result;
                }
                if (n == 0) {
                    break;
                }
            }
            // (g++ 12 evaluates a co_await inside && or || eagerly: keep
            // it out of compound conditions.)
            if (ended_ || closed_) {
                co_return std::nullopt;
            }
            bool more = co_await pump();
            if (!more) {
                co_return std::nullopt;
            }
        }
    }

    std::optional<h2::peer_settings> settings_;
    int status_ = 0;
    headers response_fields_;
    bool ended_ = false;
    bool closed_ = false;
    h2::wire_error reset_code_ = h2::wire_error::no_error;
    std::error_code submit_error_;
    ws::codec codec_{ws::role::client, deterministic_fill};
    std::string message_;

  private:
    asio::io_context& io_;
    asio::steady_timer watchdog_;
    std::shared_ptr<tls::client_context> ctx_;
    std::unique_ptr<net::stream> stream_;
    h2::client_session session_ = h2::client_session::create().value();
    std::int32_t id_ = 0;
    std::array<char, 64 * 1024> buf_{};
    std::string tunnel_;
    ws::message_collector collector_;
};

asio::awaitable<void> h2_echo_round_trip(h2_ws_client& c) {
    if (!c.settings_) {
        ADD_FAILURE() << "no SETTINGS from the server";
        co_return;
    }
    EXPECT_TRUE(c.settings_->enable_connect_protocol);
    EXPECT_EQ(co_await c.open("/ws", ""), 200);
    EXPECT_FALSE(c.response_fields_.contains("sec-websocket-accept"));
    EXPECT_FALSE(c.response_fields_.contains("sec-websocket-extensions"));

    (void)c.codec_.send_text("hello over RFC 8441");
    std::string big(3 << 20, '\0');  // past every flow-control window
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>(i * 131 % 251);
    }
    (void)c.codec_.send_binary(ws::codec::as_bytes(big));
    (void)c.codec_.begin_message(ws::message_type::text, ws::codec::as_bytes("frag"));
    (void)c.codec_.end_message(ws::codec::as_bytes("mented"));
    EXPECT_TRUE(co_await c.send_codec_output());

    auto m1 = co_await c.next();
    EXPECT_TRUE(m1 && std::holds_alternative<ws::data_event>(*m1));
    EXPECT_EQ(c.message_, "hello over RFC 8441");
    auto m2 = co_await c.next();
    EXPECT_TRUE(m2 && std::holds_alternative<ws::data_event>(*m2));
    if (m2 && std::holds_alternative<ws::data_event>(*m2)) {
        EXPECT_EQ(std::get<ws::data_event>(*m2).type, ws::message_type::binary);
    }
    EXPECT_TRUE(c.message_ == big) << c.message_.size();
    auto m3 = co_await c.next();
    EXPECT_TRUE(m3.has_value());
    EXPECT_EQ(c.message_, "fragmented");

    (void)c.codec_.send_close(4002, "done");
    EXPECT_TRUE(co_await c.send_codec_output(true));
    auto closing = co_await c.next();
    EXPECT_TRUE(closing && std::holds_alternative<ws::close_event>(*closing));
    if (closing && std::holds_alternative<ws::close_event>(*closing)) {
        EXPECT_EQ(std::get<ws::close_event>(*closing).code, 4002);
    }
    // The server ends the stream (END_STREAM) after the closing handshake.
    while (!c.ended_) {
        bool more = co_await c.pump();
        if (!more) {
            break;
        }
    }
    EXPECT_TRUE(c.ended_);
}

TEST_F(WebSocketServer, Http2ExtendedConnectOverTls) {
    asio::io_context io(1);
    h2_ws_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await c.connect(tls_->port(), ca_file_));
        EXPECT_TRUE(co_await c.wait_settings());
        co_await h2_echo_round_trip(c);
    }());
}

TEST_F(WebSocketServer, Http2ExtendedConnectOverH2c) {
    asio::io_context io(1);
    h2_ws_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await c.connect(plain_->port(), ""));
        EXPECT_TRUE(co_await c.wait_settings());
        co_await h2_echo_round_trip(c);
    }());
}

TEST_F(WebSocketServer, Http2DeflateNegotiated) {
    asio::io_context io(1);
    h2_ws_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await c.connect(plain_->port(), ""));
        EXPECT_TRUE(co_await c.wait_settings());
        EXPECT_EQ(co_await c.open("/ws", "permessage-deflate; client_max_window_bits"), 200);
        auto ext = c.response_fields_.get("sec-websocket-extensions");
        EXPECT_TRUE(ext && ext->starts_with("permessage-deflate")) << ext.value_or("(none)");
        // An uncompressed message is allowed with the extension too.
        (void)c.codec_.send_text("plain");
        EXPECT_TRUE(co_await c.send_codec_output());
        auto m = co_await c.next();
        EXPECT_TRUE(m.has_value());
        EXPECT_EQ(c.message_, "plain");
    }());
}

TEST_F(WebSocketServer, Http2WithoutConnectProtocolRefusesProtocol) {
    asio::io_context io(1);
    h2_ws_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await c.connect(no_connect_->port(), ""));
        EXPECT_TRUE(co_await c.wait_settings());
        EXPECT_FALSE(c.settings_ && c.settings_->enable_connect_protocol);
        EXPECT_EQ(co_await c.open("/ws", ""), 0);
        EXPECT_EQ(c.submit_error_, http2_errc::connect_protocol_not_enabled);
    }());
}

TEST_F(WebSocketServer, Http2BadVersionGets426) {
    asio::io_context io(1);
    h2_ws_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await c.connect(plain_->port(), ""));
        EXPECT_TRUE(co_await c.wait_settings());
        EXPECT_EQ(co_await c.open("/ws", "", "8"), 426);
        EXPECT_EQ(c.response_fields_.get("sec-websocket-version"), "13");
    }());
}

TEST_F(WebSocketServer, Http2SlowReaderStopsTheSender) {
    asio::io_context io(1);
    h2_ws_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await c.connect(no_deflate_->port(), ""));
        EXPECT_TRUE(co_await c.wait_settings());
        EXPECT_EQ(co_await c.open("/ws-flood", ""), 200);
        // Not reading: the stream window (6 MiB) and the bounded queues stop
        // the 12.5 MiB flood part way.
        asio::steady_timer pause(io, std::chrono::milliseconds(300));
        co_await pause.async_wait(asio::use_awaitable);
        EXPECT_LT(flood_sent_.load(), 200);
        std::size_t total = 0;
        for (int i = 0; i < 200; ++i) {
            auto m = co_await c.next();
            if (!m) {
                break;
            }
            total += c.message_.size();
        }
        EXPECT_EQ(total, 200u * 64 * 1024);
        EXPECT_EQ(flood_sent_.load(), 200);
    }());
}

TEST_F(WebSocketServer, Http2PlainConnectIsNotAWebSocket) {
    asio::io_context io(1);
    h2_ws_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await c.connect(plain_->port(), ""));
        EXPECT_TRUE(co_await c.wait_settings());
        EXPECT_EQ(co_await c.open("", ""), 400);  // CONNECT without :protocol
    }());
}

TEST_F(WebSocketServer, Http2ConnectToOtherPathIsAnsweredNormally) {
    asio::io_context io(1);
    h2_ws_client c(io);
    test::run(io, [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await c.connect(plain_->port(), ""));
        EXPECT_TRUE(co_await c.wait_settings());
        EXPECT_EQ(co_await c.open("/nope", ""), 404);
    }());
}

}  // namespace
}  // namespace corvid
