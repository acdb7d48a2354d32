// Feeds Set-Cookie values and Netscape cookie files to the cookie jar. Besides
// crashes and sanitizer reports, it checks one property: a jar written in the
// Netscape format and read back writes the same text again.
//
// Input layout: byte 0 picks the mode. Even: the rest is Set-Cookie values,
// one per line, each stored from the URL its first byte picks. Odd: the rest
// is a cookie file.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "corvid/cookies.hpp"

namespace {

const corvid::url& pick_url(unsigned char selector) {
    static const corvid::url urls[] = {
        corvid::url::parse("http://example.com/").value(),
        corvid::url::parse("https://www.example.com/a/b/c?q").value(),
        corvid::url::parse("http://sub.www.example.com/a/").value(),
        corvid::url::parse("https://192.168.0.1:8443/x").value(),
        corvid::url::parse("http://localhost/").value(),
        corvid::url::parse("http://[::1]/z").value(),
    };
    return urls[selector % std::size(urls)];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    // A fixed clock: 2025-01-01 00:00:00 UTC.
    const corvid::cookie_jar::clock::time_point now =
        std::chrono::sys_days{std::chrono::year{2025} / 1 / 1};
    std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

    corvid::cookie_jar jar;
    if (data[0] % 2 == 0) {
        std::size_t pos = 0;
        while (pos < text.size()) {
            auto nl = text.find('\n', pos);
            auto line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
            pos = nl == std::string_view::npos ? text.size() : nl + 1;
            if (!line.empty()) {
                jar.store(pick_url(static_cast<unsigned char>(line[0])), line.substr(1), now);
            }
        }
    } else {
        jar.load_netscape(text, now);
    }

    for (unsigned char i = 0; i < 6; ++i) {
        (void)jar.header_for(pick_url(i), now);
    }
    std::string written = jar.to_netscape(now);
    corvid::cookie_jar copy;
    copy.load_netscape(written, now);
    if (copy.size() != jar.size() || copy.to_netscape(now) != written) {
        std::abort();
    }
    return 0;
}
