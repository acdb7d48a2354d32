#pragma once

// What every workload does once its runs are done: pick the output paths and
// write the JSON artifact and the Markdown summary.

#include <string>
#include <string_view>

#include "bench/harness/report.hpp"
#include "bench/harness/workloads.hpp"

namespace corvid::bench {

/// The default artifact path of `workload` with extension `ext`: the
/// published docs/benchmarks/WORKLOAD.EXT for a full run; quick runs and A/A
/// checks go to the build directory (bench-results/WORKLOAD.quick.EXT,
/// .aa.EXT) so they never replace the published figures.
std::string default_output_path(const workload_options& o, std::string_view workload,
                                const char* ext);

/// Records the load average at the end, writes the JSON artifact and the
/// Markdown summary (--json/--markdown, else the default paths), prints the
/// summary on stdout and the paths on stderr. Returns the exit status (0).
int publish(workload_report& report, const workload_options& o, std::string_view workload);

}  // namespace corvid::bench
