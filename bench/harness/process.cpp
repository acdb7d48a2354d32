#include "bench/harness/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <thread>

extern char** environ;

namespace corvid::bench {

namespace {

std::string errno_text(const std::string& what, int err) {
    return what + ": " + std::strerror(err);
}

std::vector<char*> c_argv(std::vector<std::string>& argv) {
    std::vector<char*> out;
    out.reserve(argv.size() + 1);
    for (auto& a : argv) {
        out.push_back(a.data());
    }
    out.push_back(nullptr);
    return out;
}

// Waits for `pid` to exit for up to `patience`; true when it did.
bool reap(pid_t pid, std::chrono::milliseconds patience) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    for (;;) {
        int status = 0;
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        usleep(10'000);
    }
}

}  // namespace

peer_process::peer_process(std::vector<std::string> argv, int cpu) {
    if (argv.empty()) {
        throw std::runtime_error("peer_process: empty command line");
    }
    name_ = argv[0];
    int in_pipe[2];   // parent writes [1], child reads [0]
    int out_pipe[2];  // child writes [1], parent reads [0]
    if (pipe2(in_pipe, O_CLOEXEC) != 0) {
        throw std::runtime_error(errno_text("pipe", errno));
    }
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
        const int err = errno;
        close(in_pipe[0]);
        close(in_pipe[1]);
        throw std::runtime_error(errno_text("pipe", err));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    auto args = c_argv(argv);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in_pipe[0]);
    close(out_pipe[1]);
    if (rc != 0) {
        close(in_pipe[1]);
        close(out_pipe[0]);
        throw std::runtime_error(errno_text("cannot start " + name_, rc));
    }
    to_child_ = in_pipe[1];
    from_child_ = out_pipe[0];
    if (cpu >= 0) {
        // Pinned from outside: the child is blocked on its first command, so
        // nothing it measures runs before this takes effect.
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(pid_, sizeof set, &set) != 0) {
            const int err = errno;
            kill(pid_, SIGKILL);
            reap(pid_, std::chrono::seconds(5));
            close(to_child_);
            close(from_child_);
            throw std::runtime_error(errno_text("cannot pin " + name_, err));
        }
    }
}

peer_process::~peer_process() {
    if (to_child_ >= 0) {
        static const char quit[] = "quit\n";
        (void)!write(to_child_, quit, sizeof quit - 1);
        close(to_child_);
    }
    if (from_child_ >= 0) {
        close(from_child_);
    }
    if (pid_ > 0 && !reap(pid_, std::chrono::seconds(5))) {
        kill(pid_, SIGKILL);
        reap(pid_, std::chrono::seconds(5));
    }
}

std::string peer_process::request(const std::string& command, std::chrono::milliseconds timeout) {
    const std::string line = command + "\n";
    std::size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = write(to_child_, line.data() + done, line.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw std::runtime_error(errno_text("writing to " + name_, errno));
        }
        done += static_cast<std::size_t>(n);
    }
    return read_line(timeout);
}

std::string peer_process::read_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto nl = pending_.find('\n');
        if (nl != std::string::npos) {
            std::string out = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return out;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            throw std::runtime_error(name_ + " did not answer in time");
        }
        pollfd p{from_child_, POLLIN, 0};
        const int r = poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno != EINTR) {
            throw std::runtime_error(errno_text("poll", errno));
        }
        if (r <= 0) {
            continue;
        }
        char buf[512];
        const ssize_t n = read(from_child_, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw std::runtime_error(errno_text("reading from " + name_, errno));
        }
        if (n == 0) {
            throw std::runtime_error(name_ + " exited unexpectedly");
        }
        pending_.append(buf, static_cast<std::size_t>(n));
    }
}

std::string capture_output(const std::vector<std::string>& argv, bool include_stderr) {
    std::vector<std::string> copy = argv;
    int out_pipe[2];
    if (copy.empty() || pipe2(out_pipe, O_CLOEXEC) != 0) {
        return {};
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    if (include_stderr) {
        posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDERR_FILENO);
    } else {
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    }
    auto args = c_argv(copy);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out_pipe[1]);
    std::string out;
    if (rc == 0) {
        char buf[4096];
        for (;;) {
            const ssize_t n = read(out_pipe[0], buf, sizeof buf);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                break;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    close(out_pipe[0]);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\r')) {
        out.pop_back();
    }
    return out;
}

spawn_affinity::spawn_affinity(int cpu) {
    if (cpu < 0) {
        return;
    }
    if (sched_getaffinity(0, sizeof saved_, &saved_) != 0) {
        throw std::runtime_error(errno_text("sched_getaffinity", errno));
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        throw std::runtime_error(errno_text("cannot pin to CPU " + std::to_string(cpu), errno));
    }
    restore_ = true;
}

spawn_affinity::~spawn_affinity() {
    if (restore_) {
        sched_setaffinity(0, sizeof saved_, &saved_);
    }
}

command_result run_command(const std::vector<std::string>& argv, int cpu) {
    command_result result;
    std::vector<std::string> copy = argv;
    int out_pipe[2];
    if (copy.empty() || pipe2(out_pipe, O_CLOEXEC) != 0) {
        return result;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDERR_FILENO);
    auto args = c_argv(copy);
    pid_t pid = -1;
    int rc = 0;
    {
        const spawn_affinity pinned(cpu);
        rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    }
    posix_spawn_file_actions_destroy(&actions);
    close(out_pipe[1]);
    if (rc == 0) {
        char buf[4096];
        for (;;) {
            const ssize_t n = read(out_pipe[0], buf, sizeof buf);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                break;
            }
            result.output.append(buf, static_cast<std::size_t>(n));
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFEXITED(status)) {
            result.exit_status = WEXITSTATUS(status);
        }
    } else {
        result.output = errno_text("cannot start " + argv[0], rc);
    }
    close(out_pipe[0]);
    return result;
}

std::string executable_dir() {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) {
        return ".";
    }
    std::string path(buf, static_cast<std::size_t>(n));
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::uint16_t free_loopback_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        const int err = errno;
        close(fd);
        throw std::runtime_error(std::string("bind: ") + std::strerror(err));
    }
    close(fd);
    return ntohs(a.sin_port);
}

bool loopback_accepts(std::uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return ok;
}

server_process::server_process(options o) : options_(std::move(o)) {
    if (options_.dir.empty()) {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "corvid-bench-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) {
            throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
        }
        options_.dir = tmpl;
        own_dir_ = true;
    }
    try {
        for (int attempt = 0;; ++attempt) {
            port_ = free_loopback_port();
            if (try_start()) {
                break;
            }
            if (attempt == 4) {
                throw std::runtime_error(options_.name + " did not start; its output:\n" + log());
            }
        }
    } catch (...) {
        stop();
        if (own_dir_) {
            std::error_code ignored;
            std::filesystem::remove_all(options_.dir, ignored);
        }
        throw;
    }
}

server_process::~server_process() {
    stop();
    if (own_dir_) {
        std::error_code ignored;
        std::filesystem::remove_all(options_.dir, ignored);
    }
}

bool server_process::alive() {
    int status = 0;
    return pid_ > 0 && waitpid(pid_, &status, WNOHANG) == 0;
}

std::string server_process::log(std::size_t max_bytes) const {
    std::ifstream in(options_.dir + "/server.log");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
}

bool server_process::try_start() {
    argv_ = options_.argv;
    for (auto& a : argv_) {
        if (a == "@PORT@") {
            a = std::to_string(port_);
        } else if (a == "@LISTEN@") {
            a = "127.0.0.1:" + std::to_string(port_);
        } else if (a == "@DIR@") {
            a = options_.dir;
        }
    }
    std::vector<char*> args = c_argv(argv_);
    // Our environment, with options_.environment added or replacing.
    std::vector<std::string> env_strings = options_.environment;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view entry(*e);
        const auto name = entry.substr(0, entry.find('=') + 1);
        bool replaced = false;
        for (const auto& own : options_.environment) {
            replaced = replaced || std::string_view(own).substr(0, own.find('=') + 1) == name;
        }
        if (!replaced) {
            env_strings.emplace_back(entry);
        }
    }
    std::vector<char*> env;
    for (auto& e : env_strings) {
        env.push_back(e.data());
    }
    env.push_back(nullptr);

    const std::string log_path = options_.dir + "/server.log";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    int rc = 0;
    {
        const spawn_affinity pinned(options_.cpu);
        rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), env.data());
    }
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error(errno_text("cannot start " + argv_[0], rc));
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        if (loopback_accepts(port_)) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    return false;
}

void server_process::stop() noexcept {
    stop_process(pid_);
}

void stop_process(pid_t& pid) noexcept {
    if (pid <= 0) {
        return;
    }
    kill(pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid = -1;
}

}  // namespace corvid::bench
