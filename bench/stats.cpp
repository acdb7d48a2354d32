#include "bench/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace corvid::bench {

namespace {

void require_samples(std::span<const double> values) {
    if (values.empty()) {
        throw std::invalid_argument("corvid::bench: statistic of an empty sample");
    }
}

void require_pairs(std::span<const double> a, std::span<const double> b) {
    require_samples(a);
    if (a.size() != b.size()) {
        throw std::invalid_argument("corvid::bench: paired samples of different lengths");
    }
}

double sorted_percentile(const std::vector<double>& sorted, double q) {
    const double h = static_cast<double>(sorted.size() - 1) * q;
    const auto lo = static_cast<std::size_t>(std::floor(h));
    const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

// Median of per-pair relative changes, where change(x, y) is chosen by the caller.
template <typename Change>
double median_of_pairs(std::span<const double> a, std::span<const double> b, Change change) {
    require_pairs(a, b);
    std::vector<double> d(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        d[i] = change(a[i], b[i]);
    }
    return median(d);
}

// Improvement of x over y in percent, positive when x is better.
double improvement_percent(double x, double y, better direction) {
    return direction == better::lower ? (y - x) / y * 100.0 : (x - y) / y * 100.0;
}

// "x's tail is not worse than y's by more than limit percent".
bool tail_within(double x_tail, double y_tail, better direction, double limit_percent) {
    const double slack = limit_percent / 100.0;
    return direction == better::lower ? x_tail <= y_tail * (1.0 + slack)
                                      : x_tail >= y_tail * (1.0 - slack);
}

}  // namespace

double percentile(std::span<const double> values, double q) {
    require_samples(values);
    if (!(q >= 0.0 && q <= 1.0)) {
        throw std::invalid_argument("corvid::bench: percentile outside [0, 1]");
    }
    std::vector<double> sorted(values.begin(), values.end());
    std::sort(sorted.begin(), sorted.end());
    return sorted_percentile(sorted, q);
}

double median(std::span<const double> values) {
    return percentile(values, 0.5);
}

double tail95(std::span<const double> values, better direction) {
    return percentile(values, direction == better::lower ? 0.95 : 0.05);
}

wilcoxon_result wilcoxon_signed_rank(std::span<const double> a, std::span<const double> b) {
    require_pairs(a, b);
    std::vector<double> d;
    d.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] != b[i]) {
            d.push_back(a[i] - b[i]);
        }
    }
    wilcoxon_result r;
    r.n = d.size();
    if (d.empty()) {
        r.exact = true;
        return r;
    }

    // Rank |d| ascending; ties share the average of the ranks they span.
    // Ranks are stored doubled so that averages stay integers (the exact
    // distribution below counts integer sums).
    const std::size_t n = d.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t x, std::size_t y) { return std::fabs(d[x]) < std::fabs(d[y]); });
    std::vector<long> rank2(n);  // 2 * rank
    double tie_term = 0;         // sum over tie groups of t^3 - t
    for (std::size_t i = 0; i < n;) {
        std::size_t j = i + 1;
        while (j < n && std::fabs(d[order[j]]) == std::fabs(d[order[i]])) {
            ++j;
        }
        // Ranks i+1 .. j (1-based); their average doubled is i + 1 + j.
        const long avg2 = static_cast<long>(i + 1 + j);
        for (std::size_t k = i; k < j; ++k) {
            rank2[order[k]] = avg2;
        }
        const double t = static_cast<double>(j - i);
        tie_term += t * t * t - t;
        i = j;
    }
    long w_plus2 = 0;
    long total2 = 0;
    for (std::size_t i = 0; i < n; ++i) {
        total2 += rank2[i];
        if (d[i] > 0) {
            w_plus2 += rank2[i];
        }
    }
    r.w_plus = static_cast<double>(w_plus2) / 2.0;
    r.w_minus = static_cast<double>(total2 - w_plus2) / 2.0;

    if (n <= wilcoxon_exact_max_n) {
        // Under H0 each rank is positive or negative with probability 1/2
        // independently: count the sign assignments giving each doubled sum.
        r.exact = true;
        std::vector<double> ways(static_cast<std::size_t>(total2) + 1, 0.0);
        ways[0] = 1;
        long reach = 0;
        for (std::size_t i = 0; i < n; ++i) {
            for (long s = reach; s >= 0; --s) {
                if (ways[static_cast<std::size_t>(s)] != 0) {
                    ways[static_cast<std::size_t>(s + rank2[i])] +=
                        ways[static_cast<std::size_t>(s)];
                }
            }
            reach += rank2[i];
        }
        const double all = std::ldexp(1.0, static_cast<int>(n));
        double lower = 0;  // P(W+ <= observed)
        double upper = 0;  // P(W+ >= observed)
        for (long s = 0; s <= total2; ++s) {
            const double w = ways[static_cast<std::size_t>(s)];
            if (s <= w_plus2) {
                lower += w;
            }
            if (s >= w_plus2) {
                upper += w;
            }
        }
        r.p_value = std::min(1.0, 2.0 * std::min(lower, upper) / all);
        return r;
    }

    const double nd = static_cast<double>(n);
    const double mean = nd * (nd + 1.0) / 4.0;
    const double var = nd * (nd + 1.0) * (2.0 * nd + 1.0) / 24.0 - tie_term / 48.0;
    const double dev = std::max(0.0, std::fabs(r.w_plus - mean) - 0.5);
    const double z = var > 0 ? dev / std::sqrt(var) : 0.0;
    r.p_value = std::min(1.0, std::erfc(z / std::sqrt(2.0)));
    return r;
}

double median_paired_delta_percent(std::span<const double> a, std::span<const double> b) {
    return median_of_pairs(a, b, [](double x, double y) { return (x - y) / y * 100.0; });
}

std::string_view to_string(verdict v) noexcept {
    switch (v) {
        case verdict::win:
            return "win";
        case verdict::parity:
            return "parity";
        case verdict::loss:
            return "loss";
    }
    return "?";
}

comparison compare(std::span<const double> a, std::span<const double> b, better direction,
                   const verdict_rule& rule) {
    require_pairs(a, b);
    comparison c;
    c.direction = direction;
    c.a_median = median(a);
    c.a_tail = tail95(a, direction);
    c.b_median = median(b);
    c.b_tail = tail95(b, direction);
    c.delta_percent = median_paired_delta_percent(a, b);
    c.a_improvement_percent = median_of_pairs(
        a, b, [&](double x, double y) { return improvement_percent(x, y, direction); });
    c.b_improvement_percent = median_of_pairs(
        b, a, [&](double x, double y) { return improvement_percent(x, y, direction); });
    c.test = wilcoxon_signed_rank(a, b);

    const bool significant = c.test.p_value < rule.max_p_value;
    const bool a_wins =
        significant && c.a_improvement_percent >= rule.min_improvement_percent &&
        tail_within(c.a_tail, c.b_tail, direction, rule.max_tail_regression_percent);
    const bool b_wins =
        significant && c.b_improvement_percent >= rule.min_loss_percent &&
        tail_within(c.b_tail, c.a_tail, direction, rule.max_tail_regression_percent);
    // Both cannot hold at once with positive thresholds (the medians of the
    // two improvements have opposite signs), but be explicit.
    c.outcome =
        a_wins && !b_wins ? verdict::win : (b_wins && !a_wins ? verdict::loss : verdict::parity);
    return c;
}

}  // namespace corvid::bench
