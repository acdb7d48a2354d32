#pragma once

// The line protocol every benchmark peer speaks with corvid-bench, shared by
// the peers as a header only: it depends on nothing of corvid, so the libcurl
// peer can include it without pulling in BoringSSL.
//
//   PEER --url URL [--cacert FILE] [--fresh-connection] [--buffer-size N]
//        [--http2] [--upload-size N --upload-chunk C] [--concurrent N]
//        [--impersonate NAME]
//   PEER --url ws://HOST:PORT/PATH --ws-echo --size B --messages N
//   PEER [--impersonate NAME] --version
//
// The peer then reads one command per line on stdin: "run" performs one
// sample and prints exactly one line, "ttfb_ns total_ns body_bytes cpu_ns" or
// "error <message>", and flushes stdout; "quit" or end of input exits.
// Timestamps come from std::chrono::steady_clock (CLOCK_MONOTONIC) in both
// peers; TTFB runs from just before the request is handed to the library to
// the first body byte reaching the caller, total to the last body byte.
//
// A sample is one GET by default. The other shapes:
//  - --http2: HTTP/2 over TLS (ALPN h2) is required; a sample whose response
//    did not come over HTTP/2 is an error, never a silent HTTP/1.1 figure.
//  - --upload-size N --upload-chunk C: a POST whose body (N bytes,
//    Content-Type: application/octet-stream, no Content-Length) the library
//    pulls from the peer C bytes per call, so it goes out as it is produced:
//    over HTTP/1.1 chunked, over HTTP/2 as DATA frames. TTFB still runs to
//    the first response body byte, so against a server that answers after
//    the whole body (nghttpd --echo-upload) it covers the upload; the
//    response body is whatever the server sends back (the echo).
//  - --concurrent N: N requests issued at once on one connection (HTTP/2
//    multiplexing); the line covers all of them: TTFB to the first body byte
//    of any, total to the last body byte of the last, body_bytes summed,
//    cpu_ns for the batch. A batch that opened more than one connection is
//    an error.
//  - --impersonate NAME: the library sends browser profile NAME (a built-in
//    name such as "chrome", or a profile file) instead of its own plain
//    requests; "none" is no profile. Only a peer that has browser profiles
//    accepts it (parse_options' `accepts_impersonate`); any other peer
//    refuses it as a usage error (exit status 2), so a figure is never
//    published under a profile's name for a client that did not send it. A
//    profile the peer cannot load is a usage error too, at start, before any
//    sample. With --version the peer also names the profile it would send.
//  - --ws-echo --size B --messages N: WebSocket echo ping-pong (the ws-echo
//    workload). --url is a ws:// URL of an echo server. The peer opens one
//    WebSocket (no permessage-deflate, no keepalive pings, TCP_NODELAY) when
//    the first "run" arrives, before that sample's clock starts, and keeps it
//    for every sample; a peer whose connection drops answers "error ...".
//    One sample is N round trips on it, one after the other: send one binary
//    message of B bytes (ws_echo_payload), wait until its whole echo has
//    arrived, check it (ws_echo_payload::check), repeat. TTFB is the first
//    round trip, total the N round trips (so messages/s = N / total),
//    body_bytes the echoed bytes received (N * B), cpu_ns the sample's CPU.
//    A wrong echo (size, type, sequence number, content) is an error line,
//    never a figure.
// cpu_ns is the CPU time (user + system, all threads) the peer process spent
// on the whole sample, from just before the clock starts until the library
// has finished with the response (connection back in its pool): unlike the
// times, it barely moves when other work on the machine takes CPU away.

#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace corvid::bench::peer {

struct options {
    std::string url;
    std::string cacert;
    bool fresh_connection = false;
    bool version = false;
    /// Receive buffer the peer asks its library for; 0 = the library's default.
    std::size_t buffer_size = 0;
    bool http2 = false;             ///< require HTTP/2 over TLS (ALPN h2)
    std::uint64_t upload_size = 0;  ///< request body bytes; 0 = a GET
    std::size_t upload_chunk = 0;   ///< bytes handed to the library per call
    std::size_t concurrent = 1;     ///< requests per sample, all at once
    /// --impersonate: a browser profile's name or file; empty or "none": no
    /// profile.
    std::string impersonate;
    /// --ws-echo: WebSocket echo ping-pong instead of HTTP requests.
    bool ws_echo = false;
    std::size_t ws_size = 0;        ///< --size: bytes per message
    std::uint64_t ws_messages = 0;  ///< --messages: round trips per sample
};

/// Limits of --size and --messages: the echo of a larger message is not a
/// ping-pong benchmark any more, and a sample must end in reasonable time.
inline constexpr std::size_t ws_max_size = 16u << 20;
inline constexpr std::uint64_t ws_max_messages = 10'000'000;

/// Parses the command line; on a usage error prints it and exits with 2.
/// `accepts_impersonate`: the peer can send browser profiles; without it
/// --impersonate is a usage error.
inline options parse_options(int argc, char** argv, bool accepts_impersonate = false) {
    options o;
    auto usage = [&](std::string_view why) {
        std::fprintf(stderr,
                     "%s: %.*s\nusage: %s --url URL [--cacert FILE] [--fresh-connection] "
                     "[--buffer-size N] [--http2] [--upload-size N --upload-chunk C] "
                     "[--concurrent N]%s | --url ws://... --ws-echo --size B --messages N | "
                     "--version\n",
                     argv[0], static_cast<int>(why.size()), why.data(), argv[0],
                     accepts_impersonate ? " [--impersonate NAME]" : "");
        std::exit(2);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage("missing value after an option");
            }
            return argv[++i];
        };
        if (arg == "--url") {
            o.url = value();
        } else if (arg == "--cacert") {
            o.cacert = value();
        } else if (arg == "--fresh-connection") {
            o.fresh_connection = true;
        } else if (arg == "--buffer-size") {
            o.buffer_size = std::strtoull(value().c_str(), nullptr, 10);
        } else if (arg == "--http2") {
            o.http2 = true;
        } else if (arg == "--upload-size") {
            o.upload_size = std::strtoull(value().c_str(), nullptr, 10);
        } else if (arg == "--upload-chunk") {
            o.upload_chunk = std::strtoull(value().c_str(), nullptr, 10);
        } else if (arg == "--concurrent") {
            o.concurrent = std::strtoull(value().c_str(), nullptr, 10);
        } else if (arg == "--impersonate") {
            if (!accepts_impersonate) {
                usage("--impersonate: this peer has no browser profiles");
            }
            o.impersonate = value();
            if (o.impersonate.empty()) {
                usage("--impersonate needs a profile name or \"none\"");
            }
        } else if (arg == "--ws-echo") {
            o.ws_echo = true;
        } else if (arg == "--size") {
            o.ws_size = std::strtoull(value().c_str(), nullptr, 10);
        } else if (arg == "--messages") {
            o.ws_messages = std::strtoull(value().c_str(), nullptr, 10);
        } else if (arg == "--version") {
            o.version = true;
        } else {
            usage("unknown option");
        }
    }
    if (o.version) {
        return o;
    }
    if (o.url.empty()) {
        usage("--url is required");
    }
    if (o.ws_echo) {
        if (o.url.rfind("ws://", 0) != 0) {
            usage("--ws-echo needs a ws:// URL");
        }
        if (o.ws_size < 1 || o.ws_size > ws_max_size) {
            usage("--ws-echo needs --size from 1 to 16777216");
        }
        if (o.ws_messages < 1 || o.ws_messages > ws_max_messages) {
            usage("--ws-echo needs --messages from 1 to 10000000");
        }
        if (o.http2 || o.upload_size != 0 || o.concurrent != 1 || o.fresh_connection ||
            !o.impersonate.empty() || !o.cacert.empty() || o.buffer_size != 0) {
            usage("--ws-echo takes only --url, --size and --messages");
        }
        return o;
    }
    if (o.ws_size != 0 || o.ws_messages != 0) {
        usage("--size and --messages go with --ws-echo");
    }
    if ((o.upload_size == 0) != (o.upload_chunk == 0)) {
        usage("--upload-size and --upload-chunk go together and must be positive");
    }
    if (o.concurrent < 1 || o.concurrent > 10'000) {
        usage("--concurrent must be from 1 to 10000");
    }
    if (o.concurrent > 1 && o.upload_size != 0) {
        usage("--concurrent and --upload-size do not combine");
    }
    if (o.concurrent > 1 && o.fresh_connection) {
        usage("--concurrent shares one connection; --fresh-connection does not apply");
    }
    return o;
}

/// Blocks until the next command; true for "run", false for "quit" or EOF.
/// Unknown commands are answered with an error line and skipped.
inline bool next_run() {
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line == "run") {
            return true;
        }
        if (line == "quit") {
            return false;
        }
        std::fputs("error unknown command\n", stdout);
        std::fflush(stdout);
    }
    return false;
}

/// One piece of an upload body, `size` bytes of a fixed printable pattern.
/// Both peers send this same piece over and over (the last one cut short when
/// the chunk does not divide the upload size), so their bodies are identical.
inline std::string upload_piece(std::size_t size) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        out[i] = static_cast<char>('a' + i % 26);
    }
    return out;
}

/// A ws:// URL taken apart for the clients that want its pieces.
struct ws_url {
    std::string host;
    std::string port;    ///< "80" when the URL names none
    std::string target;  ///< path and query, "/" when empty
};

/// Splits "ws://HOST[:PORT][/TARGET]" (no user info, no IPv6 literal: the
/// benchmark's servers listen on 127.0.0.1); nullopt for anything else.
inline std::optional<ws_url> parse_ws_url(std::string_view url) {
    constexpr std::string_view scheme = "ws://";
    if (url.substr(0, scheme.size()) != scheme) {
        return std::nullopt;
    }
    url.remove_prefix(scheme.size());
    const std::size_t slash = url.find('/');
    const std::string_view authority = url.substr(0, slash);
    ws_url out;
    out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    const std::size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    out.port = colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));
    if (out.host.empty() || out.port.empty() || authority.find('@') != std::string_view::npos ||
        out.port.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
    }
    return out;
}

/// The messages of a --ws-echo sample and the check of their echoes, the
/// same for every peer. Message i (counted over the peer's whole run, warm-up
/// included) carries i in its first min(8, size) bytes (little-endian,
/// truncated) so that an echo of an earlier message is caught; the rest is a
/// fixed byte pattern. An echo must be binary and of the same size; messages
/// of at most ws_full_check_max bytes are compared whole, larger ones by
/// their sequence number and their last 64 bytes (a whole compare of 64 KiB
/// would add a fixed cost to every peer's round trip and dilute the
/// difference between the clients).
class ws_echo_payload {
  public:
    static constexpr std::size_t full_check_max = 1024;
    static constexpr std::size_t tail_check = 64;

    explicit ws_echo_payload(std::size_t size) : data_(size, '\0') {
        for (std::size_t i = 0; i < size; ++i) {
            data_[i] = static_cast<char>((i * 131 + 7) & 0xff);
        }
    }

    /// Stamps sequence number `seq` into the message and returns it.
    const std::string& next(std::uint64_t seq) noexcept {
        for (std::size_t i = 0; i < stamp_size(); ++i) {
            data_[i] = static_cast<char>((seq >> (8 * i)) & 0xff);
        }
        return data_;
    }

    const std::string& message() const noexcept { return data_; }

    /// Checks an echo of the last message next() returned; an empty string
    /// when it matches, else what is wrong.
    std::string check(const char* echo, std::size_t size, bool binary = true) const {
        if (!binary) {
            return "the echo is not a binary message";
        }
        if (size != data_.size()) {
            return "the echo has " + std::to_string(size) + " bytes, expected " +
                   std::to_string(data_.size());
        }
        const std::size_t stamp = stamp_size();
        if (std::memcmp(echo, data_.data(), stamp) != 0) {
            return "the echo carries another sequence number";
        }
        if (size <= full_check_max) {
            if (std::memcmp(echo + stamp, data_.data() + stamp, size - stamp) != 0) {
                return "the echo differs from the message";
            }
        } else if (std::memcmp(echo + size - tail_check, data_.data() + size - tail_check,
                               tail_check) != 0) {
            return "the echo differs from the message at its end";
        }
        return {};
    }

  private:
    std::size_t stamp_size() const noexcept { return data_.size() < 8 ? data_.size() : 8; }

    std::string data_;
};

inline std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// CPU time of the whole process (CLOCK_PROCESS_CPUTIME_ID).
inline std::int64_t cpu_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline void print_sample(std::int64_t ttfb_ns, std::int64_t total_ns, std::uint64_t bytes,
                         std::int64_t cpu) {
    std::printf("%lld %lld %llu %lld\n", static_cast<long long>(ttfb_ns),
                static_cast<long long>(total_ns), static_cast<unsigned long long>(bytes),
                static_cast<long long>(cpu));
    std::fflush(stdout);
}

inline void print_error(std::string_view message) {
    std::string line(message);
    for (char& c : line) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    std::printf("error %s\n", line.c_str());
    std::fflush(stdout);
}

}  // namespace corvid::bench::peer
