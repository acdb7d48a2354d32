#include "bench/harness/nghttpd_fixture.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "bench/harness/process.hpp"
#include "tls/test_pki.hpp"

extern char** environ;

namespace corvid::bench {

namespace {

namespace fs = std::filesystem;

void write_text(const std::string& path, const std::string& text) {
    auto r = tls::write_file(path, text);
    if (!r) {
        throw std::runtime_error("cannot write " + path + ": " + r.error().message());
    }
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// TLS 1.3 with one cipher, for nghttpd's OpenSSL only (through
// OPENSSL_CONF): nghttpd sets its TLS 1.2 cipher list and its group (P-256)
// itself but leaves the TLS 1.3 suites at the system default, where server
// preference would pick AES-256-GCM.
constexpr const char* openssl_conf =
    "openssl_conf = corvid_bench\n"
    "[corvid_bench]\n"
    "ssl_conf = corvid_bench_ssl\n"
    "[corvid_bench_ssl]\n"
    "system_default = corvid_bench_tls\n"
    "[corvid_bench_tls]\n"
    "MinProtocol = TLSv1.3\n"
    "Ciphersuites = TLS_AES_128_GCM_SHA256\n";

}  // namespace

nghttpd_fixture::nghttpd_fixture(const std::vector<fixture_file>& files, int cpu,
                                 std::string nghttpd_path)
    : nghttpd_(std::move(nghttpd_path)), cpu_(cpu) {
    if (access(nghttpd_.c_str(), X_OK) != 0) {
        throw std::runtime_error(nghttpd_ +
                                 " not found: install nghttp2-server (scripts/dev bench does)");
    }
    version_ = capture_output({nghttpd_, "--version"}, true);

    std::string tmpl = (fs::temp_directory_path() / "corvid-bench-h2-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
        throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    }
    dir_ = tmpl;
    try {
        fs::create_directories(dir_ + "/docroot");
        std::string bytes;
        for (const auto& f : files) {
            fixture_bytes(f.name, f.size, bytes);
            write_text(dir_ + "/docroot/" + f.name, bytes);
        }
        bytes.clear();
        bytes.shrink_to_fit();

        auto ca = tls::test_ca::create("corvid-bench throwaway CA");
        if (!ca) {
            throw std::runtime_error("test CA: " + ca.error().message());
        }
        tls::leaf_spec spec;
        spec.dns_names = {"localhost"};
        spec.ip_addresses = {"127.0.0.1"};
        auto leaf = ca->issue(spec);
        if (!leaf) {
            throw std::runtime_error("server certificate: " + leaf.error().message());
        }
        ca_file_ = dir_ + "/ca.pem";
        write_text(ca_file_, ca->cert_pem());
        write_text(dir_ + "/server.pem", leaf->cert_pem);
        write_text(dir_ + "/server.key", leaf->key_pem);
        write_text(dir_ + "/openssl.cnf", openssl_conf);

        for (int attempt = 0;; ++attempt) {
            port_ = free_loopback_port();
            if (try_start()) {
                break;
            }
            if (attempt == 4) {
                throw std::runtime_error("nghttpd did not start; its output:\n" +
                                         read_text(dir_ + "/nghttpd.log"));
            }
        }
    } catch (...) {
        stop();
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
        throw;
    }
}

nghttpd_fixture::~nghttpd_fixture() {
    stop();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
}

std::string nghttpd_fixture::url(const std::string& name) const {
    return "https://127.0.0.1:" + std::to_string(port_) + "/" + name;
}

std::string nghttpd_fixture::description() const {
    return version_ + " (one worker" +
           (cpu_ >= 0 ? " pinned to CPU " + std::to_string(cpu_) : std::string()) +
           ", TLS with ALPN h2, TLS 1.3 TLS_AES_128_GCM_SHA256 over P-256 (nghttpd's fixed "
           "group), P-256 certificate from a throwaway CA, --echo-upload, DATA frames of up to "
           "16 KiB, 100 concurrent streams, its default 64 KiB receive windows)";
}

bool nghttpd_fixture::try_start() {
    std::vector<std::string> argv{nghttpd_,
                                  "--address=127.0.0.1",
                                  "--workers=1",
                                  "--htdocs=" + dir_ + "/docroot",
                                  "--echo-upload",
                                  std::to_string(port_),
                                  dir_ + "/server.key",
                                  dir_ + "/server.pem"};
    std::vector<char*> args;
    for (auto& a : argv) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    std::vector<std::string> env_strings{"OPENSSL_CONF=" + dir_ + "/openssl.cnf"};
    for (char** e = environ; *e != nullptr; ++e) {
        if (std::strncmp(*e, "OPENSSL_CONF=", 13) != 0) {
            env_strings.emplace_back(*e);
        }
    }
    std::vector<char*> env;
    for (auto& e : env_strings) {
        env.push_back(e.data());
    }
    env.push_back(nullptr);

    const std::string log = dir_ + "/nghttpd.log";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    int rc = 0;
    {
        const spawn_affinity pinned(cpu_);
        rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), env.data());
    }
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error("cannot start " + nghttpd_ + ": " + std::strerror(rc));
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

void nghttpd_fixture::stop() {
    if (pid_ <= 0) {
        return;
    }
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= deadline) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
}

}  // namespace corvid::bench
