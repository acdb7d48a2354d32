#include "corvid/error.hpp"

namespace corvid {

namespace {

class http1_errc_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "corvid.http1"; }
    std::string message(int ev) const override {
        switch (static_cast<http1_errc>(ev)) {
            case http1_errc::bad_status_line:
                return "malformed HTTP status line";
            case http1_errc::bad_request_line:
                return "malformed HTTP request line";
            case http1_errc::bad_version:
                return "unsupported HTTP version";
            case http1_errc::bad_header:
                return "malformed HTTP header field";
            case http1_errc::obs_fold:
                return "obsolete header line folding is not allowed";
            case http1_errc::header_too_large:
                return "HTTP header section is larger than the limit";
            case http1_errc::too_many_headers:
                return "too many HTTP header fields";
            case http1_errc::bad_content_length:
                return "invalid Content-Length";
            case http1_errc::conflicting_content_length:
                return "conflicting Content-Length values";
            case http1_errc::chunked_with_content_length:
                return "both Transfer-Encoding and Content-Length present";
            case http1_errc::bad_transfer_encoding:
                return "unsupported or invalid Transfer-Encoding";
            case http1_errc::bad_chunk_size:
                return "invalid chunk size";
            case http1_errc::bad_chunk:
                return "malformed chunk";
            case http1_errc::body_too_large:
                return "HTTP body is larger than the limit";
            case http1_errc::partial_message:
                return "connection closed before the HTTP message was complete";
            case http1_errc::bad_method:
                return "invalid HTTP method";
            case http1_errc::bad_target:
                return "invalid HTTP request target";
        }
        return "unknown corvid.http1 error";
    }
};

}  // namespace

const std::error_category& http1_category() noexcept {
    static const http1_errc_category_impl category;
    return category;
}

}  // namespace corvid
