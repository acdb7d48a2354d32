#include "engine/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

namespace corvid::engine {

struct jwt_verifier::key {
    jwt_alg alg;
    std::string kid;
    std::string secret;              // HS256
    bssl::UniquePtr<EVP_PKEY> pkey;  // RS256, ES256
};

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

constexpr std::size_t min_hmac_secret = 32;  // RFC 7518 section 3.2: at least the hash size
constexpr unsigned min_rsa_bits = 2048;
constexpr std::size_t max_pem_size = 64 * 1024;
constexpr std::size_t p256_coordinate = 32;

void set_detail(std::string* detail, std::string text) {
    if (detail != nullptr) {
        *detail = std::move(text);
    }
}

// -1 for characters outside the base64url alphabet.
int base64url_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

// Parses `text` as one JSON document into `parser`, with the depth limit.
// Refuses anything but an object.
std::error_code parse_object(simdjson::dom::parser& parser, std::string_view text,
                             std::size_t max_depth, object& out) {
    if (parser.allocate(std::max<std::size_t>(text.size(), 64), max_depth) != simdjson::SUCCESS) {
        return jwt_errc::too_large;
    }
    element doc;
    auto err = parser.parse(text.data(), text.size()).get(doc);
    if (err == simdjson::DEPTH_ERROR || err == simdjson::CAPACITY) {
        return jwt_errc::too_large;
    }
    if (err != simdjson::SUCCESS || doc.get_object().get(out) != simdjson::SUCCESS) {
        return jwt_errc::bad_json;
    }
    // Two members of one name are how claims get smuggled past one parser
    // and not another (RFC 7519 section 4: reject or take the last; we reject).
    std::set<std::string_view> names;
    for (auto field : out) {
        if (!names.insert(field.key).second) {
            return jwt_errc::bad_json;
        }
    }
    return {};
}

// A member that must be a string if present. nullopt-with-ok when absent.
std::error_code optional_string(const object& obj, std::string_view name, std::string& out,
                                jwt_errc wrong_type) {
    element e;
    if (obj[name].get(e) != simdjson::SUCCESS) {
        return {};
    }
    std::string_view v;
    if (e.get_string().get(v) != simdjson::SUCCESS) {
        return wrong_type;
    }
    out.assign(v);
    return {};
}

std::error_code string_array(const element& e, std::vector<std::string>& out) {
    simdjson::dom::array arr;
    if (e.get_array().get(arr) != simdjson::SUCCESS) {
        return jwt_errc::bad_claim;
    }
    for (auto item : arr) {
        std::string_view v;
        if (item.get_string().get(v) != simdjson::SUCCESS) {
            return jwt_errc::bad_claim;
        }
        out.emplace_back(v);
    }
    return {};
}

// A NumericDate (RFC 7519 section 2): any JSON number, fractions truncated
// toward the past, saturated to the int64 range.
std::error_code numeric_date(const object& obj, std::string_view name,
                             std::optional<std::int64_t>& out) {
    element e;
    if (obj[name].get(e) != simdjson::SUCCESS) {
        return {};
    }
    switch (e.type()) {
        case element_type::INT64:
            out = e.get_int64().value_unsafe();
            return {};
        case element_type::UINT64:
            out = std::numeric_limits<std::int64_t>::max();
            return {};
        case element_type::DOUBLE: {
            const double d = e.get_double().value_unsafe();
            if (!std::isfinite(d)) {
                return jwt_errc::bad_claim;
            }
            if (d >= 9.2e18) {
                out = std::numeric_limits<std::int64_t>::max();
            } else if (d <= -9.2e18) {
                out = std::numeric_limits<std::int64_t>::min();
            } else {
                out = static_cast<std::int64_t>(std::floor(d));
            }
            return {};
        }
        default:
            return jwt_errc::bad_claim;
    }
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
    std::int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) {
        return b > 0 ? std::numeric_limits<std::int64_t>::max()
                     : std::numeric_limits<std::int64_t>::min();
    }
    return r;
}

bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

std::optional<jwt_alg> alg_from_name(std::string_view name) noexcept {
    if (name == "HS256") {
        return jwt_alg::hs256;
    }
    if (name == "RS256") {
        return jwt_alg::rs256;
    }
    if (name == "ES256") {
        return jwt_alg::es256;
    }
    return std::nullopt;
}

const std::uint8_t* as_bytes(std::string_view s) {
    return reinterpret_cast<const std::uint8_t*>(s.data());
}

// Checks an RSA or EC public key and makes it a key of its algorithm.
result<jwt_verifier::key> key_from_pkey(bssl::UniquePtr<EVP_PKEY> pkey, std::string* detail) {
    jwt_verifier::key k;
    switch (EVP_PKEY_id(pkey.get())) {
        case EVP_PKEY_RSA: {
            const RSA* rsa = EVP_PKEY_get0_RSA(pkey.get());
            if (RSA_bits(rsa) < min_rsa_bits) {
                set_detail(detail, "RSA key of " + std::to_string(RSA_bits(rsa)) +
                                       " bits; at least 2048 are required");
                return jwt_errc::key_too_weak;
            }
            k.alg = jwt_alg::rs256;
            break;
        }
        case EVP_PKEY_EC: {
            const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(pkey.get());
            if (EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) != NID_X9_62_prime256v1) {
                set_detail(detail, "EC key on a curve other than P-256 (ES256 needs P-256)");
                return jwt_errc::bad_key;
            }
            k.alg = jwt_alg::es256;
            break;
        }
        default:
            set_detail(detail, "not an RSA or EC public key");
            return jwt_errc::bad_key;
    }
    k.pkey = std::move(pkey);
    return k;
}

result<jwt_verifier::key> rsa_from_jwk(std::string_view n64, std::string_view e64,
                                       std::string* detail) {
    auto n = base64url_decode(n64);
    auto e = base64url_decode(e64);
    if (!n || !e || n->empty() || e->empty()) {
        set_detail(detail, "n and e must be non-empty base64url");
        return jwt_errc::bad_key;
    }
    bssl::UniquePtr<RSA> rsa(RSA_new());
    BIGNUM* bn_n = BN_bin2bn(as_bytes(*n), n->size(), nullptr);
    BIGNUM* bn_e = BN_bin2bn(as_bytes(*e), e->size(), nullptr);
    if (!rsa || bn_n == nullptr || bn_e == nullptr ||
        !RSA_set0_key(rsa.get(), bn_n, bn_e, nullptr)) {
        BN_free(bn_n);
        BN_free(bn_e);
        return jwt_errc::bad_key;
    }
    if (RSA_bits(rsa.get()) < min_rsa_bits) {
        set_detail(detail, "RSA key of " + std::to_string(RSA_bits(rsa.get())) +
                               " bits; at least 2048 are required");
        return jwt_errc::key_too_weak;
    }
    if (!RSA_check_key(rsa.get())) {
        ERR_clear_error();
        set_detail(detail, "invalid RSA public key (n or e)");
        return jwt_errc::bad_key;
    }
    bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
    if (!pkey || !EVP_PKEY_set1_RSA(pkey.get(), rsa.get())) {
        return jwt_errc::bad_key;
    }
    return key_from_pkey(std::move(pkey), detail);
}

result<jwt_verifier::key> ec_from_jwk(std::string_view x64, std::string_view y64,
                                      std::string* detail) {
    auto x = base64url_decode(x64);
    auto y = base64url_decode(y64);
    if (!x || !y || x->size() != p256_coordinate || y->size() != p256_coordinate) {
        set_detail(detail, "x and y must be base64url of 32 bytes each");
        return jwt_errc::bad_key;
    }
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
    if (!ec) {
        return jwt_errc::bad_key;
    }
    const EC_GROUP* group = EC_KEY_get0_group(ec.get());
    bssl::UniquePtr<EC_POINT> point(EC_POINT_new(group));
    bssl::UniquePtr<BIGNUM> bx(BN_bin2bn(as_bytes(*x), x->size(), nullptr));
    bssl::UniquePtr<BIGNUM> by(BN_bin2bn(as_bytes(*y), y->size(), nullptr));
    // set_affine_coordinates refuses a point off the curve (invalid-curve attacks).
    if (!point || !bx || !by ||
        !EC_POINT_set_affine_coordinates_GFp(group, point.get(), bx.get(), by.get(), nullptr) ||
        !EC_KEY_set_public_key(ec.get(), point.get()) || !EC_KEY_check_key(ec.get())) {
        ERR_clear_error();
        set_detail(detail, "x, y is not a point on P-256");
        return jwt_errc::bad_key;
    }
    bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
    if (!pkey || !EVP_PKEY_set1_EC_KEY(pkey.get(), ec.get())) {
        return jwt_errc::bad_key;
    }
    return key_from_pkey(std::move(pkey), detail);
}

bool verify_signature(const jwt_verifier::key& k, std::string_view signing_input,
                      std::string_view sig) {
    switch (k.alg) {
        case jwt_alg::hs256: {
            std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
            unsigned mac_len = 0;
            if (HMAC(EVP_sha256(), k.secret.data(), k.secret.size(), as_bytes(signing_input),
                     signing_input.size(), mac.data(), &mac_len) == nullptr) {
                return false;
            }
            // The length is public (always 32); the bytes are compared in
            // constant time so a forger learns nothing from timing.
            return sig.size() == mac_len && CRYPTO_memcmp(mac.data(), sig.data(), mac_len) == 0;
        }
        case jwt_alg::rs256: {
            std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
            SHA256(as_bytes(signing_input), signing_input.size(), digest.data());
            const RSA* rsa = EVP_PKEY_get0_RSA(k.pkey.get());
            // RSA_verify takes a non-const key (it caches Montgomery data
            // under its own lock): safe to share between threads.
            const bool ok = sig.size() == RSA_size(rsa) &&
                            RSA_verify(NID_sha256, digest.data(), digest.size(), as_bytes(sig),
                                       sig.size(), const_cast<RSA*>(rsa)) == 1;
            ERR_clear_error();
            return ok;
        }
        case jwt_alg::es256: {
            // JOSE sends r||s, each 32 bytes big-endian (RFC 7518 section 3.4), not DER.
            if (sig.size() != 2 * p256_coordinate) {
                return false;
            }
            std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
            SHA256(as_bytes(signing_input), signing_input.size(), digest.data());
            bssl::UniquePtr<ECDSA_SIG> esig(ECDSA_SIG_new());
            BIGNUM* r = BN_bin2bn(as_bytes(sig), p256_coordinate, nullptr);
            BIGNUM* s = BN_bin2bn(as_bytes(sig) + p256_coordinate, p256_coordinate, nullptr);
            if (!esig || r == nullptr || s == nullptr || !ECDSA_SIG_set0(esig.get(), r, s)) {
                BN_free(r);
                BN_free(s);
                return false;
            }
            const bool ok = ECDSA_do_verify(digest.data(), digest.size(), esig.get(),
                                            EVP_PKEY_get0_EC_KEY(k.pkey.get())) == 1;
            ERR_clear_error();
            return ok;
        }
    }
    return false;
}

}  // namespace

std::string_view to_string(jwt_alg alg) noexcept {
    switch (alg) {
        case jwt_alg::hs256:
            return "HS256";
        case jwt_alg::rs256:
            return "RS256";
        case jwt_alg::es256:
            return "ES256";
    }
    return "?";
}

std::optional<std::string> base64url_decode(std::string_view in) {
    // A length of 4k+1 cannot come from any byte string.
    if (in.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(in.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        const int v = base64url_value(c);
        if (v < 0) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    // Leftover bits must be zero, or two encodings would decode alike.
    if ((acc & ((1u << bits) - 1)) != 0) {
        return std::nullopt;
    }
    return out;
}

std::string base64url_encode(std::string_view in) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((in.size() * 4 + 2) / 3);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        acc = (acc << 8) | static_cast<std::uint8_t>(c);
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(alphabet[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0) {
        out.push_back(alphabet[(acc << (6 - bits)) & 0x3f]);
    }
    return out;
}

jwt_verifier::jwt_verifier(std::shared_ptr<const std::vector<key>> keys, jwt_options options)
    : keys_(std::move(keys)), options_(std::move(options)) {}

std::size_t jwt_verifier::key_count() const noexcept {
    return keys_->size();
}

result<jwt_verifier> jwt_verifier::from_secret(std::string_view secret, jwt_options options) {
    if (secret.size() < min_hmac_secret) {
        return jwt_errc::key_too_weak;
    }
    auto keys = std::make_shared<std::vector<key>>();
    keys->push_back(key{jwt_alg::hs256, {}, std::string(secret), nullptr});
    return jwt_verifier(std::move(keys), std::move(options));
}

result<jwt_verifier> jwt_verifier::from_public_key_pem(std::string_view pem, jwt_options options,
                                                       std::string* detail) {
    if (pem.size() > max_pem_size) {
        set_detail(detail, "PEM text over 64 KiB");
        return jwt_errc::too_large;
    }
    bssl::UniquePtr<EVP_PKEY> pkey;
    {
        bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
        pkey.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    }
    if (!pkey) {
        // PKCS#1 "RSA PUBLIC KEY", as `openssl rsa -RSAPublicKey_out` writes it.
        bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
        bssl::UniquePtr<RSA> rsa(PEM_read_bio_RSAPublicKey(bio.get(), nullptr, nullptr, nullptr));
        if (rsa) {
            pkey.reset(EVP_PKEY_new());
            if (!pkey || !EVP_PKEY_set1_RSA(pkey.get(), rsa.get())) {
                pkey.reset();
            }
        }
    }
    ERR_clear_error();
    if (!pkey) {
        set_detail(detail,
                   "no \"PUBLIC KEY\" or \"RSA PUBLIC KEY\" PEM block (a private key or a "
                   "certificate is not accepted: extract the public key)");
        return jwt_errc::bad_key;
    }
    auto k = key_from_pkey(std::move(pkey), detail);
    if (!k) {
        return k.error();
    }
    auto keys = std::make_shared<std::vector<key>>();
    keys->push_back(std::move(*k));
    return jwt_verifier(std::move(keys), std::move(options));
}

result<jwt_verifier> jwt_verifier::from_jwks(std::string_view json, jwt_options options,
                                             std::string* detail) {
    if (json.size() > options.limits.max_jwks_size) {
        set_detail(detail,
                   "JWKS document over " + std::to_string(options.limits.max_jwks_size) + " bytes");
        return jwt_errc::too_large;
    }
    simdjson::dom::parser parser;
    object root;
    if (auto ec = parse_object(parser, json, options.limits.max_json_depth, root)) {
        set_detail(detail, "the JWKS document is not a JSON object");
        return ec;
    }
    simdjson::dom::array list;
    if (root["keys"].get_array().get(list) != simdjson::SUCCESS) {
        set_detail(detail, "no \"keys\" array");
        return jwt_errc::bad_json;
    }
    if (list.size() > options.limits.max_jwks_keys) {
        set_detail(detail, "more than " + std::to_string(options.limits.max_jwks_keys) + " keys");
        return jwt_errc::too_large;
    }
    auto keys = std::make_shared<std::vector<key>>();
    std::size_t index = 0;
    for (auto item : list) {
        const std::string where = "keys[" + std::to_string(index++) + "]: ";
        object jwk;
        std::string kty, kid, alg, use, crv;
        if (item.get_object().get(jwk) != simdjson::SUCCESS ||
            optional_string(jwk, "kty", kty, jwt_errc::bad_key) ||
            optional_string(jwk, "kid", kid, jwt_errc::bad_key) ||
            optional_string(jwk, "alg", alg, jwt_errc::bad_key) ||
            optional_string(jwk, "use", use, jwt_errc::bad_key) ||
            optional_string(jwk, "crv", crv, jwt_errc::bad_key) || kty.empty()) {
            set_detail(detail, where + "not an object with string kty (and string kid, alg, use)");
            return jwt_errc::bad_key;
        }
        if (!use.empty() && use != "sig") {
            continue;  // an encryption key
        }
        jwt_alg implied;
        if (kty == "RSA") {
            implied = jwt_alg::rs256;
        } else if (kty == "EC" && crv == "P-256") {
            implied = jwt_alg::es256;
        } else if (kty == "oct") {
            implied = jwt_alg::hs256;
        } else {
            continue;  // OKP, other curves: not for us
        }
        if (!alg.empty() && alg != to_string(implied)) {
            continue;  // e.g. PS256 or RS512 on an RSA key
        }
        std::string a, b;
        std::string sub_detail;
        result<key> k = jwt_errc::bad_key;
        if (implied == jwt_alg::rs256) {
            if (optional_string(jwk, "n", a, jwt_errc::bad_key) ||
                optional_string(jwk, "e", b, jwt_errc::bad_key)) {
                set_detail(detail, where + "n and e must be strings");
                return jwt_errc::bad_key;
            }
            k = rsa_from_jwk(a, b, &sub_detail);
        } else if (implied == jwt_alg::es256) {
            if (optional_string(jwk, "x", a, jwt_errc::bad_key) ||
                optional_string(jwk, "y", b, jwt_errc::bad_key)) {
                set_detail(detail, where + "x and y must be strings");
                return jwt_errc::bad_key;
            }
            k = ec_from_jwk(a, b, &sub_detail);
        } else {
            if (optional_string(jwk, "k", a, jwt_errc::bad_key)) {
                set_detail(detail, where + "k must be a string");
                return jwt_errc::bad_key;
            }
            auto secret = base64url_decode(a);
            if (!secret || secret->empty()) {
                sub_detail = "k must be non-empty base64url";
            } else if (secret->size() < min_hmac_secret) {
                sub_detail = "oct key under 32 bytes";
                k = jwt_errc::key_too_weak;
            } else {
                k = key{jwt_alg::hs256, {}, std::move(*secret), nullptr};
            }
        }
        if (!k) {
            set_detail(detail, where + sub_detail);
            return k.error();
        }
        k->kid = std::move(kid);
        keys->push_back(std::move(*k));
    }
    if (keys->empty()) {
        set_detail(detail, "no RSA, EC P-256 or oct signature key");
        return jwt_errc::no_usable_key;
    }
    return jwt_verifier(std::move(keys), std::move(options));
}

result<jwt_claims> jwt_verifier::verify(std::string_view token, std::int64_t now) const {
    const auto& limits = options_.limits;
    if (token.size() > limits.max_token_size) {
        return jwt_errc::too_large;
    }
    const auto dot1 = token.find('.');
    const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos ||
        dot1 == 0) {
        return jwt_errc::malformed;
    }
    const std::string_view header64 = token.substr(0, dot1);
    const std::string_view payload64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
    const std::string_view sig64 = token.substr(dot2 + 1);

    // Header: decoded and parsed before anything is trusted, but only to pick
    // the key; the algorithm it names must agree with that key.
    auto header_json = base64url_decode(header64);
    if (!header_json) {
        return jwt_errc::bad_base64;
    }
    simdjson::dom::parser parser;
    object header;
    if (auto ec = parse_object(parser, *header_json, limits.max_json_depth, header)) {
        return ec;
    }
    std::string alg_name, kid, typ;
    element alg_elem;
    if (header["alg"].get(alg_elem) != simdjson::SUCCESS || !alg_elem.is_string() ||
        optional_string(header, "kid", kid, jwt_errc::malformed) ||
        optional_string(header, "typ", typ, jwt_errc::malformed)) {
        return jwt_errc::malformed;
    }
    alg_name.assign(alg_elem.get_string().value_unsafe());
    if (equals_ignore_case(alg_name, "none")) {
        return jwt_errc::alg_none;
    }
    // crit names extensions the verifier must understand (RFC 7515 4.1.11);
    // we understand none.
    if (header["crit"].error() == simdjson::SUCCESS) {
        return jwt_errc::unsupported_alg;
    }
    const auto alg = alg_from_name(alg_name);
    if (!alg) {
        return jwt_errc::unsupported_alg;
    }

    // Key selection: the key fixes the algorithm.
    const key* chosen = nullptr;
    if (keys_->size() == 1 && (*keys_)[0].kid.empty()) {
        chosen = &(*keys_)[0];
        if (chosen->alg != *alg) {
            return jwt_errc::alg_mismatch;
        }
    } else if (!kid.empty()) {
        bool kid_seen = false;
        for (const auto& k : *keys_) {
            if (k.kid == kid) {
                kid_seen = true;
                if (k.alg == *alg) {
                    chosen = &k;
                    break;
                }
            }
        }
        if (chosen == nullptr) {
            return kid_seen ? jwt_errc::alg_mismatch : jwt_errc::unknown_kid;
        }
    } else {
        std::size_t fits = 0;
        for (const auto& k : *keys_) {
            if (k.alg == *alg) {
                chosen = &k;
                ++fits;
            }
        }
        if (fits == 0) {
            return jwt_errc::alg_mismatch;
        }
        if (fits > 1) {
            return jwt_errc::kid_required;
        }
    }

    auto sig = base64url_decode(sig64);
    if (!sig) {
        return jwt_errc::bad_base64;
    }
    if (!verify_signature(*chosen, token.substr(0, dot2), *sig)) {
        return jwt_errc::bad_signature;
    }

    // Payload: authentic from here on, but still checked for shape.
    auto payload_json = base64url_decode(payload64);
    if (!payload_json) {
        return jwt_errc::bad_base64;
    }
    object payload;
    if (auto ec = parse_object(parser, *payload_json, limits.max_json_depth, payload)) {
        return ec;
    }
    jwt_claims claims;
    claims.kid = std::move(kid);
    if (auto ec = optional_string(payload, "sub", claims.sub, jwt_errc::bad_claim)) {
        return ec;
    }
    if (auto ec = optional_string(payload, "iss", claims.iss, jwt_errc::bad_claim)) {
        return ec;
    }
    if (auto ec = numeric_date(payload, "exp", claims.exp)) {
        return ec;
    }
    if (auto ec = numeric_date(payload, "nbf", claims.nbf)) {
        return ec;
    }
    if (auto ec = numeric_date(payload, "iat", claims.iat)) {
        return ec;
    }
    bool has_aud = false;
    element e;
    if (payload["aud"].get(e) == simdjson::SUCCESS) {
        has_aud = true;
        std::string_view one;
        if (e.get_string().get(one) == simdjson::SUCCESS) {
            claims.aud.emplace_back(one);
        } else if (auto ec = string_array(e, claims.aud)) {
            return ec;
        }
    }
    if (payload["channels"].get(e) == simdjson::SUCCESS) {
        if (auto ec = string_array(e, claims.channels)) {
            return ec;
        }
    }
    if (payload["publish"].get(e) == simdjson::SUCCESS) {
        if (auto ec = string_array(e, claims.publish)) {
            return ec;
        }
    }
    if (payload["admin"].get(e) == simdjson::SUCCESS) {
        if (e.get_bool().get(claims.admin) != simdjson::SUCCESS) {
            return jwt_errc::bad_claim;
        }
    }

    const std::int64_t leeway = std::max<std::int64_t>(options_.leeway_seconds, 0);
    if (!claims.exp) {
        if (options_.require_exp) {
            return jwt_errc::missing_exp;
        }
    } else if (now >= saturating_add(*claims.exp, leeway)) {
        // RFC 7519 4.1.4: valid only while now is before exp.
        return jwt_errc::expired;
    }
    if (claims.nbf && saturating_add(now, leeway) < *claims.nbf) {
        return jwt_errc::not_yet_valid;
    }
    if (!options_.issuer.empty() && claims.iss != options_.issuer) {
        return jwt_errc::bad_issuer;
    }
    if (!options_.audiences.empty()) {
        bool match = false;
        for (const auto& a : claims.aud) {
            for (const auto& want : options_.audiences) {
                match = match || a == want;
            }
        }
        if (!has_aud || !match) {
            return jwt_errc::bad_audience;
        }
    }
    claims.payload_json = std::move(*payload_json);
    return claims;
}

bool glob_match(std::string_view pattern, std::string_view channel) noexcept {
    // A simulation of the pattern as an NFA: `live[i]` is true when the
    // channel read so far can end with the pattern read up to i. No
    // backtracking, so no pattern takes more than |pattern| * |channel| steps.
    // Positions are bytes of the pattern; a star's state is its first byte.
    constexpr std::size_t small = 128;
    const std::size_t m = pattern.size();
    std::array<bool, small + 1> a_small{};
    std::array<bool, small + 1> b_small{};
    std::vector<bool> a_big, b_big;
    auto run = [&](auto& cur, auto& next) {
        auto star_len = [&](std::size_t i) -> std::size_t {
            return (i + 1 < m && pattern[i + 1] == '*') ? 2 : 1;
        };
        // Stars match the empty string: their state also holds past them.
        auto close = [&](auto& s) {
            for (std::size_t i = 0; i < m; ++i) {
                if (s[i] && pattern[i] == '*') {
                    s[i + star_len(i)] = true;
                }
            }
        };
        auto clear = [&](auto& s) {
            for (std::size_t i = 0; i <= m; ++i) {
                s[i] = false;
            }
        };
        clear(cur);
        cur[0] = true;
        close(cur);
        for (char c : channel) {
            clear(next);
            bool any = false;
            for (std::size_t i = 0; i < m; ++i) {
                if (!cur[i]) {
                    continue;
                }
                const char p = pattern[i];
                if (p == '*') {
                    if (star_len(i) == 2 || c != '.') {
                        next[i] = true;
                        any = true;
                    }
                } else if ((p == '?' && c != '.') || p == c) {
                    next[i + 1] = true;
                    any = true;
                }
            }
            if (!any) {
                return false;
            }
            close(next);
            std::swap(cur, next);
        }
        return static_cast<bool>(cur[m]);
    };
    // The second byte of "**" is never a state: a state at i is only set at 0,
    // after a consumed byte (i + 1 of a non-star) or past a whole star.
    if (m <= small) {
        return run(a_small, b_small);
    }
    a_big.resize(m + 1);
    b_big.resize(m + 1);
    return run(a_big, b_big);
}

bool channel_allowed(std::span<const std::string> patterns, std::string_view channel) noexcept {
    for (const auto& p : patterns) {
        if (glob_match(p, channel)) {
            return true;
        }
    }
    return false;
}

std::string sign_hs256(std::string_view secret, std::string_view payload_json) {
    std::string input = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
    input += '.';
    input += base64url_encode(payload_json);
    std::uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    HMAC(EVP_sha256(), secret.data(), secret.size(),
         reinterpret_cast<const std::uint8_t*>(input.data()), input.size(), mac, &mac_len);
    input += '.';
    input += base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
    return input;
}

}  // namespace corvid::engine
