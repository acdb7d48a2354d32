#pragma once

#include <chrono>
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
    std::string same_site;  ///< "Strict", "Lax", "None" or empty, kept as received
    bool persistent = false;
    std::chrono::system_clock::time_point expires{};  ///< meaningful when persistent
    std::chrono::system_clock::time_point created{};
};

/// A cookie jar following RFC 6265: domain and path matching, Secure,
/// HttpOnly, expiry (Expires and Max-Age), SameSite kept as an attribute.
///
/// Limits: a Set-Cookie value over 8 KiB, more than 50 cookies per domain or
/// 3000 in total are dropped oldest-first, as browsers do. Cookies for public
/// suffixes corvid knows (a top-level domain alone) are refused.
///
/// @par Thread Safety
/// Not thread-safe; owned by one client.
class cookie_jar {
public:
    using clock = std::chrono::system_clock;

    /// Stores the cookie from one Set-Cookie field value received in the
    /// response to `request_url`. Invalid or refused cookies are ignored, as a
    /// user agent must.
    void store(const url& request_url, std::string_view set_cookie, clock::time_point now = clock::now());

    /// The Cookie header value for a request to `u` (empty when nothing
    /// matches), cookies with longer paths first, then older first.
    std::string header_for(const url& u, clock::time_point now = clock::now()) const;

    /// Reads cookies in the Netscape/curl cookie-file format (`-b FILE`),
    /// including the `#HttpOnly_` prefix. Malformed lines are skipped.
    void load_netscape(std::string_view text, clock::time_point now = clock::now());
    /// Writes every unexpired cookie in the Netscape/curl format (`-c FILE`).
    std::string to_netscape(clock::time_point now = clock::now()) const;

    result<void> load_file(const std::string& path);
    result<void> save_file(const std::string& path) const;

    const std::vector<cookie>& all() const noexcept { return cookies_; }
    std::size_t size() const noexcept { return cookies_.size(); }
    void clear() noexcept { cookies_.clear(); }

private:
    std::vector<cookie> cookies_;
};

}  // namespace corvid
