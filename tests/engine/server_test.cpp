// corvid-server's engine end to end (include/corvid/engine.hpp): an
// in-process engine_server on loopback with real worker threads, driven by
// blocking raw WebSocket clients built on the sans-I/O codec (so every byte
// on the wire is the test's choice), corvid's own client for HTTP/2 (RFC
// 8441) and SSE, and msgpack-cxx for MessagePack frames. The server runs on
// its own threads, so a blocking client in the test thread is a real peer.
//
// Covered: the auth matrix at the handshake (valid, expired, not yet valid,
// wrong signature, alg none, HS/RS confusion, wrong audience, missing token;
// header, cookie and query), ACLs, fan-out across workers in order and
// exactly once, mixed JSON and MessagePack subscribers, SSE delivery and
// resume by Last-Event-ID, RFC 8441 clients, bad input (invalid JSON,
// unknown op, bad fields, oversize frame, invalid UTF-8, garbage, a client
// that never reads) without disturbing others, the HTTP API, metrics,
// connection limits and graceful shutdown.

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <msgpack.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "corvid/client.hpp"
#include "corvid/engine.hpp"
#include "corvid/sse.hpp"
#include "corvid/websocket.hpp"
#include "engine/jwt.hpp"
#include "proto/ws/codec.hpp"
#include "tests/support/async.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

const std::string secret = "engine-test-secret-0123456789abcdef!";

std::int64_t now_s() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

// An HS256 token with exp in an hour plus `claims` (JSON members, no braces).
std::string token(const std::string& claims, const std::string& key = secret) {
    std::string payload = "{\"sub\":\"test\",\"exp\":" + std::to_string(now_s() + 3600);
    if (!claims.empty()) {
        payload += "," + claims;
    }
    payload += "}";
    return engine::sign_hs256(key, payload);
}

// Everything allowed, admin too.
std::string full_token() {
    return token(R"("channels":["**"],"publish":["**"],"admin":true)");
}

void fill_random(std::span<std::uint8_t> out) {
    static thread_local std::mt19937 gen(std::random_device{}());
    for (auto& b : out) {
        b = static_cast<std::uint8_t>(gen());
    }
}

// A blocking WebSocket client on raw sockets with a receive timeout: fails
// loudly instead of hanging.
class raw_ws {
  public:
    explicit raw_ws(std::uint16_t port, int receive_buffer = 0) {
        sock_.open(asio::ip::tcp::v4());
        if (receive_buffer > 0) {
            sock_.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
        }
        sock_.connect({asio::ip::make_address("127.0.0.1"), port});
        sock_.set_option(asio::ip::tcp::no_delay(true));
        timeval tv{10, 0};
        ::setsockopt(sock_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }

    /// Sends the upgrade for `target` with `fields` (CRLF-terminated lines);
    /// returns the status. The response head lands in head(), a refusal's
    /// body in body().
    int handshake(const std::string& target, const std::string& fields = {}) {
        std::string req = "GET " + target +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n" +
                          fields + "\r\n";
        send_raw(req);
        std::string data;
        char buf[4096];
        while (data.find("\r\n\r\n") == std::string::npos) {
            std::error_code ec;
            auto n = sock_.read_some(asio::buffer(buf), ec);
            if (ec || n == 0) {
                return 0;
            }
            data.append(buf, n);
        }
        auto end = data.find("\r\n\r\n");
        head_ = data.substr(0, end + 4);
        std::string rest = data.substr(end + 4);
        status_ = std::atoi(head_.c_str() + 9);
        if (status_ == 101) {
            feed(rest);
        } else {
            body_ = rest;
            auto cl = head_.find("Content-Length: ");
            std::size_t want = cl == std::string::npos ? 0 : std::stoul(head_.substr(cl + 16));
            while (body_.size() < want) {
                std::error_code ec;
                auto n = sock_.read_some(asio::buffer(buf), ec);
                if (ec || n == 0) {
                    break;
                }
                body_.append(buf, n);
            }
        }
        return status_;
    }

    /// Upgrades with the token in the query, expecting 101 and ready.
    static std::unique_ptr<raw_ws> open(std::uint16_t port, const std::string& tok,
                                        const std::string& subprotocol = {}) {
        auto c = std::make_unique<raw_ws>(port);
        std::string fields;
        if (!subprotocol.empty()) {
            fields = "Sec-WebSocket-Protocol: " + subprotocol + "\r\n";
        }
        EXPECT_EQ(c->handshake("/ws?token=" + tok, fields), 101) << c->head() << c->body();
        return c;
    }

    void send_raw(std::string_view bytes) {
        std::error_code ec;
        asio::write(sock_, asio::buffer(bytes), ec);
    }
    void send(ws::message_type type, std::string_view payload) {
        (void)codec_.send_message(type, ws::codec::as_bytes(payload));
        flush();
    }
    void send_text(std::string_view payload) { send(ws::message_type::text, payload); }
    void send_close(std::uint16_t code = 1000) {
        (void)codec_.send_close(code);
        flush();
    }

    /// The next whole message; nullopt at close, error or timeout.
    std::optional<std::string> receive() {
        for (;;) {
            if (!messages_.empty()) {
                auto m = std::move(messages_.front());
                messages_.erase(messages_.begin());
                return m;
            }
            if (close_ || failed_) {
                return std::nullopt;
            }
            char buf[65536];
            std::error_code ec;
            auto n = sock_.read_some(asio::buffer(buf), ec);
            if (ec || n == 0) {
                failed_ = true;
                return std::nullopt;
            }
            feed(std::string(buf, n));
        }
    }
    /// Reads until the close frame (or the end); its code, 1006 when none.
    std::uint16_t wait_close() {
        while (receive()) {
        }
        return close_ ? close_->code : 1006;
    }

    const std::string& head() const { return head_; }
    const std::string& body() const { return body_; }
    ws::message_type last_type() const { return last_type_; }
    asio::ip::tcp::socket& socket() { return sock_; }

  private:
    void flush() {
        auto out = codec_.pending_output();
        std::error_code ec;
        asio::write(sock_, asio::buffer(out.data(), out.size()), ec);
        codec_.consume_output(out.size());
    }
    void feed(std::string bytes) {
        std::span<std::uint8_t> in(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size());
        while (!in.empty()) {
            std::error_code ec;
            std::size_t n = codec_.receive(in, ec);
            while (auto e = codec_.next_event()) {
                if (auto* d = std::get_if<ws::data_event>(&*e)) {
                    if (d->first) {
                        partial_.clear();
                        last_type_ = d->type;
                    }
                    partial_.append(reinterpret_cast<const char*>(d->data.data()), d->data.size());
                    if (d->fin) {
                        messages_.push_back(std::move(partial_));
                        partial_.clear();
                    }
                } else if (auto* c = std::get_if<ws::close_event>(&*e)) {
                    close_ = *c;
                }
            }
            if (ec || n == 0) {
                if (ec) {
                    failed_ = true;
                }
                break;
            }
            in = in.subspan(n);
        }
        flush();  // pongs, the echoed close
    }

    asio::io_context io_;
    asio::ip::tcp::socket sock_{io_};
    ws::codec codec_{ws::role::client, fill_random, ws::codec_limits{64u << 20, 64u << 20}};
    std::string head_;
    std::string body_;
    int status_ = 0;
    std::string partial_;
    ws::message_type last_type_ = ws::message_type::text;
    std::vector<std::string> messages_;
    std::optional<ws::close_event> close_;
    bool failed_ = false;
};

// A blocking HTTP/1.1 request; returns "STATUS\nBODY".
std::string http(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::string& fields = {}, const std::string& body = {}) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    timeval tv{10, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req = method + " " + target +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + fields +
                      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::write(s, asio::buffer(req));
    std::string data;
    char buf[8192];
    for (;;) {
        std::error_code ec;
        auto n = s.read_some(asio::buffer(buf), ec);
        if (ec || n == 0) {
            break;
        }
        data.append(buf, n);
    }
    auto end = data.find("\r\n\r\n");
    if (data.size() < 12 || end == std::string::npos) {
        return "0\n" + data;
    }
    return data.substr(9, 3) + "\n" + data.substr(end + 4);
}

std::string publish(std::uint16_t port, const std::string& ch, const std::string& data_json,
                    const std::string& tok = full_token()) {
    return http(port, "POST", "/api/publish",
                "Authorization: Bearer " + tok + "\r\nContent-Type: application/json\r\n",
                "{\"ch\":\"" + ch + "\",\"data\":" + data_json + "}");
}

// The value of "key": in a flat JSON text (numbers and strings), for checks.
std::string field(const std::string& json, const std::string& key) {
    auto p = json.find("\"" + key + "\":");
    if (p == std::string::npos) {
        return {};
    }
    p += key.size() + 3;
    if (json[p] == '"') {
        return json.substr(p + 1, json.find('"', p + 1) - p - 1);
    }
    auto e = json.find_first_of(",}", p);
    return json.substr(p, e - p);
}

class EngineServer : public ::testing::Test {
  protected:
    void start(const std::function<void(engine_config&)>& tweak = {}) {
        engine_config c;
        c.listen = {"127.0.0.1:0"};
        c.jwt_secret = secret;
        c.workers = 2;
        if (tweak) {
            tweak(c);
        }
        std::string detail;
        auto s = engine_server::create(c, &detail);
        ASSERT_TRUE(s) << detail;
        server_ = std::move(*s);
        auto ok = server_->start();
        ASSERT_TRUE(ok) << ok.error().message();
        port_ = server_->ports().at(0);
    }
    void TearDown() override {
        if (server_) {
            server_->shutdown(std::chrono::milliseconds(1000));
        }
    }

    // Subscribes `c` to `ch` and returns the subok frame.
    std::string subscribe(raw_ws& c, const std::string& ch) {
        c.send_text(R"({"op":"sub","ch":")" + ch + R"("})");
        return c.receive().value_or("(nothing)");
    }

    std::unique_ptr<engine_server> server_;
    std::uint16_t port_ = 0;
};

// --------------------------------------------------------------- auth matrix

TEST_F(EngineServer, ValidTokenGetsReadyByQueryHeaderAndCookie) {
    start();
    auto tok = full_token();
    {
        raw_ws c(port_);
        ASSERT_EQ(c.handshake("/ws?token=" + tok), 101) << c.body();
        auto ready = c.receive();
        ASSERT_TRUE(ready);
        EXPECT_EQ(field(*ready, "op"), "ready");
        EXPECT_FALSE(field(*ready, "conn").empty());
    }
    {
        raw_ws c(port_);
        ASSERT_EQ(c.handshake("/ws", "Authorization: Bearer " + tok + "\r\n"), 101) << c.body();
        EXPECT_EQ(field(c.receive().value_or(""), "op"), "ready");
    }
    {
        raw_ws c(port_);
        ASSERT_EQ(c.handshake("/ws", "Cookie: theme=dark; access_token=" + tok + "\r\n"), 101)
            << c.body();
        EXPECT_EQ(field(c.receive().value_or(""), "op"), "ready");
    }
}

TEST_F(EngineServer, AuthMatrixRefusesWith401AndAReason) {
    start([](engine_config& c) { c.jwt_audiences = {"corvid"}; });
    const auto exp_now = std::to_string(now_s() + 3600);
    struct bad_case {
        const char* name;
        std::string token;
        const char* reason;  // in the body
    };
    std::string none_token =
        engine::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
        engine::base64url_encode(R"({"sub":"x","exp":)" + exp_now + R"(,"aud":"corvid"})") + ".";
    std::vector<bad_case> cases = {
        {"expired",
         engine::sign_hs256(
             secret, R"({"sub":"x","aud":"corvid","exp":)" + std::to_string(now_s() - 3600) + "}"),
         "expired"},
        {"not yet valid",
         engine::sign_hs256(secret, R"({"sub":"x","aud":"corvid","exp":)" + exp_now + R"(,"nbf":)" +
                                        std::to_string(now_s() + 600) + "}"),
         "not valid yet"},
        {"wrong signature", token(R"("aud":"corvid")", "another-secret-0123456789abcdef0123"),
         "signature"},
        {"alg none", none_token, "none"},
        {"wrong audience", token(R"("aud":"someone-else")"), "aud"},
        {"garbage", "not-a-token", "invalid token"},
    };
    for (const auto& bc : cases) {
        raw_ws c(port_);
        EXPECT_EQ(c.handshake("/ws?token=" + bc.token), 401) << bc.name;
        EXPECT_NE(c.body().find("invalid token"), std::string::npos) << bc.name << ": " << c.body();
        std::string lower = c.body();
        for (auto& ch : lower) {
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        EXPECT_NE(lower.find(bc.reason), std::string::npos) << bc.name << ": " << c.body();
        EXPECT_NE(c.head().find("WWW-Authenticate: Bearer"), std::string::npos) << bc.name;
    }
    raw_ws missing(port_);
    EXPECT_EQ(missing.handshake("/ws"), 401);
    EXPECT_NE(missing.body().find("no token"), std::string::npos) << missing.body();
    // The right audience passes.
    raw_ws ok(port_);
    EXPECT_EQ(ok.handshake("/ws?token=" + token(R"("aud":"corvid")")), 101) << ok.body();
    // The refusals are counted.
    EXPECT_NE(server_->metrics_text().find("corvid_errors_total{kind=\"auth\"} 7"),
              std::string::npos)
        << server_->metrics_text();
}

// An RS256 server: an HS256 token "signed" with the public key's PEM text
// (the HS/RS confusion attack) is refused; a real RS256 token passes.
TEST_F(EngineServer, HsRsConfusionRefused) {
    bssl::UniquePtr<RSA> rsa(RSA_new());
    bssl::UniquePtr<BIGNUM> e(BN_new());
    BN_set_word(e.get(), RSA_F4);
    ASSERT_TRUE(RSA_generate_key_ex(rsa.get(), 2048, e.get(), nullptr));
    bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
    ASSERT_TRUE(PEM_write_bio_RSA_PUBKEY(bio.get(), rsa.get()));
    const std::uint8_t* data = nullptr;
    std::size_t len = 0;
    ASSERT_TRUE(BIO_mem_contents(bio.get(), &data, &len));
    std::string pem(reinterpret_cast<const char*>(data), len);
    auto pem_file = (std::filesystem::temp_directory_path() /
                     ("corvid-engine-rsa-" + std::to_string(::getpid()) + ".pem"))
                        .string();
    std::ofstream(pem_file) << pem;
    start([&](engine_config& c) {
        c.jwt_secret.clear();
        c.jwt_public_key_file = pem_file;
    });
    std::filesystem::remove(pem_file);

    raw_ws confused(port_);
    EXPECT_EQ(confused.handshake("/ws?token=" + token("", pem)), 401);
    EXPECT_NE(confused.body().find("alg"), std::string::npos) << confused.body();

    // A genuine RS256 token.
    std::string input =
        engine::base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
        engine::base64url_encode(R"({"sub":"rs","exp":)" + std::to_string(now_s() + 600) + "}");
    std::uint8_t digest[32];
    SHA256(reinterpret_cast<const std::uint8_t*>(input.data()), input.size(), digest);
    std::string sig(RSA_size(rsa.get()), '\0');
    unsigned sig_len = 0;
    ASSERT_TRUE(RSA_sign(NID_sha256, digest, sizeof digest,
                         reinterpret_cast<std::uint8_t*>(sig.data()), &sig_len, rsa.get()));
    sig.resize(sig_len);
    raw_ws genuine(port_);
    EXPECT_EQ(genuine.handshake("/ws?token=" + input + "." + engine::base64url_encode(sig)), 101)
        << genuine.body();
}

TEST_F(EngineServer, AnonymousAccessOnlyWhenConfigured) {
    start([](engine_config& c) {
        c.allow_anonymous = true;
        c.anonymous_channels = {"public.*"};
    });
    auto c = raw_ws::open(port_, "");
    ASSERT_EQ(field(c->receive().value_or(""), "op"), "ready");
    EXPECT_EQ(field(subscribe(*c, "public.news"), "op"), "subok");
    auto refused = subscribe(*c, "private.news");
    EXPECT_EQ(field(refused, "op"), "err");
    EXPECT_EQ(field(refused, "code"), "6");
    c->send_text(R"({"op":"pub","ch":"public.news","data":1})");
    EXPECT_EQ(field(c->receive().value_or(""), "code"), "6");  // anonymous may not publish
    // A bad token is refused even though anonymous access is on.
    raw_ws bad(port_);
    EXPECT_EQ(bad.handshake("/ws?token=bad.token.here"), 401);
}

TEST_F(EngineServer, CrossSiteCookieRefused) {
    start();
    raw_ws c(port_);
    EXPECT_EQ(c.handshake("/ws", "Cookie: access_token=" + full_token() +
                                     "\r\nOrigin: https://evil.example\r\n"),
              403);
    raw_ws same(port_);
    EXPECT_EQ(same.handshake("/ws", "Cookie: access_token=" + full_token() +
                                        "\r\nOrigin: http://127.0.0.1\r\n"),
              101)
        << same.body();
}

// --------------------------------------------------------------- channels

TEST_F(EngineServer, AclsFollowTheClaims) {
    start();
    auto c = raw_ws::open(port_, token(R"("channels":["news.*"],"publish":["news.eu"])"));
    ASSERT_TRUE(c->receive());  // ready
    auto ok = subscribe(*c, "news.eu");
    EXPECT_EQ(field(ok, "op"), "subok") << ok;
    EXPECT_EQ(field(ok, "offset"), "0");
    EXPECT_FALSE(field(ok, "epoch").empty());
    EXPECT_EQ(field(subscribe(*c, "news.eu.fr"), "code"), "6");  // * stays in one segment
    EXPECT_EQ(field(subscribe(*c, "sport"), "code"), "6");
    EXPECT_EQ(field(subscribe(*c, "news.eu"), "code"), "8");  // already subscribed
    c->send_text(R"({"op":"pub","ch":"news.us","data":"no"})");
    EXPECT_EQ(field(c->receive().value_or(""), "code"), "6");
    c->send_text(R"({"op":"pub","ch":"news.eu","data":{"k":"v"},"id":"m1"})");
    auto msg = c->receive().value_or("");
    EXPECT_EQ(msg, R"({"op":"msg","ch":"news.eu","offset":1,"id":"m1","data":{"k":"v"}})");
    c->send_text(R"({"op":"unsub","ch":"news.eu"})");
    c->send_text(R"({"op":"unsub","ch":"news.eu"})");
    EXPECT_EQ(field(c->receive().value_or(""), "code"), "7");  // not subscribed any more
    // The API needs admin.
    auto r = publish(port_, "news.eu", "1", token(R"("publish":["**"])"));
    EXPECT_EQ(r.substr(0, 3), "403") << r;
    EXPECT_EQ(publish(port_, "news.eu", "1", "").substr(0, 3), "401");
}

TEST_F(EngineServer, FanOutAcrossWorkersExactlyOnceInOrder) {
    start([](engine_config& c) { c.workers = 2; });
    const auto sub_token = token(R"("channels":["fan"])");
    std::vector<std::unique_ptr<raw_ws>> subs;
    std::set<std::string> workers_seen;
    // SO_REUSEPORT spreads connections by hash: open until both workers
    // have subscribers (16 at least).
    while (subs.size() < 16 || (workers_seen.size() < 2 && subs.size() < 64)) {
        auto c = raw_ws::open(port_, sub_token);
        auto ready = c->receive().value_or("");
        auto conn = field(ready, "conn");
        workers_seen.insert(conn.substr(0, conn.find('-')));
        ASSERT_EQ(field(subscribe(*c, "fan"), "op"), "subok");
        subs.push_back(std::move(c));
    }
    ASSERT_EQ(workers_seen.size(), 2u) << "every connection landed on one worker";
    // Two publishers, one on each side of the API and the WebSocket.
    auto pub = raw_ws::open(port_, token(R"("publish":["fan"])"));
    ASSERT_TRUE(pub->receive());
    constexpr int per_publisher = 50;
    std::thread api([&] {
        for (int i = 0; i < per_publisher; ++i) {
            auto r = publish(port_, "fan", R"({"from":"api","n":)" + std::to_string(i) + "}");
            ASSERT_EQ(r.substr(0, 3), "200") << r;
        }
    });
    for (int i = 0; i < per_publisher; ++i) {
        pub->send_text(R"({"op":"pub","ch":"fan","data":{"from":"ws","n":)" + std::to_string(i) +
                       "}}");
    }
    api.join();
    for (std::size_t s = 0; s < subs.size(); ++s) {
        std::map<std::string, int> next{{"api", 0}, {"ws", 0}};
        for (int k = 1; k <= 2 * per_publisher; ++k) {
            auto m = subs[s]->receive();
            ASSERT_TRUE(m) << "subscriber " << s << " missed offset " << k;
            ASSERT_EQ(field(*m, "offset"), std::to_string(k)) << *m;
            auto from = field(*m, "from");
            ASSERT_EQ(field(*m, "n"), std::to_string(next[from]++)) << "out of order: " << *m;
        }
    }
    // Nothing more arrives: a ping's pong is the next message.
    subs[0]->send_text(R"({"op":"ping"})");
    EXPECT_EQ(subs[0]->receive().value_or(""), R"({"op":"pong"})");
}

TEST_F(EngineServer, MixedJsonAndMessagePackSubscribers) {
    start();
    auto json_sub = raw_ws::open(port_, full_token(), "corvid.json");
    auto mp_sub = raw_ws::open(port_, full_token(), "corvid.msgpack");
    EXPECT_NE(mp_sub->head().find("Sec-WebSocket-Protocol: corvid.msgpack"), std::string::npos);
    ASSERT_TRUE(json_sub->receive());
    auto ready = mp_sub->receive();
    ASSERT_TRUE(ready);
    EXPECT_EQ(mp_sub->last_type(), ws::message_type::binary);
    auto ready_obj = msgpack::unpack(ready->data(), ready->size());
    using object_map = std::map<std::string, msgpack::object>;
    EXPECT_EQ(ready_obj->as<object_map>().at("op").as<std::string>(), "ready");

    ASSERT_EQ(field(subscribe(*json_sub, "mix"), "op"), "subok");
    msgpack::sbuffer sub;
    msgpack::packer<msgpack::sbuffer> pk(sub);
    pk.pack_map(2);
    pk.pack("op");
    pk.pack("sub");
    pk.pack("ch");
    pk.pack("mix");
    mp_sub->send(ws::message_type::binary, std::string_view(sub.data(), sub.size()));
    auto subok = mp_sub->receive().value_or("");
    auto subok_handle = msgpack::unpack(subok.data(), subok.size());  // owns the objects
    auto subok_map = subok_handle->as<object_map>();
    EXPECT_EQ(subok_map.at("op").as<std::string>(), "subok");

    // Published in JSON, received by the MessagePack subscriber in MessagePack.
    json_sub->send_text(R"({"op":"pub","ch":"mix","data":{"x":[1,2.5,"s",null,true]}})");
    EXPECT_EQ(json_sub->receive().value_or(""),
              R"({"op":"msg","ch":"mix","offset":1,"data":{"x":[1,2.5,"s",null,true]}})");
    auto m1 = mp_sub->receive().value_or("");
    auto msg_handle = msgpack::unpack(m1.data(), m1.size());
    auto msg = msg_handle->as<object_map>();
    EXPECT_EQ(msg.at("op").as<std::string>(), "msg");
    EXPECT_EQ(msg.at("offset").as<int>(), 1);
    auto x = msg.at("data").as<std::map<std::string, msgpack::object>>().at("x");
    ASSERT_EQ(x.type, msgpack::type::ARRAY);
    ASSERT_EQ(x.via.array.size, 5u);
    EXPECT_EQ(x.via.array.ptr[0].as<int>(), 1);
    EXPECT_DOUBLE_EQ(x.via.array.ptr[1].as<double>(), 2.5);
    EXPECT_EQ(x.via.array.ptr[2].as<std::string>(), "s");
    EXPECT_TRUE(x.via.array.ptr[3].is_nil());
    EXPECT_TRUE(x.via.array.ptr[4].as<bool>());

    // Published in MessagePack, received by the JSON subscriber in JSON.
    msgpack::sbuffer pub;
    msgpack::packer<msgpack::sbuffer> pp(pub);
    pp.pack_map(3);
    pp.pack("op");
    pp.pack("pub");
    pp.pack("ch");
    pp.pack("mix");
    pp.pack("data");
    pp.pack_map(2);
    pp.pack("y");
    pp.pack(true);
    pp.pack("big");
    pp.pack(std::uint64_t{18'000'000'000'000'000'000u});
    mp_sub->send(ws::message_type::binary, std::string_view(pub.data(), pub.size()));
    EXPECT_EQ(json_sub->receive().value_or(""),
              R"({"op":"msg","ch":"mix","offset":2,"data":{"y":true,"big":18000000000000000000}})");
}

// --------------------------------------------------------------- bad input

TEST_F(EngineServer, BadMessagesGetErrAndTheConnectionGoesOn) {
    start();
    auto c = raw_ws::open(port_, full_token());
    ASSERT_TRUE(c->receive());
    struct bad {
        std::string frame;
        const char* code;
    };
    for (const auto& b : std::vector<bad>{{"{not json", "1"},
                                          {"[1,2]", "1"},
                                          {R"({"op":"sub","ch":"a","ch":"b"})", "1"},
                                          {R"({"op":"dance"})", "2"},
                                          {R"({"ch":"x"})", "3"},
                                          {R"({"op":"sub"})", "3"},
                                          {R"({"op":"pub","ch":"x"})", "3"},
                                          {R"({"op":"sub","ch":"bad channel"})", "4"},
                                          {R"({"op":"sub","ch":""})", "4"}}) {
        c->send_text(b.frame);
        auto err = c->receive().value_or("");
        EXPECT_EQ(field(err, "op"), "err") << b.frame;
        EXPECT_EQ(field(err, "code"), b.code) << b.frame << " -> " << err;
        EXPECT_FALSE(field(err, "reason").empty()) << err;
    }
    c->send_text(R"({"op":"ping"})");
    EXPECT_EQ(c->receive().value_or(""), R"({"op":"pong"})");
    EXPECT_NE(server_->metrics_text().find("corvid_errors_total{kind=\"malformed\"} 3"),
              std::string::npos);
}

TEST_F(EngineServer, ProtocolViolationsCloseWithTheRightCodeOthersUnaffected) {
    start([](engine_config& c) { c.max_message_bytes = 1024; });
    auto bystander = raw_ws::open(port_, full_token());
    ASSERT_TRUE(bystander->receive());
    ASSERT_EQ(field(subscribe(*bystander, "calm"), "op"), "subok");

    auto big = raw_ws::open(port_, full_token());
    ASSERT_TRUE(big->receive());
    big->send_text(std::string(2000, 'x'));
    EXPECT_EQ(big->wait_close(), 1009);

    auto utf8 = raw_ws::open(port_, full_token());
    ASSERT_TRUE(utf8->receive());
    utf8->send_text("{\"op\":\"ping\",\"x\":\"\xC3\x28\"}");
    EXPECT_EQ(utf8->wait_close(), 1007);

    auto garbage = raw_ws::open(port_, full_token());
    ASSERT_TRUE(garbage->receive());
    garbage->send_raw(std::string("\x81\x05hello", 7));  // unmasked client frame
    EXPECT_EQ(garbage->wait_close(), 1002);

    auto opcode = raw_ws::open(port_, full_token());
    ASSERT_TRUE(opcode->receive());
    opcode->send_raw(std::string("\x83\x80\x01\x02\x03\x04", 6));  // reserved opcode 3
    EXPECT_EQ(opcode->wait_close(), 1002);

    // Plain garbage instead of a handshake: 400, nothing else disturbed.
    raw_ws junk(port_);
    junk.send_raw(std::string("\x16\x03\x01\x00\x05hello\r\n\r\n", 14));

    EXPECT_EQ(publish(port_, "calm", R"("still here")").substr(0, 3), "200");
    EXPECT_EQ(bystander->receive().value_or(""),
              R"({"op":"msg","ch":"calm","offset":1,"data":"still here"})");
}

TEST_F(EngineServer, AClientThatNeverReadsIsDroppedAndOthersGetEverything) {
    start([](engine_config& c) { c.max_queued_bytes = 256 * 1024; });
    // A small receive buffer so the kernel stops absorbing soon.
    raw_ws stuck(port_, 4096);
    ASSERT_EQ(stuck.handshake("/ws?token=" + full_token()), 101);
    stuck.send_text(R"({"op":"sub","ch":"flood"})");
    auto reader = raw_ws::open(port_, full_token());
    ASSERT_TRUE(reader->receive());
    ASSERT_EQ(field(subscribe(*reader, "flood"), "op"), "subok");
    const std::string chunk = "\"" + std::string(30'000, 'z') + "\"";
    constexpr int count = 200;  // 6 MB in all
    std::thread publisher([&] {
        for (int i = 0; i < count; ++i) {
            ASSERT_EQ(publish(port_, "flood", chunk).substr(0, 3), "200");
        }
    });
    for (int k = 1; k <= count; ++k) {
        auto m = reader->receive();
        ASSERT_TRUE(m) << "the reader missed offset " << k;
        ASSERT_EQ(field(*m, "offset"), std::to_string(k));
    }
    publisher.join();
    auto metrics = server_->metrics_text();
    EXPECT_NE(metrics.find("corvid_errors_total{kind=\"slow_consumer\"} 1"), std::string::npos)
        << metrics;
}

// --------------------------------------------------------------- SSE and HTTP/2

class EngineServerAsync : public EngineServer {
  protected:
    asio::io_context io_;
};

TEST_F(EngineServerAsync, SseDeliveryAndResumeByLastEventId) {
    start();
    client web(io_.get_executor());
    const std::string url = "http://127.0.0.1:" + std::to_string(port_) + "/sse?ch=feed";
    event_source_options o;
    o.headers.add("Authorization", "Bearer " + token(R"("channels":["feed"])"));
    o.max_reconnects = 0;
    std::string epoch;
    std::string second_id;
    test::run(io_, [&]() -> asio::awaitable<void> {
        event_source es(web, url, o);
        auto ready = co_await es.next_event();
        EXPECT_TRUE(ready);
        if (!ready) {
            co_return;
        }
        EXPECT_EQ(ready->type, "ready");
        auto subok = co_await es.next_event();
        EXPECT_TRUE(subok && subok->type == "subok");
        if (!subok) {
            co_return;
        }
        epoch = field(subok->data, "epoch");
        for (int i = 1; i <= 3; ++i) {
            EXPECT_EQ(publish(port_, "feed", std::to_string(i * 10)).substr(0, 3), "200");
        }
        for (int i = 1; i <= 3; ++i) {
            auto m = co_await es.next_event();
            EXPECT_TRUE(m);
            if (!m) {
                co_return;
            }
            EXPECT_EQ(m->type, "msg");
            EXPECT_EQ(m->id, epoch + ":" + std::to_string(i));
            EXPECT_EQ(m->data, R"({"op":"msg","ch":"feed","offset":)" + std::to_string(i) +
                                   R"(,"data":)" + std::to_string(i * 10) + "}");
            if (i == 1) {
                second_id = m->id;  // resume after offset 1
            }
        }
    }());
    ASSERT_FALSE(epoch.empty());
    // Resume: the stream recovers offsets 2 and 3 after its subok.
    o.last_event_id = second_id;
    test::run(io_, [&]() -> asio::awaitable<void> {
        event_source es(web, url, o);
        auto ready = co_await es.next_event();
        auto subok = co_await es.next_event();
        EXPECT_TRUE(subok);
        if (!subok) {
            co_return;
        }
        EXPECT_EQ(field(subok->data, "recovered"), "true") << subok->data;
        EXPECT_EQ(field(subok->data, "offset"), "3");
        for (int i = 2; i <= 3; ++i) {
            auto m = co_await es.next_event();
            EXPECT_TRUE(m);
            if (!m) {
                co_return;
            }
            EXPECT_EQ(m->id, epoch + ":" + std::to_string(i));
        }
    }());
    // A foreign epoch: nothing recovered, said so.
    o.last_event_id = "1:1";
    test::run(io_, [&]() -> asio::awaitable<void> {
        event_source es(web, url, o);
        (void)co_await es.next_event();
        auto subok = co_await es.next_event();
        EXPECT_TRUE(subok);
        if (subok) {
            EXPECT_EQ(field(subok->data, "recovered"), "false") << subok->data;
        }
    }());
    // Refusals before the stream: 401, 403, 400.
    EXPECT_EQ(http(port_, "GET", "/sse?ch=feed").substr(0, 3), "401");
    EXPECT_EQ(http(port_, "GET", "/sse?ch=other",
                   "Authorization: Bearer " + token(R"("channels":["feed"])") + "\r\n")
                  .substr(0, 3),
              "403");
    EXPECT_EQ(
        http(port_, "GET", "/sse", "Authorization: Bearer " + full_token() + "\r\n").substr(0, 3),
        "400");
}

// A throwaway CA and a localhost certificate in files, removed at the end.
struct tls_files {
    tls_files() {
        auto ca = tls::test_ca::create().value();
        auto leaf = ca.issue({}).value();
        auto dir = std::filesystem::temp_directory_path();
        auto tag = std::to_string(::getpid());
        cert = (dir / ("corvid-engine-cert-" + tag + ".pem")).string();
        key = (dir / ("corvid-engine-key-" + tag + ".pem")).string();
        ca_file = (dir / ("corvid-engine-ca-" + tag + ".pem")).string();
        EXPECT_TRUE(tls::write_file(cert, leaf.cert_pem));
        EXPECT_TRUE(tls::write_file(key, leaf.key_pem));
        EXPECT_TRUE(tls::write_file(ca_file, ca.cert_pem()));
    }
    ~tls_files() {
        std::error_code ignored;
        for (const auto& f : {cert, key, ca_file}) {
            std::filesystem::remove(f, ignored);
        }
    }
    void use(engine_config& c) const {
        c.tls_cert_file = cert;
        c.tls_key_file = key;
    }
    std::string cert, key, ca_file;
};

TEST_F(EngineServerAsync, SseOverHttp2) {
    tls_files files;
    start([&](engine_config& c) { files.use(c); });
    client_options co;
    co.tls.ca_file = files.ca_file;
    client web(io_.get_executor(), co);
    event_source_options o;
    o.headers.add("Authorization", "Bearer " + full_token());
    o.max_reconnects = 0;
    test::run(io_, [&]() -> asio::awaitable<void> {
        event_source es(web, "https://localhost:" + std::to_string(port_) + "/sse?ch=h2sse", o);
        auto ready = co_await es.next_event();
        auto subok = co_await es.next_event();
        EXPECT_TRUE(ready && subok && subok->type == "subok");
        if (!subok) {
            co_return;
        }
        // Published over the HTTP/2 connection the stream is on.
        request req;
        req.method = "POST";
        req.url = "https://localhost:" + std::to_string(port_) + "/api/publish";
        req.headers.add("Authorization", "Bearer " + full_token());
        req.body = R"({"ch":"h2sse","data":"via h2"})";
        auto res = co_await web.fetch(std::move(req));
        EXPECT_TRUE(res && res->status == 200);
        if (res) {
            EXPECT_EQ(res->version, 20);
        }
        auto m = co_await es.next_event();
        EXPECT_TRUE(m);
        if (m) {
            EXPECT_EQ(m->data, R"({"op":"msg","ch":"h2sse","offset":1,"data":"via h2"})");
        }
    }());
}

TEST_F(EngineServerAsync, WebSocketOverHttp2ExtendedConnect) {
    tls_files files;
    start([&](engine_config& c) { files.use(c); });
    client_options co;
    co.tls.ca_file = files.ca_file;
    client http(io_.get_executor(), co);
    const std::string url =
        "wss://localhost:" + std::to_string(port_) + "/ws?token=" + full_token();
    test::run(io_, [&]() -> asio::awaitable<void> {
        websocket_options wo;
        wo.transport = websocket_transport::http2;
        wo.subprotocols = {"corvid.json"};
        auto a = co_await websocket::connect(http, url, wo);
        EXPECT_TRUE(a) << a.error().message();
        if (!a) {
            co_return;
        }
        auto b = co_await websocket::connect(http, url, wo);
        EXPECT_TRUE(b) << b.error().message();
        if (!b) {
            co_return;
        }
        EXPECT_EQ(a->http_version(), 20);
        EXPECT_EQ(b->http_version(), 20);
        EXPECT_EQ(a->subprotocol(), "corvid.json");
        auto ra = co_await a->receive();
        auto rb = co_await b->receive();
        EXPECT_TRUE(ra && rb);
        (void)co_await a->send_text(R"({"op":"sub","ch":"h2"})");
        auto subok = co_await a->receive();
        EXPECT_TRUE(subok && field(subok->data, "op") == "subok");
        (void)co_await b->send_text(R"({"op":"pub","ch":"h2","data":"over one connection"})");
        auto msg = co_await a->receive();
        EXPECT_TRUE(msg);
        if (msg) {
            EXPECT_EQ(msg->data,
                      R"({"op":"msg","ch":"h2","offset":1,"data":"over one connection"})");
        }
        (void)co_await a->close();
        (void)co_await b->close();
    }());
}

// --------------------------------------------------------------- operations

TEST_F(EngineServer, HttpApiErrorsAndRoutes) {
    start();
    auto bad_json = http(port_, "POST", "/api/publish",
                         "Authorization: Bearer " + full_token() + "\r\n", "{\"ch\":");
    EXPECT_EQ(bad_json.substr(0, 3), "400") << bad_json;
    EXPECT_NE(bad_json.find("\"code\":1"), std::string::npos) << bad_json;
    auto no_data = http(port_, "POST", "/api/publish",
                        "Authorization: Bearer " + full_token() + "\r\n", R"({"ch":"a"})");
    EXPECT_NE(no_data.find("\"code\":3"), std::string::npos) << no_data;
    auto ok = publish(port_, "api.ch", R"({"a":1})");
    EXPECT_EQ(ok.substr(0, 3), "200") << ok;
    EXPECT_EQ(field(ok, "offset"), "1");
    EXPECT_EQ(http(port_, "GET", "/api/publish").substr(0, 3), "405");
    EXPECT_EQ(http(port_, "GET", "/nope").substr(0, 3), "404");
    EXPECT_EQ(http(port_, "GET", "/healthz"), "200\nok\n");
    EXPECT_EQ(http(port_, "POST", "/healthz").substr(0, 3), "405");
    // CORS: the preflight of a page's fetch(), and the answer it may read.
    auto pre = http(port_, "OPTIONS", "/api/publish",
                    "Origin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n"
                    "Access-Control-Request-Headers: authorization, content-type\r\n");
    EXPECT_EQ(pre.substr(0, 3), "204") << pre;
    asio::io_context io;
    asio::ip::tcp::socket raw(io);
    raw.connect({asio::ip::make_address("127.0.0.1"), port_});
    std::string body = R"({"ch":"cors","data":1})";
    asio::write(
        raw, asio::buffer("POST /api/publish HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
                          "Connection: close\r\nAuthorization: Bearer " +
                          full_token() + "\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n" + body));
    std::string answer;
    std::error_code ec;
    asio::read(raw, asio::dynamic_buffer(answer), ec);
    EXPECT_NE(answer.find("Access-Control-Allow-Origin: *"), std::string::npos) << answer;
    auto metrics = http(port_, "GET", "/metrics");
    EXPECT_EQ(metrics.substr(0, 3), "200");
    EXPECT_NE(metrics.find("corvid_publications_total 2"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("# TYPE corvid_connections gauge"), std::string::npos);
}

TEST_F(EngineServer, MetricsCountConnectionsAndMessages) {
    start();
    auto c = raw_ws::open(port_, full_token());
    ASSERT_TRUE(c->receive());
    ASSERT_EQ(field(subscribe(*c, "m"), "op"), "subok");
    auto metrics = server_->metrics_text();
    EXPECT_NE(metrics.find("corvid_connections{transport=\"websocket\"} 1"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("corvid_subscriptions 1"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("corvid_messages_in_total 1"), std::string::npos) << metrics;
    c->send_close();
    EXPECT_EQ(c->wait_close(), 1000);
    for (int i = 0; i < 500; ++i) {  // the server's side of the close runs on its worker
        if (server_->metrics_text().find("corvid_connections{transport=\"websocket\"} 0") !=
            std::string::npos) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    metrics = server_->metrics_text();
    EXPECT_NE(metrics.find("corvid_connections{transport=\"websocket\"} 0"), std::string::npos);
    EXPECT_NE(metrics.find("corvid_subscriptions 0"), std::string::npos) << metrics;
}

TEST_F(EngineServer, ConnectionLimitPerIp) {
    start([](engine_config& c) { c.max_connections_per_ip = 2; });
    auto a = raw_ws::open(port_, full_token());
    auto b = raw_ws::open(port_, full_token());
    ASSERT_TRUE(a->receive());
    ASSERT_TRUE(b->receive());
    raw_ws third(port_);
    EXPECT_NE(third.handshake("/ws?token=" + full_token()), 101);
    a->send_close();
    EXPECT_EQ(a->wait_close(), 1000);
    a.reset();
    // The permit comes back when the connection is gone.
    bool reopened = false;
    for (int i = 0; i < 200 && !reopened; ++i) {
        raw_ws again(port_);
        reopened = again.handshake("/ws?token=" + full_token()) == 101;
        if (!reopened) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    EXPECT_TRUE(reopened);
}

TEST_F(EngineServer, GracefulShutdownClosesWith1001AndEndsStreams) {
    start();
    auto c = raw_ws::open(port_, full_token());
    ASSERT_TRUE(c->receive());
    raw_ws sse(port_);
    sse.send_raw("GET /sse?ch=x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                 full_token() + "\r\n\r\n");
    char buf[4096];
    std::string seen;
    auto read_more = [&] {
        std::error_code ec;
        auto n = sse.socket().read_some(asio::buffer(buf), ec);
        if (ec || n == 0) {
            EXPECT_NE(ec, asio::error::would_block) << "the SSE stream did not end";
            return false;
        }
        seen.append(buf, n);
        return true;
    };
    while (seen.find("event: subok") == std::string::npos && read_more()) {
    }
    ASSERT_NE(seen.find("event: subok"), std::string::npos) << seen;
    std::thread stopper([&] { server_->shutdown(std::chrono::milliseconds(3000)); });
    EXPECT_EQ(c->wait_close(), 1001);
    // The SSE stream ends properly: the last chunk, then the connection closes.
    while (read_more()) {
    }
    EXPECT_TRUE(seen.ends_with("\r\n0\r\n\r\n")) << seen;
    stopper.join();
    server_.reset();
}

}  // namespace
}  // namespace corvid
