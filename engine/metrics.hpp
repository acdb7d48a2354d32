#pragma once

// The engine's counters, rendered as Prometheus text at /metrics.
//
// Each worker owns one worker_counters block (cache-line aligned) and is its
// only writer, so the hot path pays a relaxed increment on a line no other
// core writes. render() sums the blocks from any thread (relaxed loads: the
// figures are a snapshot, not a consistent cut).

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace corvid::engine {

/// Why a request or message was refused or a connection ended badly.
enum class error_kind : std::uint8_t {
    auth,           ///< handshake or API call refused: bad or missing token (401)
    forbidden,      ///< 403: cross-site cookie, API without admin
    malformed,      ///< err 1: not JSON / MessagePack
    unknown_op,     ///< err 2
    bad_field,      ///< err 3
    bad_channel,    ///< err 4
    too_large,      ///< err 5
    not_allowed,    ///< err 6
    subscription,   ///< err 7, 8, 9: not/already subscribed, too many
    slow_consumer,  ///< disconnected: the send queue overflowed
    ws_protocol,    ///< the WebSocket layer closed with 1002/1007/1009
    count_
};

inline constexpr std::array<const char*, static_cast<std::size_t>(error_kind::count_)>
    error_kind_names = {"auth",         "forbidden",     "malformed",  "unknown_op",
                        "bad_field",    "bad_channel",   "too_large",  "not_allowed",
                        "subscription", "slow_consumer", "ws_protocol"};

struct alignas(64) worker_counters {
    using counter = std::atomic<std::uint64_t>;
    counter ws_open{0};  ///< gauges: current
    counter sse_open{0};
    counter subscriptions{0};
    counter ws_total{0};  ///< counters: since start
    counter sse_total{0};
    counter messages_in{0};  ///< frames from WebSocket clients, API publishes
    counter bytes_in{0};
    counter messages_out{0};  ///< deliveries and replies to clients
    counter bytes_out{0};
    counter publications{0};
    std::array<counter, static_cast<std::size_t>(error_kind::count_)> errors{};

    static void add(counter& c, std::uint64_t n = 1) noexcept {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    static void sub(counter& c, std::uint64_t n = 1) noexcept {
        c.store(c.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    }
    void error(error_kind k) noexcept { add(errors[static_cast<std::size_t>(k)]); }
};

/// Prometheus text exposition (version 0.0.4) of the summed counters plus
/// the process-wide figures passed in.
std::string render_metrics(const std::vector<const worker_counters*>& workers,
                           std::uint64_t channels, std::uint64_t connections_refused);

}  // namespace corvid::engine
