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
#include <cstdint>
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

/// Stops the child `pid` (SIGTERM, then SIGKILL after 10 s), reaps it and
/// sets `pid` to -1; nothing when it is not positive.
void stop_process(pid_t& pid) noexcept;

/// A loopback TCP port that is free right now. Whoever binds it a moment
/// later may lose a race for it and must then pick another.
std::uint16_t free_loopback_port();

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
bool loopback_accepts(std::uint16_t port);

/// A server the harness runs for a workload (an echo server, corvid-server,
/// corvid-fixture, nghttpd): started on a free loopback port, ready once the
/// port accepts connections.
///
/// Not copyable. The destructor stops the server (SIGTERM, then SIGKILL
/// after 10 s) and removes the temporary directory if it made it. Failures
/// to start throw std::runtime_error with the server's output.
class server_process {
  public:
    struct options {
        std::string name;  ///< for messages, e.g. "corvid-fixture"
        /// The command; "@PORT@" becomes the port, "@LISTEN@" becomes
        /// "127.0.0.1:PORT" and "@DIR@" the working directory.
        std::vector<std::string> argv;
        int cpu = -1;  ///< restricted to this CPU from its start; negative: anywhere
        /// A directory the caller prepared (certificates, configuration),
        /// left in place; empty: a fresh temporary one, removed afterwards.
        std::string dir;
        /// Variables added to (or replacing those of) our environment.
        std::vector<std::string> environment;
    };

    /// Starts the server (up to five attempts on new ports, for the rare
    /// race over a port another process took meanwhile) and waits up to 20 s
    /// per attempt for it to accept. Its stdout and stderr go to DIR/server.log.
    explicit server_process(options o);
    ~server_process();
    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;

    const std::string& name() const noexcept { return options_.name; }
    std::uint16_t port() const noexcept { return port_; }
    pid_t pid() const noexcept { return pid_; }
    const std::string& dir() const noexcept { return options_.dir; }
    /// The command as started (placeholders replaced).
    const std::vector<std::string>& argv() const noexcept { return argv_; }
    /// Still running (it did not die during the run).
    bool alive();
    /// The last `max_bytes` of its output.
    std::string log(std::size_t max_bytes = 4000) const;

  private:
    bool try_start();
    void stop() noexcept;

    options options_;
    bool own_dir_ = false;
    std::vector<std::string> argv_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace corvid::bench
