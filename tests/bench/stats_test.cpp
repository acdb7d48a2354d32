#include "bench/stats.hpp"

#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

// Expected Wilcoxon figures were computed once with an independent brute-force
// script (enumerating every sign assignment for the exact cases, and the
// textbook normal formula with tie and continuity corrections for n > 25);
// the first case is also the worked example of R's wilcox.test documentation
// (V = 40, two-sided p = 10/256).

namespace corvid::bench {
namespace {

TEST(BenchStats, PercentileInterpolatesLinearly) {
    const std::vector<double> v{4, 1, 3, 2};  // unsorted on purpose
    EXPECT_DOUBLE_EQ(median(v), 2.5);
    EXPECT_DOUBLE_EQ(percentile(v, 0.0), 1.0);
    EXPECT_DOUBLE_EQ(percentile(v, 1.0), 4.0);
    EXPECT_DOUBLE_EQ(percentile(v, 0.95), 3.85);  // h = 2.85
    EXPECT_DOUBLE_EQ(percentile(v, 0.05), 1.15);  // h = 0.15
    const std::vector<double> odd{7, 1, 5};
    EXPECT_DOUBLE_EQ(median(odd), 5.0);
    const std::vector<double> one{42};
    EXPECT_DOUBLE_EQ(percentile(one, 0.95), 42.0);
}

TEST(BenchStats, TailIsTheBadSide) {
    std::vector<double> v;
    for (int i = 1; i <= 101; ++i) {
        v.push_back(i);
    }
    EXPECT_DOUBLE_EQ(tail95(v, better::lower), 96.0);
    EXPECT_DOUBLE_EQ(tail95(v, better::higher), 6.0);
}

TEST(BenchStats, RejectsEmptyAndMismatchedInput) {
    const std::vector<double> none;
    const std::vector<double> two{1, 2};
    const std::vector<double> three{1, 2, 3};
    EXPECT_THROW((void)median(none), std::invalid_argument);
    EXPECT_THROW((void)percentile(two, 1.5), std::invalid_argument);
    EXPECT_THROW((void)wilcoxon_signed_rank(two, three), std::invalid_argument);
    EXPECT_THROW((void)compare(none, none, better::lower), std::invalid_argument);
}

TEST(BenchStats, WilcoxonExactMatchesTheTextbookExample) {
    const std::vector<double> x{1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30};
    const std::vector<double> y{0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29};
    const auto r = wilcoxon_signed_rank(x, y);
    EXPECT_TRUE(r.exact);
    EXPECT_EQ(r.n, 9u);
    EXPECT_DOUBLE_EQ(r.w_plus, 40.0);
    EXPECT_DOUBLE_EQ(r.w_minus, 5.0);
    EXPECT_DOUBLE_EQ(r.p_value, 0.0390625);
    // The test is symmetric in its two sides.
    const auto s = wilcoxon_signed_rank(y, x);
    EXPECT_DOUBLE_EQ(s.w_plus, 5.0);
    EXPECT_DOUBLE_EQ(s.p_value, r.p_value);
}

TEST(BenchStats, WilcoxonExactDropsZerosAndAveragesTiedRanks) {
    // Differences 1, 3, -1, 0, 3, -1, 3, 4, 1, 2, -2, 4: one zero, ties everywhere.
    const std::vector<double> a{5, 7, 7, 3, 9, 4, 6, 8, 2, 7, 5, 6};
    const std::vector<double> b{4, 4, 8, 3, 6, 5, 3, 4, 1, 5, 7, 2};
    const auto r = wilcoxon_signed_rank(a, b);
    EXPECT_TRUE(r.exact);
    EXPECT_EQ(r.n, 11u);
    EXPECT_DOUBLE_EQ(r.w_plus, 55.5);
    EXPECT_DOUBLE_EQ(r.w_minus, 10.5);
    EXPECT_DOUBLE_EQ(r.p_value, 0.0537109375);
}

TEST(BenchStats, WilcoxonNormalApproximationAbove25Pairs) {
    std::vector<double> a;
    std::vector<double> b;
    for (int i = 0; i < 40; ++i) {
        a.push_back(20 + i);
        b.push_back(20 + i - (i % 4 != 0 ? 1 : -1) * (1 + i % 3));
    }
    const auto r = wilcoxon_signed_rank(a, b);
    EXPECT_FALSE(r.exact);
    EXPECT_EQ(r.n, 40u);
    EXPECT_DOUBLE_EQ(r.w_plus, 625.0);
    EXPECT_NEAR(r.p_value, 0.0034727676530763056, 1e-12);

    // n = 26 after dropping four zeros, weak effect.
    std::vector<double> c;
    std::vector<double> d;
    for (int i = 0; i < 30; ++i) {
        c.push_back(100 + (i * 7) % 11);
        d.push_back(100 + (i * 5) % 13 - 1);
    }
    const auto s = wilcoxon_signed_rank(c, d);
    EXPECT_FALSE(s.exact);
    EXPECT_EQ(s.n, 26u);
    EXPECT_DOUBLE_EQ(s.w_plus, 193.5);
    EXPECT_NEAR(s.p_value, 0.6554695715121415, 1e-12);
}

TEST(BenchStats, WilcoxonAllEqualIsNoEvidence) {
    const std::vector<double> a{3, 3, 3};
    const auto r = wilcoxon_signed_rank(a, a);
    EXPECT_EQ(r.n, 0u);
    EXPECT_DOUBLE_EQ(r.p_value, 1.0);
}

TEST(BenchStats, WilcoxonExactAtTheBoundary) {
    // 25 pairs all positive with distinct ranks: p = 2 / 2^25.
    std::vector<double> a;
    std::vector<double> b;
    for (int i = 1; i <= 25; ++i) {
        a.push_back(1000 + 2 * i);
        b.push_back(1000 + i);
    }
    const auto r = wilcoxon_signed_rank(a, b);
    EXPECT_TRUE(r.exact);
    EXPECT_DOUBLE_EQ(r.p_value, 2.0 / 33554432.0);
}

TEST(BenchStats, PairedDeltaIsRelativeToTheBaseline) {
    const std::vector<double> a{90, 110, 95};
    const std::vector<double> b{100, 100, 100};
    EXPECT_DOUBLE_EQ(median_paired_delta_percent(a, b), -5.0);
}

// 30 pairs where a is `ratio` times b, with a little deterministic noise.
void make_pairs(double ratio, std::vector<double>& a, std::vector<double>& b) {
    for (int i = 0; i < 30; ++i) {
        const double base = 1000 + (i * 37) % 50;
        b.push_back(base);
        a.push_back(base * ratio + (i % 3));
    }
}

TEST(BenchStats, LowerIsBetterWinAndLoss) {
    std::vector<double> a;
    std::vector<double> b;
    make_pairs(0.85, a, b);  // a takes 15% less time
    const auto c = compare(a, b, better::lower);
    EXPECT_LT(c.delta_percent, -14.0);
    EXPECT_GT(c.a_improvement_percent, 14.0);
    EXPECT_LT(c.test.p_value, 0.01);
    EXPECT_EQ(c.outcome, verdict::win);
    const auto reversed = compare(b, a, better::lower);
    EXPECT_EQ(reversed.outcome, verdict::loss);
    EXPECT_GT(reversed.delta_percent, 14.0);
}

TEST(BenchStats, HigherIsBetterFlipsTheSign) {
    std::vector<double> a;
    std::vector<double> b;
    make_pairs(1.20, a, b);  // a moves 20% more bytes per second
    const auto c = compare(a, b, better::higher);
    EXPECT_GT(c.delta_percent, 19.0);
    EXPECT_DOUBLE_EQ(c.a_improvement_percent, c.delta_percent);
    EXPECT_EQ(c.outcome, verdict::win);
    EXPECT_EQ(compare(a, b, better::lower).outcome, verdict::loss);
}

TEST(BenchStats, SmallDifferencesAreParity) {
    std::vector<double> a;
    std::vector<double> b;
    make_pairs(0.98, a, b);  // significant, but only 2%
    const auto c = compare(a, b, better::lower);
    EXPECT_LT(c.test.p_value, 0.01);
    EXPECT_EQ(c.outcome, verdict::parity);
}

TEST(BenchStats, FewPairsAreNotSignificant) {
    const std::vector<double> a{50, 60, 55};
    const std::vector<double> b{100, 100, 100};
    const auto c = compare(a, b, better::lower);
    EXPECT_DOUBLE_EQ(c.test.p_value, 0.25);  // 2 / 2^3: the best three pairs can do
    EXPECT_EQ(c.outcome, verdict::parity);
}

TEST(BenchStats, AWorseTailBlocksAWin) {
    std::vector<double> a;
    std::vector<double> b;
    make_pairs(0.85, a, b);
    // Two of thirty samples of a become very slow: the median still improves
    // by 15% but a's p95 is now far worse than b's.
    a[3] = 5000;
    a[17] = 5000;
    const auto c = compare(a, b, better::lower);
    EXPECT_GT(c.a_improvement_percent, 5.0);
    EXPECT_LT(c.test.p_value, 0.01);
    EXPECT_GT(c.a_tail, c.b_tail * 1.05);
    EXPECT_EQ(c.outcome, verdict::parity);
}

TEST(BenchStats, VerdictNames) {
    EXPECT_EQ(to_string(verdict::win), "win");
    EXPECT_EQ(to_string(verdict::parity), "parity");
    EXPECT_EQ(to_string(verdict::loss), "loss");
}

}  // namespace
}  // namespace corvid::bench
