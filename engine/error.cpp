#include "corvid/error.hpp"

namespace corvid {

namespace {

class jwt_errc_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "corvid.jwt"; }
    std::string message(int ev) const override {
        switch (static_cast<jwt_errc>(ev)) {
            case jwt_errc::malformed:
                return "the token is not a compact JWT (three base64url parts separated by dots, "
                       "with a header naming its alg): send the token itself, without a "
                       "\"Bearer\" prefix or quotes";
            case jwt_errc::bad_base64:
                return "a part of the token is not unpadded base64url (RFC 7515): the issuer must "
                       "use the URL-safe alphabet without '=' padding";
            case jwt_errc::bad_json:
                return "the token's header or payload is not a JSON object (or repeats a member "
                       "name): issue a well-formed token";
            case jwt_errc::unsupported_alg:
                return "the token uses a signature algorithm (or a crit header) this server does "
                       "not support: sign with HS256, RS256 or ES256";
            case jwt_errc::alg_none:
                return "the token is unsigned (alg \"none\"): unsigned tokens are never accepted";
            case jwt_errc::alg_mismatch:
                return "the token's alg is not the algorithm of the configured key (the key fixes "
                       "the algorithm): sign with the key the server is configured with";
            case jwt_errc::bad_signature:
                return "the token's signature does not verify: it was signed with another key or "
                       "altered";
            case jwt_errc::expired:
                return "the token has expired (exp is past, beyond the allowed clock skew): get a "
                       "new token";
            case jwt_errc::not_yet_valid:
                return "the token is not valid yet (nbf is in the future, beyond the allowed clock "
                       "skew): check the issuer's and the server's clocks";
            case jwt_errc::bad_issuer:
                return "the token's iss is missing or is not the issuer this server trusts";
            case jwt_errc::bad_audience:
                return "the token's aud is missing or names none of the audiences this server "
                       "accepts";
            case jwt_errc::unknown_kid:
                return "no key in the key set has the token's kid (or the token has no kid and no "
                       "key fits): reload the JWKS or check the issuer's key id";
            case jwt_errc::kid_required:
                return "the token has no kid and the key set holds several keys of its algorithm: "
                       "the issuer must put a kid in the header";
            case jwt_errc::key_too_weak:
                return "the key is too weak: HMAC secrets need at least 32 bytes, RSA keys at "
                       "least 2048 bits";
            case jwt_errc::bad_key:
                return "the key cannot be used: expected an HMAC secret, a PEM public key (RSA or "
                       "EC P-256) or a JWKS document with RSA, EC P-256 or oct keys";
            case jwt_errc::no_usable_key:
                return "the JWKS document has no key usable for signatures here (RSA, EC P-256 or "
                       "oct with use \"sig\" and alg RS256, ES256 or HS256)";
            case jwt_errc::too_large:
                return "the token (or its JSON nesting, or the key document) exceeds the "
                       "configured limit: issue smaller tokens or raise the limit";
            case jwt_errc::bad_claim:
                return "a claim has the wrong JSON type (exp/nbf/iat numbers, sub/iss strings, aud "
                       "a string or strings, channels/publish arrays of strings, admin a boolean)";
            case jwt_errc::missing_exp:
                return "the token has no exp claim and this server requires one: issue tokens "
                       "that expire";
        }
        return "unknown corvid.jwt error";
    }
};

class protocol_errc_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "corvid.engine.protocol"; }
    std::string message(int ev) const override {
        switch (static_cast<protocol_errc>(ev)) {
            case protocol_errc::malformed:
                return "the frame is not a JSON object (text frames) or a MessagePack map (binary "
                       "frames, subprotocol corvid.msgpack), or it repeats a key: send one "
                       "object per frame, such as {\"op\":\"ping\"}";
            case protocol_errc::unknown_op:
                return "\"op\" names no operation of protocol v1: use sub, unsub, pub or ping";
            case protocol_errc::bad_field:
                return "a field is missing or has the wrong type or value (sub, unsub and pub "
                       "need a string \"ch\", pub needs \"data\", since is "
                       "{\"epoch\":E,\"offset\":N} with integers below 2^53): see the "
                       "protocol documentation";
            case protocol_errc::bad_channel:
                return "the channel name is not valid: use 1 to 255 (the server's limit) "
                       "characters among A-Z a-z 0-9 _ - . : @ / = +";
            case protocol_errc::too_large:
                return "the data (or its nesting, or the id) exceeds the server's limit: send "
                       "smaller messages";
            case protocol_errc::not_allowed:
                return "the token does not allow this operation on this channel: get a token "
                       "whose channels or publish claims cover it";
            case protocol_errc::not_subscribed:
                return "the connection is not subscribed to this channel";
            case protocol_errc::already_subscribed:
                return "the connection is already subscribed to this channel: unsub first to "
                       "subscribe again";
            case protocol_errc::too_many_subscriptions:
                return "the connection has reached its subscription limit: unsub from channels "
                       "it no longer needs, or open another connection";
            case protocol_errc::rate_limited:
                return "the connection sends faster than the server's rate limit: slow down and "
                       "retry later";
            case protocol_errc::internal:
                return "the server failed to handle the request; it is not the client's fault: "
                       "retry later";
        }
        return "unknown corvid.engine.protocol error";
    }
};

}  // namespace

const std::error_category& jwt_category() noexcept {
    static const jwt_errc_category_impl category;
    return category;
}

const std::error_category& protocol_category() noexcept {
    static const protocol_errc_category_impl category;
    return category;
}

}  // namespace corvid
