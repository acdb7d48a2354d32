#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace corvid::test {

namespace {

int decode_status(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void close_fds_on_exec() {
    std::vector<int> fds;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        fds.push_back(std::stoi(entry.path().filename().string()));
    }
    for (int fd : fds) {
        if (fd > 2) {
            int flags = ::fcntl(fd, F_GETFD);
            if (flags >= 0) {
                ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
            }
        }
    }
}

child_process child_process::spawn(std::vector<std::string> argv,
                                   const std::vector<std::string>& env) {
    if (argv.empty() || ::access(argv[0].c_str(), X_OK) != 0) {
        throw std::runtime_error("child_process: cannot execute " +
                                 (argv.empty() ? std::string("(nothing)") : argv[0]));
    }
    child_process c;
    c.name_ = std::filesystem::path(argv[0]).filename().string();
    const std::string out_path = c.dir_.file("stdout");
    const std::string err_path = c.dir_.file("stderr");

    // Everything the child needs is built before fork(): in a threaded
    // process only async-signal-safe calls are allowed after it.
    std::vector<char*> args;
    for (auto& a : argv) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (char** e = environ; *e != nullptr; ++e) {
        env_storage.emplace_back(*e);
    }
    env_storage.insert(env_storage.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_storage) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    close_fds_on_exec();
    const pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error(std::string("child_process: fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(126);
        }
        int in = ::open("/dev/null", O_RDONLY);
        int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
        int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
        if (in < 0 || out < 0 || err < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 ||
            ::dup2(err, 2) < 0) {
            ::_exit(126);
        }
        ::execve(args[0], args.data(), envp.data());
        static const char msg[] = "exec failed\n";
        [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
        ::_exit(127);
    }
    ::setpgid(pid, pid);
    c.pid_ = pid;
    return c;
}

child_process::~child_process() {
    kill();
}

child_process::child_process(child_process&& other) noexcept
    : dir_(std::move(other.dir_)),
      name_(std::move(other.name_)),
      pid_(std::exchange(other.pid_, -1)),
      status_(other.status_) {}

child_process& child_process::operator=(child_process&& other) noexcept {
    if (this != &other) {
        kill();
        dir_ = std::move(other.dir_);
        name_ = std::move(other.name_);
        pid_ = std::exchange(other.pid_, -1);
        status_ = other.status_;
    }
    return *this;
}

std::string child_process::out() const {
    return slurp(dir_.file("stdout"));
}

std::string child_process::err() const {
    return slurp(dir_.file("stderr"));
}

std::string child_process::describe() const {
    std::string s = name_ + ": ";
    s += status_ ? "exit " + std::to_string(*status_) : std::string(pid_ > 0 ? "running" : "?");
    return s + "\n--- stdout:\n" + out() + "\n--- stderr:\n" + err();
}

bool child_process::wait_for_output(std::string_view needle, std::chrono::milliseconds limit,
                                    bool from_stderr) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        // Read before checking for exit: what an exited child wrote counts.
        bool exited = false;
        if (pid_ > 0) {
            siginfo_t info{};
            exited =
                ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                info.si_pid == pid_;
        } else {
            exited = true;
        }
        if ((from_stderr ? err() : out()).find(needle) != std::string::npos) {
            return true;
        }
        if (exited || std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

void child_process::signal(int sig) {
    if (pid_ > 0) {
        ::kill(pid_, sig);
    }
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds limit) {
    if (pid_ <= 0) {
        return status_;
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == pid_) {
            // Anything the child forked goes with it, while the unreaped
            // leader still reserves the group id.
            ::kill(-pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            status_ = decode_status(status);
            pid_ = -1;
            return status_;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

void child_process::kill() {
    if (pid_ <= 0) {
        return;
    }
    ::kill(-pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    status_ = decode_status(status);
    pid_ = -1;
}

}  // namespace corvid::test
