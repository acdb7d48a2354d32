#pragma once

// Statistics for corvid's paired, interleaved benchmarks (see
// shared/BENCH.md and docs/benchmarks/README.md).
//
// Everything here is a pure function of its inputs: no clocks, no I/O, no
// global state, so it is unit-tested in corvid_tests (tests/bench/) even when
// the benchmark binaries are not built.
//
// Conventions used throughout:
//  - "a" is the candidate (corvid), "b" the baseline peer (libcurl, ...).
//    Samples are paired: a[i] and b[i] were taken back to back.
//  - Percentiles use linear interpolation between closest ranks (Hyndman &
//    Fan type 7, the default of numpy and R): with the values sorted and
//    h = (n - 1) * q, the result is x[floor h] + (h - floor h) * (x[floor h + 1]
//    - x[floor h]). The median is the 0.5 percentile.
//  - The "tail" of a metric is its 95th percentile on the bad side: the p95
//    for a lower-is-better metric (TTFB), the p5 for a higher-is-better one
//    (throughput): in both cases the value that 95% of samples beat.
//
// @par Errors
// Functions taking samples throw std::invalid_argument on empty input or on
// paired spans of different lengths: a benchmark with no data is a bug in the
// harness, not a figure to report.

#include <cstddef>
#include <span>
#include <string_view>

namespace corvid::bench {

/// Which direction of a metric is better.
enum class better { lower, higher };

/// The q-quantile (0 <= q <= 1) by linear interpolation (type 7).
double percentile(std::span<const double> values, double q);
/// percentile(values, 0.5).
double median(std::span<const double> values);
/// The 95th percentile on the bad side: p95 for better::lower, p5 for
/// better::higher.
double tail95(std::span<const double> values, better direction);

/// Outcome of a two-sided Wilcoxon signed-rank test on paired samples.
struct wilcoxon_result {
    std::size_t n = 0;   ///< pairs used (pairs with a zero difference are dropped)
    double w_plus = 0;   ///< sum of the ranks of positive differences a - b
    double w_minus = 0;  ///< sum of the ranks of negative differences a - b
    double p_value = 1;  ///< two-sided; 1 when n == 0
    bool exact = false;  ///< exact distribution (n <= 25) or normal approximation
};

/// Largest n for which the exact null distribution is used.
inline constexpr std::size_t wilcoxon_exact_max_n = 25;

/// Two-sided Wilcoxon signed-rank test of the differences a[i] - b[i].
///
/// Zero differences are dropped (Wilcoxon's original treatment); tied
/// absolute differences get the average of the ranks they span. For
/// n <= 25 the p-value comes from the exact null distribution of W+ given
/// those (possibly averaged) ranks, by enumerating all 2^n sign assignments
/// with a dynamic program; the two-sided p-value is twice the smaller tail,
/// capped at 1. For n > 25 it uses the normal approximation with the tie
/// correction to the variance, n(n+1)(2n+1)/24 - sum(t^3 - t)/48, and a
/// continuity correction of 0.5.
wilcoxon_result wilcoxon_signed_rank(std::span<const double> a, std::span<const double> b);

/// Median over pairs of (a[i] - b[i]) / b[i], in percent. Positive means a's
/// values are larger: slower for TTFB, faster for throughput.
double median_paired_delta_percent(std::span<const double> a, std::span<const double> b);

/// BENCH.md's verdict for a against b.
enum class verdict {
    win,     ///< a wins: median improves by >= 5%, p < 0.01, tail not worse by > 5%
    parity,  ///< neither side wins
    loss,    ///< b wins by the same rule with the roles swapped (its threshold: min_loss_percent)
};
std::string_view to_string(verdict v) noexcept;

/// Thresholds of the verdict; the defaults are BENCH.md's.
///
/// A win and a loss may need different improvements: a workload with a goal
/// above BENCH.md's 5% (issue 3's HTTP/2 client: 10%) raises
/// min_improvement_percent and keeps min_loss_percent at 5, so a win means
/// the goal is met while a 5% deficit is still reported as a loss rather
/// than hidden as parity.
struct verdict_rule {
    double min_improvement_percent = 5.0;  ///< a's median paired improvement for a win
    double max_p_value = 0.01;             ///< strictly below this
    double max_tail_regression_percent = 5.0;
    double min_loss_percent = 5.0;  ///< b's median paired improvement for a loss
};

/// Every figure the reports show for one metric of one case.
struct comparison {
    better direction = better::lower;
    double a_median = 0;
    double a_tail = 0;  ///< tail95(a, direction)
    double b_median = 0;
    double b_tail = 0;
    /// median_paired_delta_percent(a, b): the raw signed change.
    double delta_percent = 0;
    /// The same change signed so that positive means a is better: the median
    /// over pairs of a's improvement relative to b.
    double a_improvement_percent = 0;
    /// The median over pairs of b's improvement relative to a (used for the
    /// loss rule, so that win and loss are symmetric).
    double b_improvement_percent = 0;
    wilcoxon_result test;
    verdict outcome = verdict::parity;
};

/// Computes a comparison of paired samples a (candidate) and b (baseline).
comparison compare(std::span<const double> a, std::span<const double> b, better direction,
                   const verdict_rule& rule = {});

}  // namespace corvid::bench
