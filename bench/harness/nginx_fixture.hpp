#pragma once

// The HTTP fixture of corvid-bench: a private nginx (Debian's nginx-light,
// /usr/sbin/nginx) on 127.0.0.1, serving a generated docroot over plain HTTP
// and HTTPS with a certificate from a throwaway CA (tls/test_pki.hpp).
//
// Everything lives in a fresh temporary directory that the destructor removes.
// nginx runs with one worker, no access log, sendfile for plain HTTP, and
// TLS 1.3 restricted to TLS_AES_128_GCM_SHA256 over X25519, so libcurl
// (OpenSSL) and corvid (BoringSSL) negotiate the same cipher and group:
// left to client preference, OpenSSL would pick AES-256-GCM and BoringSSL
// AES-128-GCM, and the benchmark would compare ciphers instead of clients.
//
// Request bodies: POST (or PUT) to /upload on either listener is answered
// only after nginx has read the whole body (the echo module's
// echo_read_request_body, Debian's libnginx-mod-http-echo, which nginx-light
// depends on), with `upload_response`. A plain `return 200` or a static file
// would not do: nginx answers those at once and discards the body behind
// the response, so an upload's "time to the response" would measure nothing.
// The body is kept in memory (client_body_buffer_size), never written to a
// temporary file, and dropped.
//
// Errors throw std::runtime_error (see process.hpp for why).

#include <sys/types.h>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/harness/process.hpp"

namespace corvid::bench {

/// One generated file: `size` bytes of a fixed pseudo-random sequence
/// (splitmix64 seeded from the name), identical on every run.
struct fixture_file {
    std::string name;  ///< served at "/" + name
    std::uint64_t size = 0;
};

/// Where the fixture accepts a request body: "/upload".
inline constexpr const char* upload_path = "upload";
/// The largest request body /upload accepts.
inline constexpr std::uint64_t max_upload_size = std::uint64_t{2} << 20;
/// The body of /upload's response (200, chunked): sent once the whole
/// request body has been read.
inline constexpr std::string_view upload_response = "received\n";

class nginx_fixture {
  public:
    /// Generates the docroot and PKI, picks two free loopback ports, starts
    /// nginx and waits until both listeners accept connections.
    /// With `worker_cpu` >= 0 the worker is pinned to that CPU
    /// (worker_cpu_affinity).
    explicit nginx_fixture(const std::vector<fixture_file>& files, int worker_cpu = -1,
                           std::string nginx_path = "/usr/sbin/nginx");
    ~nginx_fixture();
    nginx_fixture(const nginx_fixture&) = delete;
    nginx_fixture& operator=(const nginx_fixture&) = delete;

    std::uint16_t http_port() const noexcept { return http_port_; }
    std::uint16_t https_port() const noexcept { return https_port_; }
    /// "http://127.0.0.1:PORT/NAME" or "https://...".
    std::string url(bool tls, const std::string& name) const;
    /// PEM file of the CA that issued the server certificate.
    const std::string& ca_file() const noexcept { return ca_file_; }
    /// `nginx -v`, e.g. "nginx/1.22.1".
    const std::string& version() const noexcept { return version_; }
    /// Whether /upload works: the echo module
    /// (/usr/lib/nginx/modules/ngx_http_echo_module.so) was found and loaded.
    bool accepts_uploads() const noexcept { return echo_module_; }
    /// What the fixture is, for the report.
    std::string description() const;

  private:
    void write_config();
    bool try_start();  // false when nginx exited (e.g. a port was taken meanwhile)
    void stop();

    std::string nginx_;
    std::string dir_;
    std::string ca_file_;
    std::string version_;
    std::uint16_t http_port_ = 0;
    std::uint16_t https_port_ = 0;
    pid_t pid_ = -1;
    int worker_cpu_ = -1;
    bool echo_module_ = false;
};

/// Fills `out` with the fixture's bytes for `name` (exposed for tests and for
/// checking what a peer received).
void fixture_bytes(const std::string& name, std::uint64_t size, std::string& out);

}  // namespace corvid::bench
