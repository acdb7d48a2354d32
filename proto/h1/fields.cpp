#include "proto/h1/fields.hpp"

#include <array>
#include <cstring>

#include "corvid/error.hpp"

namespace corvid::h1::detail {

namespace {

constexpr std::array<bool, 256> make_tchar_table() {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) {
        t[c] = true;
    }
    for (int c = 'a'; c <= 'z'; ++c) {
        t[c] = true;
    }
    for (int c = 'A'; c <= 'Z'; ++c) {
        t[c] = true;
    }
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) {
        t[static_cast<unsigned char>(c)] = true;
    }
    return t;
}

constexpr std::array<bool, 256> tchar_table = make_tchar_table();

// Splits a comma-separated list and calls `f(element)` on each element with
// OWS trimmed (empty elements included); stops early when `f` returns false.
template <typename F>
bool for_each_list_element(std::string_view list, F&& f) {
    while (true) {
        auto comma = list.find(',');
        if (!f(trim_ows(list.substr(0, comma)))) {
            return false;
        }
        if (comma == std::string_view::npos) {
            return true;
        }
        list.remove_prefix(comma + 1);
    }
}

bool is_known_transfer_coding(std::string_view c) noexcept {
    return iequals(c, "gzip") || iequals(c, "x-gzip") || iequals(c, "deflate") ||
           iequals(c, "compress") || iequals(c, "x-compress");
}

std::error_code parse_content_length(std::string_view value, framing& out) {
    std::error_code ec;
    for_each_list_element(value, [&](std::string_view item) {
        if (item.empty()) {
            ec = http1_errc::bad_content_length;
            return false;
        }
        std::uint64_t n = 0;
        for (char c : item) {
            if (c < '0' || c > '9') {
                ec = http1_errc::bad_content_length;
                return false;
            }
            auto digit = static_cast<std::uint64_t>(c - '0');
            if (n > (UINT64_MAX - digit) / 10) {
                ec = http1_errc::bad_content_length;
                return false;
            }
            n = n * 10 + digit;
        }
        if (out.content_length && *out.content_length != n) {
            ec = http1_errc::conflicting_content_length;
            return false;
        }
        out.content_length = n;
        return true;
    });
    return ec;
}

std::error_code parse_transfer_encoding(std::string_view value, framing& out) {
    std::error_code ec;
    bool any = false;
    for_each_list_element(value, [&](std::string_view item) {
        // RFC 9110 5.6.1: empty list elements do not count.
        if (item.empty()) {
            return true;
        }
        any = true;
        // Nothing may follow chunked (that would leave the body undelimited),
        // not even a second chunked; no registered coding takes parameters.
        if (out.chunked || item.find(';') != std::string_view::npos) {
            ec = http1_errc::bad_transfer_encoding;
            return false;
        }
        if (iequals(item, "chunked")) {
            out.chunked = true;
        } else if (!is_known_transfer_coding(item)) {
            ec = http1_errc::bad_transfer_encoding;
            return false;
        }
        out.has_transfer_encoding = true;
        return true;
    });
    if (!ec && !any) {
        ec = http1_errc::bad_transfer_encoding;  // a field with no coding at all
    }
    return ec;
}

}  // namespace

bool is_tchar(char c) noexcept {
    return tchar_table[static_cast<unsigned char>(c)];
}

bool is_token(std::string_view s) noexcept {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!is_tchar(c)) {
            return false;
        }
    }
    return true;
}

bool is_field_value(std::string_view s) noexcept {
    for (char c : s) {
        if (c == '\r' || c == '\n' || c == '\0') {
            return false;
        }
    }
    return true;
}

bool is_target_chars(std::string_view s) noexcept {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) {
            return false;
        }
    }
    return true;
}

std::error_code parse_field_line(std::string_view line, headers& out) {
    if (!line.empty() && is_ows(line.front())) {
        return http1_errc::obs_fold;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
        return http1_errc::bad_header;
    }
    auto name = line.substr(0, colon);
    // A space before the colon fails here too: SP is not a tchar.
    if (!is_token(name)) {
        return http1_errc::bad_header;
    }
    auto value = trim_ows(line.substr(colon + 1));
    if (!is_field_value(value)) {
        return http1_errc::bad_header;
    }
    out.add(name, value);
    return {};
}

std::error_code analyze_framing(const headers& fields, framing& out) {
    out = framing{};
    std::error_code ec;
    for (const auto& f : fields) {
        // Dispatch on length first: most fields match none of these names.
        switch (f.name.size()) {
            case 14:
                if (iequals(f.name, "content-length")) {
                    ec = parse_content_length(f.value, out);
                }
                break;
            case 17:
                if (iequals(f.name, "transfer-encoding")) {
                    // Several fields form one list (RFC 9110 5.3); parsing them
                    // in order with the same state is exactly that.
                    ec = parse_transfer_encoding(f.value, out);
                }
                break;
            case 10:
                if (iequals(f.name, "connection")) {
                    for_each_list_element(f.value, [&](std::string_view item) {
                        if (iequals(item, "close")) {
                            out.connection_close = true;
                        } else if (iequals(item, "keep-alive")) {
                            out.connection_keep_alive = true;
                        }
                        return true;
                    });
                }
                break;
            default:
                break;
        }
        if (ec) {
            return ec;
        }
    }
    if (out.has_transfer_encoding && out.content_length) {
        return http1_errc::chunked_with_content_length;
    }
    return {};
}

}  // namespace corvid::h1::detail
