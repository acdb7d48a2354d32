#include "corvid/error.hpp"

namespace corvid {

namespace {

class client_errc_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "corvid.client"; }
    std::string message(int ev) const override {
        switch (static_cast<client_errc>(ev)) {
            case client_errc::bad_url:
                return "malformed URL";
            case client_errc::unsupported_scheme:
                return "unsupported URL scheme (use http or https)";
            case client_errc::too_many_redirects:
                return "too many redirects (raise --max-redirs)";
            case client_errc::bad_redirect:
                return "redirect response without a usable Location";
            case client_errc::decode_failed:
                return "content decoding failed (corrupt compressed body)";
            case client_errc::decoded_too_large:
                return "decoded body exceeds the decompression limit";
            case client_errc::unsupported_encoding:
                return "unsupported Content-Encoding";
            case client_errc::proxy_failed:
                return "the proxy refused or failed to open the tunnel";
            case client_errc::proxy_auth_required:
                return "the proxy requires authentication (407)";
            case client_errc::body_in_progress:
                return "the previous response body has not been consumed";
            case client_errc::proxy_resolve_failed:
                return "could not resolve the proxy's host name (check -x/--proxy)";
            case client_errc::request_body_failed:
                return "the request body source failed";
        }
        return "unknown corvid.client error";
    }
};

}  // namespace

const std::error_category& client_category() noexcept {
    static const client_errc_category_impl category;
    return category;
}

}  // namespace corvid
