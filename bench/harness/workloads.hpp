#pragma once

// corvid-bench's workloads. Each one starts its fixture and peers, runs the
// paired cases and writes its artifacts.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/harness/paired.hpp"

namespace corvid::bench {

enum class placement {
    split,  ///< both peers on the last CPU, nginx's worker on CPU 0

    none,  ///< left to the scheduler
    /// ws-echo only (its default): both peers and the echo server on the
    /// last CPU. A ping-pong is sequential, and across CPUs of this machine's
    /// VM every message paid a cross-CPU wake-up ten times the work itself
    /// (docs/benchmarks/ws_echo.md).
    same,
};

struct workload_options {
    run_settings settings;
    bool quick = false;
    /// Every sample opens a new connection.
    bool fresh_connection = false;
    /// Where the peers and nginx's worker run. Pinned by default: unpinned,
    /// A/A runs (one client against itself) showed "significant" differences
    /// of up to 90% from where the scheduler happened to place each process,
    /// and so did pinning everything to one CPU; split placement gave none
    /// (docs/benchmarks/README.md).
    placement pin = placement::split;
    bool pin_given = false;  ///< --pin was given (ws-echo defaults to `same`)
    /// A/A check: both sides run the same peer (`self_check_peer`), which
    /// validates the fixture, the placement and the statistics (every
    /// verdict should be parity).
    bool self_check = false;
    /// The peer both sides run in an A/A check: "corvid" or "curl" (curl
    /// proves a workload before corvid can run it, e.g. h2 before corvid's
    /// HTTP/2 client).
    std::string self_check_peer = "corvid";
    /// corvid's median paired improvement a win needs, in percent; empty:
    /// the workload's own (BENCH.md's 5%, or its issue's goal: 10% for h2).
    std::optional<double> goal_percent;
    /// --samples / --warmup were given (a workload with defaults of its own,
    /// ws-echo, keeps them only when they were not).
    bool samples_given = false;
    bool warmup_given = false;
    /// ws-echo: round trips per sample (--messages); empty: its default.
    std::optional<std::uint64_t> messages_per_sample;
    std::vector<std::string> only_cases;  ///< empty: every case
    /// engine workloads: the servers to run (--server, repeatable; empty:
    /// every one built: corvid, websocketpp, node).
    std::vector<std::string> servers;
    /// engine workloads: load generator threads (--generator-threads);
    /// empty: one per CPU not given to the servers.
    std::optional<int> generator_threads;
    /// tokens: the paced cases' token count (--tokens) and pacing
    /// (--token-interval-ms); empty: 100 tokens (--quick 30), 35 ms apart.
    std::optional<std::uint64_t> tokens;
    std::optional<std::uint64_t> token_interval_ms;
    std::string json_path;      ///< empty: the workload's default
    std::string markdown_path;  ///< empty: the workload's default
};

/// corvid's HTTP/1.1 client vs libcurl over plain HTTP and HTTPS against a
/// local nginx: GET of 1 KiB and 64 MiB (response-body streaming) and POST of
/// 1 MiB handed over in 1 KiB pieces (request-body streaming). The workload
/// `http1` (alias `http1-get`), artifacts docs/benchmarks/http1.{json,md}.
/// Returns the process exit status.
int run_http1(const workload_options& options);

/// corvid's HTTP/2 client vs libcurl over TLS (ALPN h2) against a local
/// nghttpd: response-body streaming (64 MiB in DATA frames of up to 16 KiB),
/// request-body streaming (1 MiB uploaded in 1 KiB pieces) and 100
/// concurrent requests on one connection, with h2load's rate on the same
/// server as the ceiling. Issue 3's goal (10%) is the verdict rule. Returns
/// the process exit status.
int run_h2(const workload_options& options);

/// corvid with a browser profile (--impersonate chrome) against corvid with
/// none, the same peer executable, over TLS (ALPN h2) against a local
/// nghttpd: GET of 1 KiB on a kept-alive connection and on a new connection
/// per sample; TTFB and client CPU, BENCH.md's verdict rule. Issue 4's
/// question is "not slower": parity or a win for the profile. Returns the
/// process exit status.
int run_profiles(const workload_options& options);

/// corvid's WebSocket client vs Boost.Beast's and websocketpp's: echo
/// ping-pong of 64 B, 1 KiB and 64 KiB binary messages on one connection,
/// against corvid's echo server (corvid-fixture /ws) and node's ws; messages
/// per second and client CPU per message. Issue 5's goal (10% more messages
/// per second than the best of them) is the verdict rule. Returns the
/// process exit status.
int run_ws_echo(const workload_options& options);

/// Issue 6's engine benchmarks: corvid-server against node's ws and
/// websocketpp servers implementing the same minimal broadcast
/// (bench/peers/engine_*), driven by corvid-bench's own load generator:
/// connect-to-ready latency with a JWT, 1-to-1,000 broadcast deliveries per
/// second, and 100 publishers on 100 channels of 10 subscribers. `which`:
/// "engine" (all three, docs/benchmarks/engine.{json,md}), "engine-connect",
/// "engine-broadcast" or "engine-fanin". Returns the process exit status.
int run_engine(const workload_options& options, const std::string& which);

/// Issue 7's LLM-style token streaming: corvid's event_source vs libcurl
/// (server-sent events over HTTP/1.1 and HTTP/2) and corvid's WebSocket
/// client vs Boost.Beast (wss://), against corvid-fixture's /tokens/sse and
/// /tokens/ws, paced (35 ms apart) and in a burst (no pacing): time to
/// first token, chars/s after it, client CPU per token; BENCH.md's verdict
/// rule. Artifacts docs/benchmarks/tokens.{json,md}. Returns the process
/// exit status.
int run_tokens(const workload_options& options);

}  // namespace corvid::bench
