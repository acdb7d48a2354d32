// corvid-server: the real-time event server (include/corvid/engine.hpp,
// docs/server.md, docs/protocol.md).
//
//   corvid-server --jwt-secret-file FILE [--listen HOST:PORT ...] [options]
//   corvid-server --config FILE
//
//   corvid-server token --jwt-secret S [--sub NAME] [--channels P,..]
//                       [--publish P,..] [--admin] [--ttl D] [--iss I] [--aud A]
//
// `token` prints an HS256 token for development and demos.
//
// Prints one line at start saying where it listens and with which settings,
// then serves until SIGINT or SIGTERM, when it shuts down gracefully
// (WebSockets closed with 1001, SSE streams ended, --shutdown-grace to finish).

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <pthread.h>

#include "corvid/engine.hpp"
#include "engine/jwt.hpp"
#include "engine/protocol.hpp"

namespace {

constexpr const char* usage_text =
    R"(usage: corvid-server [--config FILE] [options]

A real-time event server: clients connect over WebSocket (/ws) or SSE (/sse)
with a JWT, subscribe to channels and receive what is published, in JSON or
MessagePack (subprotocol corvid.msgpack). Protocol: docs/protocol.md.

Listening
  --listen HOST:PORT        address to serve (repeatable; default 127.0.0.1:8080)
  --tls-cert FILE           PEM certificate chain: serve HTTPS (h2 and http/1.1)
  --tls-key FILE            PEM private key
  --workers N               worker threads (default: one per core)
Authentication (one key source, or --allow-anonymous)
  --jwt-secret S            HS256 secret, >= 32 bytes (or CORVID_JWT_SECRET)
  --jwt-secret-file FILE    HS256 secret read from FILE
  --jwt-public-key FILE     PEM public key: RS256 (RSA >= 2048) or ES256 (P-256)
  --jwks FILE               JWKS document (keys chosen by kid)
  --jwt-issuer S            require iss == S
  --jwt-audience S          require aud to contain S (repeatable)
  --jwt-leeway DURATION     clock skew allowed on exp/nbf (default 30s)
  --allow-anonymous         accept connections without a token
  --anonymous-channels P,.. what anonymous clients may subscribe to (default **)
  --anonymous-publish P,..  what anonymous clients may publish to (default none)
  --allowed-origin ORIGIN   cross-site origin allowed with cookie auth (repeatable)
Limits
  --max-connections N       open connections in all (default 100000; 0: none)
  --max-connections-per-ip N  per client address (default 0: none)
  --max-header-bytes N      request head (default 16K)
  --max-body-bytes N        POST /api/publish body (default 1M)
  --max-message-bytes N     WebSocket message from a client (default 64K)
  --max-data-bytes N        data of one publication (default 64K)
  --max-subscriptions N     channels per connection (default 256)
  --max-queued-bytes N      send queue before a slow client is dropped (default 4M)
  --http-idle-timeout D     idle keep-alive HTTP connection (default 30s)
  --ws-ping-interval D      ping a quiet WebSocket (default 25s; 0: never)
  --ws-idle-timeout D       drop a silent WebSocket (default 60s; 0: never)
  --sse-keepalive D         comment line on a quiet SSE stream (default 15s)
  --ws-deflate              offer permessage-deflate
Channels
  --history-size N          publications kept per channel (default 100)
  --history-ttl D           idle channel forgotten after (default 300s)
Tokens (development)
  corvid-server token --jwt-secret S [--sub NAME] [--channels P,..] [--publish P,..]
                      [--admin] [--ttl D (default 1h)] [--iss I] [--aud A]
                      prints an HS256 JWT signed with S (or CORVID_JWT_SECRET)
Process
  --shutdown-grace D        time to close clients on SIGTERM (default 5s)
  --config FILE             settings file: "name = value" lines, same names
  --help, --version
Durations: 250ms, 30s, 5m. Sizes: 65536, 64K, 1M.
)";

std::string json_string(std::string_view s) {
    std::string out;
    corvid::engine::append_json_string(out, s);
    return out;
}

std::string json_list(std::string_view csv) {
    std::string out = "[";
    while (!csv.empty()) {
        auto comma = csv.find(',');
        auto item = csv.substr(0, comma);
        while (!item.empty() && item.front() == ' ') {
            item.remove_prefix(1);
        }
        while (!item.empty() && item.back() == ' ') {
            item.remove_suffix(1);
        }
        if (!item.empty()) {
            out += (out.size() > 1 ? "," : "") + json_string(item);
        }
        csv = comma == std::string_view::npos ? std::string_view{} : csv.substr(comma + 1);
    }
    return out + "]";
}

// `corvid-server token ...`: prints an HS256 token.
int mint_token(int argc, char** argv) {
    std::string secret;
    if (const char* env = std::getenv("CORVID_JWT_SECRET")) {
        secret = env;
    }
    std::string sub = "dev";
    std::string channels;
    std::string publish;
    std::string iss;
    std::string aud;
    bool admin = false;
    std::chrono::milliseconds ttl(3'600'000);
    for (int i = 2; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::cerr << "corvid-server token: " << a << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--jwt-secret") {
            secret = value();
        } else if (a == "--jwt-secret-file") {
            std::ifstream in(value(), std::ios::binary);
            std::ostringstream text;
            text << in.rdbuf();
            secret = text.str();
            while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
                secret.pop_back();
            }
        } else if (a == "--sub") {
            sub = value();
        } else if (a == "--channels") {
            channels = value();
        } else if (a == "--publish") {
            publish = value();
        } else if (a == "--iss") {
            iss = value();
        } else if (a == "--aud") {
            aud = value();
        } else if (a == "--admin") {
            admin = true;
        } else if (a == "--ttl") {
            if (!corvid::parse_duration(value(), ttl)) {
                std::cerr << "corvid-server token: --ttl expects a duration such as 1h\n";
                return 2;
            }
        } else {
            std::cerr << "corvid-server token: unknown option " << a << " (see --help)\n";
            return 2;
        }
    }
    if (secret.size() < 32) {
        std::cerr << "corvid-server token: give the server's HS256 secret (>= 32 bytes) with "
                     "--jwt-secret, --jwt-secret-file or CORVID_JWT_SECRET\n";
        return 2;
    }
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    std::string payload = "{\"sub\":" + json_string(sub) + ",\"iat\":" + std::to_string(now) +
                          ",\"exp\":" + std::to_string(now + ttl.count() / 1000);
    if (!iss.empty()) {
        payload += ",\"iss\":" + json_string(iss);
    }
    if (!aud.empty()) {
        payload += ",\"aud\":" + json_string(aud);
    }
    payload += ",\"channels\":" + json_list(channels) + ",\"publish\":" + json_list(publish);
    if (admin) {
        payload += ",\"admin\":true";
    }
    payload += "}";
    std::cout << corvid::engine::sign_hs256(secret, payload) << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::string_view(argv[1]) == "token") {
        return mint_token(argc, argv);
    }
    // --help, --version and --shutdown-grace are the binary's own; the rest
    // goes to parse_engine_args.
    std::vector<const char*> args{argv[0]};
    std::chrono::milliseconds grace(5000);
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            std::cout << usage_text;
            return 0;
        }
        if (a == "--version") {
            std::cout << "corvid-server " << CORVID_VERSION << "\n";
            return 0;
        }
        if (a == "--shutdown-grace" || a.starts_with("--shutdown-grace=")) {
            std::string_view v;
            if (a.size() > 16) {
                v = a.substr(17);
            } else if (i + 1 < argc) {
                v = argv[++i];
            }
            if (!corvid::parse_duration(v, grace)) {
                std::cerr << "corvid-server: --shutdown-grace expects a duration such as 5s\n";
                return 2;
            }
            continue;
        }
        args.push_back(argv[i]);
    }
    std::string detail;
    auto config = corvid::parse_engine_args(static_cast<int>(args.size()), args.data(), &detail);
    if (!config) {
        std::cerr << "corvid-server: " << detail << "\n";
        return 2;
    }
    auto server = corvid::engine_server::create(*config, &detail);
    if (!server) {
        std::cerr << "corvid-server: " << (detail.empty() ? server.error().message() : detail)
                  << "\n";
        return 2;
    }

    // Workers inherit this mask: SIGINT and SIGTERM are taken by sigwait()
    // below, on this thread only.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    if (auto ok = (*server)->start(); !ok) {
        std::cerr << "corvid-server: cannot listen: " << ok.error().message()
                  << " (is the port in use? pick another with --listen HOST:PORT)\n";
        return 1;
    }
    const auto ports = (*server)->ports();
    const char* scheme = config->tls_cert_file.empty() ? "ws" : "wss";
    std::string where;
    for (std::size_t i = 0; i < config->listen.size(); ++i) {
        auto addr = config->listen[i];
        addr = addr.substr(0, addr.rfind(':')) + ":" + std::to_string(ports[i]);
        where += (where.empty() ? "" : ", ") + std::string(scheme) + "://" + addr + "/ws";
    }
    std::cerr << "corvid-server " << CORVID_VERSION << " listening on " << where
              << " (also /sse, /api/publish, /metrics, /healthz); " << corvid::describe(*config)
              << std::endl;

    int sig = 0;
    sigwait(&signals, &sig);
    std::cerr << "corvid-server: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
              << ": shutting down (grace " << grace.count() << " ms)" << std::endl;
    (*server)->shutdown(grace);
    return 0;
}
