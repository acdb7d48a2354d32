#pragma once

// The token mode of the benchmark peers (the `tokens` workload), shared as a
// header only: it depends on nothing of corvid, so the libcurl and Beast
// peers include it without pulling in BoringSSL.
//
//   PEER --url https://HOST:PORT/tokens/sse --cacert FILE --tokens N
//        --interval-ms M [--http2]                       (server-sent events)
//   PEER --url wss://HOST:PORT/tokens/ws --cacert FILE --tokens N
//        --interval-ms M                                 (WebSocket)
//   PEER --version
//
// The peer then reads commands on stdin like every peer (peer_protocol.hpp):
// "run" takes one sample and prints one line, "ttft_ns last_ns chars cpu_ns"
// or "error <message>"; "quit" or end of input exits.
//
// One sample is one token stream of N tokens paced M ms apart
// (token_stream.hpp): SSE: a GET of URL?n=N&interval_ms=M (Accept:
// text/event-stream, Cache-Control: no-cache) read to the end of its body,
// over HTTP/1.1, or over HTTP/2 with --http2 (a response over anything else
// is an error); WebSocket: the text message "start N M" on a connection
// opened by the first "run" before its clock starts and kept for every
// sample, then the N token messages and "done". Every token is checked
// against the sequence (token_stream.hpp's stream_check); a wrong, missing
// or extra token is an error line, never a figure.
// - ttft_ns: from just before the request is handed to the library (SSE:
//   the request; WS: the "start" message) to the first token's text
//   reaching the caller (the library's event or message, or for libcurl the
//   peer's own SSE parser's event);
// - last_ns: from the same start to the last token reaching the caller;
// - chars: the characters of all tokens received (checked by corvid-bench);
// - cpu_ns: the peer process's CPU time (user + system, all threads) from
//   just before the clock starts until the stream is finished with (SSE: the
//   body read to its end; WS: "done" received).

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "bench/peers/peer_protocol.hpp"
#include "bench/peers/token_stream.hpp"

namespace corvid::bench::peer {

struct token_options {
    std::string url;
    std::string cacert;
    std::uint64_t tokens = 0;
    std::uint64_t interval_ms = 0;
    bool http2 = false;
    bool version = false;
    bool websocket = false;  ///< a wss:// URL

    /// SSE: the URL of one stream.
    std::string sse_url() const {
        return url + "?n=" + std::to_string(tokens) + "&interval_ms=" + std::to_string(interval_ms);
    }
    /// WebSocket: the message that starts one stream.
    std::string ws_start() const {
        return "start " + std::to_string(tokens) + " " + std::to_string(interval_ms);
    }
};

/// Parses the command line; on a usage error prints it and exits with 2.
/// `sse` / `websocket`: which of the two the peer can do.
inline token_options parse_token_options(int argc, char** argv, bool sse, bool websocket) {
    token_options o;
    auto usage = [&](std::string_view why) {
        std::fprintf(stderr,
                     "%s: %.*s\nusage: %s --url URL --cacert FILE --tokens N --interval-ms M%s | "
                     "--version\n",
                     argv[0], static_cast<int>(why.size()), why.data(), argv[0],
                     sse ? " [--http2]" : "");
        std::exit(2);
    };
    auto number = [&](const char* v) {
        char* end = nullptr;
        const unsigned long long n = std::strtoull(v, &end, 10);
        if (*v == '\0' || *end != '\0') {
            usage("not a number");
        }
        return static_cast<std::uint64_t>(n);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) {
                usage("missing value after an option");
            }
            return argv[++i];
        };
        if (arg == "--url") {
            o.url = value();
        } else if (arg == "--cacert") {
            o.cacert = value();
        } else if (arg == "--tokens") {
            o.tokens = number(value());
        } else if (arg == "--interval-ms") {
            o.interval_ms = number(value());
        } else if (arg == "--http2" && sse) {
            o.http2 = true;
        } else if (arg == "--version") {
            o.version = true;
        } else {
            usage("unknown option");
        }
    }
    if (o.version) {
        return o;
    }
    o.websocket = o.url.starts_with("wss://");
    if (o.websocket ? !websocket : (!sse || !o.url.starts_with("https://"))) {
        usage(sse && websocket ? "--url must be https:// (SSE) or wss:// (WebSocket)"
              : sse            ? "--url must be https://"
                               : "--url must be wss://");
    }
    if (o.websocket && o.http2) {
        usage("--http2 is for SSE");
    }
    if (o.cacert.empty()) {
        usage("--cacert is required (the fixture's CA)");
    }
    if (o.tokens < 1 || o.tokens > tokens::max_tokens || o.interval_ms > tokens::max_interval_ms) {
        usage("--tokens must be from 1 to 1000000, --interval-ms at most 10000");
    }
    return o;
}

/// A URL taken apart: "SCHEME://HOST[:PORT][/TARGET]" (no user info, no IPv6
/// literal: the fixture listens on loopback).
struct url_parts {
    std::string host;
    std::string port;
    std::string target;
};

inline std::optional<url_parts> split_url(std::string_view url, std::string_view default_port) {
    const std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        return std::nullopt;
    }
    url.remove_prefix(scheme_end + 3);
    const std::size_t slash = url.find('/');
    const std::string_view authority = url.substr(0, slash);
    url_parts out;
    out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    const std::size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    out.port = colon == std::string_view::npos ? std::string(default_port)
                                               : std::string(authority.substr(colon + 1));
    if (out.host.empty() || out.port.empty() || authority.find('@') != std::string_view::npos ||
        out.port.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
    }
    return out;
}

/// What one sample saw, stamped by the peer as tokens reach it.
struct token_timing {
    std::int64_t first_ns = 0;
    std::int64_t last_ns = 0;

    void stamp(std::int64_t now, bool first) noexcept {
        if (first) {
            first_ns = now;
        }
        last_ns = now;
    }
};

}  // namespace corvid::bench::peer
