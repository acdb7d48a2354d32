#pragma once

// The HTTP/2 fixture of corvid-bench: nghttpd (Debian's nghttp2-server,
// /usr/sbin/nghttpd) on 127.0.0.1 over TLS with ALPN h2, serving a generated
// docroot (the same bytes as nginx_fixture) with a certificate from a
// throwaway CA (tls/test_pki.hpp).
//
// nghttpd runs with one worker (its event loop on the main thread), pinned
// before exec when asked, and --echo-upload: a POST's body is stored as it
// arrives and sent back once the request stream has ended, so an upload's
// time to first response byte covers the whole request body. It serves
// files in DATA frames of up to 16 KiB (the default SETTINGS_MAX_FRAME_SIZE)
// and allows 100 concurrent streams (its default).
//
// TLS: nghttpd prefers the server's cipher order and fixes the key exchange
// group to P-256; its TLS 1.3 suites come from OpenSSL's defaults, so the
// fixture gives it an OPENSSL_CONF restricting TLS 1.3 to
// TLS_AES_128_GCM_SHA256, the cipher of the HTTP/1.1 fixture, and both
// clients negotiate the same cipher and group.
//
// Everything lives in a fresh temporary directory that the destructor
// removes. Errors throw std::runtime_error (see process.hpp for why).

#include <sys/types.h>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/harness/nginx_fixture.hpp"

namespace corvid::bench {

class nghttpd_fixture {
  public:
    /// Generates the docroot and PKI, picks a free loopback port, starts
    /// nghttpd and waits until it accepts connections. With `cpu` >= 0 the
    /// server is restricted to that CPU from before its first instruction.
    explicit nghttpd_fixture(const std::vector<fixture_file>& files, int cpu = -1,
                             std::string nghttpd_path = "/usr/sbin/nghttpd");
    ~nghttpd_fixture();
    nghttpd_fixture(const nghttpd_fixture&) = delete;
    nghttpd_fixture& operator=(const nghttpd_fixture&) = delete;

    std::uint16_t port() const noexcept { return server_->port(); }
    /// "https://127.0.0.1:PORT/NAME".
    std::string url(const std::string& name) const;
    /// PEM file of the CA that issued the server certificate.
    const std::string& ca_file() const noexcept { return ca_file_; }
    /// `nghttpd --version`, e.g. "nghttpd nghttp2/1.52.0".
    const std::string& version() const noexcept { return version_; }
    /// What the fixture is, for the report.
    std::string description() const;

  private:
    std::string nghttpd_;
    std::string dir_;
    std::string ca_file_;
    std::string version_;
    int cpu_ = -1;
    std::unique_ptr<server_process> server_;  ///< nghttpd; its log is DIR/server.log
};

}  // namespace corvid::bench
