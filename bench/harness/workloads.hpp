#pragma once

// corvid-bench's workloads. Each one starts its fixture and peers, runs the
// paired cases and writes its artifacts.

#include <string>
#include <vector>

#include "bench/harness/paired.hpp"

namespace corvid::bench {

enum class placement {
    split,  ///< both peers on the last CPU, nginx's worker on CPU 0

    none,  ///< left to the scheduler
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
    /// A/A check: both sides run corvid's peer, which validates the fixture,
    /// the placement and the statistics (every verdict should be parity).
    bool self_check = false;
    std::vector<std::string> only_cases;  ///< empty: every case
    std::string json_path;                ///< empty: the workload's default
    std::string markdown_path;            ///< empty: the workload's default
};

/// corvid's HTTP/1.1 client vs libcurl: GET of 1 KiB and 64 MiB over plain
/// HTTP and HTTPS from a local nginx. Returns the process exit status.
int run_http1_get(const workload_options& options);

}  // namespace corvid::bench
