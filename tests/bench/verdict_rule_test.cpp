#include <vector>

#include <gtest/gtest.h>

#include "bench/stats.hpp"

// A verdict rule with a goal above BENCH.md's 5% (the h2 workload's 10%):
// a win needs the goal, a loss still only BENCH.md's 5%.

namespace corvid::bench {
namespace {

// Thirty pairs where a's value is b's times `ratio`, with a little jitter so
// that the Wilcoxon test has distinct ranks.
void pairs(double ratio, std::vector<double>& a, std::vector<double>& b) {
    for (int i = 0; i < 30; ++i) {
        const double base = 1000 + (i * 37) % 50;
        b.push_back(base);
        a.push_back(base * ratio + (i % 3));
    }
}

verdict_rule goal_rule() {
    verdict_rule r;
    r.min_improvement_percent = 10.0;
    r.min_loss_percent = 5.0;
    return r;
}

TEST(VerdictRule, DefaultsAreBenchMds) {
    const verdict_rule r;
    EXPECT_EQ(r.min_improvement_percent, 5.0);
    EXPECT_EQ(r.min_loss_percent, 5.0);
    EXPECT_EQ(r.max_p_value, 0.01);
    EXPECT_EQ(r.max_tail_regression_percent, 5.0);
}

TEST(VerdictRule, AnImprovementBelowTheGoalIsNoWin) {
    std::vector<double> a;
    std::vector<double> b;
    pairs(0.93, a, b);  // a takes 7% less time: a win by BENCH.md, short of 10%
    EXPECT_EQ(compare(a, b, better::lower).outcome, verdict::win);
    const auto c = compare(a, b, better::lower, goal_rule());
    EXPECT_LT(c.test.p_value, 0.01);
    EXPECT_EQ(c.outcome, verdict::parity);
}

TEST(VerdictRule, MeetingTheGoalIsAWin) {
    std::vector<double> a;
    std::vector<double> b;
    pairs(0.88, a, b);
    EXPECT_EQ(compare(a, b, better::lower, goal_rule()).outcome, verdict::win);
    std::vector<double> fa;
    std::vector<double> fb;
    pairs(1.12, fa, fb);  // 12% more throughput
    EXPECT_EQ(compare(fa, fb, better::higher, goal_rule()).outcome, verdict::win);
}

TEST(VerdictRule, ALossNeedsOnlyTheLossThreshold) {
    std::vector<double> a;
    std::vector<double> b;
    pairs(1.07, a, b);  // a takes 7% more time
    const auto c = compare(a, b, better::lower, goal_rule());
    EXPECT_EQ(c.outcome, verdict::loss);
    // A symmetric 10% rule would have called the same pairs parity.
    verdict_rule symmetric = goal_rule();
    symmetric.min_loss_percent = 10.0;
    EXPECT_EQ(compare(a, b, better::lower, symmetric).outcome, verdict::parity);
}

}  // namespace
}  // namespace corvid::bench
