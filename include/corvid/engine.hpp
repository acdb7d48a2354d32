#pragma once

// corvid-server's engine as a library: a real-time event server. Clients
// connect over WebSocket (/ws, HTTP/1.1 upgrade or HTTP/2 extended CONNECT)
// or server-sent events (/sse), authenticate with a JWT, subscribe to
// channels and receive what is published to them, in JSON or MessagePack.
// The protocol is documented in docs/protocol.md.
//
//     corvid::engine_config config;
//     config.listen = {"127.0.0.1:8080"};
//     config.jwt_secret = "...at least 32 bytes...";
//     auto server = corvid::engine_server::create(config);   // checks config, loads keys
//     if (!server) { ... server.error().message() ... }
//     if (auto ok = (*server)->start(); !ok) { ... }          // binds, starts the workers
//     ...
//     (*server)->shutdown(std::chrono::seconds(5));           // graceful, then stops
//
// Workers. start() runs `workers` threads, each with its own io_context and
// its own listening socket per address (SO_REUSEPORT: the kernel spreads
// connections across them). A connection stays on the worker that accepted
// it. An in-process broker carries publications between workers: every
// subscriber on every worker receives every publication of its channels
// once, in publish order per channel.
//
// Ownership and threading. engine_server owns its workers, sockets and
// broker. create(), start(), shutdown(), wait() and the accessors are called
// from one controlling thread (not from a worker). The destructor shuts down
// at once (no grace period) if shutdown() was not called.
//
// Errors. create() and start() return std::error_code values: jwt_errc for
// keys, std::errc::invalid_argument for a bad setting (detail() says which),
// system errors from bind, tls_errc for certificates.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "corvid/result.hpp"

namespace corvid {

/// Every setting of corvid-server; the CLI flags and the config file map one
/// to one onto these members (see docs/server.md).
struct engine_config {
    /// Addresses to listen on, "HOST:PORT" ("[::1]:8080" for IPv6). Port 0
    /// picks a free port (engine_server::ports() tells which).
    std::vector<std::string> listen = {"127.0.0.1:8080"};
    /// PEM certificate chain and private key: when both are set every
    /// listener speaks TLS (ALPN h2 and http/1.1); otherwise plain HTTP/1.1
    /// and HTTP/2 with prior knowledge.
    std::string tls_cert_file;
    std::string tls_key_file;

    // --- Authentication: exactly one key source, unless allow_anonymous.
    /// HMAC secret for HS256 (at least 32 bytes).
    std::string jwt_secret;
    /// PEM public key (RSA >= 2048 bits for RS256, EC P-256 for ES256).
    std::string jwt_public_key_file;
    /// JWKS document (keys chosen by kid).
    std::string jwks_file;
    /// When set, the token's iss must equal it.
    std::string jwt_issuer;
    /// When not empty, the token's aud must contain one of these.
    std::vector<std::string> jwt_audiences;
    /// Clock skew tolerated on exp and nbf.
    std::chrono::seconds jwt_leeway{30};
    /// Connections without a token are accepted, with the channel patterns
    /// of anonymous_channels for subscribing and anonymous_publish for
    /// publishing. A token that is present is still verified: a bad token is
    /// refused even here.
    bool allow_anonymous = false;
    std::vector<std::string> anonymous_channels = {"**"};
    std::vector<std::string> anonymous_publish;
    /// Origins (scheme://host[:port]) allowed to open a WebSocket or SSE
    /// stream authenticated by the access_token cookie. A request carrying
    /// the cookie with an Origin of another host than its Host is refused
    /// (403) unless listed: a cookie is sent by the browser to any site's
    /// page, a header or query token is not.
    std::vector<std::string> allowed_origins;

    // --- Workers and limits.
    /// Worker threads; 0: one per core.
    std::size_t workers = 0;
    /// Open connections in all, and from one IP address; 0: no limit.
    std::size_t max_connections = 100'000;
    std::size_t max_connections_per_ip = 0;
    /// Request head size (start line plus fields) and header count.
    std::size_t max_header_bytes = 16 * 1024;
    /// POST /api/publish body.
    std::size_t max_body_bytes = 1 << 20;
    /// Largest WebSocket message (and frame) from a client; 1009 beyond.
    std::size_t max_message_bytes = 64 * 1024;
    /// Largest `data` of a publication, in either encoding (err too_large).
    std::size_t max_data_bytes = 64 * 1024;
    /// Channels one connection may be subscribed to at once.
    std::size_t max_subscriptions = 256;
    /// Bytes queued for one slow client before it is disconnected (close
    /// 1008 "slow consumer" on WebSocket; the SSE stream ends).
    std::size_t max_queued_bytes = 4 << 20;
    /// HTTP keep-alive connections idle between requests are closed after it.
    std::chrono::milliseconds http_idle_timeout{30'000};
    /// WebSocket: a ping after this long without traffic from the client,
    /// and the connection is dropped after ws_idle_timeout without any.
    std::chrono::milliseconds ws_ping_interval{25'000};
    std::chrono::milliseconds ws_idle_timeout{60'000};
    /// SSE: a comment line after this long without an event (keeps proxies
    /// from timing the stream out).
    std::chrono::milliseconds sse_keepalive{15'000};
    /// Offer permessage-deflate to WebSocket clients that ask.
    bool ws_deflate = false;

    // --- Channels.
    /// Publications kept per channel for recovery (since / Last-Event-ID).
    std::size_t history_size = 100;
    /// A channel without subscribers is forgotten this long after its last
    /// publication (its history with it; it comes back with a new epoch).
    std::chrono::seconds history_ttl{300};
};

/// Reads settings from command-line flags and an optional config file
/// (--config FILE; flags given on the command line win). `argv[0]` is
/// skipped. Errors: std::errc::invalid_argument with `detail` saying which
/// flag or line and why. `--help` is not handled here.
result<engine_config> parse_engine_args(int argc, const char* const* argv, std::string* detail);

/// A duration as the settings take it: "250ms", "30s", "5m", "1h"; a bare
/// number is seconds. False (and `out` untouched) when it does not parse or
/// exceeds a year.
bool parse_duration(std::string_view text, std::chrono::milliseconds& out) noexcept;

/// One line describing the effective settings (for the start log).
std::string describe(const engine_config& config);

class engine_server {
  public:
    /// Checks `config` and loads keys and certificates; nothing is bound yet.
    static result<std::unique_ptr<engine_server>> create(const engine_config& config,
                                                         std::string* detail = nullptr);
    ~engine_server();
    engine_server(const engine_server&) = delete;
    engine_server& operator=(const engine_server&) = delete;

    /// Binds every listen address and starts the workers.
    result<void> start();

    /// Graceful shutdown: stops accepting, closes WebSockets with 1001 and
    /// ends SSE streams, waits up to `grace` for them to finish, then closes
    /// whatever is left and joins the workers. Idempotent.
    void shutdown(std::chrono::milliseconds grace = std::chrono::seconds(5));

    /// The bound ports, in the order of engine_config::listen.
    std::vector<std::uint16_t> ports() const;
    std::size_t workers() const noexcept;

    /// The /metrics text (Prometheus exposition format).
    std::string metrics_text() const;

    class impl;

  private:
    explicit engine_server(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace corvid
