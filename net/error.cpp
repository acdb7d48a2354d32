#include "corvid/error.hpp"

namespace corvid {

namespace {

class net_errc_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "corvid.net"; }
    std::string message(int ev) const override {
        switch (static_cast<net_errc>(ev)) {
            case net_errc::dns_failed:
                return "could not resolve host name (check the spelling and your DNS settings)";
            case net_errc::no_addresses:
                return "host name resolved to no usable address";
            case net_errc::connect_failed:
                return "could not connect to any address of the host (is the server running and "
                       "the port right?)";
            case net_errc::connect_timeout:
                return "connection timed out (raise --connect-timeout or check the network)";
            case net_errc::read_timeout:
                return "the server sent nothing within the read timeout";
            case net_errc::total_timeout:
                return "operation timed out (the --max-time limit was reached)";
            case net_errc::cancelled:
                return "operation cancelled";
            case net_errc::connection_closed:
                return "the server closed the connection unexpectedly";
        }
        return "unknown corvid.net error";
    }
};

}  // namespace

const std::error_category& net_category() noexcept {
    static const net_errc_category_impl category;
    return category;
}

}  // namespace corvid
