#pragma once

// What a benchmark result was measured on: recorded in every JSON artifact so
// a figure can be traced to a commit, a compiler and a machine.

#include <string>
#include <utility>
#include <vector>

#include "bench/harness/json_writer.hpp"

namespace corvid::bench {

struct environment {
    std::string commit;      ///< git rev-parse HEAD of the source tree
    bool dirty = false;      ///< uncommitted changes to the sources the binaries are built from
    std::string compiler;    ///< CMAKE_CXX_COMPILER_ID and version, baked in
    std::string build_type;  ///< CMAKE_BUILD_TYPE
    std::string cxx_flags;   ///< CMAKE_CXX_FLAGS and the build type's flags
    std::string kernel;      ///< uname -srvm
    std::string cpu_model;   ///< /proc/cpuinfo "model name"
    long cores = 0;          ///< online CPUs
    std::string date_utc;    ///< ISO 8601, when the run started
    std::string pinning;     ///< how processes were placed on CPUs (set by the workload)
    /// /proc/loadavg before and after the run: other work on a shared
    /// machine shows up here.
    std::string load_start;
    std::string load_end;
    /// Debian package versions of every peer's code (dpkg-query).
    std::vector<std::pair<std::string, std::string>> packages;
    /// Self-reported versions: "corvid", "curl" (curl_version()), "nginx".
    std::vector<std::pair<std::string, std::string>> versions;
};

/// Collects everything but `versions`, `pinning` and `load_end` (which the
/// workload fills in).
environment collect_environment();

/// The first three fields of /proc/loadavg ("1.02 0.51 0.20").
std::string read_loadavg();

void write_json(json_writer& w, const environment& env);

}  // namespace corvid::bench
