// The WebSocket echo peers of corvid-bench (bench/peers/*_ws_peer.cpp) speak
// the --ws-echo line protocol (bench/peers/peer_protocol.hpp) against a real
// echo server, node's ws (tests/support/node/ws_echo_server.js): each "run"
// answers one sample line with the echoed bytes of N round trips, and a
// server that is not there is an "error" line, not a figure or a hang.
//
// The peers are built with the benchmarks (the release and debug presets);
// a build without them (asan) skips these tests.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "bench/peers/peer_protocol.hpp"
#include "support/external_server.hpp"

extern char** environ;

namespace corvid::test {
namespace {

namespace fs = std::filesystem;

struct peer_output {
    int exit_status = -1;  ///< -1: killed after the timeout
    std::vector<std::string> lines;
};

// Runs `argv` with `input` on stdin and returns its stdout lines; kills it
// if it has not exited within `timeout` (a hang is a failure, not a wait).
peer_output run_peer(std::vector<std::string> argv, const std::string& input,
                     std::chrono::seconds timeout = std::chrono::seconds(30)) {
    temp_dir dir("ws-peer");
    const std::string in_path = dir.file("stdin");
    const std::string out_path = dir.file("stdout");
    write_text_file(in_path, input);
    std::vector<char*> args;
    for (auto& a : argv) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, in_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    peer_output out;
    if (rc != 0) {
        ADD_FAILURE() << "cannot start " << argv[0];
        return out;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    for (;;) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            out.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            ADD_FAILURE() << argv[0] << " did not finish within " << timeout.count() << " s";
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::ifstream in(out_path);
    for (std::string line; std::getline(in, line);) {
        out.lines.push_back(line);
    }
    return out;
}

std::string peer_binary(const std::string& name) {
    return std::string(CORVID_BUILD_DIR) + "/" + name;
}

external_server start_node_echo() {
    const fs::path script = fs::path(CORVID_SOURCE_DIR) / "tests/support/node/ws_echo_server.js";
    const std::uint16_t port = free_port();
    process_spec spec{"ws_echo_server",
                      "/usr/bin/node",
                      "nodejs",
                      {script.string(), "--port", std::to_string(port)}};
    return external_server::start(spec, temp_dir("ws-echo"), {port});
}

class WsEchoPeer : public ::testing::TestWithParam<const char*> {
  protected:
    void SetUp() override {
        binary_ = peer_binary(GetParam());
        if (access(binary_.c_str(), X_OK) != 0) {
            GTEST_SKIP() << binary_ << " is not built (the benchmarks are off in this preset)";
        }
        if (!fs::exists(fs::path(CORVID_SOURCE_DIR) / "tests/support/node/node_modules/ws")) {
            GTEST_SKIP() << "node ws is not installed (scripts/dev: npm ci in tests/support/node)";
        }
    }
    std::string binary_;
};

// Two samples of 10 round trips on one connection, at a size whose echo is
// compared whole and at one compared by sequence number and tail: every
// line is a sample with 10 * size echoed bytes and sane times.
TEST_P(WsEchoPeer, AnswersEachRunWithOneSampleOfEchoedBytes) {
    auto server = start_node_echo();
    const std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/";
    for (const std::size_t size : {std::size_t{5}, std::size_t{1024}, std::size_t{70'000}}) {
        SCOPED_TRACE("size " + std::to_string(size));
        const auto out = run_peer({binary_, "--url", url, "--ws-echo", "--size",
                                   std::to_string(size), "--messages", "10"},
                                  "run\nrun\nquit\n");
        EXPECT_EQ(out.exit_status, 0);
        ASSERT_EQ(out.lines.size(), 2u);
        for (const auto& line : out.lines) {
            long long ttfb = 0;
            long long total = 0;
            unsigned long long bytes = 0;
            long long cpu = 0;
            ASSERT_EQ(std::sscanf(line.c_str(), "%lld %lld %llu %lld", &ttfb, &total, &bytes, &cpu),
                      4)
                << line;
            EXPECT_EQ(bytes, 10 * size);
            EXPECT_GT(ttfb, 0);
            EXPECT_GE(total, ttfb);
            EXPECT_GT(cpu, 0);
        }
    }
}

// No server: the sample is an error line (and so is the next one), and
// the peer still exits cleanly at the end of its input.
TEST_P(WsEchoPeer, ReportsAnUnreachableServerAsAnErrorLine) {
    const std::uint16_t port = free_port();  // nothing listens there
    const auto out = run_peer({binary_, "--url", "ws://127.0.0.1:" + std::to_string(port) + "/",
                               "--ws-echo", "--size", "64", "--messages", "10"},
                              "run\nrun\n");
    EXPECT_EQ(out.exit_status, 0);
    ASSERT_EQ(out.lines.size(), 2u);
    for (const auto& line : out.lines) {
        EXPECT_EQ(line.rfind("error ", 0), 0u) << line;
    }
}

TEST_P(WsEchoPeer, PrintsItsVersion) {
    const auto out = run_peer({binary_, "--version"}, "");
    EXPECT_EQ(out.exit_status, 0);
    ASSERT_EQ(out.lines.size(), 1u);
    EXPECT_FALSE(out.lines.front().empty());
}

INSTANTIATE_TEST_SUITE_P(Peers, WsEchoPeer,
                         ::testing::Values("bench-peer-corvid-ws", "bench-peer-beast-ws",
                                           "bench-peer-websocketpp-ws"),
                         [](const auto& param_info) {
                             std::string name = param_info.param;
                             std::string out;
                             for (char c : name.substr(11)) {  // after "bench-peer-"
                                 out += c == '-' ? '_' : c;
                             }
                             return out;
                         });

// The payload check every peer applies to every echo.
TEST(WsEchoPayload, CatchesAWrongSizeAnOldMessageAndChangedBytes) {
    bench::peer::ws_echo_payload p(2000);
    const std::string first = p.next(1);
    const std::string& second = p.next(2);
    EXPECT_EQ(p.check(second.data(), second.size()), "");
    EXPECT_NE(p.check(second.data(), second.size(), /*binary=*/false), "");
    EXPECT_NE(p.check(second.data(), second.size() - 1), "");
    EXPECT_NE(p.check(first.data(), first.size()), "");  // the previous message
    std::string tail_changed = second;
    tail_changed.back() ^= 1;
    EXPECT_NE(p.check(tail_changed.data(), tail_changed.size()), "");

    bench::peer::ws_echo_payload small(100);
    const std::string& m = small.next(7);
    std::string middle_changed = m;
    middle_changed[50] ^= 1;
    EXPECT_NE(small.check(middle_changed.data(), middle_changed.size()), "");
    bench::peer::ws_echo_payload tiny(3);
    const std::string& t = tiny.next(0x030201);
    EXPECT_EQ(t, std::string("\x01\x02\x03"));
    EXPECT_EQ(tiny.check(t.data(), t.size()), "");
}

TEST(WsEchoPeerOptions, ParseAndRefuseWhatDoesNotFit) {
    using bench::peer::parse_ws_url;
    const auto u = parse_ws_url("ws://127.0.0.1:8080/ws?x=1");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "127.0.0.1");
    EXPECT_EQ(u->port, "8080");
    EXPECT_EQ(u->target, "/ws?x=1");
    const auto bare = parse_ws_url("ws://localhost");
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->port, "80");
    EXPECT_EQ(bare->target, "/");
    EXPECT_FALSE(parse_ws_url("wss://127.0.0.1/"));
    EXPECT_FALSE(parse_ws_url("ws://:80/"));
    EXPECT_FALSE(parse_ws_url("ws://h:8x/"));
}

// parse_options takes a mutable argv, as main() gets it.
int parse_exit(std::vector<std::string> words) {
    std::vector<char*> argv;
    for (auto& w : words) {
        argv.push_back(w.data());
    }
    argv.push_back(nullptr);
    bench::peer::parse_options(static_cast<int>(words.size()), argv.data());
    std::exit(0);
}

TEST(WsEchoPeerOptionsDeathTest, RefusesIncompleteOrMixedOptions) {
    EXPECT_EXIT(parse_exit({"peer", "--url", "ws://127.0.0.1:1/", "--ws-echo", "--messages", "10"}),
                ::testing::ExitedWithCode(2), "--size");
    EXPECT_EXIT(parse_exit({"peer", "--url", "ws://127.0.0.1:1/", "--ws-echo", "--size", "64"}),
                ::testing::ExitedWithCode(2), "--messages");
    EXPECT_EXIT(parse_exit({"peer", "--url", "http://127.0.0.1:1/", "--ws-echo", "--size", "64",
                            "--messages", "1"}),
                ::testing::ExitedWithCode(2), "ws:// URL");
    EXPECT_EXIT(parse_exit({"peer", "--url", "ws://127.0.0.1:1/", "--ws-echo", "--size", "16777217",
                            "--messages", "1"}),
                ::testing::ExitedWithCode(2), "--size from 1");
    EXPECT_EXIT(parse_exit({"peer", "--url", "ws://127.0.0.1:1/", "--ws-echo", "--size", "64",
                            "--messages", "1", "--http2"}),
                ::testing::ExitedWithCode(2), "takes only");
    EXPECT_EXIT(parse_exit({"peer", "--url", "http://127.0.0.1:1/", "--size", "64"}),
                ::testing::ExitedWithCode(2), "go with --ws-echo");
    EXPECT_EXIT(parse_exit({"peer", "--url", "ws://127.0.0.1:1/", "--ws-echo", "--size", "64",
                            "--messages", "1"}),
                ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace corvid::test
