#pragma once

// The line protocol every benchmark peer speaks with corvid-bench, shared by
// the peers as a header only: it depends on nothing of corvid, so the libcurl
// peer can include it without pulling in BoringSSL.
//
//   PEER --url URL [--cacert FILE] [--fresh-connection] [--buffer-size N]
//   PEER --version
//
// The peer then reads one command per line on stdin: "run" performs one
// sample and prints exactly one line, "ttfb_ns total_ns body_bytes cpu_ns" or
// "error <message>", and flushes stdout; "quit" or end of input exits.
// Timestamps come from std::chrono::steady_clock (CLOCK_MONOTONIC) in both
// peers; TTFB runs from just before the request is handed to the library to
// the first body byte reaching the caller, total to the last body byte.
// cpu_ns is the CPU time (user + system, all threads) the peer process spent
// on the whole sample, from just before the clock starts until the library
// has finished with the response (connection back in its pool): unlike the
// times, it barely moves when other work on the machine takes CPU away.

#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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
};

/// Parses the command line; on a usage error prints it and exits with 2.
inline options parse_options(int argc, char** argv) {
    options o;
    auto usage = [&](std::string_view why) {
        std::fprintf(stderr,
                     "%s: %.*s\nusage: %s --url URL [--cacert FILE] [--fresh-connection] "
                     "[--buffer-size N] | --version\n",
                     argv[0], static_cast<int>(why.size()), why.data(), argv[0]);
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
        } else if (arg == "--version") {
            o.version = true;
        } else {
            usage("unknown option");
        }
    }
    if (!o.version && o.url.empty()) {
        usage("--url is required");
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
