#include "bench/harness/nginx_fixture.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
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

// Debian's build of the echo module (libnginx-mod-http-echo).
constexpr const char* echo_module_path = "/usr/lib/nginx/modules/ngx_http_echo_module.so";

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace

namespace {

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

}  // namespace

void fixture_bytes(const std::string& name, std::uint64_t size, std::string& out) {
    std::uint64_t state = 0x636F72766964ull;  // "corvid"
    for (char c : name) {
        state = state * 131 + static_cast<unsigned char>(c);
    }
    out.resize(size);
    std::uint64_t i = 0;
    for (; i + 8 <= size; i += 8) {
        const std::uint64_t v = splitmix64(state);
        std::memcpy(out.data() + i, &v, 8);
    }
    if (i < size) {
        const std::uint64_t v = splitmix64(state);
        std::memcpy(out.data() + i, &v, size - i);
    }
}

nginx_fixture::nginx_fixture(const std::vector<fixture_file>& files, int worker_cpu,
                             std::string nginx_path)
    : nginx_(std::move(nginx_path)), worker_cpu_(worker_cpu) {
    if (access(nginx_.c_str(), X_OK) != 0) {
        throw std::runtime_error(nginx_ +
                                 " not found: install nginx-light (scripts/dev bench does)");
    }
    version_ = capture_output({nginx_, "-v"}, true);
    echo_module_ = access(echo_module_path, R_OK) == 0;
    if (const auto slash = version_.find("nginx/"); slash != std::string::npos) {
        version_ = version_.substr(slash);
    }

    std::string tmpl = (fs::temp_directory_path() / "corvid-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
        throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    }
    dir_ = tmpl;
    try {
        // nginx started as root serves from unprivileged workers: the tree
        // must be world-readable.
        chmod(dir_.c_str(), 0755);
        fs::create_directories(dir_ + "/docroot");
        fs::create_directories(dir_ + "/temp");
        chmod((dir_ + "/docroot").c_str(), 0755);
        std::string bytes;
        for (const auto& f : files) {
            fixture_bytes(f.name, f.size, bytes);
            write_text(dir_ + "/docroot/" + f.name, bytes);
            chmod((dir_ + "/docroot/" + f.name).c_str(), 0644);
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

        for (int attempt = 0;; ++attempt) {
            http_port_ = free_loopback_port();
            do {
                https_port_ = free_loopback_port();
            } while (https_port_ == http_port_);
            write_config();
            if (try_start()) {
                break;
            }
            if (attempt == 4) {
                throw std::runtime_error("nginx did not start; its log:\n" +
                                         read_text(dir_ + "/error.log"));
            }
        }
    } catch (...) {
        stop();
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
        throw;
    }
}

nginx_fixture::~nginx_fixture() {
    stop();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
}

std::string nginx_fixture::url(bool tls, const std::string& name) const {
    return std::string(tls ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(tls ? https_port_ : http_port_) + "/" + name;
}

std::string nginx_fixture::description() const {
    return version_ + " (worker_processes 1" +
           (worker_cpu_ >= 0 ? " pinned to CPU " + std::to_string(worker_cpu_) : std::string()) +
           ", sendfile on for plain HTTP, TLS 1.3 "
           "TLS_AES_128_GCM_SHA256 over X25519, P-256 certificate from a throwaway CA, "
           "keepalive_requests 1000000" +
           (echo_module_ ? std::string(", POST /") + upload_path +
                               " answered 200 after the whole body is read (echo module's "
                               "echo_read_request_body, body kept in memory)"
                         : std::string()) +
           ")";
}

void nginx_fixture::write_config() {
    const std::string d = dir_;
    std::string upload_location;
    if (echo_module_) {
        // Reads the whole body (into memory: client_body_buffer_size) before
        // the response starts; `return` would answer first and discard it.
        // `echo WORD` sends WORD and a newline: upload_response.
        upload_location = std::string("    location = /") + upload_path +
                          " {\n      echo_read_request_body;\n      echo received;\n    }\n";
    }
    std::ofstream conf(d + "/nginx.conf", std::ios::trunc);
    if (echo_module_) {
        conf << "load_module " << echo_module_path << ";\n";
    }
    conf << "worker_processes 1;\n";
    if (worker_cpu_ >= 0) {
        // A bit mask, CPU 0 rightmost.
        conf << "worker_cpu_affinity 1" << std::string(static_cast<std::size_t>(worker_cpu_), '0')
             << ";\n";
    }
    conf << "daemon off;\n"
         << "pid " << d << "/nginx.pid;\n"
         << "error_log " << d << "/error.log warn;\n"
         << "events { worker_connections 256; }\n"
         << "http {\n"
         << "  access_log off;\n"
         << "  default_type application/octet-stream;\n"
         << "  client_body_temp_path " << d << "/temp/body;\n"
         << "  proxy_temp_path " << d << "/temp/proxy;\n"
         << "  fastcgi_temp_path " << d << "/temp/fastcgi;\n"
         << "  uwsgi_temp_path " << d << "/temp/uwsgi;\n"
         << "  scgi_temp_path " << d << "/temp/scgi;\n"
         << "  sendfile on;\n"
         << "  tcp_nopush on;\n"
         << "  tcp_nodelay on;\n"
         << "  keepalive_requests 1000000;\n"
         << "  keepalive_timeout 600s;\n"
         << "  etag off;\n"
         << "  client_max_body_size " << max_upload_size << ";\n"
         << "  client_body_buffer_size " << max_upload_size << ";\n"
         << "  server {\n"
         << "    listen 127.0.0.1:" << http_port_ << ";\n"
         << "    root " << d << "/docroot;\n"
         << upload_location << "  }\n"
         << "  server {\n"
         << "    listen 127.0.0.1:" << https_port_ << " ssl;\n"
         << "    ssl_certificate " << d << "/server.pem;\n"
         << "    ssl_certificate_key " << d << "/server.key;\n"
         << "    ssl_protocols TLSv1.3;\n"
         << "    ssl_ecdh_curve X25519;\n"
         << "    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;\n"
         << "    ssl_session_tickets on;\n"
         << "    root " << d << "/docroot;\n"
         << upload_location << "  }\n"
         << "}\n";
    if (!conf) {
        throw std::runtime_error("cannot write " + d + "/nginx.conf");
    }
}

bool nginx_fixture::try_start() {
    std::vector<std::string> argv{
        nginx_, "-p", dir_, "-c", dir_ + "/nginx.conf", "-e", dir_ + "/error.log"};
    std::vector<char*> args;
    for (auto& a : argv) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error("cannot start " + nginx_ + ": " + std::strerror(rc));
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        if (loopback_accepts(http_port_) && loopback_accepts(https_port_)) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    return false;
}

void nginx_fixture::stop() {
    stop_process(pid_);  // SIGTERM is nginx's fast shutdown: master and worker exit
}

}  // namespace corvid::bench
