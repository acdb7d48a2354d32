#pragma once

// Real peers for integration tests: nginx, tinyproxy, microsocks, nghttpd and
// the python3-h2 test server (tests/support/h2_server.py) run as child
// processes, each in a fresh temporary directory on a free loopback port, and
// are stopped when their handle is destroyed.
//
// These are test fixtures, so they report failure by throwing
// std::runtime_error with a message that names the binary, the Debian
// package that provides it, and the log file (its tail is quoted too);
// GoogleTest turns that into a test failure that says what went wrong.
//
// A server's stdout and stderr go to <dir>/<name>.log. The directory is
// removed with the handle unless startup failed (so the log named in the
// error still exists) or CORVID_KEEP_TEMP is set in the environment.
//
// Thread safety: a handle is used by one thread at a time. The child is
// killed if the thread that started it exits (PR_SET_PDEATHSIG), so start
// servers from the test's own thread, not from a short-lived helper thread.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tls/test_pki.hpp"

namespace corvid::test {

/// A fresh directory under the system temp directory, removed recursively on
/// destruction (unless keep() was called or CORVID_KEEP_TEMP is set).
class temp_dir {
  public:
    /// Creates /tmp/corvid-<prefix>-XXXXXX. Throws std::runtime_error on failure.
    explicit temp_dir(const std::string& prefix = "test");
    ~temp_dir();
    temp_dir(temp_dir&& other) noexcept;
    temp_dir& operator=(temp_dir&& other) noexcept;
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    /// `path() / name` as a string, for building config files.
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    /// Leave the directory on disk when this object is destroyed.
    void keep() { keep_ = true; }

  private:
    std::filesystem::path path_;
    bool keep_ = false;
};

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and
/// read back, then released). Another process could take it before the
/// server binds it; start() then reports the server's bind error.
std::uint16_t free_port();

/// Writes `contents` to `path`; throws std::runtime_error on failure.
void write_text_file(const std::filesystem::path& path, const std::string& contents);

/// What to run: an absolute binary path, the Debian package that installs it
/// (named when the binary is missing) and its arguments.
struct process_spec {
    std::string name;  ///< short name: the log is <dir>/<name>.log
    std::string binary;
    std::string debian_package;
    std::vector<std::string> args;  ///< argv[1...]
};

/// A running server process. Movable, not copyable; destruction stops it.
class external_server {
  public:
    /// How long start() waits for every port to accept a connection.
    static constexpr std::chrono::milliseconds default_startup_wait{10000};

    /// Runs `spec` with `dir` as its working directory (the handle takes
    /// ownership of `dir`) and waits until every port in `ports` accepts a
    /// TCP connection on 127.0.0.1. Throws std::runtime_error if the binary
    /// is missing, the process exits, or a port is still closed after
    /// `startup_wait`; the process is killed first.
    static external_server start(process_spec spec, temp_dir dir, std::vector<std::uint16_t> ports,
                                 std::chrono::milliseconds startup_wait = default_startup_wait);

    ~external_server();
    external_server(external_server&& other) noexcept;
    external_server& operator=(external_server&& other) noexcept;
    external_server(const external_server&) = delete;
    external_server& operator=(const external_server&) = delete;

    /// SIGTERM to the server's process group; SIGKILL if it has not exited
    /// within a few seconds; then reaps it. Idempotent.
    void stop();

    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    /// The first port given to start().
    std::uint16_t port() const { return ports_.empty() ? 0 : ports_.front(); }
    const std::vector<std::uint16_t>& ports() const { return ports_; }
    const temp_dir& dir() const { return dir_; }
    const std::filesystem::path& log_path() const { return log_path_; }
    /// The server's output so far.
    std::string log() const;

  private:
    external_server(process_spec spec, temp_dir dir, std::vector<std::uint16_t> ports);

    process_spec spec_;
    temp_dir dir_;
    std::vector<std::uint16_t> ports_;
    std::filesystem::path log_path_;
    pid_t pid_ = -1;
};

// --- nginx (Debian nginx-light or nginx-core: /usr/sbin/nginx) -------------

/// Runs nginx in the foreground, single process, with `http_body` (server
/// blocks and any http-level directives) inside the http {} block of a
/// complete nginx.conf written to <dir>/nginx.conf. pid, error log and every
/// temp path live in `dir`; the access log is off. Put any files the
/// configuration refers to (certificates, document roots) in `dir` first.
external_server start_nginx(temp_dir dir, const std::string& http_body,
                            std::vector<std::uint16_t> ports);

/// A static site served by nginx over HTTP/1.1 and, when a certificate is
/// given, over HTTPS, with gzip for every type and keep-alive.
struct nginx_site_options {
    /// Copied into the server's directory and served at /. Empty: serve an
    /// empty document root (add locations below).
    std::filesystem::path document_root;
    /// Certificate and key for the HTTPS port; leave empty for plain HTTP only.
    tls::pem_pair certificate;
    /// Offer h2 by ALPN on the HTTPS port (nginx 1.22: "listen ... ssl http2").
    bool http2 = false;
    /// nginx's ssl_protocols for the HTTPS port, e.g. "TLSv1.2" alone.
    std::string ssl_protocols = "TLSv1.2 TLSv1.3";
    /// Extra directives pasted into both server blocks, typically location
    /// blocks: `location = /r { return 302 /x; }`,
    /// `location /c { add_header Set-Cookie "a=b; Path=/"; return 200 "ok"; }`.
    std::string extra_locations;
};

struct nginx_site {
    external_server server;
    std::uint16_t http_port = 0;
    std::uint16_t https_port = 0;  ///< 0 when no certificate was given
};

nginx_site start_nginx_site(const nginx_site_options& options);

// --- tinyproxy (Debian tinyproxy: /usr/bin/tinyproxy) ----------------------

/// An HTTP forward proxy on 127.0.0.1 that allows CONNECT to any port (no
/// ConnectPort lines). `extra_config` is appended to the config file, e.g.
/// "BasicAuth user secret".
external_server start_tinyproxy(const std::string& extra_config = {});

// --- microsocks (Debian microsocks: /usr/bin/microsocks) -------------------

/// A SOCKS5 proxy on 127.0.0.1; with a user name it requires RFC 1929
/// username/password authentication.
external_server start_microsocks(const std::string& user = {}, const std::string& password = {});

// --- nghttpd (Debian nghttp2-server: /usr/sbin/nghttpd) --------------------

/// nghttp2's HTTP/2 server on 127.0.0.1 serving `document_root` (copied into
/// its directory). With an empty certificate it speaks h2c (prior knowledge)
/// over cleartext. `extra_args` are passed before the port (e.g. "--echo-upload").
external_server start_nghttpd(const std::filesystem::path& document_root,
                              const tls::pem_pair& certificate = {},
                              const std::vector<std::string>& extra_args = {});

// --- h2_server.py (Debian python3-h2, run by /usr/bin/python3) -------------

/// tests/support/h2_server.py in the source tree (CORVID_SOURCE_DIR).
std::filesystem::path h2_server_script();

/// How to start h2_server.py. Every field maps to one of its flags; the
/// script's header documents the paths it serves (/hello, /bytes/N, /echo,
/// /trailers, /slow/N/MS, /big-headers, /rst/CODE, /goaway, /never-read,
/// /frames) and the /frames JSON format.
struct h2_server_options {
    /// Certificate and key for TLS with ALPN h2 (a client that does not
    /// negotiate h2 is disconnected). Empty: h2c with prior knowledge.
    tls::pem_pair certificate;
    /// SETTINGS_INITIAL_WINDOW_SIZE the server announces (--initial-window),
    /// e.g. 1 or 100 to test tiny windows. Unset: not announced (65535).
    std::optional<std::uint32_t> initial_window;
    /// SETTINGS_MAX_CONCURRENT_STREAMS (--max-concurrent-streams); streams
    /// beyond it are reset with REFUSED_STREAM. Unset: 100.
    std::optional<std::uint32_t> max_concurrent_streams;
    /// On the Nth request of each connection, GOAWAY with that request's
    /// stream id as last_stream_id, before answering it (--goaway-after).
    /// Unset: never.
    std::optional<std::uint32_t> goaway_after;
    /// More flags, e.g. {"--connection-window", "1048576"}.
    std::vector<std::string> extra_args;
};

/// Runs h2_server.py with /usr/bin/python3 on a free port of 127.0.0.1 and
/// waits until it accepts connections. Besides the errors of
/// external_server::start, throws std::runtime_error when the script is not
/// in the source tree; when /usr/bin/python3 cannot import h2 the script
/// exits at once and the error quotes its message, which names the Debian
/// package python3-h2.
external_server start_h2_server(const h2_server_options& options = {});

}  // namespace corvid::test
