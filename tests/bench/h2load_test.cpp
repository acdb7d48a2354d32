#include "bench/harness/h2load.hpp"

#include <gtest/gtest.h>

namespace corvid::bench {
namespace {

// h2load 1.52's output for a timing-based run (progress lines and the
// latency table trimmed to what matters).
constexpr const char* timed_run =
    "starting benchmark...\n"
    "spawning thread #0: 1 total client(s). Timing-based test with 1s of warm-up time and 3s "
    "of main duration for measurements.\n"
    "TLS Protocol: TLSv1.3\n"
    "Cipher: TLS_AES_128_GCM_SHA256\n"
    "Server Temp Key: ECDH prime256v1 256 bits\n"
    "Application protocol: h2\n"
    "Main benchmark duration is over for thread #0. Stopping all clients.\n"
    "\n"
    "finished in 4.00s, 108273.33 req/s, 108.83MB/s\n"
    "requests: 324820 total, 324820 started, 324820 done, 324820 succeeded, 0 failed, 0 "
    "errored, 0 timeout\n"
    "status codes: 324820 2xx, 0 3xx, 0 4xx, 0 5xx\n"
    "req/s           :  108253.85   108253.85   108253.85        0.00   100.00%\n";

TEST(H2loadTest, ReadsRateRequestsAndProtocol) {
    const auto s = parse_h2load(timed_run);
    ASSERT_TRUE(s.has_value());
    EXPECT_DOUBLE_EQ(s->requests_per_second, 108273.33);
    EXPECT_DOUBLE_EQ(s->bytes_per_second, 108.83 * 1024 * 1024);
    EXPECT_EQ(s->requests, 324820u);
    EXPECT_EQ(s->succeeded, 324820u);
    EXPECT_EQ(s->failed, 0u);
    EXPECT_EQ(s->errored, 0u);
    EXPECT_EQ(s->timeout, 0u);
    EXPECT_EQ(s->protocol, "h2");
}

TEST(H2loadTest, ReportsFailuresAndAMissingProtocol) {
    const auto s = parse_h2load(
        "finished in 12.50ms, 0.00 req/s, 0B/s\n"
        "requests: 10 total, 10 started, 10 done, 0 succeeded, 10 failed, 10 errored, 0 "
        "timeout\n");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->requests_per_second, 0.0);
    EXPECT_EQ(s->bytes_per_second, 0.0);
    EXPECT_EQ(s->succeeded, 0u);
    EXPECT_EQ(s->failed, 10u);
    EXPECT_EQ(s->errored, 10u);
    EXPECT_TRUE(s->protocol.empty());
}

TEST(H2loadTest, ReadsTheByteRateInEachUnit) {
    const char* counts =
        "requests: 20 total, 20 started, 20 done, 20 succeeded, 0 failed, 0 "
        "errored, 0 timeout\n";
    const auto gb =
        parse_h2load(std::string("finished in 1.20s, 16.92 req/s, 1.06GB/s\n") + counts);
    ASSERT_TRUE(gb.has_value());
    EXPECT_DOUBLE_EQ(gb->bytes_per_second, 1.06 * 1024 * 1024 * 1024);
    const auto kb =
        parse_h2load(std::string("finished in 1.20s, 16.92 req/s, 512.5KB/s\n") + counts);
    ASSERT_TRUE(kb.has_value());
    EXPECT_DOUBLE_EQ(kb->bytes_per_second, 512.5 * 1024);
    const auto b = parse_h2load(std::string("finished in 1.20s, 16.92 req/s, 900B/s\n") + counts);
    ASSERT_TRUE(b.has_value());
    EXPECT_DOUBLE_EQ(b->bytes_per_second, 900.0);
}

TEST(H2loadTest, RejectsOutputWithoutTheSummary) {
    EXPECT_FALSE(parse_h2load("").has_value());
    EXPECT_FALSE(parse_h2load("starting benchmark...\nNo protocol negotiated. Exiting...\n"));
    // A rate without the request counts, and the reverse.
    EXPECT_FALSE(parse_h2load("finished in 1s, 10.00 req/s, 1MB/s\n"));
    EXPECT_FALSE(
        parse_h2load("requests: 1 total, 1 started, 1 done, 1 succeeded, 0 failed, 0 "
                     "errored, 0 timeout\n"));
    // Not a rate.
    EXPECT_FALSE(parse_h2load(
        "finished in 1s, fast\n"
        "requests: 1 total, 1 started, 1 done, 1 succeeded, 0 failed, 0 errored, 0 timeout\n"));
}

}  // namespace
}  // namespace corvid::bench
