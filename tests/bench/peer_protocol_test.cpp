#include "bench/peers/peer_protocol.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace corvid::bench::peer {
namespace {

// parse_options takes a mutable argv, as main() gets it.
struct command_line {
    explicit command_line(std::vector<std::string> words) : words_(std::move(words)) {
        for (auto& w : words_) {
            argv_.push_back(w.data());
        }
        argv_.push_back(nullptr);
    }
    int argc() const { return static_cast<int>(words_.size()); }
    char** argv() { return argv_.data(); }

  private:
    std::vector<std::string> words_;
    std::vector<char*> argv_;
};

TEST(BenchPeerProtocol, ImpersonateIsParsedForAPeerWithProfiles) {
    command_line cl({"peer", "--url", "https://127.0.0.1:1/1KiB.bin", "--http2",
                     "--fresh-connection", "--impersonate", "chrome"});
    const options o = parse_options(cl.argc(), cl.argv(), /*accepts_impersonate=*/true);
    EXPECT_EQ(o.url, "https://127.0.0.1:1/1KiB.bin");
    EXPECT_TRUE(o.http2);
    EXPECT_TRUE(o.fresh_connection);
    EXPECT_EQ(o.impersonate, "chrome");
}

TEST(BenchPeerProtocol, NoImpersonateMeansNoProfile) {
    command_line cl({"peer", "--url", "https://127.0.0.1:1/"});
    EXPECT_TRUE(parse_options(cl.argc(), cl.argv(), true).impersonate.empty());
    command_line plain({"peer", "--url", "https://127.0.0.1:1/"});
    EXPECT_TRUE(parse_options(plain.argc(), plain.argv()).impersonate.empty());
}

TEST(BenchPeerProtocol, ImpersonateWithVersionNeedsNoUrl) {
    command_line cl({"peer", "--impersonate", "none", "--version"});
    const options o = parse_options(cl.argc(), cl.argv(), true);
    EXPECT_TRUE(o.version);
    EXPECT_EQ(o.impersonate, "none");
}

TEST(BenchPeerProtocolDeathTest, PeerWithoutProfilesRefusesImpersonate) {
    command_line cl({"peer", "--url", "https://127.0.0.1:1/", "--impersonate", "chrome"});
    EXPECT_EXIT(parse_options(cl.argc(), cl.argv()), ::testing::ExitedWithCode(2),
                "this peer has no browser profiles");
}

TEST(BenchPeerProtocolDeathTest, ImpersonateNeedsAName) {
    command_line missing({"peer", "--url", "https://127.0.0.1:1/", "--impersonate"});
    EXPECT_EXIT(parse_options(missing.argc(), missing.argv(), true), ::testing::ExitedWithCode(2),
                "missing value");
    command_line empty({"peer", "--url", "https://127.0.0.1:1/", "--impersonate", ""});
    EXPECT_EXIT(parse_options(empty.argc(), empty.argv(), true), ::testing::ExitedWithCode(2),
                "needs a profile name");
}

}  // namespace
}  // namespace corvid::bench::peer
