// Feeds arbitrary text to the browser profile loader (profile::parse). Besides
// crashes and sanitizer reports, it checks that a profile which loads is
// usable: its pseudo-header order names each of m, a, s, p once, its ALPS
// protocols are among its ALPN ones, and its header template names are
// non-empty tokens (spelled the HTTP/1.1 way once loaded).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "corvid/profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string detail;
    auto p = corvid::profile::parse(text, &detail);
    if (!p) {
        if (detail.empty()) {
            std::abort();  // a refusal always says why
        }
        return 0;
    }
    std::string order = p->http2.pseudo_header_order;
    std::erase(order, ',');
    std::sort(order.begin(), order.end());
    if (order != "amps") {
        std::abort();
    }
    for (const auto& a : p->tls.alps) {
        if (std::find(p->tls.alpn.begin(), p->tls.alpn.end(), a) == p->tls.alpn.end()) {
            std::abort();
        }
    }
    for (auto kind : {corvid::request_kind::navigation, corvid::request_kind::fetch,
                      corvid::request_kind::websocket}) {
        for (const auto& f : p->headers_for(kind).fields) {
            if (f.name.empty() || std::any_of(f.name.begin(), f.name.end(), [](char c) {
                    return c <= ' ' || c == ':' || c == '\x7f';
                })) {
                std::abort();
            }
        }
    }
    return 0;
}
