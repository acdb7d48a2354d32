#pragma once

// A throwaway PKI for tests and the demo fixture: an in-memory CA that issues
// server certificates, and self-signed leaves, all generated with BoringSSL at
// run time so no key material is ever committed to the repository.
//
// Keys are ECDSA P-256, certificates are X.509 v3 signed with SHA-256, and
// everything is returned as PEM text (certificates as "CERTIFICATE", keys as
// PKCS#8 "PRIVATE KEY"), which BoringSSL, OpenSSL, GnuTLS, nginx and
// nghttpd all load.
//
// Thread safety: every function here is safe to call from any thread; a
// test_ca is immutable after create() and may be shared between threads.
//
// Errors: generation failures (which mean BoringSSL refused an input, e.g. a
// malformed IP address literal in leaf_spec) are reported as
// tls_errc::bad_credentials; write_file reports the errno of the failed call.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "corvid/result.hpp"

namespace corvid::tls {

/// A certificate and its private key, both PEM-encoded.
struct pem_pair {
    std::string cert_pem;
    std::string key_pem;
};

/// What a leaf certificate says. Offsets are relative to the moment of
/// issue: an expired certificate has a negative not_after_offset, a
/// not-yet-valid one a positive not_before_offset.
struct leaf_spec {
    /// subjectAltName dNSName entries; the first one is also the subject CN.
    std::vector<std::string> dns_names = {"localhost"};
    /// subjectAltName iPAddress entries, as IPv4 or IPv6 text literals.
    std::vector<std::string> ip_addresses = {"127.0.0.1", "::1"};
    std::chrono::seconds not_before_offset{-3600};
    std::chrono::seconds not_after_offset{86400 * 30};
};

/// A throwaway certificate authority: an ECDSA P-256 key and a self-signed
/// certificate with basicConstraints CA:TRUE and keyUsage keyCertSign,
/// valid from one day ago for ten years.
class test_ca {
  public:
    /// Generates a fresh key and CA certificate.
    static result<test_ca> create(std::string common_name = "corvid test CA");

    /// The CA certificate, to be used as a trust anchor (e.g. --cacert).
    const std::string& cert_pem() const { return cert_pem_; }

    /// Issues a leaf signed by this CA: a fresh P-256 key, the SANs of
    /// `spec`, extendedKeyUsage serverAuth, keyUsage digitalSignature,
    /// basicConstraints CA:FALSE and a random 128-bit serial number.
    result<pem_pair> issue(const leaf_spec& spec) const;

  private:
    test_ca(std::string cert_pem, std::string key_pem)
        : cert_pem_(std::move(cert_pem)), key_pem_(std::move(key_pem)) {}

    std::string cert_pem_;
    std::string key_pem_;
};

/// A self-signed leaf (basicConstraints CA:FALSE, extendedKeyUsage
/// serverAuth, the SANs of `spec`). It verifies only when trusted directly.
result<pem_pair> make_self_signed(const leaf_spec& spec);

/// Writes `contents` to `path`, replacing the file. Errors carry errno.
result<void> write_file(const std::string& path, std::string_view contents);

}  // namespace corvid::tls
