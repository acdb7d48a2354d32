// corvid's WebSocket client against peers nobody here wrote: python3-websockets
// (tests/support/ws_server.py) and node `ws` (tests/support/node/ws_server.js),
// over plain TCP and TLS, with and without permessage-deflate, context
// takeover and small windows; plus a raw in-test peer for what no library
// will do on purpose (silence, a wrong accept, a reserved opcode).

#include <gtest/gtest.h>

#include <openssl/sha.h>

#include <filesystem>
#include <random>

#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/streambuf.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "core/encoding.hpp"
#include "corvid/client.hpp"
#include "corvid/profile.hpp"
#include "corvid/websocket.hpp"
#include "tests/support/async.hpp"
#include "tests/support/external_server.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

namespace fs = std::filesystem;

struct pki {
    tls::test_ca ca = tls::test_ca::create().value();
    tls::pem_pair leaf = ca.issue({}).value();
};

pki& shared_pki() {
    static pki p;
    return p;
}

std::string ca_file() {
    static const std::string path = [] {
        auto p =
            (fs::temp_directory_path() / ("corvid-ws-ca-" + std::to_string(::getpid()) + ".pem"))
                .string();
        test::write_text_file(p, shared_pki().ca.cert_pem());
        return p;
    }();
    return path;
}

void add_tls(test::temp_dir& dir, std::vector<std::string>& args) {
    test::write_text_file(dir.file("cert.pem"), shared_pki().leaf.cert_pem);
    test::write_text_file(dir.file("key.pem"), shared_pki().leaf.key_pem);
    args.insert(args.end(), {"--tls-cert", dir.file("cert.pem"), "--tls-key", dir.file("key.pem")});
}

test::external_server start_python(std::vector<std::string> flags, bool tls = false) {
    test::temp_dir dir("wspy");
    const auto port = test::free_port();
    const auto script = fs::path(CORVID_SOURCE_DIR) / "tests" / "support" / "ws_server.py";
    std::vector<std::string> args{script.string(), "--port", std::to_string(port)};
    if (tls) {
        add_tls(dir, args);
    }
    args.insert(args.end(), flags.begin(), flags.end());
    return test::external_server::start(
        {"ws_server", "/usr/bin/python3", "python3-websockets", args}, std::move(dir), {port});
}

test::external_server start_node(std::vector<std::string> flags, bool tls = false) {
    const auto node_dir = fs::path(CORVID_SOURCE_DIR) / "tests" / "support" / "node";
    if (!fs::exists(node_dir / "node_modules" / "ws")) {
        throw std::runtime_error("node ws is not installed in " + node_dir.string() +
                                 ": run `scripts/dev setup` (npm ci there)");
    }
    test::temp_dir dir("wsnode");
    const auto port = test::free_port();
    std::vector<std::string> args{(node_dir / "ws_server.js").string(), "--port",
                                  std::to_string(port)};
    if (tls) {
        add_tls(dir, args);
    }
    args.insert(args.end(), flags.begin(), flags.end());
    return test::external_server::start({"ws_node", "/usr/bin/node", "nodejs", args},
                                        std::move(dir), {port});
}

std::string url(const test::external_server& s, std::string_view path, bool tls = false) {
    return std::string(tls ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(s.port()) +
           std::string(path);
}

client_options quiet_options() {
    client_options o;
    o.tls.ca_file = ca_file();
    return o;
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) {
        c = static_cast<char>(rng());
    }
    return s;
}

/// Text that compresses well (and is valid UTF-8, with multi-byte characters).
std::string compressible_text(std::size_t n) {
    std::string s;
    const std::string_view words[] = {"token ", "stream ", "événement ", "données ", "ключ "};
    for (std::size_t i = 0; s.size() < n; ++i) {
        s += words[(i * 7 + i / 3) % 5];
    }
    return s;
}

/// Sends each payload and checks the echo (type and bytes).
asio::awaitable<void> expect_echoes(websocket& ws, const std::vector<websocket_message>& messages) {
    for (const auto& m : messages) {
        auto sent = co_await ws.send(m.type, m.data);
        EXPECT_TRUE(sent) << sent.error().message();
        auto back = co_await ws.receive();
        EXPECT_TRUE(back) << back.error().message();
        if (!back) {
            co_return;
        }
        EXPECT_EQ(back->type, m.type);
        EXPECT_EQ(back->data.size(), m.data.size());
        EXPECT_TRUE(back->data == m.data);
    }
}

std::vector<websocket_message> mixed_messages() {
    std::vector<websocket_message> v;
    for (std::size_t n : {0, 1, 125, 126, 127, 65535, 65536, 300000}) {
        v.push_back({websocket_message_type::binary, random_bytes(n, static_cast<unsigned>(n))});
    }
    v.push_back({websocket_message_type::text, "héllo, wörld ✓"});
    v.push_back({websocket_message_type::text, compressible_text(200000)});
    return v;
}

/// Connects, echoes mixed_messages() twice (context takeover across
/// messages), closes cleanly; returns the negotiated extensions.
std::string echo_session(const std::string& target, websocket_options wo,
                         client_options co = quiet_options()) {
    asio::io_context io;
    client http(io.get_executor(), co);
    return test::run(io, [&]() -> asio::awaitable<std::string> {
        auto ws = co_await websocket::connect(http, target, wo);
        EXPECT_TRUE(ws) << ws.error().message();
        if (!ws) {
            co_return std::string("(failed)");
        }
        EXPECT_EQ(ws->handshake_status(), 101);
        auto messages = mixed_messages();
        co_await expect_echoes(*ws, messages);
        co_await expect_echoes(*ws, messages);
        auto closed = co_await ws->close(1000, "done");
        EXPECT_TRUE(closed) << closed.error().message();
        EXPECT_FALSE(ws->is_open());
        EXPECT_EQ(ws->close_code(), 1000);
        co_return ws->extensions();
    }());
}

// ------------------------------------------------------------ python3-websockets

TEST(WebSocketPython, EchoWithoutCompression) {
    auto server = start_python({});
    websocket_options wo;
    wo.deflate.enabled = false;
    EXPECT_EQ(echo_session(url(server, "/echo"), wo), "");
}

TEST(WebSocketPython, EchoWithPermessageDeflate) {
    auto server = start_python({});
    auto ext = echo_session(url(server, "/echo"), {});
    EXPECT_NE(ext.find("permessage-deflate"), std::string::npos) << ext;
}

TEST(WebSocketPython, DeflateParameterMatrix) {
    struct variant {
        std::vector<std::string> server_flags;
        websocket_deflate_options client;
        std::string expect;  // a parameter the agreement must name
    };
    std::vector<variant> variants;
    {
        variant v;
        v.client.client_no_context_takeover = true;
        v.expect = "client_no_context_takeover";
        variants.push_back(v);
    }
    {
        variant v;
        v.client.server_no_context_takeover = true;
        v.expect = "server_no_context_takeover";
        variants.push_back(v);
    }
    {
        variant v;
        v.client.server_max_window_bits = 9;
        v.expect = "server_max_window_bits=9";
        variants.push_back(v);
    }
    {
        variant v;
        v.client.client_max_window_bits = 9;
        v.expect = "client_max_window_bits=9";
        variants.push_back(v);
    }
    {
        variant v;  // the server asks for it all
        v.server_flags = {"--server-no-context-takeover", "--client-no-context-takeover",
                          "--server-max-window-bits",     "10",
                          "--client-max-window-bits",     "11"};
        v.expect = "server_max_window_bits=10";
        variants.push_back(v);
    }
    for (const auto& v : variants) {
        SCOPED_TRACE(v.expect);
        auto server = start_python(v.server_flags);
        websocket_options wo;
        wo.deflate = v.client;
        auto ext = echo_session(url(server, "/echo"), wo);
        EXPECT_NE(ext.find(v.expect), std::string::npos) << ext;
    }
}

TEST(WebSocketPython, OverTlsWithDeflate) {
    auto server = start_python({}, true);
    auto ext = echo_session(url(server, "/echo", true), {});
    EXPECT_NE(ext.find("permessage-deflate"), std::string::npos);
}

TEST(WebSocketPython, UntrustedCertificateFails) {
    auto server = start_python({}, true);
    asio::io_context io;
    client http(io.get_executor());  // system trust store: the test CA is not in it
    auto ws = test::run(io, websocket::connect(http, url(server, "/echo", true)));
    ASSERT_FALSE(ws);
    EXPECT_EQ(ws.error().category(), tls_category()) << ws.error().message();
}

TEST(WebSocketPython, SubprotocolChosenAndRefused) {
    auto server = start_python({"--subprotocols", "chat.v2,chat.v1"});
    asio::io_context io;
    client http(io.get_executor(), quiet_options());
    test::run(io, [&]() -> asio::awaitable<void> {
        websocket_options wo;
        wo.subprotocols = {"chat.v1", "chat.v2"};
        auto ws = co_await websocket::connect(http, url(server, "/echo"), wo);
        EXPECT_TRUE(ws) << ws.error().message();
        if (ws) {
            EXPECT_TRUE(ws->subprotocol() == "chat.v1" || ws->subprotocol() == "chat.v2")
                << ws->subprotocol();
            (void)co_await ws->close();
        }
        // The server speaks none of these: it answers without a
        // subprotocol, which a client that asked for one must refuse.
        wo.subprotocols = {"mqtt"};
        auto refused = co_await websocket::connect(http, url(server, "/echo"), wo);
        EXPECT_FALSE(refused);
        if (!refused) {
            EXPECT_EQ(refused.error(), make_error_code(websocket_errc::handshake_subprotocol));
        }
    }());
}

TEST(WebSocketPython, ServerCloseCodeAndReason) {
    auto server = start_python({});
    asio::io_context io;
    client http(io.get_executor(), quiet_options());
    test::run(io, [&]() -> asio::awaitable<void> {
        auto ws = co_await websocket::connect(http, url(server, "/close/4001"));
        EXPECT_TRUE(ws) << ws.error().message();
        if (!ws) {
            co_return;
        }
        auto m = co_await ws->receive();
        EXPECT_FALSE(m);
        EXPECT_EQ(m.error(), make_error_code(websocket_errc::closed));
        EXPECT_EQ(ws->close_code(), 4001);
        EXPECT_EQ(ws->close_reason(), "bye");
        auto again = co_await ws->send_text("late");
        EXPECT_FALSE(again);
    }());
}

TEST(WebSocketPython, StreamOfMessagesInOrder) {
    auto server = start_python({});
    asio::io_context io;
    client http(io.get_executor(), quiet_options());
    test::run(io, [&]() -> asio::awaitable<void> {
        auto ws = co_await websocket::connect(http, url(server, "/stream/200/3000"));
        EXPECT_TRUE(ws) << ws.error().message();
        if (!ws) {
            co_return;
        }
        for (int i = 0; i < 200; ++i) {
            auto m = co_await ws->receive();
            EXPECT_TRUE(m) << i << ": " << m.error().message();
            if (!m) {
                co_return;
            }
            EXPECT_EQ(m->data, std::string(3000, static_cast<char>(i % 256))) << i;
        }
        auto end = co_await ws->receive();
        EXPECT_FALSE(end);
        EXPECT_EQ(ws->close_code(), 1000);
    }());
}

TEST(WebSocketPython, RefusedHandshakeShowsTheResponse) {
    auto server = start_python({});
    asio::io_context io;
    client http(io.get_executor(), quiet_options());
    buffered_response refusal;
    auto ws = test::run(io, websocket::connect(http, url(server, "/forbidden"), {}, &refusal));
    ASSERT_FALSE(ws);
    EXPECT_EQ(ws.error(), make_error_code(websocket_errc::handshake_status));
    EXPECT_EQ(refusal.status, 403);
    EXPECT_NE(refusal.body.find("no websockets for you"), std::string::npos) << refusal.body;
}

TEST(WebSocketPython, SendsHeadersCookiesAndVersion) {
    auto server = start_python({});
    asio::io_context io;
    client http(io.get_executor(), quiet_options());
    auto origin = url::parse("http://127.0.0.1:" + std::to_string(server.port()) + "/").value();
    http.cookies().store(origin, "session=abc123; Path=/");
    test::run(io, [&]() -> asio::awaitable<void> {
        websocket_options wo;
        wo.headers.add("Origin", "https://app.example");
        wo.headers.add("Authorization", "Bearer t0ken");
        auto ws = co_await websocket::connect(http, url(server, "/headers"), wo);
        EXPECT_TRUE(ws) << ws.error().message();
        if (!ws) {
            co_return;
        }
        auto m = co_await ws->receive();
        EXPECT_TRUE(m);
        if (m) {
            EXPECT_NE(m->data.find("\"origin\": \"https://app.example\""), std::string::npos)
                << m->data;
            EXPECT_NE(m->data.find("\"authorization\": \"Bearer t0ken\""), std::string::npos);
            EXPECT_NE(m->data.find("\"cookie\": \"session=abc123\""), std::string::npos);
            EXPECT_NE(m->data.find("\"sec-websocket-version\": \"13\""), std::string::npos);
        }
        (void)co_await ws->close();
    }());
}

TEST(WebSocketPython, ChromeProfileSendsChromesHandshake) {
    auto server = start_python({}, true);
    auto options = quiet_options();
    options.profile = profile::load("chrome").value();
    asio::io_context io;
    client http(io.get_executor(), options);
    test::run(io, [&]() -> asio::awaitable<void> {
        websocket_options wo;
        wo.headers.add("Origin", "https://app.example");
        auto ws = co_await websocket::connect(http, url(server, "/headers", true), wo);
        EXPECT_TRUE(ws) << ws.error().message();
        if (!ws) {
            co_return;
        }
        EXPECT_NE(ws->extensions().find("permessage-deflate"), std::string::npos);
        auto m = co_await ws->receive();
        EXPECT_TRUE(m);
        if (!m) {
            co_return;
        }
        // The server lists the fields in the order they came: Chrome's.
        const std::vector<std::string> order = {"host",
                                                "connection",
                                                "pragma",
                                                "cache-control",
                                                "user-agent",
                                                "upgrade",
                                                "origin",
                                                "sec-websocket-version",
                                                "accept-encoding",
                                                "accept-language",
                                                "sec-websocket-key",
                                                "sec-websocket-extensions"};
        std::size_t at = 0;
        for (const auto& name : order) {
            auto found = m->data.find("\"" + name + "\":", at);
            EXPECT_NE(found, std::string::npos)
                << name << " missing or out of order in " << m->data;
            if (found != std::string::npos) {
                at = found;
            }
        }
        EXPECT_NE(m->data.find("Chrome/"), std::string::npos);
        EXPECT_NE(m->data.find("\"sec-websocket-extensions\": \"permessage-deflate; "
                               "client_max_window_bits\""),
                  std::string::npos);
        (void)co_await ws->close();
    }());
}

TEST(WebSocketPython, PingGetsPong) {
    auto server = start_python({});
    asio::io_context io;
    client http(io.get_executor(), quiet_options());
    test::run(io, [&]() -> asio::awaitable<void> {
        auto ws = co_await websocket::connect(http, url(server, "/echo"));
        EXPECT_TRUE(ws);
        if (!ws) {
            co_return;
        }
        EXPECT_TRUE(co_await ws->ping("are you there"));
        EXPECT_TRUE(co_await ws->send_text("after the ping"));
        auto m = co_await ws->receive();  // the pong is handled on the way
        EXPECT_TRUE(m);
        EXPECT_EQ(ws->last_pong(), "are you there");
        (void)co_await ws->close();
    }());
}

// ------------------------------------------------------------------- node ws

TEST(WebSocketNode, EchoPlainAndCompressed) {
    {
        auto server = start_node({});
        EXPECT_EQ(echo_session(url(server, "/echo"), {}), "");  // node declines deflate
    }
    {
        auto server = start_node({"--deflate"});
        auto ext = echo_session(url(server, "/echo"), {});
        EXPECT_NE(ext.find("permessage-deflate"), std::string::npos);
    }
}

TEST(WebSocketNode, NoContextTakeoverAndSmallWindows) {
    {
        auto server = start_node({"--deflate", "--no-context-takeover"});
        auto ext = echo_session(url(server, "/echo"), {});
        EXPECT_NE(ext.find("server_no_context_takeover"), std::string::npos) << ext;
        EXPECT_NE(ext.find("client_no_context_takeover"), std::string::npos) << ext;
    }
    for (int bits : {9, 12}) {
        auto server = start_node({"--deflate", "--window-bits", std::to_string(bits)});
        auto ext = echo_session(url(server, "/echo"), {});
        EXPECT_NE(ext.find("server_max_window_bits=" + std::to_string(bits)), std::string::npos)
            << ext;
    }
}

TEST(WebSocketNode, OverTlsWithDeflate) {
    auto server = start_node({"--deflate"}, true);
    auto ext = echo_session(url(server, "/echo", true), {});
    EXPECT_NE(ext.find("permessage-deflate"), std::string::npos);
}

TEST(WebSocketNode, ServerCloseCode) {
    auto server = start_node({});
    asio::io_context io;
    client http(io.get_executor(), quiet_options());
    test::run(io, [&]() -> asio::awaitable<void> {
        auto ws = co_await websocket::connect(http, url(server, "/close/4321"));
        EXPECT_TRUE(ws);
        if (!ws) {
            co_return;
        }
        auto m = co_await ws->receive();
        EXPECT_FALSE(m);
        EXPECT_EQ(ws->close_code(), 4321);
        EXPECT_EQ(ws->close_reason(), "bye");
    }());
}

// ------------------------------------------------------- a raw, scripted peer

/// Accepts one connection, answers the handshake (with `accept_override`
/// instead of the right Sec-WebSocket-Accept when set), then runs `then`.
struct raw_peer {
    asio::ip::tcp::acceptor acceptor;
    explicit raw_peer(asio::io_context& io)
        : acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
    std::string url() const {
        return "ws://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/";
    }

    template <typename Then>
    asio::awaitable<void> serve(Then then, std::string accept_override = {}) {
        auto socket = co_await acceptor.async_accept(asio::use_awaitable);
        asio::streambuf buf;
        co_await asio::async_read_until(socket, buf, "\r\n\r\n", asio::use_awaitable);
        std::string head(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
        auto at = head.find("Sec-WebSocket-Key: ");
        std::string key = head.substr(at + 19, head.find("\r\n", at) - at - 19);
        std::string text = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
        unsigned char digest[SHA_DIGEST_LENGTH];
        SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
        std::string accept =
            base64_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
        std::string response =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: " +
            (accept_override.empty() ? accept : accept_override) + "\r\n\r\n";
        co_await asio::async_write(socket, asio::buffer(response), asio::use_awaitable);
        co_await then(socket);
    }
};

TEST(WebSocketRawPeer, WrongAcceptIsRefused) {
    asio::io_context io;
    raw_peer peer(io);
    client http(io.get_executor());
    test::run(io, [&]() -> asio::awaitable<void> {
        asio::co_spawn(
            io,
            peer.serve([](asio::ip::tcp::socket&) -> asio::awaitable<void> { co_return; },
                       "dGhlIHNhbXBsZSBub25jZQ=="),
            asio::detached);
        auto ws = co_await websocket::connect(http, peer.url());
        EXPECT_FALSE(ws);
        if (!ws) {
            EXPECT_EQ(ws.error(), make_error_code(websocket_errc::handshake_accept));
        }
    }());
}

TEST(WebSocketRawPeer, ReservedOpcodeFailsWith1002) {
    asio::io_context io;
    raw_peer peer(io);
    client http(io.get_executor());
    std::string from_client;
    test::run(io, [&]() -> asio::awaitable<void> {
        asio::co_spawn(io, peer.serve([&](asio::ip::tcp::socket& s) -> asio::awaitable<void> {
            const unsigned char bad[] = {0x83, 0x00};  // FIN, opcode 3
            co_await asio::async_write(s, asio::buffer(bad), asio::use_awaitable);
            char buf[64];
            std::error_code ec;
            auto n = co_await s.async_read_some(asio::buffer(buf),
                                                asio::redirect_error(asio::use_awaitable, ec));
            from_client.assign(buf, n);
        }),
                       asio::detached);
        websocket_options wo;
        wo.deflate.enabled = false;
        auto ws = co_await websocket::connect(http, peer.url(), wo);
        EXPECT_TRUE(ws) << ws.error().message();
        if (!ws) {
            co_return;
        }
        auto m = co_await ws->receive();
        EXPECT_FALSE(m);
        EXPECT_EQ(m.error(), make_error_code(websocket_errc::reserved_opcode));
        EXPECT_FALSE(ws->is_open());
    }());
    // Let the peer read what the client sent before it dropped the connection.
    io.restart();
    io.run_for(std::chrono::seconds(5));
    // A masked close frame with code 1002: 0x88, 0x82, 4-byte key, 2 bytes.
    ASSERT_EQ(from_client.size(), 8u);
    EXPECT_EQ(static_cast<unsigned char>(from_client[0]), 0x88);
    EXPECT_EQ(static_cast<unsigned char>(from_client[1]), 0x82);
    const auto code =
        ((static_cast<unsigned char>(from_client[6]) ^ static_cast<unsigned char>(from_client[2]))
         << 8) |
        (static_cast<unsigned char>(from_client[7]) ^ static_cast<unsigned char>(from_client[3]));
    EXPECT_EQ(code, 1002);
}

/// try_receive() when it has a message, else receive(): what a reader
/// draining bursts does. `quick` counts the messages try_receive() gave.
asio::awaitable<result<websocket_message>> next_message(websocket& ws, websocket_message& m,
                                                        int& quick) {
    auto got = ws.try_receive(m);
    if (!got) {
        co_return got.error();
    }
    if (*got) {
        ++quick;
        co_return m;
    }
    co_return co_await ws.receive();
}

TEST(WebSocketRawPeer, TryReceiveDrainsBufferedMessagesAndHandsTheRestToReceive) {
    asio::io_context io;
    raw_peer peer(io);
    client http(io.get_executor());
    std::string from_client;
    test::run(io, [&]() -> asio::awaitable<void> {
        asio::co_spawn(io, peer.serve([&](asio::ip::tcp::socket& s) -> asio::awaitable<void> {
            // One write: "one"; binary "he" + ping + "llo"; the start of "part".
            const unsigned char first[] = {0x81, 0x03, 'o',  'n', 'e',  0x02, 0x02, 'h',
                                           'e',  0x89, 0x01, 'p', 0x80, 0x03, 'l',  'l',
                                           'o',  0x01, 0x03, 'p', 'a',  'r'};
            co_await asio::async_write(s, asio::buffer(first), asio::use_awaitable);
            // The rest once the pong (7 bytes, masked) is in, then text that
            // is not UTF-8.
            char buf[64];
            while (from_client.size() < 7) {
                std::error_code ec;
                auto n = co_await s.async_read_some(asio::buffer(buf),
                                                    asio::redirect_error(asio::use_awaitable, ec));
                if (ec) {
                    co_return;
                }
                from_client.append(buf, n);
            }
            const unsigned char second[] = {0x80, 0x01, 't', 0x81, 0x02, 'o', 0xFF};
            co_await asio::async_write(s, asio::buffer(second), asio::use_awaitable);
            std::error_code ec;
            auto n = co_await s.async_read_some(asio::buffer(buf),
                                                asio::redirect_error(asio::use_awaitable, ec));
            from_client.append(buf, n);
        }),
                       asio::detached);
        websocket_options wo;
        wo.deflate.enabled = false;
        wo.ping_interval = std::chrono::milliseconds(0);
        auto ws = co_await websocket::connect(http, peer.url(), wo);
        EXPECT_TRUE(ws) << ws.error().message();
        if (!ws) {
            co_return;
        }
        websocket_message m;
        int quick = 0;
        const std::pair<websocket_message_type, std::string> expected[] = {
            {websocket_message_type::text, "one"},
            {websocket_message_type::binary, "hello"},
            {websocket_message_type::text, "part"},
        };
        for (const auto& e : expected) {
            auto got = co_await next_message(*ws, m, quick);
            EXPECT_TRUE(got) << got.error().message();
            if (!got) {
                co_return;
            }
            EXPECT_EQ(got->type, e.first);
            EXPECT_EQ(got->data, e.second);
        }
        auto bad = co_await next_message(*ws, m, quick);
        EXPECT_FALSE(bad);
        EXPECT_EQ(bad.error(), make_error_code(websocket_errc::invalid_utf8));
        auto after = ws->try_receive(m);
        EXPECT_FALSE(after);
        EXPECT_EQ(after.error(), make_error_code(websocket_errc::invalid_utf8));
        EXPECT_FALSE(ws->is_open());
        // On loopback the first write arrives whole: "hello" is begun by
        // try_receive() and finished by receive() (after the ping), "part"
        // likewise across the two writes. Recorded, not asserted: TCP may split.
        ::testing::Test::RecordProperty("try_receive_messages", quick);
        EXPECT_LE(quick, 3);
    }());
    io.restart();
    io.run_for(std::chrono::seconds(5));
    // The pong answered the ping ("p"), then a close with 1007.
    ASSERT_GE(from_client.size(), 15u);
    EXPECT_EQ(static_cast<unsigned char>(from_client[0]), 0x8A);
    EXPECT_EQ(static_cast<unsigned char>(from_client[1]), 0x81);
    EXPECT_EQ(from_client[6] ^ from_client[2], 'p');
    EXPECT_EQ(static_cast<unsigned char>(from_client[7]), 0x88);
    EXPECT_EQ(static_cast<unsigned char>(from_client[8]), 0x82);
    const auto code =
        ((static_cast<unsigned char>(from_client[13]) ^ static_cast<unsigned char>(from_client[9]))
         << 8) |
        (static_cast<unsigned char>(from_client[14]) ^ static_cast<unsigned char>(from_client[10]));
    EXPECT_EQ(code, 1007);
}

TEST(WebSocketRawPeer, SilentPeerFailsTheKeepalive) {
    asio::io_context io;
    raw_peer peer(io);
    client http(io.get_executor());
    test::run(io, [&]() -> asio::awaitable<void> {
        asio::co_spawn(io, peer.serve([&](asio::ip::tcp::socket& s) -> asio::awaitable<void> {
            // Reads (so the pings go somewhere) but never answers.
            char buf[256];
            for (;;) {
                std::error_code ec;
                co_await s.async_read_some(asio::buffer(buf),
                                           asio::redirect_error(asio::use_awaitable, ec));
                if (ec) {
                    co_return;
                }
            }
        }),
                       asio::detached);
        websocket_options wo;
        wo.ping_interval = std::chrono::milliseconds(100);
        wo.ping_timeout = std::chrono::milliseconds(200);
        auto ws = co_await websocket::connect(http, peer.url(), wo);
        EXPECT_TRUE(ws) << ws.error().message();
        if (!ws) {
            co_return;
        }
        auto m = co_await ws->receive();
        EXPECT_FALSE(m);
        EXPECT_EQ(m.error(), make_error_code(websocket_errc::ping_timeout));
    }());
}

}  // namespace
}  // namespace corvid
