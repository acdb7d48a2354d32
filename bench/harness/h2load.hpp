#pragma once

// Reading h2load's report (Debian's nghttp2-client). corvid-bench runs
// h2load against the HTTP/2 fixture as the ceiling of the concurrent and
// download cases: what nghttp2's own load generator reaches on the same
// server, connection and streams. Pure text processing, so it is unit-tested
// (tests/bench/).

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace corvid::bench {

/// The figures corvid-bench takes from an h2load run.
struct h2load_summary {
    double requests_per_second = 0;  ///< "finished in ..., X req/s"
    /// "finished in ..., X req/s, YMB/s": all bytes received (frames
    /// included) per second; h2load's units are powers of 1024.
    double bytes_per_second = 0;
    std::uint64_t requests = 0;  ///< "requests: N total"
    std::uint64_t succeeded = 0;
    std::uint64_t failed = 0;
    std::uint64_t errored = 0;
    std::uint64_t timeout = 0;
    std::string protocol;  ///< "Application protocol: h2"; empty if absent
};

/// Parses h2load's output (stdout). Returns nothing when the "finished in"
/// or "requests:" line is missing or malformed, which is what a run that
/// could not connect prints.
inline std::optional<h2load_summary> parse_h2load(std::string_view output) {
    h2load_summary s;
    bool finished = false;
    bool requests = false;
    while (!output.empty()) {
        const auto nl = output.find('\n');
        const std::string line(output.substr(0, nl));
        output = nl == std::string_view::npos ? std::string_view() : output.substr(nl + 1);
        if (line.rfind("finished in ", 0) == 0) {
            // "finished in 3.00s, 255697.00 req/s, 257.02MB/s"
            const auto comma = line.find(", ");
            double rps = 0;
            int end = 0;
            if (comma != std::string::npos &&
                std::sscanf(line.c_str() + comma + 2, "%lf req/s%n", &rps, &end) == 1 && end > 0 &&
                rps >= 0) {
                s.requests_per_second = rps;
                finished = true;
                // ", 1.06GB/s": the number, then B, KB, MB or GB.
                double rate = 0;
                char unit[4] = {};
                if (std::sscanf(line.c_str() + comma + 2 + end, ", %lf%3[KMGB]/s", &rate, unit) ==
                    2) {
                    const std::string_view u(unit);
                    const double scale = u == "B"    ? 1.0
                                         : u == "KB" ? 1024.0
                                         : u == "MB" ? 1024.0 * 1024
                                         : u == "GB" ? 1024.0 * 1024 * 1024
                                                     : 0.0;
                    s.bytes_per_second = rate * scale;
                }
            }
        } else if (line.rfind("requests: ", 0) == 0) {
            // "requests: 1000 total, 1000 started, 1000 done, 1000 succeeded,
            //  0 failed, 0 errored, 0 timeout"
            unsigned long long total = 0;
            unsigned long long started = 0;
            unsigned long long done = 0;
            unsigned long long ok = 0;
            unsigned long long failed = 0;
            unsigned long long errored = 0;
            unsigned long long timeout = 0;
            if (std::sscanf(line.c_str(),
                            "requests: %llu total, %llu started, %llu done, %llu succeeded, "
                            "%llu failed, %llu errored, %llu timeout",
                            &total, &started, &done, &ok, &failed, &errored, &timeout) == 7) {
                s.requests = total;
                s.succeeded = ok;
                s.failed = failed;
                s.errored = errored;
                s.timeout = timeout;
                requests = true;
            }
        } else if (line.rfind("Application protocol: ", 0) == 0) {
            s.protocol = line.substr(22);
            while (!s.protocol.empty() && (s.protocol.back() == '\r' || s.protocol.back() == ' ')) {
                s.protocol.pop_back();
            }
        }
    }
    if (!finished || !requests) {
        return std::nullopt;
    }
    return s;
}

}  // namespace corvid::bench
