#include "engine/auth.hpp"

#include <algorithm>

#include "core/encoding.hpp"

namespace corvid::engine {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// "https://example.com:8443" -> "example.com:8443"; "" when it has no "//".
std::string_view origin_authority(std::string_view origin) noexcept {
    auto p = origin.find("://");
    if (p == std::string_view::npos) {
        return {};
    }
    auto rest = origin.substr(p + 3);
    return rest.substr(0, rest.find('/'));
}

}  // namespace

std::string_view target_path(std::string_view target) noexcept {
    return target.substr(0, target.find('?'));
}

std::vector<std::string> query_values(std::string_view target, std::string_view name) {
    std::vector<std::string> out;
    auto q = target.find('?');
    if (q == std::string_view::npos) {
        return out;
    }
    std::string_view query = target.substr(q + 1);
    query = query.substr(0, query.find('#'));
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        auto eq = pair.find('=');
        std::string_view key = pair.substr(0, eq);
        if (percent_decode(key) == name) {
            out.push_back(eq == std::string_view::npos ? std::string()
                                                       : percent_decode(pair.substr(eq + 1)));
        }
    }
    return out;
}

std::optional<std::string> cookie_value(const corvid::headers& fields, std::string_view name) {
    for (std::string_view line : fields.get_all("cookie")) {
        while (!line.empty()) {
            auto semi = line.find(';');
            std::string_view pair = trim(line.substr(0, semi));
            line = semi == std::string_view::npos ? std::string_view{} : line.substr(semi + 1);
            auto eq = pair.find('=');
            if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
                std::string_view value = trim(pair.substr(eq + 1));
                if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
                    value = value.substr(1, value.size() - 2);
                }
                return std::string(value);
            }
        }
    }
    return std::nullopt;
}

found_token find_token(const corvid::headers& fields, std::string_view target) {
    if (auto auth = fields.get("authorization")) {
        std::string_view v = trim(*auth);
        if (v.size() > 7 && iequals(v.substr(0, 7), "bearer ")) {
            return {token_source::authorization, std::string(trim(v.substr(7)))};
        }
    }
    if (auto c = cookie_value(fields, "access_token"); c && !c->empty()) {
        return {token_source::cookie, std::move(*c)};
    }
    auto q = query_values(target, "token");
    if (!q.empty() && !q.front().empty()) {
        return {token_source::query, std::move(q.front())};
    }
    return {};
}

result<principal> authenticate(const corvid::headers& fields, std::string_view target,
                               const auth_settings& settings, std::int64_t now_unix_seconds) {
    auto found = find_token(fields, target);
    principal p;
    if (found.source == token_source::none) {
        if (!settings.allow_anonymous) {
            return std::make_error_code(std::errc::permission_denied);
        }
        p.anonymous = true;
        p.claims.channels = settings.anonymous_channels;
        p.claims.publish = settings.anonymous_publish;
        return p;
    }
    if (settings.verifier == nullptr) {
        // Anonymous-only server: a token cannot be checked, so it is refused
        // rather than ignored.
        return make_error_code(jwt_errc::no_usable_key);
    }
    auto claims = settings.verifier->verify(found.token, now_unix_seconds);
    if (!claims) {
        return claims.error();
    }
    p.source = found.source;
    p.claims = std::move(*claims);
    return p;
}

bool cross_site_cookie(const principal& p, const corvid::headers& fields,
                       std::span<const std::string> allowed_origins) {
    if (p.source != token_source::cookie) {
        return false;
    }
    auto origin = fields.get("origin");
    if (!origin) {
        return false;  // not a browser's cross-site request
    }
    if (std::find(allowed_origins.begin(), allowed_origins.end(), *origin) !=
        allowed_origins.end()) {
        return false;
    }
    auto host = fields.get("host");
    if (!host) {
        host = fields.get(":authority");
    }
    return !host || !iequals(origin_authority(*origin), trim(*host));
}

}  // namespace corvid::engine
