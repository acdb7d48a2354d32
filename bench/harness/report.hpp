#pragma once

// The artifacts of one workload run: a JSON file with every raw sample, the
// environment and the statistics, and a Markdown summary table showing, for
// each case and metric, the median repetition and the weakest one (the
// repetition least favourable to corvid).

#include <string>
#include <utility>
#include <vector>

#include "bench/harness/environment.hpp"
#include "bench/harness/paired.hpp"
#include "bench/stats.hpp"

namespace corvid::bench {

struct workload_report {
    std::string workload;            ///< "http1-get"
    std::string title;               ///< "corvid vs libcurl: HTTP/1.1 GET on loopback"
    std::string fixture;             ///< what served the requests
    std::vector<std::string> notes;  ///< method details worth printing
    environment env;
    run_settings settings;
    bool quick = false;
    std::vector<std::string> cases;  ///< in report order
    /// Each case's peer command lines (ports and paths are per run).
    std::vector<std::pair<std::string, std::vector<std::string>>> commands;
    std::vector<case_run> runs;
    std::vector<metric> metrics;
    /// Cases whose metrics differ from `metrics` (uploads, concurrent
    /// batches); see metrics_for().
    std::vector<std::pair<std::string, std::vector<metric>>> case_metrics;
    /// The verdict rule of this workload (BENCH.md's unless the workload has
    /// a goal of its own); shown in the table when it is not the default.
    verdict_rule rule;
    /// Ceilings: what a load generator (h2load) reaches against the same
    /// fixture, shown beside the paired figures of that case and metric.
    struct ceiling {
        std::string case_name;
        int repetition = 0;  ///< 1-based, the repetition it ran after
        std::string metric;  ///< metric name, e.g. "requests_per_second"
        std::string tool;    ///< "h2load"
        double value = 0;
        std::vector<std::string> argv;
        std::string output;  ///< the tool's summary lines, for the record
    };
    std::vector<ceiling> ceilings;

    /// The metrics reported for `case_name`.
    const std::vector<metric>& metrics_for(const std::string& case_name) const;
    /// Every metric of any case, each name once, in first-seen order.
    std::vector<metric> all_metrics() const;
    /// The ceiling measured after run `run`, if any.
    const ceiling* ceiling_for(const case_run& run, const std::string& metric_name) const;
};

/// The statistics of one metric of one case in one repetition.
comparison compare_run(const case_run& run, const metric& m, const verdict_rule& rule = {});

/// The report restricted to the runs against one baseline (`b_name`), so
/// that markdown()'s columns name it; the commands are left out.
workload_report only_baseline(const workload_report& full, const std::string& baseline);

/// One line of progress for the person running the benchmark: for each of
/// the run's metrics, " NAME A vs B (DELTA%, p=P, VERDICT)".
std::string progress_summary(const workload_report& report, const case_run& run);

/// For one case and metric across repetitions: the repetition whose corvid
/// improvement is the median (the lower middle for an even count) and the
/// one where it is lowest. Indices into report.runs.
struct repetition_pick {
    std::size_t median_run = 0;
    std::size_t weakest_run = 0;
    int wins = 0;
    int parities = 0;
    int losses = 0;
};
repetition_pick pick_repetitions(const workload_report& report, const std::string& case_name,
                                 const metric& m);

/// Writes the JSON artifact; throws std::runtime_error when it cannot.
void write_json_file(const workload_report& report, const std::string& path);
/// The Markdown summary.
std::string markdown(const workload_report& report);

}  // namespace corvid::bench
