#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "corvid/result.hpp"

namespace corvid {

/// An absolute http(s) URL split into the parts a client needs.
///
/// Parsing follows RFC 3986 for the shapes HTTP clients meet: scheme, optional
/// userinfo, host (name, IPv4 or bracketed IPv6), optional port, path, query.
/// The fragment is dropped (it never goes on the wire). Scheme and host are
/// lower-cased; a missing path becomes "/". Bytes outside the printable ASCII
/// range are refused rather than guessed at.
struct url {
    std::string scheme;    ///< "http" or "https" (or a proxy scheme such as "socks5")
    std::string userinfo;  ///< "user:pass" if present, still percent-encoded
    std::string host;      ///< without brackets for IPv6 literals
    std::uint16_t port = 0;
    std::string target;  ///< path and query, e.g. "/a/b?c=d"

    /// Parses `text`; fails with client_errc::bad_url.
    static result<url> parse(std::string_view text);

    /// Resolves a reference (e.g. a Location header) against this URL.
    result<url> resolve(std::string_view reference) const;

    bool is_tls() const noexcept { return scheme == "https"; }
    bool host_is_ipv6() const noexcept { return host.find(':') != std::string::npos; }
    std::string path() const;  ///< target without the query

    /// "host" or "host:port" when the port is not the scheme's default;
    /// brackets around IPv6 literals. This is the Host header value.
    std::string authority() const;
    /// scheme://authority: identifies the origin (pool key, cookies, redirects).
    std::string origin() const;
    std::string to_string() const;  ///< origin() + target

    static std::uint16_t default_port(std::string_view scheme) noexcept;

    friend bool operator==(const url&, const url&) = default;
};

}  // namespace corvid
