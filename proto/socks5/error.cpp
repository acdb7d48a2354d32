#include "corvid/error.hpp"

namespace corvid {

namespace {

class socks5_errc_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "corvid.socks5"; }
    std::string message(int ev) const override {
        switch (static_cast<socks5_errc>(ev)) {
            case socks5_errc::bad_version:
                return "the proxy did not answer as a SOCKS5 server (wrong protocol version)";
            case socks5_errc::no_acceptable_method:
                return "the SOCKS5 proxy accepted none of the offered authentication methods "
                       "(it may require a username and password)";
            case socks5_errc::auth_failed:
                return "the SOCKS5 proxy rejected the username or password";
            case socks5_errc::general_failure:
                return "the SOCKS5 proxy reported a general server failure";
            case socks5_errc::not_allowed:
                return "the SOCKS5 proxy's rules do not allow this connection";
            case socks5_errc::network_unreachable:
                return "the SOCKS5 proxy reported the target network unreachable";
            case socks5_errc::host_unreachable:
                return "the SOCKS5 proxy reported the target host unreachable";
            case socks5_errc::connection_refused:
                return "the SOCKS5 proxy reported that the target refused the connection";
            case socks5_errc::ttl_expired:
                return "the SOCKS5 proxy reported that the TTL expired";
            case socks5_errc::command_not_supported:
                return "the SOCKS5 proxy does not support the CONNECT command";
            case socks5_errc::address_type_not_supported:
                return "the SOCKS5 proxy does not support the target's address type (try "
                       "resolving the name locally, or at the proxy)";
            case socks5_errc::bad_reply:
                return "the SOCKS5 proxy sent a malformed or unexpected reply";
            case socks5_errc::host_too_long:
                return "the host name is longer than the 255 bytes SOCKS5 can carry";
            case socks5_errc::empty_host:
                return "the SOCKS5 target host name is empty";
            case socks5_errc::bad_credentials:
                return "SOCKS5 credentials must have a 1 to 255 byte username and a password "
                       "of at most 255 bytes";
        }
        return "unknown corvid.socks5 error";
    }
};

}  // namespace

const std::error_category& socks5_category() noexcept {
    static const socks5_errc_category_impl category;
    return category;
}

}  // namespace corvid
