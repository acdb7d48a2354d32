#pragma once

// Who is connecting: the JWT of an engine request (WebSocket handshake, SSE
// stream, HTTP API call), found and verified, or the anonymous principal.
//
// The token is taken from, in this order: `Authorization: Bearer <token>`,
// the `access_token` cookie, the `token` query parameter. The first place
// that has one wins; a token that is present is always verified, even when
// anonymous access is allowed (a bad token is never silently downgraded).
//
// Cookies are sent by browsers with cross-site requests, so a principal
// authenticated by cookie carries `from_cookie`, and check_origin() refuses
// such a request when its Origin is another host than its Host and not in
// the allowed list (cross-site WebSocket hijacking).
//
// Pure functions of the request and the clock passed in; thread-safe.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "corvid/headers.hpp"
#include "corvid/result.hpp"
#include "engine/jwt.hpp"

namespace corvid::engine {

enum class token_source { none, authorization, cookie, query };

struct principal {
    bool anonymous = false;
    token_source source = token_source::none;
    jwt_claims claims;  ///< anonymous: channels/publish from the anonymous settings
};

struct auth_settings {
    const jwt_verifier* verifier = nullptr;  ///< null: no key configured
    bool allow_anonymous = false;
    std::vector<std::string> anonymous_channels;
    std::vector<std::string> anonymous_publish;
};

/// Where the token is, and the token. `none` when the request carries none.
struct found_token {
    token_source source = token_source::none;
    std::string token;
};

/// Looks for the token (see the header comment). `target` is the request
/// target (path and query).
found_token find_token(const corvid::headers& fields, std::string_view target);

/// The token found, verified at `now_unix_seconds`. Errors: jwt_errc from
/// the verifier; http_auth_errc-like std::errc::permission_denied when no
/// token is present and anonymous access is off.
result<principal> authenticate(const corvid::headers& fields, std::string_view target,
                               const auth_settings& settings, std::int64_t now_unix_seconds);

/// The values of query parameter `name` in `target`, percent-decoded, in
/// order.
std::vector<std::string> query_values(std::string_view target, std::string_view name);

/// The path part of a request target (before '?').
std::string_view target_path(std::string_view target) noexcept;

/// The value of cookie `name` in the request's Cookie fields, if any.
std::optional<std::string> cookie_value(const corvid::headers& fields, std::string_view name);

/// A cookie-authenticated request from another site: true when `p` came
/// from the cookie, the request has an Origin whose host[:port] differs
/// from Host (or :authority) and the Origin is not in `allowed_origins`.
bool cross_site_cookie(const principal& p, const corvid::headers& fields,
                       std::span<const std::string> allowed_origins);

}  // namespace corvid::engine
