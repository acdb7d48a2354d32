#include "corvid/cookies.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <limits>
#include <optional>

#include "corvid/headers.hpp"

namespace corvid {

namespace {

using clock = cookie_jar::clock;
using std::chrono::seconds;

// RFC 6265bis: attribute values longer than this are ignored.
constexpr std::size_t max_attribute_value = 1024;
// A cookie file is local, but still bounded so a wrong path cannot eat memory.
constexpr std::size_t max_cookie_file = 64 * 1024 * 1024;

// The representable range of clock::time_point in whole seconds, kept one
// second inside so that adding sub-second parts cannot overflow.
constexpr std::int64_t max_seconds =
    std::chrono::duration_cast<seconds>(clock::duration::max()).count() - 1;
constexpr std::int64_t min_seconds =
    std::chrono::duration_cast<seconds>(clock::duration::min()).count() + 1;

clock::time_point from_unix_seconds(std::int64_t s) {
    s = std::clamp(s, min_seconds, max_seconds);
    return clock::time_point(std::chrono::duration_cast<clock::duration>(seconds(s)));
}

std::int64_t to_unix_seconds(clock::time_point t) {
    return std::chrono::floor<seconds>(t.time_since_epoch()).count();
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

char to_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), to_lower);
    return out;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// RFC 6265bis: a name or value with a control character other than HTAB is
// refused (it could never be sent back safely in a Cookie header).
bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return (c < 0x20 && c != '\t') || c == 0x7f;
    });
}

// An IPv6 literal (url keeps it without brackets) or a name whose last label
// is a number, which the URL standard parses as IPv4.
bool is_ip_literal(std::string_view host) {
    if (host.find(':') != std::string_view::npos) {
        return true;
    }
    auto dot = host.rfind('.');
    auto last = dot == std::string_view::npos ? host : host.substr(dot + 1);
    if (last.size() > 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
        return true;
    }
    return !last.empty() && std::all_of(last.begin(), last.end(), is_digit);
}

bool is_loopback_ipv4(std::string_view host) {
    if (host.substr(0, 4) != "127.") {
        return false;
    }
    int parts = 0;
    std::size_t pos = 0;
    while (pos <= host.size()) {
        auto dot = host.find('.', pos);
        auto part = host.substr(pos, dot == std::string_view::npos ? dot : dot - pos);
        unsigned v = 0;
        auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
        if (part.empty() || ec != std::errc{} || end != part.data() + part.size() || v > 255) {
            return false;
        }
        ++parts;
        if (dot == std::string_view::npos) {
            break;
        }
        pos = dot + 1;
    }
    return parts == 4;
}

// Where Secure cookies may be stored from and sent to: secure schemes, and
// loopback hosts, which browsers and curl count as secure contexts.
bool is_secure_origin(const url& u) {
    if (u.scheme == "https" || u.scheme == "wss") {
        return true;
    }
    std::string_view h = u.host;
    return h == "localhost" || (h.size() > 10 && h.substr(h.size() - 10) == ".localhost") ||
           h == "::1" || is_loopback_ipv4(h);
}

// RFC 6265 section 5.1.3.
bool domain_match(std::string_view host, std::string_view domain) {
    if (host == domain) {
        return true;
    }
    return host.size() > domain.size() && host.substr(host.size() - domain.size()) == domain &&
           host[host.size() - domain.size() - 1] == '.' && !is_ip_literal(host);
}

// RFC 6265 section 5.1.4.
bool path_match(std::string_view request_path, std::string_view cookie_path) {
    if (request_path.substr(0, cookie_path.size()) != cookie_path) {
        return false;
    }
    return request_path.size() == cookie_path.size() || cookie_path.back() == '/' ||
           request_path[cookie_path.size()] == '/';
}

// RFC 6265 section 5.1.4: the directory of the request path.
std::string default_path(std::string_view request_path) {
    if (request_path.empty() || request_path.front() != '/') {
        return "/";
    }
    auto slash = request_path.rfind('/');
    if (slash == 0) {
        return "/";
    }
    return std::string(request_path.substr(0, slash));
}

// corvid ships no public suffix list: a single label (a TLD) is the suffix it
// knows.
bool is_public_suffix(std::string_view domain) {
    return domain.find('.') == std::string_view::npos && !is_ip_literal(domain);
}

// ---- RFC 6265 section 5.1.1: cookie dates ----

bool is_date_delimiter(unsigned char c) {
    return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) ||
           (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

// Reads min..max digits at `pos`, then requires the end of the token or a
// non-digit (the "( non-digit *OCTET )" tails of the grammar).
std::optional<int> read_digits(std::string_view tok, std::size_t& pos, std::size_t min,
                               std::size_t max) {
    std::size_t start = pos;
    int v = 0;
    while (pos < tok.size() && pos - start < max && is_digit(tok[pos])) {
        v = v * 10 + (tok[pos] - '0');
        ++pos;
    }
    if (pos - start < min) {
        return std::nullopt;
    }
    return v;
}

bool digits_then_end(std::string_view tok, std::size_t pos) {
    return pos == tok.size() || !is_digit(tok[pos]);
}

bool parse_time(std::string_view tok, int& h, int& m, int& s) {
    std::size_t pos = 0;
    auto hh = read_digits(tok, pos, 1, 2);
    if (!hh || pos >= tok.size() || tok[pos] != ':') {
        return false;
    }
    ++pos;
    auto mm = read_digits(tok, pos, 1, 2);
    if (!mm || pos >= tok.size() || tok[pos] != ':') {
        return false;
    }
    ++pos;
    auto ss = read_digits(tok, pos, 1, 2);
    if (!ss || !digits_then_end(tok, pos)) {
        return false;
    }
    h = *hh;
    m = *mm;
    s = *ss;
    return true;
}

bool parse_number(std::string_view tok, std::size_t min, std::size_t max, int& out) {
    std::size_t pos = 0;
    auto v = read_digits(tok, pos, min, max);
    if (!v || !digits_then_end(tok, pos)) {
        return false;
    }
    out = *v;
    return true;
}

bool parse_month(std::string_view tok, int& out) {
    static constexpr std::string_view months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                  "jul", "aug", "sep", "oct", "nov", "dec"};
    if (tok.size() < 3) {
        return false;
    }
    for (int i = 0; i < 12; ++i) {
        if (iequals(tok.substr(0, 3), months[i])) {
            out = i + 1;
            return true;
        }
    }
    return false;
}

// Unix seconds for a cookie-date, or nullopt when the algorithm fails.
std::optional<std::int64_t> parse_cookie_date(std::string_view text) {
    bool found_time = false, found_day = false, found_month = false, found_year = false;
    int hour = 0, minute = 0, second = 0, day = 0, month = 0, year = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        while (pos < text.size() && is_date_delimiter(static_cast<unsigned char>(text[pos]))) {
            ++pos;
        }
        std::size_t start = pos;
        while (pos < text.size() && !is_date_delimiter(static_cast<unsigned char>(text[pos]))) {
            ++pos;
        }
        std::string_view tok = text.substr(start, pos - start);
        if (tok.empty()) {
            continue;
        }
        if (!found_time && parse_time(tok, hour, minute, second)) {
            found_time = true;
        } else if (!found_day && parse_number(tok, 1, 2, day)) {
            found_day = true;
        } else if (!found_month && parse_month(tok, month)) {
            found_month = true;
        } else if (!found_year && parse_number(tok, 2, 4, year)) {
            found_year = true;
        }
    }
    if (!found_time || !found_day || !found_month || !found_year) {
        return std::nullopt;
    }
    if (year >= 70 && year <= 99) {
        year += 1900;
    } else if (year >= 0 && year <= 69) {
        year += 2000;
    }
    if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59) {
        return std::nullopt;
    }
    std::chrono::year_month_day ymd{std::chrono::year{year},
                                    std::chrono::month{static_cast<unsigned>(month)},
                                    std::chrono::day{static_cast<unsigned>(day)}};
    if (!ymd.ok()) {
        return std::nullopt;  // e.g. 30 Feb: "no such date exists"
    }
    std::int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
    return days * 86400 + hour * 3600 + minute * 60 + second;
}

// Max-Age (RFC 6265 section 5.2.2): an optional '-' then digits; saturates.
std::optional<std::int64_t> parse_max_age(std::string_view v) {
    if (v.empty()) {
        return std::nullopt;
    }
    bool negative = v.front() == '-';
    std::string_view digits = negative ? v.substr(1) : v;
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) {
        return std::nullopt;
    }
    if (negative) {
        return -1;
    }
    std::int64_t n = 0;
    for (char c : digits) {
        if (n > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
            return std::numeric_limits<std::int64_t>::max();
        }
        n = n * 10 + (c - '0');
    }
    return n;
}

std::string normalize_same_site(std::string_view v) {
    for (std::string_view known : {"Strict", "Lax", "None"}) {
        if (iequals(v, known)) {
            return std::string(known);
        }
    }
    return std::string(v);
}

// RFC 6265bis name prefixes, matched case-insensitively as browsers now do.
bool prefix_rules_hold(const cookie& c, bool path_attribute_is_root) {
    if (istarts_with(c.name, "__Secure-") && !c.secure) {
        return false;
    }
    if (istarts_with(c.name, "__Host-") &&
        !(c.secure && c.host_only && path_attribute_is_root && c.path == "/")) {
        return false;
    }
    return true;
}

bool is_expired(const cookie& c, clock::time_point now) {
    return c.persistent && c.expires <= now;
}

std::error_code last_system_error() {
    return {errno, std::generic_category()};
}

}  // namespace

void cookie_jar::store(const url& request_url, std::string_view set_cookie, clock::time_point now) {
    const std::string& host = request_url.host;
    if (host.empty()) {
        return;
    }
    // Section 5.2: the name-value pair runs to the first ';'.
    auto semi = set_cookie.find(';');
    std::string_view pair = set_cookie.substr(0, semi);
    std::string_view attributes =
        semi == std::string_view::npos ? std::string_view{} : set_cookie.substr(semi);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) {
        return;
    }
    std::string_view name = trim_ows(pair.substr(0, eq));
    std::string_view value = trim_ows(pair.substr(eq + 1));
    // A tab in the name (which 6265bis would allow) could not be written to a
    // cookie file, where tabs separate the fields; no real server sends one.
    if (name.empty() || name.size() + value.size() > limits_.max_name_value || has_control(name) ||
        has_control(value) || name.find('\t') != std::string_view::npos) {
        return;
    }

    cookie c;
    c.name = std::string(name);
    c.value = std::string(value);
    std::optional<clock::time_point> max_age_expiry;
    std::optional<clock::time_point> expires;
    std::optional<std::string> domain_attribute;
    std::optional<std::string> path_attribute;

    // Section 5.2.1-5.2.6; for repeated attributes the last one wins.
    while (!attributes.empty()) {
        attributes.remove_prefix(1);  // the ';'
        auto next = attributes.find(';');
        std::string_view av = attributes.substr(0, next);
        attributes = next == std::string_view::npos ? std::string_view{} : attributes.substr(next);
        auto aeq = av.find('=');
        std::string_view aname = trim_ows(av.substr(0, aeq));
        std::string_view aval =
            aeq == std::string_view::npos ? std::string_view{} : trim_ows(av.substr(aeq + 1));
        if (aval.size() > max_attribute_value) {
            continue;
        }
        if (iequals(aname, "Expires")) {
            if (auto t = parse_cookie_date(aval)) {
                expires = from_unix_seconds(*t);
            }
        } else if (iequals(aname, "Max-Age")) {
            if (auto delta = parse_max_age(aval)) {
                if (*delta <= 0) {
                    max_age_expiry = from_unix_seconds(min_seconds);
                } else if (*delta > max_seconds - to_unix_seconds(now)) {
                    max_age_expiry = from_unix_seconds(max_seconds);
                } else {
                    max_age_expiry = now + seconds(*delta);
                }
            }
        } else if (iequals(aname, "Domain")) {
            if (!aval.empty() && aval.front() == '.') {
                aval.remove_prefix(1);
            }
            domain_attribute = lower(aval);
        } else if (iequals(aname, "Path")) {
            // Control characters and tabs make a path invalid, like a
            // relative one: it could not be written to a cookie file.
            bool valid = !aval.empty() && aval.front() == '/' && !has_control(aval) &&
                         aval.find('\t') == std::string_view::npos;
            path_attribute = valid ? std::string(aval) : default_path(request_url.path());
        } else if (iequals(aname, "Secure")) {
            c.secure = true;
        } else if (iequals(aname, "HttpOnly")) {
            c.http_only = true;
        } else if (iequals(aname, "SameSite")) {
            c.same_site = normalize_same_site(aval);
        }
    }

    // Section 5.3: Max-Age wins over Expires.
    if (max_age_expiry) {
        c.persistent = true;
        c.expires = *max_age_expiry;
    } else if (expires) {
        c.persistent = true;
        c.expires = *expires;
    }

    if (domain_attribute && !domain_attribute->empty()) {
        if (is_public_suffix(*domain_attribute)) {
            // Section 5.3 step 5: a suffix equal to the host is a host-only
            // cookie (e.g. Domain=localhost from localhost); otherwise refused.
            if (*domain_attribute != host) {
                return;
            }
            c.domain = host;
        } else if (domain_match(host, *domain_attribute)) {
            c.domain = std::move(*domain_attribute);
            c.host_only = false;
        } else {
            return;
        }
    } else {
        c.domain = host;
    }

    c.path = path_attribute ? *path_attribute : default_path(request_url.path());

    bool secure_origin = is_secure_origin(request_url);
    // RFC 6265bis: only a secure origin may set a Secure cookie ...
    if (c.secure && !secure_origin) {
        return;
    }
    if (!prefix_rules_hold(c, path_attribute && *path_attribute == "/")) {
        return;
    }
    // ... and an insecure one may not overwrite or shadow one.
    if (!c.secure && !secure_origin) {
        for (const auto& old : cookies_) {
            if (old.secure && old.name == c.name &&
                (domain_match(old.domain, c.domain) || domain_match(c.domain, old.domain)) &&
                path_match(c.path, old.path) && !is_expired(old, now)) {
                return;
            }
        }
    }

    c.created = now;
    insert(std::move(c), now);
}

void cookie_jar::insert(cookie c, clock::time_point now) {
    auto same = std::find_if(cookies_.begin(), cookies_.end(), [&](const cookie& old) {
        return old.name == c.name && old.domain == c.domain && old.path == c.path;
    });
    if (same != cookies_.end()) {
        if (is_expired(c, now)) {
            cookies_.erase(same);  // an expired cookie is how servers delete one
            return;
        }
        // Replaced in place: the creation time and the position (which breaks
        // ties between equal creation times) stay.
        c.created = same->created;
        *same = std::move(c);
        return;
    }
    if (is_expired(c, now)) {
        return;
    }
    cookies_.push_back(std::move(c));
    enforce_limits(cookies_.back(), now);
}

void cookie_jar::enforce_limits(const cookie& added, clock::time_point now) {
    std::string domain = added.domain;  // `added` may be evicted below
    auto domain_count = [&] {
        return static_cast<std::size_t>(std::count_if(
            cookies_.begin(), cookies_.end(), [&](const cookie& c) { return c.domain == domain; }));
    };
    if (domain_count() <= limits_.max_per_domain && cookies_.size() <= limits_.max_total) {
        return;
    }
    std::erase_if(cookies_, [&](const cookie& c) { return is_expired(c, now); });
    // Oldest first; among equal creation times, the one stored first.
    auto evict_oldest = [&](auto&& in_scope) {
        auto oldest = cookies_.end();
        for (auto it = cookies_.begin(); it != cookies_.end(); ++it) {
            if (in_scope(*it) && (oldest == cookies_.end() || it->created < oldest->created)) {
                oldest = it;
            }
        }
        if (oldest != cookies_.end()) {
            cookies_.erase(oldest);
        }
    };
    for (std::size_t n = domain_count(); n > limits_.max_per_domain; --n) {
        evict_oldest([&](const cookie& c) { return c.domain == domain; });
    }
    while (cookies_.size() > limits_.max_total) {
        evict_oldest([](const cookie&) { return true; });
    }
}

std::string cookie_jar::header_for(const url& u, clock::time_point now) const {
    std::string path = u.path();
    if (path.empty()) {
        path = "/";
    }
    bool secure_origin = is_secure_origin(u);
    std::vector<const cookie*> matching;
    for (const auto& c : cookies_) {
        bool host_ok = c.host_only ? u.host == c.domain : domain_match(u.host, c.domain);
        if (host_ok && path_match(path, c.path) && (!c.secure || secure_origin) &&
            !is_expired(c, now)) {
            matching.push_back(&c);
        }
    }
    // Section 5.4 step 2: longer paths first, then earlier creation times.
    std::stable_sort(matching.begin(), matching.end(), [](const cookie* a, const cookie* b) {
        if (a->path.size() != b->path.size()) {
            return a->path.size() > b->path.size();
        }
        return a->created < b->created;
    });
    std::string out;
    for (const cookie* c : matching) {
        if (!out.empty()) {
            out += "; ";
        }
        out += c->name;
        out += '=';
        out += c->value;
    }
    return out;
}

void cookie_jar::load_netscape(std::string_view text, clock::time_point now) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        std::string_view line =
            text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        cookie c;
        constexpr std::string_view http_only_prefix = "#HttpOnly_";
        if (line.substr(0, http_only_prefix.size()) == http_only_prefix) {
            c.http_only = true;
            line.remove_prefix(http_only_prefix.size());
        } else if (trim_ows(line).empty() || line.front() == '#') {
            continue;
        }
        // domain, subdomains, path, secure, expires, name[, value]; a value
        // may itself hold tabs, so everything after the sixth tab is value.
        std::string_view fields[7];
        std::size_t count = 0;
        std::size_t at = 0;
        while (count < 6 && at != std::string_view::npos) {
            auto tab = line.find('\t', at);
            fields[count++] = line.substr(at, tab == std::string_view::npos ? tab : tab - at);
            at = tab == std::string_view::npos ? tab : tab + 1;
        }
        if (count == 6 && at != std::string_view::npos) {
            fields[count++] = line.substr(at);
        }
        if (count < 6) {
            continue;
        }
        std::string_view domain = fields[0];
        if (!domain.empty() && domain.front() == '.') {
            domain.remove_prefix(1);
        }
        // A domain still starting with '#' or '.', or with control characters,
        // is no host name and could not be written back as the same line.
        if (domain.empty() || domain.front() == '#' || domain.front() == '.' ||
            has_control(domain) || fields[2].empty() || fields[2].front() != '/' ||
            fields[5].empty()) {
            continue;
        }
        bool subdomains = iequals(fields[1], "TRUE");
        if (!subdomains && !iequals(fields[1], "FALSE")) {
            continue;
        }
        bool secure = iequals(fields[3], "TRUE");
        if (!secure && !iequals(fields[3], "FALSE")) {
            continue;
        }
        std::int64_t expiry = 0;
        auto [end, ec] =
            std::from_chars(fields[4].data(), fields[4].data() + fields[4].size(), expiry);
        if (ec != std::errc{} || end != fields[4].data() + fields[4].size() || expiry < 0) {
            continue;
        }
        std::string_view value = count == 7 ? fields[6] : std::string_view{};
        if (fields[5].size() + value.size() > limits_.max_name_value || has_control(fields[5]) ||
            has_control(value)) {
            continue;
        }
        c.domain = lower(domain);
        c.host_only = !subdomains;
        if (subdomains && is_public_suffix(c.domain)) {
            continue;
        }
        c.path = std::string(fields[2]);
        c.secure = secure;
        c.name = std::string(fields[5]);
        c.value = std::string(value);
        if (expiry != 0) {
            c.persistent = true;
            c.expires = from_unix_seconds(expiry);
        }
        if (is_expired(c, now) || !prefix_rules_hold(c, c.path == "/")) {
            continue;
        }
        c.created = now;
        insert(std::move(c), now);
    }
}

std::string cookie_jar::to_netscape(clock::time_point now) const {
    std::string out =
        "# Netscape HTTP Cookie File\n"
        "# Written by corvid. Lines: domain, include subdomains, path, secure, expiry, name, "
        "value.\n\n";
    for (const auto& c : cookies_) {
        if (is_expired(c, now)) {
            continue;
        }
        if (c.http_only) {
            out += "#HttpOnly_";
        }
        if (!c.host_only) {
            out += '.';  // curl writes domain cookies with the leading dot
        }
        out += c.domain;
        out += c.host_only ? "\tFALSE\t" : "\tTRUE\t";
        out += c.path;
        out += c.secure ? "\tTRUE\t" : "\tFALSE\t";
        out += std::to_string(c.persistent ? std::max<std::int64_t>(to_unix_seconds(c.expires), 1)
                                           : 0);
        out += '\t';
        out += c.name;
        out += '\t';
        out += c.value;
        out += '\n';
    }
    return out;
}

result<void> cookie_jar::load_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return last_system_error();
    }
    std::string text;
    std::error_code error;
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            error = last_system_error();
            break;
        }
        if (n == 0) {
            break;
        }
        if (text.size() + static_cast<std::size_t>(n) > max_cookie_file) {
            error = std::make_error_code(std::errc::file_too_large);
            break;
        }
        text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (error) {
        return error;
    }
    load_netscape(text);
    return {};
}

result<void> cookie_jar::save_file(const std::string& path) const {
    std::string text = to_netscape();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return last_system_error();
    }
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            auto error = last_system_error();
            ::close(fd);
            return error;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) {
        return last_system_error();
    }
    return {};
}

}  // namespace corvid
