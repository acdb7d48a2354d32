#include "corvid/url.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

namespace corvid {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    });
    return out;
}

bool is_scheme_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == '.';
}

// Printable ASCII without space: what may appear in a URL we put on the wire.
bool is_url_char(char c) {
    return c > 0x20 && c < 0x7f;
}

bool valid_host(std::string_view h, bool bracketed) {
    if (h.empty()) {
        return false;
    }
    for (char c : h) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || (bracketed && (c == ':' || c == '%'));
        if (!ok) {
            return false;
        }
    }
    return true;
}

// Removes "." and ".." segments (RFC 3986 section 5.2.4).
std::string remove_dot_segments(std::string_view path) {
    std::vector<std::string_view> out;
    bool trailing_slash = false;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        auto next = path.find('/', pos);
        auto seg =
            path.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
        trailing_slash = false;
        if (seg == "..") {
            if (!out.empty()) {
                out.pop_back();
            }
            trailing_slash = true;
        } else if (seg == ".") {
            trailing_slash = true;
        } else if (!(seg.empty() && pos == 0)) {
            out.push_back(seg);
        }
        if (next == std::string_view::npos) {
            break;
        }
        pos = next + 1;
    }
    std::string result;
    for (auto seg : out) {
        result += '/';
        result.append(seg);
    }
    if (trailing_slash || result.empty()) {
        result += '/';
    }
    return result;
}

}  // namespace

std::uint16_t url::default_port(std::string_view scheme) noexcept {
    if (scheme == "https" || scheme == "wss") {
        return 443;
    }
    if (scheme == "http" || scheme == "ws") {
        return 80;
    }
    if (scheme == "socks5" || scheme == "socks5h") {
        return 1080;
    }
    return 0;
}

result<url> url::parse(std::string_view text) {
    if (text.empty() || text.size() > 64 * 1024 ||
        !std::all_of(text.begin(), text.end(), is_url_char)) {
        return client_errc::bad_url;
    }
    auto colon = text.find("://");
    if (colon == std::string_view::npos || colon == 0 ||
        !std::all_of(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(colon),
                     is_scheme_char)) {
        return client_errc::bad_url;
    }
    url u;
    u.scheme = lower(text.substr(0, colon));
    text.remove_prefix(colon + 3);

    if (auto hash = text.find('#'); hash != std::string_view::npos) {
        text = text.substr(0, hash);
    }
    auto path_start = text.find_first_of("/?");
    std::string_view authority = text.substr(0, path_start);
    std::string_view rest =
        path_start == std::string_view::npos ? std::string_view{} : text.substr(path_start);

    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
        u.userinfo = std::string(authority.substr(0, at));
        authority.remove_prefix(at + 1);
    }
    std::string_view host;
    std::string_view port;
    bool bracketed = false;
    if (!authority.empty() && authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return client_errc::bad_url;
        }
        host = authority.substr(1, close - 1);
        bracketed = true;
        auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return client_errc::bad_url;
            }
            port = after.substr(1);
        }
    } else {
        auto pc = authority.rfind(':');
        host = authority.substr(0, pc);
        if (pc != std::string_view::npos) {
            port = authority.substr(pc + 1);
        }
    }
    if (!valid_host(host, bracketed)) {
        return client_errc::bad_url;
    }
    u.host = lower(host);
    if (port.empty()) {
        u.port = default_port(u.scheme);
    } else {
        unsigned value = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
            return client_errc::bad_url;
        }
        u.port = static_cast<std::uint16_t>(value);
    }
    if (u.port == 0) {
        return client_errc::unsupported_scheme;
    }
    if (rest.empty()) {
        u.target = "/";
    } else if (rest.front() == '?') {
        u.target = "/" + std::string(rest);
    } else {
        u.target = std::string(rest);
    }
    return u;
}

result<url> url::resolve(std::string_view ref) const {
    if (ref.empty()) {
        return *this;
    }
    // Absolute reference: has a scheme.
    auto colon = ref.find(':');
    auto first_delim = ref.find_first_of("/?#");
    if (colon != std::string_view::npos && colon > 0 &&
        (first_delim == std::string_view::npos || colon < first_delim) &&
        std::all_of(ref.begin(), ref.begin() + static_cast<std::ptrdiff_t>(colon),
                    is_scheme_char)) {
        return parse(ref);
    }
    if (ref.starts_with("//")) {
        return parse(scheme + ":" + std::string(ref));
    }
    if (!std::all_of(ref.begin(), ref.end(), is_url_char)) {
        return client_errc::bad_url;
    }
    if (auto hash = ref.find('#'); hash != std::string_view::npos) {
        ref = ref.substr(0, hash);
    }
    url out = *this;
    if (ref.empty()) {
        return out;
    }
    if (ref.front() == '?') {
        out.target = path() + std::string(ref);
        return out;
    }
    std::string_view ref_path = ref.substr(0, ref.find('?'));
    std::string_view query =
        ref.size() > ref_path.size() ? ref.substr(ref_path.size()) : std::string_view{};
    std::string merged;
    if (ref_path.front() == '/') {
        merged = std::string(ref_path);
    } else {
        std::string base = path();
        merged = base.substr(0, base.rfind('/') + 1) + std::string(ref_path);
    }
    out.target = remove_dot_segments(merged) + std::string(query);
    return out;
}

std::string url::path() const {
    return target.substr(0, target.find('?'));
}

std::string url::authority() const {
    std::string out = host_is_ipv6() ? "[" + host + "]" : host;
    if (port != default_port(scheme)) {
        out += ':';
        out += std::to_string(port);
    }
    return out;
}

std::string url::origin() const {
    return scheme + "://" + authority();
}

std::string url::to_string() const {
    return origin() + target;
}

}  // namespace corvid
