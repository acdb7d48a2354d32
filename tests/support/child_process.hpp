#pragma once

// A child process for tests that talk to a program while it runs (the
// corvid-server binary, a Python client, a headless browser): spawned in its
// own process group with stdout and stderr in files, watched for a line of
// output, signalled, and waited for with a deadline.
//
// The child is killed (SIGKILL to its whole group) and reaped when the
// handle is destroyed, so a failing test never leaves it running; it also
// dies with the test process (PR_SET_PDEATHSIG), so start it from the test's
// own thread. Every descriptor of the test process is marked close-on-exec
// before the fork, so the child holds none of the test's sockets.
//
// Errors: spawn() throws std::runtime_error when the binary is missing or
// cannot be started; the waits return false / nullopt on timeout and the
// caller fails the test with output() in the message.
//
// Thread safety: one thread at a time.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/external_server.hpp"

namespace corvid::test {

class child_process {
  public:
    /// Runs argv[0] (an absolute path) with argv[1...]; `env` entries
    /// ("NAME=value") are added to the test's environment. stdin is
    /// /dev/null.
    static child_process spawn(std::vector<std::string> argv,
                               const std::vector<std::string>& env = {});

    ~child_process();
    child_process(child_process&& other) noexcept;
    child_process& operator=(child_process&& other) noexcept;
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const { return pid_; }
    /// What the child wrote so far.
    std::string out() const;
    std::string err() const;
    /// "exit status, stdout, stderr" for failure messages.
    std::string describe() const;

    /// Waits until stdout (or stderr when `from_stderr`) contains `needle`.
    /// False when the child exited without writing it or `limit` passed.
    bool wait_for_output(std::string_view needle, std::chrono::milliseconds limit,
                         bool from_stderr = false);

    /// Sends `sig` to the child itself (not its group).
    void signal(int sig);

    /// Waits for the child to exit and reaps it: its exit status, or 128 +
    /// the signal that killed it; nullopt if it still runs after `limit`.
    std::optional<int> wait_exit(std::chrono::milliseconds limit);

    bool running() const { return pid_ > 0; }
    /// The exit status once reaped (see wait_exit()).
    std::optional<int> exit_status() const { return status_; }

    /// SIGKILL to the group, then reap. Idempotent.
    void kill();

  private:
    child_process() = default;

    temp_dir dir_{"child"};
    std::string name_;
    pid_t pid_ = -1;
    std::optional<int> status_;
};

/// The whole file at `path` ("" when it cannot be read).
std::string slurp(const std::string& path);

/// Marks every descriptor above stderr close-on-exec, so a spawned child
/// holds none of the test process's sockets (Asio opens some without it).
void close_fds_on_exec();

}  // namespace corvid::test
