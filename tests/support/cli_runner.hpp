#pragma once

// Runs the built `corvid` binary as a user would, for the CLI tests.
//
// stdin comes from a file holding `stdin_text`; stdout and stderr go to
// files (no pipes, so a chatty child can never block). Before spawning,
// every descriptor of the test process is marked close-on-exec: Asio opens
// sockets without SOCK_CLOEXEC, and a child holding a stopped in-process
// server's listening socket would keep its port busy (a restarted server
// could not bind it). A child still running after `limit` is killed and the
// test fails (never hangs).
//
// Thread safety: call from the test's thread.

#include <chrono>
#include <string>
#include <vector>

namespace corvid::test {

struct cli_result {
    int code = -1;  ///< exit status, or 128 + signal
    std::string out;
    std::string err;
};

cli_result run_corvid(const std::vector<std::string>& args, const std::string& stdin_text = {},
                      std::chrono::seconds limit = std::chrono::seconds(120));

/// "exit N", stdout and stderr, for failure messages.
std::string describe(const cli_result& r);

}  // namespace corvid::test
