#include "apps/corvid/progress.hpp"

#include <gtest/gtest.h>

namespace corvid::cli {
namespace {

using namespace std::chrono_literals;

TEST(CliProgress, FormatBytes) {
    EXPECT_EQ(format_bytes(0), "0 B");
    EXPECT_EQ(format_bytes(1023), "1023 B");
    EXPECT_EQ(format_bytes(1536), "1.50 KiB");
    EXPECT_EQ(format_bytes(12 * 1024 * 1024), "12.0 MiB");
    EXPECT_EQ(format_bytes(std::uint64_t{3} << 30), "3.00 GiB");
}

TEST(CliProgress, KnownTotalShowsPercentAndFitsTheWidth) {
    auto line = format_progress_line(512 * 1024, 1024 * 1024, 1024 * 1024, 80);
    EXPECT_NE(line.find(" 50.0%"), std::string::npos) << line;
    EXPECT_NE(line.find("512.0 KiB"), std::string::npos) << line;
    EXPECT_NE(line.find("1.00 MiB/s"), std::string::npos) << line;
    EXPECT_LE(line.size(), 79u);
    auto hashes = std::count(line.begin(), line.end(), '#');
    auto dots = std::count(line.begin(), line.end(), '.');
    EXPECT_GT(hashes, 0);
    EXPECT_GE(dots, hashes - 1);  // the number's dots count too
}

TEST(CliProgress, UnknownTotalHasNoPercent) {
    auto line = format_progress_line(100, std::nullopt, 0, 80);
    EXPECT_EQ(line.find('%'), std::string::npos) << line;
    EXPECT_NE(line.find("<=>"), std::string::npos) << line;
}

TEST(CliProgress, RateIsUnknownUntilAnIntervalHasPassed) {
    auto t0 = progress_meter::clock::time_point{} + 1s;
    progress_meter m(std::nullopt, t0, 80);
    auto early = m.update(1 << 20, t0 + 1ms);
    ASSERT_TRUE(early);
    EXPECT_NE(early->find("-- B/s"), std::string::npos) << *early;
    auto later = m.update(1 << 20, t0 + 1s);
    ASSERT_TRUE(later);
    EXPECT_NE(later->find("1.00 MiB/s"), std::string::npos) << *later;
}

TEST(CliProgress, NarrowTerminalDropsTheBar) {
    auto line = format_progress_line(100, 200, 10, 30);
    EXPECT_EQ(line.find('['), std::string::npos) << line;
    EXPECT_NE(line.find("50.0%"), std::string::npos) << line;
}

TEST(CliProgress, PercentNeverExceedsHundred) {
    auto line = format_progress_line(300, 200, 10, 80);
    EXPECT_NE(line.find("100.0%"), std::string::npos) << line;
    EXPECT_EQ(format_progress_line(0, 0, 0, 80).find("100.0%") != std::string::npos, true);
}

TEST(CliProgress, RedrawsAtMostEveryHundredMilliseconds) {
    auto t0 = progress_meter::clock::time_point{} + 1s;
    progress_meter m(1000, t0, 80);
    auto first = m.update(10, t0);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->front(), '\r');
    EXPECT_FALSE(m.update(20, t0 + 50ms));
    EXPECT_FALSE(m.update(30, t0 + 99ms));
    EXPECT_TRUE(m.update(40, t0 + 100ms));
    EXPECT_FALSE(m.update(50, t0 + 150ms));
    auto end = m.finish(1000, t0 + 160ms);
    EXPECT_EQ(end.back(), '\n');
    EXPECT_NE(end.find("100.0%"), std::string::npos) << end;
}

TEST(CliProgress, FinishWithoutAnythingIsEmpty) {
    auto t0 = progress_meter::clock::time_point{} + 1s;
    progress_meter m(std::nullopt, t0, 80);
    EXPECT_EQ(m.finish(0, t0), "");
}

}  // namespace
}  // namespace corvid::cli
