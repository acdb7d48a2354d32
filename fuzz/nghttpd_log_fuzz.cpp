// Feeds arbitrary text to the nghttpd -v log reader (h2::parse_nghttpd_log),
// which `corvid fingerprint --compare` uses on files a user gives it.
// Besides crashes and sanitizer reports: a log that yields a request yields
// at least one header block, and an Akamai string can be made from it.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/h2/nghttpd_log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto log = corvid::h2::parse_nghttpd_log(text);
    if (log) {
        if (log->header_blocks.empty()) {
            std::abort();
        }
        (void)corvid::h2::akamai_string(*log);
    }
    return 0;
}
