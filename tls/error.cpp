#include "corvid/error.hpp"

namespace corvid {

namespace {

class tls_errc_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "corvid.tls"; }
    std::string message(int ev) const override {
        switch (static_cast<tls_errc>(ev)) {
            case tls_errc::handshake_failed:
                return "TLS handshake failed";
            case tls_errc::cert_untrusted:
                return "server certificate is not signed by a trusted CA (use --cacert to trust a "
                       "private CA)";
            case tls_errc::cert_self_signed:
                return "server certificate is self-signed and not trusted (use --cacert to trust "
                       "it, or -k to skip verification)";
            case tls_errc::cert_expired:
                return "server certificate has expired";
            case tls_errc::cert_not_yet_valid:
                return "server certificate is not yet valid (check the system clock)";
            case tls_errc::cert_hostname_mismatch:
                return "server certificate does not match the host name";
            case tls_errc::cert_verify_failed:
                return "server certificate verification failed";
            case tls_errc::bad_credentials:
                return "could not load a certificate, key or CA file";
            case tls_errc::alpn_mismatch:
                return "server did not select a required application protocol (ALPN)";
            case tls_errc::bad_profile:
                return "the TLS library refused a setting of the browser profile (cipher, group, "
                       "signature algorithm or certificate compression): fix the profile file";
        }
        return "unknown corvid.tls error";
    }
};

}  // namespace

const std::error_category& tls_category() noexcept {
    static const tls_errc_category_impl category;
    return category;
}

}  // namespace corvid
