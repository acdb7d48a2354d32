#pragma once

// A strict JWT verifier (RFC 7519, compact JWS of RFC 7515) for the engine's
// handshake, and the channel glob matcher the token's claims are checked with.
//
// Keys. A verifier holds one key (an HMAC secret, or a PEM public key) or the
// usable keys of a JWKS document. The algorithm is fixed by the key, never
// taken from the token: an HMAC secret verifies only HS256, an RSA key only
// RS256, an EC P-256 key only ES256. A token whose header names another
// algorithm is refused (alg_mismatch), which is what stops the HS/RS
// confusion attack (an HS256 token "signed" with the RSA public key's bytes);
// alg "none" is refused in any spelling (alg_none). Weak keys are refused when
// loaded (key_too_weak): HMAC secrets under 32 bytes (RFC 7518 section 3.2),
// RSA moduli under 2048 bits.
//
// Verification (verify()) checks, in this order: the token's size; its form
// (exactly three base64url parts, no padding, canonical); the header (a JSON
// object with a string alg, optional string typ and kid, no crit); the
// signature (HMAC-SHA256 compared in constant time, RSASSA-PKCS1-v1_5
// SHA-256, or ECDSA P-256 SHA-256 with the JOSE 64-byte r||s form); only then
// the payload (a JSON object, no duplicate member names) and its claims: exp
// (required unless jwt_options::require_exp is off) and nbf with a leeway,
// iss and aud when configured. The time is passed in (sans-I/O): the caller
// reads its clock, tests pass any instant.
//
// Ownership and threading. jwt_verifier owns its keys (BoringSSL objects,
// shared and never modified after loading); copies share them. verify() is
// const and may be called from any number of threads at once on the same
// verifier. jwt_claims owns its strings.
//
// Errors are corvid::jwt_errc values (include/corvid/error.hpp) whose
// message() says what is wrong and what to do. Loaders can also fill a
// `detail` string naming the offending field.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "corvid/error.hpp"
#include "corvid/result.hpp"

namespace corvid::engine {

/// The three signature algorithms the engine accepts.
enum class jwt_alg { hs256, rs256, es256 };

/// "HS256", "RS256" or "ES256".
std::string_view to_string(jwt_alg alg) noexcept;

/// Limits on what a token and a key document may hold; each refusal is
/// jwt_errc::too_large.
struct jwt_limits {
    /// Whole compact token, in bytes (header, payload and signature with dots).
    std::size_t max_token_size = 8 * 1024;
    /// Nesting depth of the header and payload JSON (objects and arrays).
    std::size_t max_json_depth = 16;
    /// A JWKS document, in bytes.
    std::size_t max_jwks_size = 256 * 1024;
    /// Keys in a JWKS document (usable or not).
    std::size_t max_jwks_keys = 64;
};

/// What verify() checks beyond the signature.
struct jwt_options {
    /// Tolerated clock skew between the issuer and this server, applied to
    /// exp and nbf. 30 s: enough for ordinary NTP drift, short enough that an
    /// expired token is not usable for long.
    std::int64_t leeway_seconds = 30;
    /// Refuse tokens without exp (jwt_errc::missing_exp): a token without it
    /// would be valid forever. Turn off only for tokens revoked otherwise.
    bool require_exp = true;
    /// When not empty, the token's iss must equal it.
    std::string issuer;
    /// When not empty, the token's aud (a string or an array of strings)
    /// must contain at least one of these.
    std::vector<std::string> audiences;
    jwt_limits limits;
};

/// The claims of a verified token. Absent string claims are empty; absent
/// times are nullopt; absent arrays are empty (no channel allowed).
struct jwt_claims {
    std::string sub;
    std::optional<std::int64_t> exp;  ///< seconds since the Unix epoch
    std::optional<std::int64_t> nbf;
    std::optional<std::int64_t> iat;
    std::string iss;
    std::vector<std::string> aud;
    std::vector<std::string> channels;  ///< glob patterns the holder may subscribe to
    std::vector<std::string> publish;   ///< glob patterns the holder may publish to
    bool admin = false;                 ///< may use the HTTP API
    std::string kid;                    ///< the header's kid, if any
    std::string payload_json;           ///< the decoded payload, as signed
};

/// Verifies compact JWS tokens against a fixed key or key set.
class jwt_verifier {
  public:
    /// An HS256 verifier with `secret` as the HMAC key (raw bytes, not
    /// base64). Errors: key_too_weak (under 32 bytes).
    static result<jwt_verifier> from_secret(std::string_view secret, jwt_options options = {});

    /// An RS256 or ES256 verifier from a PEM public key ("PUBLIC KEY" as
    /// SubjectPublicKeyInfo, or "RSA PUBLIC KEY" as PKCS#1). Errors: bad_key
    /// (not a PEM public key, or a curve other than P-256), key_too_weak
    /// (RSA under 2048 bits), too_large (PEM text over 64 KiB).
    static result<jwt_verifier> from_public_key_pem(std::string_view pem, jwt_options options = {},
                                                    std::string* detail = nullptr);

    /// A verifier from a JWKS document (RFC 7517): {"keys":[...]} with keys
    /// of kty RSA (n, e), EC (crv P-256, x, y) or oct (k), each with an
    /// optional kid, alg and use. Keys that cannot serve here are skipped: use
    /// other than "sig", another kty or crv, an alg other than the one the kty
    /// implies. A malformed key of a usable kind fails the whole document
    /// (bad_key or key_too_weak, `detail` names the key). Errors also:
    /// bad_json, too_large, no_usable_key.
    static result<jwt_verifier> from_jwks(std::string_view json, jwt_options options = {},
                                          std::string* detail = nullptr);

    /// Verifies `token` at `now_unix_seconds` and returns its claims. With a
    /// JWKS the key is the one whose kid is the header's kid (unknown_kid if
    /// none; alg_mismatch if that key is of another algorithm); a token
    /// without kid uses the only key of its algorithm (kid_required if there
    /// are several). A verifier of a single key without kid (a secret, a PEM
    /// key, a one-key JWKS) ignores the token's kid. Errors: too_large, malformed,
    /// bad_base64, bad_json, alg_none, unsupported_alg, alg_mismatch,
    /// unknown_kid, kid_required, bad_signature, bad_claim, missing_exp,
    /// expired, not_yet_valid, bad_issuer, bad_audience.
    result<jwt_claims> verify(std::string_view token, std::int64_t now_unix_seconds) const;

    const jwt_options& options() const noexcept { return options_; }

    /// How many keys the verifier holds (1 unless loaded from a JWKS).
    std::size_t key_count() const noexcept;

    struct key;  // private: defined in jwt.cpp

  private:
    jwt_verifier(std::shared_ptr<const std::vector<key>> keys, jwt_options options);

    std::shared_ptr<const std::vector<key>> keys_;
    jwt_options options_;
};

/// Strict base64url (RFC 4648 section 5) without padding, as JWS uses it:
/// only A-Z a-z 0-9 - _, no '=', no whitespace, and the unused low bits of
/// the last character must be zero (one encoding per byte string). nullopt
/// if `in` is not such an encoding.
std::optional<std::string> base64url_decode(std::string_view in);

/// base64url without padding.
std::string base64url_encode(std::string_view in);

/// Signs `payload_json` (a JSON object, written as given) as a compact HS256
/// JWS with header {"alg":"HS256","typ":"JWT"}: what `corvid-server token`
/// prints for development and demos. Issuers in production sign elsewhere.
std::string sign_hs256(std::string_view secret, std::string_view payload_json);

/// Channel patterns (the channels and publish claims). Channel names are
/// dot-separated segments ("chat.room1"); in a pattern:
///   `*`   matches any run of characters within one segment (no '.'),
///   `**`  matches any run of characters, dots included,
///   `?`   matches one character other than '.',
///   anything else matches itself (there is no escape).
/// So "chat.*" allows "chat.room1" but not "chat.a.b"; "chat.**" allows both;
/// "**" allows every channel. Matching takes time proportional to
/// pattern length times channel length, whatever the pattern.
bool glob_match(std::string_view pattern, std::string_view channel) noexcept;

/// True if any of `patterns` matches `channel`.
bool channel_allowed(std::span<const std::string> patterns, std::string_view channel) noexcept;

}  // namespace corvid::engine
