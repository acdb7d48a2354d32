#pragma once

// Child processes for corvid-bench: the peers (driven over pipes with the
// line protocol of bench/peers/peer_protocol.hpp) and one-shot commands whose
// output the environment record needs.
//
// The harness is an application, not a library layer: failures here are
// unrecoverable for the run and are thrown as std::runtime_error with a
// message for the person running the benchmark; main() prints it.

#include <sched.h>
#include <sys/types.h>
#include <chrono>
#include <string>
#include <vector>

namespace corvid::bench {

/// A peer process: its stdin and stdout are pipes, its stderr is ours.
///
/// Not copyable; destroying it sends "quit", closes the pipes and reaps the
/// child (killing it if it does not exit within a few seconds).
class peer_process {
  public:
    /// Starts `argv[0]` with `argv`, restricted to CPU `cpu` unless it is
    /// negative. Throws std::runtime_error on failure.
    explicit peer_process(std::vector<std::string> argv, int cpu = -1);
    ~peer_process();
    peer_process(const peer_process&) = delete;
    peer_process& operator=(const peer_process&) = delete;

    /// Writes `command` and a newline, then waits up to `timeout` for one
    /// line of output (without its newline). Throws on EOF or timeout.
    std::string request(const std::string& command, std::chrono::milliseconds timeout);

    const std::string& name() const noexcept { return name_; }

  private:
    std::string read_line(std::chrono::milliseconds timeout);

    std::string name_;
    pid_t pid_ = -1;
    int to_child_ = -1;
    int from_child_ = -1;
    std::string pending_;  // bytes read past the last returned line
};

/// Runs `argv` to completion and returns its stdout (and stderr when
/// `include_stderr`), trimmed of trailing whitespace; empty if it cannot run.
std::string capture_output(const std::vector<std::string>& argv, bool include_stderr = false);

/// While alive, restricts the calling thread to CPU `cpu` (nothing when it
/// is negative), so that a process spawned meanwhile runs there from its
/// first instruction: children inherit the affinity mask, and pinning a
/// process after it started races with the threads it starts. The
/// destructor restores the previous mask. corvid-bench is single-threaded,
/// so nothing else runs on the restricted thread meanwhile.
class spawn_affinity {
  public:
    explicit spawn_affinity(int cpu);
    ~spawn_affinity();
    spawn_affinity(const spawn_affinity&) = delete;
    spawn_affinity& operator=(const spawn_affinity&) = delete;

  private:
    bool restore_ = false;
    cpu_set_t saved_{};
};

/// What run_command() saw.
struct command_result {
    int exit_status = -1;  ///< -1 when it could not run or was killed
    std::string output;    ///< stdout and stderr together
};

/// Runs `argv` to completion on CPU `cpu` (anywhere when negative) and
/// collects its output. Never throws for a command that fails: the caller
/// judges exit_status.
command_result run_command(const std::vector<std::string>& argv, int cpu = -1);

/// The directory holding the running executable (the peers live beside it).
std::string executable_dir();

}  // namespace corvid::bench
