// `corvid ws` as a user runs it: the built binary, lines on stdin, against
// python3-websockets (HTTP/1.1, with and without compression) and node `ws`,
// and against corvid-fixture over HTTP/2 (extended CONNECT).

#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/cli_runner.hpp"
#include "tests/support/external_server.hpp"

extern char** environ;

namespace corvid {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::describe;

// Runs `corvid ws ARGS...` with `input` on stdin (killed after 60 s).
test::cli_result run_ws(const std::vector<std::string>& args, const std::string& input = {}) {
    std::vector<std::string> all{"ws"};
    all.insert(all.end(), args.begin(), args.end());
    return test::run_corvid(all, input, 60s);
}

test::external_server start_python(std::vector<std::string> flags = {}) {
    test::temp_dir dir("cli-wspy");
    const auto port = test::free_port();
    const auto script = fs::path(CORVID_SOURCE_DIR) / "tests" / "support" / "ws_server.py";
    std::vector<std::string> args{script.string(), "--port", std::to_string(port)};
    args.insert(args.end(), flags.begin(), flags.end());
    return test::external_server::start(
        {"ws_server", "/usr/bin/python3", "python3-websockets", args}, std::move(dir), {port});
}

std::string ws_url(const test::external_server& s, const std::string& path) {
    return "ws://127.0.0.1:" + std::to_string(s.port()) + path;
}

const std::string lines = "first line\nsecond, with ünïcödé\n\nlast\n";

TEST(CliWs, EchoesStdinLinesWithAndWithoutCompression) {
    auto server = start_python();
    auto compressed = run_ws({"-v", ws_url(server, "/echo")}, lines);
    EXPECT_EQ(compressed.code, 0) << describe(compressed);
    EXPECT_EQ(compressed.out, lines);
    EXPECT_NE(compressed.err.find("extensions: permessage-deflate"), std::string::npos)
        << compressed.err;
    EXPECT_NE(compressed.err.find("< HTTP/1.1 101"), std::string::npos);

    auto plain = run_ws({"-v", "--no-deflate", ws_url(server, "/echo")}, lines);
    EXPECT_EQ(plain.code, 0) << describe(plain);
    EXPECT_EQ(plain.out, lines);
    EXPECT_EQ(plain.err.find("permessage-deflate"), plain.err.find("Sec-WebSocket-Extensions"))
        << "no extension offered or agreed:\n"
        << plain.err;
}

TEST(CliWs, LoadModePrintsTheRate) {
    auto server = start_python();
    auto r = run_ws({"-n", "500", "--size", "2048", ws_url(server, "/echo")});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_NE(r.err.find("sent 500 messages of 2048 bytes, received 500 replies"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("messages/s"), std::string::npos);
}

TEST(CliWs, CloseCodesAndRefusalsAreExitCodes) {
    auto server = start_python();
    auto closed = run_ws({ws_url(server, "/close/4001")});
    EXPECT_EQ(closed.code, 56) << describe(closed);
    EXPECT_NE(closed.err.find("closed the WebSocket with 4001 (bye)"), std::string::npos);

    auto refused = run_ws({ws_url(server, "/forbidden")});
    EXPECT_EQ(refused.code, 22) << describe(refused);
    EXPECT_NE(refused.err.find("HTTP 403"), std::string::npos) << refused.err;

    auto nobody = run_ws({"ws://127.0.0.1:" + std::to_string(test::free_port()) + "/"});
    EXPECT_EQ(nobody.code, 7) << describe(nobody);

    auto usage = run_ws({"-d", "x", ws_url(server, "/echo")});
    EXPECT_EQ(usage.code, 2) << describe(usage);
}

TEST(CliWs, NodeWsWithCompression) {
    const auto node_dir = fs::path(CORVID_SOURCE_DIR) / "tests" / "support" / "node";
    ASSERT_TRUE(fs::exists(node_dir / "node_modules" / "ws"))
        << "node ws is not installed: run `scripts/dev setup`";
    test::temp_dir dir("cli-wsnode");
    const auto port = test::free_port();
    auto server = test::external_server::start(
        {"ws_node",
         "/usr/bin/node",
         "nodejs",
         {(node_dir / "ws_server.js").string(), "--port", std::to_string(port), "--deflate"}},
        std::move(dir), {port});
    auto r = run_ws({"-v", "ws://127.0.0.1:" + std::to_string(port) + "/echo"}, lines);
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out, lines);
    EXPECT_NE(r.err.find("extensions: permessage-deflate"), std::string::npos) << r.err;
}

TEST(CliWs, OverHttp2AgainstCorvidsServer) {
    test::temp_dir dir("cli-wsfix");
    const std::string fixture_dir = dir.file("fixture");
    fs::create_directories(fixture_dir);
    const auto port = test::free_port();
    auto server =
        test::external_server::start({"fixture",
                                      std::string(CORVID_BUILD_DIR) + "/corvid-fixture",
                                      "(built by the project)",
                                      {"--dir", fixture_dir, "--port", std::to_string(port)}},
                                     std::move(dir), {port});
    const std::string ca = fixture_dir + "/ca.pem";
    const std::string url = "wss://localhost:" + std::to_string(port) + "/ws";
    auto r = run_ws({"-v", "--http2", "--cacert", ca, url}, lines);
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out, lines);
    EXPECT_NE(r.err.find("> CONNECT /ws HTTP/2"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("WebSocket open over HTTP/2"), std::string::npos) << r.err;

    auto h1 = run_ws({"-v", "--http1.1", "--cacert", ca, url}, lines);
    EXPECT_EQ(h1.code, 0) << describe(h1);
    EXPECT_EQ(h1.out, lines);
    EXPECT_NE(h1.err.find("WebSocket open over HTTP/1.1"), std::string::npos) << h1.err;
}

}  // namespace
}  // namespace corvid
