#pragma once

// corvid-bench's engine load generator: many WebSocket connections per
// thread, driven without blocking (one epoll loop per generator thread), in
// the minimal subset of the engine protocol v1 (shared/DESIGN.md) that
// corvid-server and the peer servers (bench/peers/engine_*) all speak:
//
//   GET /ws?token=JWT (HTTP/1.1 upgrade, plain ws:// on loopback)
//   <- {"op":"ready",...}
//   -> {"op":"sub","ch":C}             <- {"op":"subok",...,"offset":N}
//   -> {"op":"pub","ch":C,"data":D}    every subscriber <- {"op":"msg","ch":C,"offset":N,...}
//
// The WebSocket framing is a lean one of its own (the same bytes for every
// server): client frames are single masked text frames, server frames are
// parsed in place from a per-thread read buffer; pings are answered, a
// fragmented or compressed frame, a close or an `err` fails the run. Each
// `msg` is checked: the expected channel order (offset = the previous one +
// 1, starting after subok's offset) and the publish time stamped into its
// data, from which the delivery latency is taken.
//
// The harness is an application, not a library layer: failures throw
// std::runtime_error with a message for the person running the benchmark.
// Threading: a load_generator is used from one thread; it runs its own
// generator threads inside setup() and run() and joins them before
// returning.

#include <sys/types.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace corvid::bench::engine {

/// An HS256 JWT signed with `secret` (BoringSSL's HMAC-SHA256): header
/// {"alg":"HS256","typ":"JWT"}, claims sub "corvid-bench", iat now, exp now +
/// 1 hour, channels and publish ["**"] (corvid-server's permission claims:
/// every channel).
std::string make_jwt(std::string_view secret);

/// A server under load.
struct target {
    std::string name;
    std::uint16_t port = 0;
    std::string path = "/ws";
};

/// One connect-to-ready measurement on a blocking socket: from just before
/// connect() to the moment the whole `ready` frame has been read, in
/// nanoseconds. The connection then sends a close frame and is closed.
/// Throws when the upgrade is refused, the first frame is not `ready` or
/// nothing arrives within 10 s.
std::int64_t connect_to_ready(const target& t, const std::string& token);

/// How many connections, on how many channels.
struct topology_plan {
    std::size_t channels = 1;
    std::size_t subscribers_per_channel = 1000;
    /// One publisher per channel (it does not subscribe).
    bool publisher_per_channel = true;
};

/// One measured burst: every publisher sends `pubs_per_publisher`
/// publications with at most `window` of its own in flight (published and
/// not yet delivered to every subscriber of its channel), and the sample
/// ends when every subscriber has received all of them.
struct burst_result {
    std::int64_t wall_ns = 0;  ///< first publish sent to last delivery read
    std::uint64_t publications = 0;
    std::uint64_t deliveries = 0;
    std::int64_t generator_cpu_ns = 0;  ///< all generator threads
    int generator_threads = 0;
    double latency_p50_us = 0;  ///< publish (sent) to delivery (read)
    double latency_p99_us = 0;
};

class load_generator {
  public:
    /// `cpus`: one generator thread per entry, pinned to that CPU (negative:
    /// not pinned).
    explicit load_generator(std::vector<int> cpus);
    ~load_generator();
    load_generator(const load_generator&) = delete;
    load_generator& operator=(const load_generator&) = delete;

    /// Opens every connection of `plan` to `t` (spread over the generator
    /// threads, at most `max_in_flight` handshakes in flight per thread),
    /// waits for each `ready`, subscribes the subscribers and waits for
    /// every `subok`.
    void setup(const target& t, const topology_plan& plan, const std::string& token,
               std::size_t max_in_flight = 64);

    /// For every connection of the last setup(): microseconds from the start
    /// of its connect() to its whole `ready` frame read.
    std::vector<double> setup_latencies_us() const;

    /// One burst on the connections of setup(). `data_bytes`: the size of
    /// each publication's data (a JSON object carrying the send time and
    /// padding).
    burst_result run(std::uint64_t pubs_per_publisher, std::uint64_t window,
                     std::size_t data_bytes);

    /// Closes every connection.
    void teardown();

    std::size_t connections() const;

    struct shard;

  private:
    std::vector<int> cpus_;
    std::vector<std::unique_ptr<shard>> shards_;
    topology_plan plan_;
    target target_;
    /// Per channel: deliveries read since setup (every subscriber's).
    std::unique_ptr<std::atomic<std::uint64_t>[]> delivered_;
};

/// Nanoseconds the process `pid` (every thread of it) has run on a CPU,
/// from /proc/PID/task/*/schedstat; -1 if unreadable.
std::int64_t process_cpu_ns(pid_t pid);

}  // namespace corvid::bench::engine
