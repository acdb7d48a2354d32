// bench-peer-websocketpp-engine: the websocketpp peer of corvid-bench's
// engine workloads. websocketpp 0.8.2 (Debian's libwebsocketpp-dev,
// config::asio: plain ws over Boost.Asio, no TLS, no permessage-deflate)
// serving the minimal subset of the engine protocol v1 (shared/DESIGN.md)
// that the load generator drives, so that the hot path (JWT check, fan-out
// of one publication to every subscriber) compares like for like with
// corvid-server and node's ws.
//
//   bench-peer-websocketpp-engine --port N --jwt-secret S [--threads T]
//   bench-peer-websocketpp-engine --version          "WebSocket++/0.8.2"
//
// - GET /ws?token=JWT upgrades when the token is an HS256 JWT signed with the
//   secret (OpenSSL's HMAC, CRYPTO_memcmp), header alg HS256, and its `exp`
//   (and `nbf`, if any) admit the current time; otherwise 401.
// - After the upgrade: {"op":"ready","conn":ID}.
// - {"op":"sub","ch":C} -> {"op":"subok","ch":C,"epoch":E,"offset":N}
// - {"op":"pub","ch":C,"data":ANY} -> every subscriber of C gets
//   {"op":"msg","ch":C,"offset":N,"data":ANY}: the frame text is built once
//   per publication into one websocketpp message, which each subscriber's
//   connection::send() frames (websocketpp's broadcast idiom).
// - {"op":"unsub","ch":C}, {"op":"ping"} -> nothing / {"op":"pong"}; anything
//   else -> {"op":"err","code":N,"reason":TEXT}.
// Client frames are read with a small JSON scanner (no DOM; the `data` value
// is copied through verbatim): websocketpp brings no JSON library, and Boost
// 1.74 has no Boost.JSON.
//
// --threads T (default 1) runs the io_service on T threads with one mutex
// around the channel table; the per-core figures use 1. This is a separate
// executable because it links OpenSSL (libssl-dev): corvid-bench links
// BoringSSL, and the two never share a process (shared/BENCH.md). TCP_NODELAY
// is set on every accepted socket, as node's ws and corvid do. Logging is off.
// Runs until SIGINT/SIGTERM. Built as C++17 (websocketpp 0.8.2 does not
// compile as C++20).

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>
#include <websocketpp/version.hpp>

namespace {

using ws_server = websocketpp::server<websocketpp::config::asio>;
using connection_ptr = ws_server::connection_ptr;
using message_ptr = ws_server::message_ptr;

// ---------------------------------------------------------------- JWT

int base64url_value(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

bool base64url_decode(std::string_view in, std::string& out) {
    out.clear();
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        const int v = base64url_value(c);
        if (v < 0) {
            return false;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return bits < 6;
}

// The number after "key": in a compact JSON object, if there is one.
bool find_number(std::string_view json, std::string_view key, double& value) {
    const std::string quoted = "\"" + std::string(key) + "\"";
    const std::size_t at = json.find(quoted);
    if (at == std::string_view::npos) {
        return false;
    }
    std::size_t i = at + quoted.size();
    while (i < json.size() && (json[i] == ' ' || json[i] == ':')) {
        ++i;
    }
    const std::string rest(json.substr(i, 32));
    char* end = nullptr;
    value = std::strtod(rest.c_str(), &end);
    return end != rest.c_str();
}

bool verify_token(std::string_view token, const std::string& secret) {
    const std::size_t d1 = token.find('.');
    const std::size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
    if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
        return false;
    }
    std::string header;
    std::string claims;
    std::string signature;
    if (!base64url_decode(token.substr(0, d1), header) ||
        !base64url_decode(token.substr(d1 + 1, d2 - d1 - 1), claims) ||
        !base64url_decode(token.substr(d2 + 1), signature)) {
        return false;
    }
    if (header.find("\"alg\":\"HS256\"") == std::string::npos) {
        return false;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    const std::string_view signed_part = token.substr(0, d2);
    if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac,
             &mac_len) == nullptr ||
        signature.size() != mac_len || CRYPTO_memcmp(signature.data(), mac, mac_len) != 0) {
        return false;
    }
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    double exp = 0;
    if (!find_number(claims, "exp", exp) || exp < now) {
        return false;
    }
    double nbf = 0;
    if (find_number(claims, "nbf", nbf) && nbf > now) {
        return false;
    }
    return true;
}

// ---------------------------------------------------------------- JSON scan

// The top-level members of a JSON object as raw text (strings keep their
// quotes); enough to read {"op":..,"ch":..,"data":..}.
struct scanner {
    std::string_view s;
    std::size_t i = 0;

    void ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) {
            ++i;
        }
    }
    bool string_token() {
        if (i >= s.size() || s[i] != '"')
            return false;
        for (++i; i < s.size(); ++i) {
            if (s[i] == '\\') {
                ++i;
            } else if (s[i] == '"') {
                ++i;
                return true;
            }
        }
        return false;
    }
    bool value() {
        ws();
        if (i >= s.size())
            return false;
        const char c = s[i];
        if (c == '"')
            return string_token();
        if (c == '{' || c == '[') {
            int depth = 0;
            while (i < s.size()) {
                const char d = s[i];
                if (d == '"') {
                    if (!string_token())
                        return false;
                    continue;
                }
                if (d == '{' || d == '[') {
                    if (++depth > 64)
                        return false;
                } else if (d == '}' || d == ']') {
                    if (--depth == 0) {
                        ++i;
                        return true;
                    }
                }
                ++i;
            }
            return false;
        }
        const std::size_t start = i;
        while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ') {
            ++i;
        }
        return i > start;
    }
};

struct client_op {
    std::string_view op;    // raw, with quotes
    std::string_view ch;    // raw, with quotes
    std::string_view data;  // raw JSON value
};

bool scan_op(std::string_view text, client_op& out) {
    scanner sc{text};
    sc.ws();
    if (sc.i >= text.size() || text[sc.i] != '{')
        return false;
    ++sc.i;
    sc.ws();
    if (sc.i < text.size() && text[sc.i] == '}')
        return true;
    for (;;) {
        sc.ws();
        const std::size_t k0 = sc.i;
        if (!sc.string_token())
            return false;
        const std::string_view key = text.substr(k0, sc.i - k0);
        sc.ws();
        if (sc.i >= text.size() || text[sc.i] != ':')
            return false;
        ++sc.i;
        sc.ws();
        const std::size_t v0 = sc.i;
        if (!sc.value())
            return false;
        const std::string_view v = text.substr(v0, sc.i - v0);
        if (key == "\"op\"") {
            out.op = v;
        } else if (key == "\"ch\"") {
            out.ch = v;
        } else if (key == "\"data\"") {
            out.data = v;
        }
        sc.ws();
        if (sc.i >= text.size())
            return false;
        if (text[sc.i] == '}')
            return true;
        if (text[sc.i] != ',')
            return false;
        ++sc.i;
    }
}

// ---------------------------------------------------------------- server

struct channel {
    std::uint64_t epoch = 0;
    std::uint64_t offset = 0;
    std::unordered_set<connection_ptr> subs;
};

class engine_server {
  public:
    engine_server(std::string secret, int threads) : secret_(std::move(secret)), threads_(threads) {
        endpoint_.clear_access_channels(websocketpp::log::alevel::all);
        endpoint_.clear_error_channels(websocketpp::log::elevel::all);
        endpoint_.init_asio();
        endpoint_.set_reuse_addr(true);
        endpoint_.set_listen_backlog(4096);
        endpoint_.set_max_message_size(1 << 20);
        endpoint_.set_tcp_post_init_handler([this](websocketpp::connection_hdl h) {
            boost::system::error_code ec;
            endpoint_.get_con_from_hdl(h)->get_socket().set_option(
                boost::asio::ip::tcp::no_delay(true), ec);
        });
        endpoint_.set_validate_handler([this](websocketpp::connection_hdl h) {
            const connection_ptr con = endpoint_.get_con_from_hdl(h);
            if (!authorized(con->get_resource())) {
                con->set_status(websocketpp::http::status_code::unauthorized);
                return false;
            }
            return true;
        });
        endpoint_.set_open_handler([this](websocketpp::connection_hdl h) {
            const connection_ptr con = endpoint_.get_con_from_hdl(h);
            con->send("{\"op\":\"ready\",\"conn\":\"" + std::to_string(++next_conn_) + "\"}",
                      websocketpp::frame::opcode::text);
        });
        endpoint_.set_close_handler([this](websocketpp::connection_hdl h) { forget(h); });
        endpoint_.set_fail_handler([this](websocketpp::connection_hdl h) { forget(h); });
        endpoint_.set_message_handler(
            [this](websocketpp::connection_hdl h, message_ptr m) { on_message(h, m); });
    }

    void run(std::uint16_t port) {
        endpoint_.listen(
            boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), port));
        endpoint_.start_accept();
        boost::asio::signal_set signals(endpoint_.get_io_service(), SIGINT, SIGTERM);
        signals.async_wait([](const boost::system::error_code&, int) { std::_Exit(0); });
        std::printf("%u\n", static_cast<unsigned>(port));
        std::fflush(stdout);
        std::vector<std::thread> extra;
        for (int t = 1; t < threads_; ++t) {
            extra.emplace_back([this] { endpoint_.run(); });
        }
        endpoint_.run();
        for (auto& t : extra) {
            t.join();
        }
    }

  private:
    bool authorized(const std::string& resource) const {
        const std::size_t q = resource.find('?');
        if (resource.compare(0, q, "/ws") != 0 || q == std::string::npos) {
            return false;
        }
        std::string_view query(resource);
        query.remove_prefix(q + 1);
        while (!query.empty()) {
            const std::size_t amp = query.find('&');
            const std::string_view param = query.substr(0, amp);
            if (param.substr(0, 6) == "token=") {
                return verify_token(param.substr(6), secret_);
            }
            if (amp == std::string_view::npos) {
                break;
            }
            query.remove_prefix(amp + 1);
        }
        return false;
    }

    void send_err(const connection_ptr& con, int code, const char* reason) {
        con->send(
            "{\"op\":\"err\",\"code\":" + std::to_string(code) + ",\"reason\":\"" + reason + "\"}",
            websocketpp::frame::opcode::text);
    }

    void on_message(websocketpp::connection_hdl h, const message_ptr& m) {
        const connection_ptr con = endpoint_.get_con_from_hdl(h);
        if (m->get_opcode() != websocketpp::frame::opcode::text) {
            return send_err(con, 1, "send JSON text frames");
        }
        client_op op;
        if (!scan_op(m->get_payload(), op)) {
            return send_err(con, 1, "not a valid JSON object");
        }
        if (op.op == "\"ping\"") {
            con->send(std::string("{\"op\":\"pong\"}"), websocketpp::frame::opcode::text);
            return;
        }
        if (op.ch.size() < 3 || op.ch.size() > 257 || op.ch.front() != '"') {
            return send_err(con, 4, "ch must be a channel name");
        }
        const std::string name(op.ch);  // with its quotes: the key and the JSON token
        std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
        if (threads_ > 1) {
            lock.lock();
        }
        if (op.op == "\"sub\"") {
            channel& c = get(name);
            if (!c.subs.insert(con).second) {
                return send_err(con, 8, "already subscribed");
            }
            subscriptions_[con.get()].push_back(name);
            con->send("{\"op\":\"subok\",\"ch\":" + name + ",\"epoch\":" + std::to_string(c.epoch) +
                          ",\"offset\":" + std::to_string(c.offset) + "}",
                      websocketpp::frame::opcode::text);
        } else if (op.op == "\"unsub\"") {
            const auto it = channels_.find(name);
            if (it != channels_.end()) {
                it->second.subs.erase(con);
            }
        } else if (op.op == "\"pub\"") {
            if (op.data.empty()) {
                return send_err(con, 3, "pub needs data");
            }
            channel& c = get(name);
            ++c.offset;
            std::string text;
            text.reserve(40 + name.size() + op.data.size());
            text.append("{\"op\":\"msg\",\"ch\":").append(name).append(",\"offset\":");
            text.append(std::to_string(c.offset)).append(",\"data\":").append(op.data).append("}");
            const message_ptr out = con->get_message(websocketpp::frame::opcode::text, text.size());
            out->set_payload(text);
            for (const connection_ptr& s : c.subs) {
                s->send(out);
            }
        } else {
            send_err(con, 2, "unknown op");
        }
    }

    channel& get(const std::string& name) {
        auto [it, fresh] = channels_.try_emplace(name);
        if (fresh) {
            it->second.epoch = std::uniform_int_distribution<std::uint64_t>(1, 0xffffffffu)(rng_);
        }
        return it->second;
    }

    void forget(websocketpp::connection_hdl h) {
        const connection_ptr con = endpoint_.get_con_from_hdl(h);
        std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
        if (threads_ > 1) {
            lock.lock();
        }
        const auto it = subscriptions_.find(con.get());
        if (it == subscriptions_.end()) {
            return;
        }
        for (const std::string& name : it->second) {
            const auto c = channels_.find(name);
            if (c != channels_.end()) {
                c->second.subs.erase(con);
            }
        }
        subscriptions_.erase(it);
    }

    ws_server endpoint_;
    std::string secret_;
    int threads_ = 1;
    std::atomic<std::uint64_t> next_conn_{0};
    std::mutex mutex_;
    std::unordered_map<std::string, channel> channels_;
    std::unordered_map<const void*, std::vector<std::string>> subscriptions_;
    std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

int main(int argc, char** argv) {
    long port = -1;
    std::string secret;
    bool have_secret = false;
    long threads = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--version") {
            std::printf("WebSocket++/%d.%d.%d\n", websocketpp::major_version,
                        websocketpp::minor_version, websocketpp::patch_version);
            return 0;
        }
        if (arg == "--port" && i + 1 < argc) {
            port = std::strtol(argv[++i], nullptr, 10);
        } else if (arg == "--jwt-secret" && i + 1 < argc) {
            secret = argv[++i];
            have_secret = true;
        } else if (arg == "--threads" && i + 1 < argc) {
            threads = std::strtol(argv[++i], nullptr, 10);
        } else {
            std::fputs(
                "usage: bench-peer-websocketpp-engine --port N --jwt-secret S [--threads T] | "
                "--version\n",
                stderr);
            return 2;
        }
    }
    if (port < 1 || port > 65535 || !have_secret || threads < 1 || threads > 256) {
        std::fputs("bench-peer-websocketpp-engine: needs --port 1..65535 and --jwt-secret\n",
                   stderr);
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    try {
        engine_server server(secret, static_cast<int>(threads));
        server.run(static_cast<std::uint16_t>(port));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench-peer-websocketpp-engine: %s\n", e.what());
        return 1;
    }
    return 0;
}
