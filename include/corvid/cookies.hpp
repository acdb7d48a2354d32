#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "corvid/result.hpp"
#include "corvid/url.hpp"

namespace corvid {

/// One stored cookie (RFC 6265 section 5.3 storage model).
struct cookie {
    std::string name;
    std::string value;
    std::string domain;  ///< lower-case, no leading dot
    std::string path;
    bool host_only = true;  ///< false when the Domain attribute matched
    bool secure = false;
    bool http_only = false;
    /// "Strict", "Lax" or "None" when the attribute was one of those (in any
    /// case); any other value kept as received; empty when absent.
    std::string same_site;
    bool persistent = false;
    std::chrono::system_clock::time_point expires{};  ///< meaningful when persistent
    std::chrono::system_clock::time_point created{};
};

/// Bounds on what servers (and cookie files) can make a jar hold.
struct cookie_limits {
    /// A cookie whose name plus value is longer than this is ignored.
    std::size_t max_name_value = 8 * 1024;
    /// Cookies per domain (the cookie's domain field); the oldest are evicted.
    std::size_t max_per_domain = 50;
    /// Cookies in the jar; the oldest are evicted.
    std::size_t max_total = 3000;
};

/// A cookie jar following RFC 6265: domain and path matching, Secure,
/// HttpOnly, expiry (Expires and Max-Age), SameSite kept as an attribute,
/// plus the RFC 6265bis rules browsers enforce: Secure cookies only from
/// secure origins, an insecure origin cannot overwrite or shadow a Secure
/// cookie, and the `__Secure-` / `__Host-` name prefixes (matched
/// case-insensitively).
///
/// Limits (see cookie_limits): a cookie whose name and value together exceed
/// 8 KiB is ignored; past 50 cookies for one domain or 3000 in total the
/// oldest (by creation time) are evicted, expired ones first. Cookies for
/// public suffixes corvid knows (a top-level domain alone: `Domain=com`) are
/// refused; corvid ships no public suffix list, so `Domain=co.uk` is accepted
/// from a host under co.uk.
///
/// "Secure origin" (for storing and sending Secure cookies) means https or
/// wss, and also loopback hosts over plain http: `localhost`, `*.localhost`,
/// 127.0.0.0/8 and `::1`. Browsers and curl treat those as secure contexts,
/// since their traffic never leaves the machine.
///
/// SameSite is stored but not enforced: a client has no "site for cookies"
/// to compare with, so header_for() sends SameSite cookies like any other.
///
/// Time is passed in (`now`) so behaviour is deterministic in tests.
///
/// @par Thread Safety
/// Not thread-safe; owned by one client.
class cookie_jar {
  public:
    using clock = std::chrono::system_clock;

    cookie_jar() = default;
    explicit cookie_jar(const cookie_limits& limits) : limits_(limits) {}

    /// Stores the cookie from one Set-Cookie field value received in the
    /// response to `request_url` (RFC 6265 section 5.2 parsing, 5.3 storage).
    /// Invalid or refused cookies are ignored, as a user agent must. A cookie
    /// that replaces one with the same name, domain and path keeps the old
    /// one's creation time; a cookie that is already expired (Max-Age <= 0,
    /// Expires in the past) deletes the matching one.
    void store(const url& request_url, std::string_view set_cookie,
               clock::time_point now = clock::now());

    /// The Cookie header value for a request to `u` (empty when nothing
    /// matches): "a=1; b=2", cookies with longer paths first, then older
    /// first. Expired cookies are skipped (and dropped at the next store()).
    std::string header_for(const url& u, clock::time_point now = clock::now()) const;

    /// Reads cookies in the Netscape/curl cookie-file format (`-b FILE`):
    /// tab-separated domain, include-subdomains (TRUE/FALSE), path, secure
    /// (TRUE/FALSE), expiry (Unix seconds, 0 for a session cookie), name and
    /// value (a line of six fields has an empty value). A `#HttpOnly_` prefix
    /// on the domain marks an HttpOnly cookie; other lines starting with `#`
    /// and blank lines are comments. Malformed and expired lines are skipped;
    /// the jar's limits apply. Cookies replace stored ones with the same name,
    /// domain and path.
    void load_netscape(std::string_view text, clock::time_point now = clock::now());
    /// Writes every unexpired cookie in the Netscape/curl format (`-c FILE`),
    /// after the "# Netscape HTTP Cookie File" header line. Session cookies
    /// are written with expiry 0, as curl does; SameSite is not represented
    /// in the format and is lost.
    std::string to_netscape(clock::time_point now = clock::now()) const;

    /// load_netscape() on the contents of the file at `path`. Errors: the
    /// system error from opening or reading it (compare with std::errc, e.g.
    /// std::errc::no_such_file_or_directory); std::errc::file_too_large past
    /// 64 MiB.
    result<void> load_file(const std::string& path);
    /// Writes to_netscape() to `path`, replacing the file. A new file is
    /// created readable by its owner only (cookies are credentials). Errors:
    /// the system error from opening or writing it.
    result<void> save_file(const std::string& path) const;

    const std::vector<cookie>& all() const noexcept { return cookies_; }
    std::size_t size() const noexcept { return cookies_.size(); }
    void clear() noexcept { cookies_.clear(); }
    const cookie_limits& limits() const noexcept { return limits_; }

  private:
    // Inserts or replaces by (name, domain, path), then enforces the limits.
    void insert(cookie c, clock::time_point now);
    void enforce_limits(const cookie& added, clock::time_point now);

    std::vector<cookie> cookies_;
    cookie_limits limits_;
};

}  // namespace corvid
