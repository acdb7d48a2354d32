#include "support/external_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

namespace corvid::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

bool keep_temp_from_env() {
    const char* v = std::getenv("CORVID_KEEP_TEMP");
    return v != nullptr && *v != '\0' && std::string(v) != "0";
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The last few lines of a log, for error messages.
std::string tail(const std::string& text, std::size_t max_bytes = 2000) {
    if (text.size() <= max_bytes) {
        return text;
    }
    std::size_t start = text.find('\n', text.size() - max_bytes);
    return "...\n" + text.substr(start == std::string::npos ? text.size() - max_bytes : start + 1);
}

// Whether something accepts TCP connections on 127.0.0.1:port right now.
bool port_accepts(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

// Whether the process has exited, without reaping it: an unreaped zombie
// keeps its pid, and so its process group id, from being reused, which makes
// the kill(-pid) in stop() safe until waitpid.
bool has_exited(pid_t pid, siginfo_t& info) {
    info = {};
    return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid;
}

std::string describe_exit(const siginfo_t& info) {
    if (info.si_code == CLD_EXITED) {
        if (info.si_status == 127) {
            return "could not be executed (exit status 127)";
        }
        return "exited with status " + std::to_string(info.si_status);
    }
    return std::string("was killed by signal ") + strsignal(info.si_status);
}

void require_binary(const process_spec& spec) {
    if (::access(spec.binary.c_str(), X_OK) != 0) {
        throw std::runtime_error(spec.name + " not found at " + spec.binary +
                                 ": install the Debian package " + spec.debian_package +
                                 " (apt-get install " + spec.debian_package + ")");
    }
}

// Copies a document root into the server's directory, so tests can pass a
// directory they are still writing to and servers never see the source tree.
fs::path copy_document_root(const temp_dir& dir, const fs::path& source) {
    fs::path target = dir.path() / "htdocs";
    fs::create_directories(target);
    if (!source.empty()) {
        fs::copy(source, target,
                 fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    }
    return target;
}

void write_pem_files(const temp_dir& dir, const tls::pem_pair& pair) {
    write_text_file(dir.path() / "cert.pem", pair.cert_pem);
    write_text_file(dir.path() / "key.pem", pair.key_pem);
    fs::permissions(dir.path() / "key.pem", fs::perms::owner_read | fs::perms::owner_write);
}

}  // namespace

// --- temp_dir ---------------------------------------------------------------

temp_dir::temp_dir(const std::string& prefix) {
    std::string tmpl = (fs::temp_directory_path() / ("corvid-" + prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw_errno("mkdtemp " + tmpl);
    }
    path_ = tmpl;
    keep_ = keep_temp_from_env();
}

temp_dir::~temp_dir() {
    if (!path_.empty() && !keep_) {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
}

temp_dir::temp_dir(temp_dir&& other) noexcept
    : path_(std::exchange(other.path_, {})), keep_(other.keep_) {}

temp_dir& temp_dir::operator=(temp_dir&& other) noexcept {
    if (this != &other) {
        temp_dir old(std::move(*this));  // removes our current directory
        path_ = std::exchange(other.path_, {});
        keep_ = other.keep_;
    }
    return *this;
}

// --- helpers ----------------------------------------------------------------

std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw_errno("free_port: socket");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        int saved = errno;
        ::close(fd);
        errno = saved;
        throw_errno("free_port: bind/getsockname");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

void write_text_file(const fs::path& path, const std::string& contents) {
    auto r = tls::write_file(path.string(), contents);
    if (!r) {
        throw std::runtime_error("cannot write " + path.string() + ": " + r.error().message());
    }
}

// --- external_server --------------------------------------------------------

external_server::external_server(process_spec spec, temp_dir dir, std::vector<std::uint16_t> ports)
    : spec_(std::move(spec)), dir_(std::move(dir)), ports_(std::move(ports)) {
    log_path_ = dir_.path() / (spec_.name + ".log");
}

external_server external_server::start(process_spec spec, temp_dir dir,
                                       std::vector<std::uint16_t> ports,
                                       std::chrono::milliseconds startup_wait) {
    require_binary(spec);
    external_server server(std::move(spec), std::move(dir), std::move(ports));
    const process_spec& s = server.spec_;

    // Everything the child needs is prepared before fork(): after fork in a
    // threaded process only async-signal-safe calls are allowed.
    std::vector<std::string> argv_storage;
    argv_storage.push_back(s.binary);
    argv_storage.insert(argv_storage.end(), s.args.begin(), s.args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const std::string log = server.log_path_.string();
    const std::string cwd = server.dir_.path().string();
    const pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0) {
        throw_errno("fork for " + s.name);
    }
    if (pid == 0) {
        // Own process group, so stop() reaches anything the server forks; and
        // die with the test process even if it crashes before stop().
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(126);
        }
        int null_fd = ::open("/dev/null", O_RDONLY);
        int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
        if (null_fd < 0 || log_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 ||
            ::dup2(log_fd, 2) < 0 || ::chdir(cwd.c_str()) != 0) {
            ::_exit(126);
        }
        ::execv(argv[0], argv.data());
        static const char msg[] = "exec failed\n";
        [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
        ::_exit(127);
    }
    // Also from the parent, so kill(-pid) works even before the child runs.
    ::setpgid(pid, pid);
    server.pid_ = pid;

    auto fail = [&](const std::string& why) {
        server.stop();
        server.dir_.keep();  // the log named in the message must survive
        throw std::runtime_error(server.spec_.name + " (" + server.spec_.binary + ") " + why +
                                 "; log: " + server.log_path_.string() + "\n" + tail(server.log()));
    };

    const auto deadline = std::chrono::steady_clock::now() + startup_wait;
    std::size_t ready = 0;
    while (ready < server.ports_.size()) {
        siginfo_t info;
        if (has_exited(pid, info)) {
            fail(describe_exit(info) + " before accepting connections");
        }
        if (port_accepts(server.ports_[ready])) {
            ++ready;
            continue;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            fail("did not accept connections on 127.0.0.1:" + std::to_string(server.ports_[ready]) +
                 " within " + std::to_string(startup_wait.count()) + " ms");
        }
        std::this_thread::sleep_for(20ms);
    }
    return server;
}

external_server::~external_server() {
    stop();
}

external_server::external_server(external_server&& other) noexcept
    : spec_(std::move(other.spec_)),
      dir_(std::move(other.dir_)),
      ports_(std::move(other.ports_)),
      log_path_(std::move(other.log_path_)),
      pid_(std::exchange(other.pid_, -1)) {}

external_server& external_server::operator=(external_server&& other) noexcept {
    if (this != &other) {
        stop();
        spec_ = std::move(other.spec_);
        dir_ = std::move(other.dir_);
        ports_ = std::move(other.ports_);
        log_path_ = std::move(other.log_path_);
        pid_ = std::exchange(other.pid_, -1);
    }
    return *this;
}

void external_server::stop() {
    if (pid_ <= 0) {
        return;
    }
    ::kill(-pid_, SIGTERM);
    // A graceful exit lets servers flush their logs; a bounded wait keeps a
    // wedged server from hanging the test run.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    siginfo_t info;
    while (!has_exited(pid_, info) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    // Whatever is left in the group (a wedged server, anything it forked)
    // is killed while the unreaped leader still reserves the group id.
    ::kill(-pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

std::string external_server::log() const {
    return read_file(log_path_);
}

// --- nginx ------------------------------------------------------------------

external_server start_nginx(temp_dir dir, const std::string& http_body,
                            std::vector<std::uint16_t> ports) {
    const std::string d = dir.path().string();
    // master_process off: one process that never switches user, so the same
    // configuration works as root (CI) and as an ordinary user; the "user"
    // directive would only matter for worker processes.
    std::string conf =
        "daemon off;\n"
        "master_process off;\n"
        "worker_processes 1;\n"
        "pid " +
        d +
        "/nginx.pid;\n"
        "error_log " +
        d +
        "/error.log info;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    access_log off;\n"
        "    client_body_temp_path " +
        d +
        "/client_body_temp;\n"
        "    proxy_temp_path " +
        d +
        "/proxy_temp;\n"
        "    fastcgi_temp_path " +
        d +
        "/fastcgi_temp;\n"
        "    uwsgi_temp_path " +
        d +
        "/uwsgi_temp;\n"
        "    scgi_temp_path " +
        d +
        "/scgi_temp;\n"
        "    types {\n"
        "        text/html html htm;\n"
        "        text/plain txt;\n"
        "        text/css css;\n"
        "        application/javascript js;\n"
        "        application/json json;\n"
        "        image/png png;\n"
        "    }\n"
        "    default_type application/octet-stream;\n" +
        http_body + "\n}\n";
    write_text_file(dir.path() / "nginx.conf", conf);
    process_spec spec{"nginx",
                      "/usr/sbin/nginx",
                      "nginx-light",
                      // -e: the compiled-in error log (/var/log/nginx) is
                      // opened before the config is read; keep it in dir.
                      {"-p", d + "/", "-e", d + "/error.log", "-c", d + "/nginx.conf"}};
    return external_server::start(std::move(spec), std::move(dir), std::move(ports));
}

nginx_site start_nginx_site(const nginx_site_options& options) {
    temp_dir dir("nginx");
    fs::path root = copy_document_root(dir, options.document_root);
    const bool https = !options.certificate.cert_pem.empty();
    if (https) {
        write_pem_files(dir, options.certificate);
    }
    const std::uint16_t http_port = free_port();
    const std::uint16_t https_port = https ? free_port() : 0;

    const std::string common = "        root " + root.string() +
                               ";\n"
                               "        keepalive_timeout 75s;\n"
                               "        keepalive_requests 10000;\n"
                               "        gzip on;\n"
                               "        gzip_types *;\n"
                               "        gzip_min_length 0;\n"
                               "        gzip_proxied any;\n"
                               "        gzip_vary on;\n" +
                               options.extra_locations + "\n";
    std::string body = "    server {\n        listen 127.0.0.1:" + std::to_string(http_port) +
                       ";\n        server_name localhost;\n" + common + "    }\n";
    std::vector<std::uint16_t> ports{http_port};
    if (https) {
        body += "    server {\n        listen 127.0.0.1:" + std::to_string(https_port) + " ssl" +
                (options.http2 ? " http2" : "") +
                ";\n"
                "        server_name localhost;\n"
                "        ssl_certificate " +
                dir.file("cert.pem") +
                ";\n"
                "        ssl_certificate_key " +
                dir.file("key.pem") +
                ";\n"
                "        ssl_protocols " +
                options.ssl_protocols + ";\n" + common + "    }\n";
        ports.push_back(https_port);
    }
    return nginx_site{start_nginx(std::move(dir), body, std::move(ports)), http_port, https_port};
}

// --- tinyproxy --------------------------------------------------------------

external_server start_tinyproxy(const std::string& extra_config) {
    temp_dir dir("tinyproxy");
    const std::uint16_t port = free_port();
    // No ConnectPort lines: CONNECT is allowed to every port (tinyproxy.conf(5)).
    std::string conf = "Port " + std::to_string(port) +
                       "\n"
                       "Listen 127.0.0.1\n"
                       "Timeout 600\n"
                       "MaxClients 100\n"
                       "LogLevel Info\n"
                       "PidFile \"" +
                       dir.file("tinyproxy.pid") + "\"\n";
    // As root tinyproxy wants to drop to a configured user (older versions
    // refuse to run without one); naming root itself keeps file access as is.
    if (::geteuid() == 0) {
        const passwd* pw = ::getpwuid(0);
        const group* gr = ::getgrgid(0);
        conf += std::string("User ") + (pw != nullptr ? pw->pw_name : "root") + "\n";
        conf += std::string("Group ") + (gr != nullptr ? gr->gr_name : "root") + "\n";
    }
    conf += extra_config + "\n";
    write_text_file(dir.path() / "tinyproxy.conf", conf);
    process_spec spec{
        "tinyproxy", "/usr/bin/tinyproxy", "tinyproxy", {"-d", "-c", dir.file("tinyproxy.conf")}};
    return external_server::start(std::move(spec), std::move(dir), {port});
}

// --- microsocks -------------------------------------------------------------

external_server start_microsocks(const std::string& user, const std::string& password) {
    temp_dir dir("microsocks");
    const std::uint16_t port = free_port();
    process_spec spec{"microsocks",
                      "/usr/bin/microsocks",
                      "microsocks",
                      {"-i", "127.0.0.1", "-p", std::to_string(port)}};
    if (!user.empty()) {
        spec.args.insert(spec.args.end(), {"-u", user, "-P", password});
    }
    return external_server::start(std::move(spec), std::move(dir), {port});
}

// --- nghttpd ----------------------------------------------------------------

external_server start_nghttpd(const fs::path& document_root, const tls::pem_pair& certificate,
                              const std::vector<std::string>& extra_args) {
    temp_dir dir("nghttpd");
    fs::path root = copy_document_root(dir, document_root);
    const std::uint16_t port = free_port();
    process_spec spec{"nghttpd", "/usr/sbin/nghttpd", "nghttp2-server", {}};
    spec.args = {"-a", "127.0.0.1", "-d", root.string()};
    spec.args.insert(spec.args.end(), extra_args.begin(), extra_args.end());
    if (certificate.cert_pem.empty()) {
        spec.args.push_back("--no-tls");
        spec.args.push_back(std::to_string(port));
    } else {
        write_pem_files(dir, certificate);
        spec.args.push_back(std::to_string(port));
        spec.args.push_back(dir.file("key.pem"));
        spec.args.push_back(dir.file("cert.pem"));
    }
    return external_server::start(std::move(spec), std::move(dir), {port});
}

// --- h2_server.py ------------------------------------------------------------

fs::path h2_server_script() {
    return fs::path(CORVID_SOURCE_DIR) / "tests" / "support" / "h2_server.py";
}

external_server start_h2_server(const h2_server_options& options) {
    const fs::path script = h2_server_script();
    if (!fs::is_regular_file(script)) {
        throw std::runtime_error("h2 test server script not found: " + script.string());
    }
    temp_dir dir("h2server");
    const std::uint16_t port = free_port();
    // /usr/bin/python3 explicitly: Debian's python3-h2 belongs to it, and the
    // python3 first on PATH may be another interpreter without h2.
    process_spec spec{"h2_server", "/usr/bin/python3", "python3-h2", {}};
    spec.args = {script.string(), "--port", std::to_string(port)};
    if (!options.certificate.cert_pem.empty()) {
        write_pem_files(dir, options.certificate);
        spec.args.insert(spec.args.end(),
                         {"--tls-cert", dir.file("cert.pem"), "--tls-key", dir.file("key.pem")});
    }
    if (options.initial_window) {
        spec.args.insert(spec.args.end(),
                         {"--initial-window", std::to_string(*options.initial_window)});
    }
    if (options.max_concurrent_streams) {
        spec.args.insert(spec.args.end(), {"--max-concurrent-streams",
                                           std::to_string(*options.max_concurrent_streams)});
    }
    if (options.goaway_after) {
        spec.args.insert(spec.args.end(),
                         {"--goaway-after", std::to_string(*options.goaway_after)});
    }
    spec.args.insert(spec.args.end(), options.extra_args.begin(), options.extra_args.end());
    return external_server::start(std::move(spec), std::move(dir), {port});
}

}  // namespace corvid::test
