// The JWT verifier (engine/jwt.hpp): tokens signed here with BoringSSL and by
// an independent implementation (Python's standard library for HS256, PyJWT
// with cryptography for RS256 and ES256, run as /usr/bin/python3), through
// the auth matrix of issue 6, plus the channel glob matcher.

#include "engine/jwt.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <unistd.h>
#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

namespace {

using corvid::jwt_errc;
using corvid::engine::base64url_decode;
using corvid::engine::base64url_encode;
using corvid::engine::channel_allowed;
using corvid::engine::glob_match;
using corvid::engine::jwt_claims;
using corvid::engine::jwt_options;
using corvid::engine::jwt_verifier;

constexpr std::int64_t now = 1'700'000'000;
const std::string secret = "0123456789abcdef0123456789abcdef-corvid";  // 39 bytes

const std::uint8_t* bytes(const std::string& s) {
    return reinterpret_cast<const std::uint8_t*>(s.data());
}

std::string b64(const std::string& s) {
    return base64url_encode(s);
}

std::string header(const std::string& alg, const std::string& kid = {}) {
    std::string h = "{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"";
    if (!kid.empty()) {
        h += ",\"kid\":\"" + kid + "\"";
    }
    return h + "}";
}

// A typical payload: valid from now - 60 to now + 3600.
std::string payload(const std::string& extra = {}) {
    return "{\"sub\":\"alice\",\"exp\":" + std::to_string(now + 3600) +
           ",\"nbf\":" + std::to_string(now - 60) + ",\"iat\":" + std::to_string(now - 60) + extra +
           "}";
}

std::string hmac_sign(const std::string& key, const std::string& input) {
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
    unsigned len = 0;
    HMAC(EVP_sha256(), key.data(), key.size(), bytes(input), input.size(), mac.data(), &len);
    return {reinterpret_cast<const char*>(mac.data()), len};
}

std::string hs256(const std::string& hdr, const std::string& body,
                  const std::string& key = secret) {
    const std::string input = b64(hdr) + "." + b64(body);
    return input + "." + b64(hmac_sign(key, input));
}

std::string sha256(const std::string& input) {
    std::array<std::uint8_t, SHA256_DIGEST_LENGTH> d{};
    SHA256(bytes(input), input.size(), d.data());
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string pem_of(EVP_PKEY* pkey) {
    bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PUBKEY(bio.get(), pkey);
    const std::uint8_t* data = nullptr;
    std::size_t len = 0;
    BIO_mem_contents(bio.get(), &data, &len);
    return {reinterpret_cast<const char*>(data), len};
}

std::string bn_bytes(const BIGNUM* bn, std::size_t width = 0) {
    std::string out(width == 0 ? BN_num_bytes(bn) : width, '\0');
    BN_bn2bin_padded(reinterpret_cast<std::uint8_t*>(out.data()), out.size(), bn);
    return out;
}

// Keys generated once for the whole suite (RSA generation is slow under ASan).
struct keys {
    bssl::UniquePtr<RSA> rsa;
    bssl::UniquePtr<EVP_PKEY> rsa_pkey;
    bssl::UniquePtr<RSA> rsa_other;
    bssl::UniquePtr<EC_KEY> ec;
    bssl::UniquePtr<EVP_PKEY> ec_pkey;
    std::string rsa_pem, rsa_other_pem, ec_pem;

    static bssl::UniquePtr<RSA> make_rsa(unsigned bits) {
        bssl::UniquePtr<RSA> r(RSA_new());
        bssl::UniquePtr<BIGNUM> e(BN_new());
        BN_set_word(e.get(), RSA_F4);
        RSA_generate_key_ex(r.get(), static_cast<int>(bits), e.get(), nullptr);
        return r;
    }
    static std::string rsa_pem_of(RSA* r) {
        bssl::UniquePtr<EVP_PKEY> p(EVP_PKEY_new());
        EVP_PKEY_set1_RSA(p.get(), r);
        return pem_of(p.get());
    }

    keys() {
        rsa = make_rsa(2048);
        rsa_pkey.reset(EVP_PKEY_new());
        EVP_PKEY_set1_RSA(rsa_pkey.get(), rsa.get());
        rsa_pem = pem_of(rsa_pkey.get());
        rsa_other = make_rsa(2048);
        rsa_other_pem = rsa_pem_of(rsa_other.get());
        ec.reset(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
        EC_KEY_generate_key(ec.get());
        ec_pkey.reset(EVP_PKEY_new());
        EVP_PKEY_set1_EC_KEY(ec_pkey.get(), ec.get());
        ec_pem = pem_of(ec_pkey.get());
    }

    std::string rs256(const std::string& hdr, const std::string& body, RSA* key = nullptr) const {
        const std::string input = b64(hdr) + "." + b64(body);
        const std::string d = sha256(input);
        RSA* k = key != nullptr ? key : rsa.get();
        std::string sig(RSA_size(k), '\0');
        unsigned len = 0;
        RSA_sign(NID_sha256, bytes(d), d.size(), reinterpret_cast<std::uint8_t*>(sig.data()), &len,
                 k);
        sig.resize(len);
        return input + "." + b64(sig);
    }

    std::string es256(const std::string& hdr, const std::string& body) const {
        const std::string input = b64(hdr) + "." + b64(body);
        const std::string d = sha256(input);
        bssl::UniquePtr<ECDSA_SIG> sig(ECDSA_do_sign(bytes(d), d.size(), ec.get()));
        const BIGNUM* r = nullptr;
        const BIGNUM* s = nullptr;
        ECDSA_SIG_get0(sig.get(), &r, &s);
        return input + "." + b64(bn_bytes(r, 32) + bn_bytes(s, 32));
    }

    std::string rsa_jwk(const std::string& kid) const {
        const BIGNUM* n = nullptr;
        const BIGNUM* e = nullptr;
        RSA_get0_key(rsa.get(), &n, &e, nullptr);
        return "{\"kty\":\"RSA\",\"kid\":\"" + kid +
               "\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"" + b64(bn_bytes(n)) + "\",\"e\":\"" +
               b64(bn_bytes(e)) + "\"}";
    }

    std::string ec_jwk(const std::string& kid) const {
        bssl::UniquePtr<BIGNUM> x(BN_new());
        bssl::UniquePtr<BIGNUM> y(BN_new());
        EC_POINT_get_affine_coordinates_GFp(EC_KEY_get0_group(ec.get()),
                                            EC_KEY_get0_public_key(ec.get()), x.get(), y.get(),
                                            nullptr);
        return "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"" + kid + "\",\"x\":\"" +
               b64(bn_bytes(x.get(), 32)) + "\",\"y\":\"" + b64(bn_bytes(y.get(), 32)) + "\"}";
    }
};

const keys& test_keys() {
    static const keys k;
    return k;
}

jwt_verifier hs_verifier(jwt_options o = {}) {
    return jwt_verifier::from_secret(secret, std::move(o)).value();
}

std::error_code verify_error(const jwt_verifier& v, const std::string& token,
                             std::int64_t at = now) {
    return v.verify(token, at).error();
}

// --- base64url -------------------------------------------------------------

TEST(jwt_base64url, round_trips_and_is_strict) {
    for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\xfd"}) {
        auto enc = base64url_encode(s);
        EXPECT_EQ(enc.find('='), std::string::npos);
        auto dec = base64url_decode(enc);
        ASSERT_TRUE(dec) << enc;
        EXPECT_EQ(*dec, s);
    }
    EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
    EXPECT_FALSE(base64url_decode("Zm9v="));  // padding
    EXPECT_FALSE(base64url_decode("Zm+v"));   // standard alphabet
    EXPECT_FALSE(base64url_decode("Zm/v"));
    EXPECT_FALSE(base64url_decode("Zm 9v"));  // whitespace
    EXPECT_FALSE(base64url_decode("Zm9vY"));  // 4k+1 characters
    EXPECT_TRUE(base64url_decode("Zg"));
    EXPECT_FALSE(base64url_decode("Zh"));  // non-zero unused bits: not canonical
}

// --- HS256 -------------------------------------------------------------------

TEST(jwt_hs256, valid_token_gives_its_claims) {
    auto v = hs_verifier();
    const std::string body = payload(
        ",\"iss\":\"corvid-auth\",\"aud\":[\"corvid\",\"other\"],"
        "\"channels\":[\"news\",\"chat.*\"],\"publish\":[\"chat.**\"],\"admin\":true");
    auto c = v.verify(hs256(header("HS256", "k1"), body), now);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->sub, "alice");
    EXPECT_EQ(c->exp, now + 3600);
    EXPECT_EQ(c->nbf, now - 60);
    EXPECT_EQ(c->iat, now - 60);
    EXPECT_EQ(c->iss, "corvid-auth");
    EXPECT_EQ(c->aud, (std::vector<std::string>{"corvid", "other"}));
    EXPECT_EQ(c->channels, (std::vector<std::string>{"news", "chat.*"}));
    EXPECT_EQ(c->publish, (std::vector<std::string>{"chat.**"}));
    EXPECT_TRUE(c->admin);
    EXPECT_EQ(c->kid, "k1");
    EXPECT_EQ(c->payload_json, body);
}

TEST(jwt_hs256, short_secret_is_too_weak) {
    EXPECT_EQ(jwt_verifier::from_secret("short").error(), jwt_errc::key_too_weak);
    EXPECT_EQ(jwt_verifier::from_secret(std::string(31, 'x')).error(), jwt_errc::key_too_weak);
    EXPECT_TRUE(jwt_verifier::from_secret(std::string(32, 'x')));
}

TEST(jwt_hs256, wrong_key_or_altered_token_fails_signature) {
    auto v = hs_verifier();
    EXPECT_EQ(verify_error(v, hs256(header("HS256"), payload(), secret + "x")),
              jwt_errc::bad_signature);
    // Payload swapped after signing (admin added).
    auto good = hs256(header("HS256"), payload());
    auto forged = good.substr(0, good.find('.') + 1) + b64(payload(",\"admin\":true")) +
                  good.substr(good.rfind('.'));
    EXPECT_EQ(verify_error(v, forged), jwt_errc::bad_signature);
    // Truncated signature (3 characters: 2 would leave a 4k+1 length, not
    // base64url at all), empty signature.
    EXPECT_EQ(verify_error(v, good.substr(0, good.size() - 3)), jwt_errc::bad_signature);
    EXPECT_EQ(verify_error(v, good.substr(0, good.size() - 2)), jwt_errc::bad_base64);
    EXPECT_EQ(verify_error(v, good.substr(0, good.rfind('.') + 1)), jwt_errc::bad_signature);
}

TEST(jwt_hs256, expiry_and_not_before_with_leeway) {
    jwt_options strict;
    strict.leeway_seconds = 0;
    auto v0 = hs_verifier(strict);
    auto v30 = hs_verifier();  // default leeway 30 s
    const auto exp_at = [](std::int64_t exp) {
        return hs256(header("HS256"), "{\"sub\":\"a\",\"exp\":" + std::to_string(exp) + "}");
    };
    // exp exactly now: expired (valid only before exp).
    EXPECT_EQ(verify_error(v0, exp_at(now)), jwt_errc::expired);
    EXPECT_TRUE(v0.verify(exp_at(now + 1), now));
    EXPECT_EQ(verify_error(v0, exp_at(now - 10)), jwt_errc::expired);
    EXPECT_TRUE(v30.verify(exp_at(now - 10), now));
    EXPECT_EQ(verify_error(v30, exp_at(now - 30)), jwt_errc::expired);
    EXPECT_EQ(verify_error(v30, exp_at(now - 100000)), jwt_errc::expired);

    const auto nbf_at = [](std::int64_t nbf) {
        return hs256(header("HS256"), "{\"exp\":" + std::to_string(now + 3600) +
                                          ",\"nbf\":" + std::to_string(nbf) + "}");
    };
    EXPECT_TRUE(v0.verify(nbf_at(now), now));
    EXPECT_EQ(verify_error(v0, nbf_at(now + 10)), jwt_errc::not_yet_valid);
    EXPECT_TRUE(v30.verify(nbf_at(now + 10), now));
    EXPECT_TRUE(v30.verify(nbf_at(now + 30), now));
    EXPECT_EQ(verify_error(v30, nbf_at(now + 31)), jwt_errc::not_yet_valid);

    // Fractional and huge NumericDates.
    // Fractions are truncated toward the past.
    EXPECT_TRUE(v0.verify(hs256(header("HS256"), "{\"exp\":1700000001.5}"), now));
    EXPECT_EQ(verify_error(v0, hs256(header("HS256"), "{\"exp\":1700000000.5}")),
              jwt_errc::expired);
    EXPECT_TRUE(v0.verify(hs256(header("HS256"), "{\"exp\":18446744073709551615}"), now));
    EXPECT_TRUE(v30.verify(hs256(header("HS256"), "{\"exp\":9223372036854775807}"),
                           std::numeric_limits<std::int64_t>::max() - 1));
    EXPECT_EQ(verify_error(v0, hs256(header("HS256"), "{\"exp\":\"soon\"}")), jwt_errc::bad_claim);
}

TEST(jwt_hs256, exp_is_required_unless_turned_off) {
    const auto token = hs256(header("HS256"), "{\"sub\":\"a\"}");
    EXPECT_EQ(verify_error(hs_verifier(), token), jwt_errc::missing_exp);
    jwt_options o;
    o.require_exp = false;
    EXPECT_TRUE(hs_verifier(o).verify(token, now));
}

TEST(jwt_hs256, issuer_and_audience_when_configured) {
    jwt_options o;
    o.issuer = "corvid-auth";
    o.audiences = {"corvid", "corvid-staging"};
    auto v = hs_verifier(o);
    const auto with = [](const std::string& extra) {
        return hs256(header("HS256"), payload(extra));
    };
    EXPECT_TRUE(v.verify(with(",\"iss\":\"corvid-auth\",\"aud\":\"corvid\""), now));
    EXPECT_TRUE(v.verify(with(",\"iss\":\"corvid-auth\",\"aud\":[\"x\",\"corvid-staging\"]"), now));
    EXPECT_EQ(verify_error(v, with(",\"iss\":\"evil\",\"aud\":\"corvid\"")), jwt_errc::bad_issuer);
    EXPECT_EQ(verify_error(v, with(",\"aud\":\"corvid\"")), jwt_errc::bad_issuer);
    EXPECT_EQ(verify_error(v, with(",\"iss\":\"corvid-auth\",\"aud\":\"other\"")),
              jwt_errc::bad_audience);
    EXPECT_EQ(verify_error(v, with(",\"iss\":\"corvid-auth\",\"aud\":[]")), jwt_errc::bad_audience);
    EXPECT_EQ(verify_error(v, with(",\"iss\":\"corvid-auth\"")), jwt_errc::bad_audience);
    EXPECT_EQ(verify_error(v, with(",\"iss\":\"corvid-auth\",\"aud\":[\"corvid\",1]")),
              jwt_errc::bad_claim);
    // Not configured: not checked.
    EXPECT_TRUE(hs_verifier().verify(with(",\"iss\":\"evil\",\"aud\":\"other\""), now));
}

TEST(jwt_hs256, claim_types_are_checked) {
    auto v = hs_verifier();
    for (std::string extra :
         {",\"channels\":\"news\"", ",\"channels\":[1]", ",\"publish\":{}", ",\"admin\":\"yes\"",
          ",\"admin\":1", ",\"sub\":42", ",\"iss\":[]", ",\"nbf\":null"}) {
        const auto body = "{\"exp\":" + std::to_string(now + 60) + extra + "}";
        EXPECT_EQ(verify_error(v, hs256(header("HS256"), body)), jwt_errc::bad_claim) << extra;
    }
}

TEST(jwt_hs256, alg_none_in_any_spelling_is_refused) {
    auto v = hs_verifier();
    for (std::string alg : {"none", "None", "NONE", "nOnE"}) {
        const auto t = b64(header(alg)) + "." + b64(payload(",\"admin\":true")) + ".";
        EXPECT_EQ(verify_error(v, t), jwt_errc::alg_none) << alg;
        // With a signature part too.
        EXPECT_EQ(verify_error(v, t + "AAAA"), jwt_errc::alg_none);
    }
}

TEST(jwt_hs256, other_algorithms_are_refused) {
    auto v = hs_verifier();
    EXPECT_EQ(verify_error(v, hs256(header("HS512"), payload())), jwt_errc::unsupported_alg);
    EXPECT_EQ(verify_error(v, hs256(header("hs256"), payload())), jwt_errc::unsupported_alg);
    EXPECT_EQ(verify_error(v, hs256(header("RS256"), payload())), jwt_errc::alg_mismatch);
    EXPECT_EQ(verify_error(v, hs256(header("ES256"), payload())), jwt_errc::alg_mismatch);
    EXPECT_EQ(
        verify_error(v, hs256("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", payload())),
        jwt_errc::unsupported_alg);
}

TEST(jwt_hs256, malformed_tokens) {
    auto v = hs_verifier();
    const auto good = hs256(header("HS256"), payload());
    const auto h = good.substr(0, good.find('.'));
    const auto p = good.substr(good.find('.') + 1, good.rfind('.') - good.find('.') - 1);
    const auto s = good.substr(good.rfind('.') + 1);
    EXPECT_TRUE(v.verify(good, now));
    EXPECT_EQ(verify_error(v, ""), jwt_errc::malformed);
    EXPECT_EQ(verify_error(v, h), jwt_errc::malformed);
    EXPECT_EQ(verify_error(v, h + "." + p), jwt_errc::malformed);
    EXPECT_EQ(verify_error(v, good + "."), jwt_errc::malformed);
    EXPECT_EQ(verify_error(v, good + ".xx"), jwt_errc::malformed);
    EXPECT_EQ(verify_error(v, "." + p + "." + s), jwt_errc::malformed);
    EXPECT_EQ(verify_error(v, "Bearer " + good), jwt_errc::bad_base64);
    EXPECT_EQ(verify_error(v, h + "=." + p + "." + s), jwt_errc::bad_base64);
    EXPECT_EQ(verify_error(v, h + "." + p + "." + s + "="), jwt_errc::bad_base64);
    // Standard-alphabet signature characters.
    std::string std_sig = s;
    for (auto& c : std_sig) {
        c = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    if (std_sig != s) {
        EXPECT_EQ(verify_error(v, h + "." + p + "." + std_sig), jwt_errc::bad_base64);
    }
    // Payload not base64url, signed as is: the signature holds, the payload does not.
    const std::string input = h + ".e30=";
    EXPECT_EQ(verify_error(v, input + "." + b64(hmac_sign(secret, input))), jwt_errc::bad_base64);
    // Header and payload JSON.
    EXPECT_EQ(verify_error(v, hs256("[\"HS256\"]", payload())), jwt_errc::bad_json);
    EXPECT_EQ(verify_error(v, hs256("{\"alg\":\"HS256\"", payload())), jwt_errc::bad_json);
    EXPECT_EQ(verify_error(v, hs256("{}", payload())), jwt_errc::malformed);
    EXPECT_EQ(verify_error(v, hs256("{\"alg\":256}", payload())), jwt_errc::malformed);
    EXPECT_EQ(verify_error(v, hs256("{\"alg\":\"HS256\",\"kid\":7}", payload())),
              jwt_errc::malformed);
    EXPECT_EQ(verify_error(v, hs256(header("HS256"), "[1,2]")), jwt_errc::bad_json);
    EXPECT_EQ(verify_error(v, hs256(header("HS256"), "")), jwt_errc::bad_json);
    EXPECT_EQ(verify_error(v, hs256(header("HS256"), "{\"exp\":1e999}")), jwt_errc::bad_json);
    // Duplicate members, also spelled with an escape.
    EXPECT_EQ(verify_error(v, hs256(header("HS256"), "{\"exp\":1,\"exp\":9999999999}")),
              jwt_errc::bad_json);
    EXPECT_EQ(
        verify_error(v, hs256(header("HS256"), payload(",\"\\u0061dmin\":false,\"admin\":true"))),
        jwt_errc::bad_json);
    EXPECT_EQ(verify_error(v, hs256("{\"alg\":\"HS256\",\"alg\":\"none\"}", payload())),
              jwt_errc::bad_json);
}

TEST(jwt_hs256, size_and_depth_limits) {
    auto v = hs_verifier();
    // A huge token is refused before any decoding.
    EXPECT_EQ(verify_error(v, std::string(1 << 20, 'A')), jwt_errc::too_large);
    const auto big = hs256(header("HS256"), payload(",\"pad\":\"" + std::string(7000, 'x') + "\""));
    ASSERT_GT(big.size(), 8192u);
    EXPECT_EQ(verify_error(v, big), jwt_errc::too_large);
    jwt_options roomy;
    roomy.limits.max_token_size = 16 * 1024;
    EXPECT_TRUE(hs_verifier(roomy).verify(big, now));
    // Nesting.
    std::string deep = "[";
    for (int i = 0; i < 40; ++i) {
        deep += "[";
    }
    deep += std::string(41, ']');
    EXPECT_EQ(verify_error(v, hs256(header("HS256"), payload(",\"x\":" + deep))),
              jwt_errc::too_large);
    EXPECT_TRUE(v.verify(hs256(header("HS256"), payload(",\"x\":[[[[1]]]]")), now));
}

// --- RS256 and ES256 -------------------------------------------------------

TEST(jwt_rs256, valid_wrong_key_and_confusion) {
    const auto& k = test_keys();
    auto v = jwt_verifier::from_public_key_pem(k.rsa_pem).value();
    auto c = v.verify(k.rs256(header("RS256"), payload(",\"channels\":[\"a.*\"]")), now);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->sub, "alice");
    EXPECT_EQ(c->channels, std::vector<std::string>{"a.*"});
    EXPECT_EQ(verify_error(v, k.rs256(header("RS256"), payload(), k.rsa_other.get())),
              jwt_errc::bad_signature);
    EXPECT_EQ(
        verify_error(v, k.rs256(header("RS256"), "{\"exp\":" + std::to_string(now - 31) + "}")),
        jwt_errc::expired);
    // HS/RS confusion: an HS256 token whose HMAC key is the public key's PEM.
    EXPECT_EQ(verify_error(v, hs256(header("HS256"), payload(), k.rsa_pem)),
              jwt_errc::alg_mismatch);
    // And the other way round: an HMAC verifier never accepts RS256.
    EXPECT_EQ(verify_error(hs_verifier(), k.rs256(header("RS256"), payload())),
              jwt_errc::alg_mismatch);
    // Even one whose secret is that PEM.
    auto pem_secret = jwt_verifier::from_secret(k.rsa_pem).value();
    EXPECT_EQ(verify_error(pem_secret, k.rs256(header("RS256"), payload())),
              jwt_errc::alg_mismatch);
    // ES256 header on an RSA key.
    EXPECT_EQ(verify_error(v, k.es256(header("ES256"), payload())), jwt_errc::alg_mismatch);
}

TEST(jwt_rs256, weak_and_bad_keys) {
    auto small = keys::make_rsa(1024);
    std::string detail;
    EXPECT_EQ(jwt_verifier::from_public_key_pem(keys::rsa_pem_of(small.get()), {}, &detail).error(),
              jwt_errc::key_too_weak);
    EXPECT_NE(detail.find("1024"), std::string::npos) << detail;
    EXPECT_EQ(jwt_verifier::from_public_key_pem("not a pem").error(), jwt_errc::bad_key);
    EXPECT_EQ(jwt_verifier::from_public_key_pem("").error(), jwt_errc::bad_key);
    // A P-384 key is not ES256.
    bssl::UniquePtr<EC_KEY> p384(EC_KEY_new_by_curve_name(NID_secp384r1));
    EC_KEY_generate_key(p384.get());
    bssl::UniquePtr<EVP_PKEY> pk(EVP_PKEY_new());
    EVP_PKEY_set1_EC_KEY(pk.get(), p384.get());
    EXPECT_EQ(jwt_verifier::from_public_key_pem(pem_of(pk.get())).error(), jwt_errc::bad_key);
}

TEST(jwt_rs256, pkcs1_pem_is_accepted_and_private_keys_are_not) {
    const auto& k = test_keys();
    bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
    ASSERT_TRUE(PEM_write_bio_RSAPublicKey(bio.get(), k.rsa.get()));
    const std::uint8_t* data = nullptr;
    std::size_t len = 0;
    BIO_mem_contents(bio.get(), &data, &len);
    const std::string pkcs1(reinterpret_cast<const char*>(data), len);
    ASSERT_NE(pkcs1.find("BEGIN RSA PUBLIC KEY"), std::string::npos);
    auto v = jwt_verifier::from_public_key_pem(pkcs1);
    ASSERT_TRUE(v) << v.error().message();
    EXPECT_TRUE(v->verify(k.rs256(header("RS256"), payload()), now));

    bssl::UniquePtr<BIO> priv(BIO_new(BIO_s_mem()));
    ASSERT_TRUE(PEM_write_bio_RSAPrivateKey(priv.get(), k.rsa.get(), nullptr, nullptr, 0, nullptr,
                                            nullptr));
    BIO_mem_contents(priv.get(), &data, &len);
    std::string detail;
    EXPECT_EQ(jwt_verifier::from_public_key_pem(
                  std::string(reinterpret_cast<const char*>(data), len), {}, &detail)
                  .error(),
              jwt_errc::bad_key);
    EXPECT_NE(detail.find("private key"), std::string::npos) << detail;
    EXPECT_EQ(jwt_verifier::from_public_key_pem(std::string(70000, 'A')).error(),
              jwt_errc::too_large);
}

TEST(jwt_es256, valid_wrong_signature_and_der_refused) {
    const auto& k = test_keys();
    auto v = jwt_verifier::from_public_key_pem(k.ec_pem).value();
    auto good = k.es256(header("ES256"), payload(",\"admin\":false"));
    auto c = v.verify(good, now);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_FALSE(c->admin);
    // Flip one bit of r.
    auto sig = *base64url_decode(good.substr(good.rfind('.') + 1));
    ASSERT_EQ(sig.size(), 64u);
    sig[5] = static_cast<char>(sig[5] ^ 1);
    EXPECT_EQ(verify_error(v, good.substr(0, good.rfind('.') + 1) + b64(sig)),
              jwt_errc::bad_signature);
    // r = s = 0.
    EXPECT_EQ(verify_error(v, good.substr(0, good.rfind('.') + 1) + b64(std::string(64, '\0'))),
              jwt_errc::bad_signature);
    // A DER signature (what OpenSSL emits) is not the JOSE form.
    const std::string input = good.substr(0, good.rfind('.'));
    const auto d = sha256(input);
    bssl::UniquePtr<ECDSA_SIG> es(ECDSA_do_sign(bytes(d), d.size(), k.ec.get()));
    std::uint8_t* der = nullptr;
    std::size_t der_len = 0;
    ASSERT_TRUE(ECDSA_SIG_to_bytes(&der, &der_len, es.get()));
    std::string der_sig(reinterpret_cast<char*>(der), der_len);
    OPENSSL_free(der);
    EXPECT_EQ(verify_error(v, input + "." + b64(der_sig)), jwt_errc::bad_signature);
    EXPECT_EQ(verify_error(v, k.rs256(header("RS256"), payload())), jwt_errc::alg_mismatch);
    EXPECT_EQ(verify_error(v, hs256(header("HS256"), payload(), k.ec_pem)), jwt_errc::alg_mismatch);
}

TEST(jwt_threads, one_verifier_shared_by_threads) {
    const auto& k = test_keys();
    const std::string jwks = "{\"keys\":[" + k.rsa_jwk("r") + "," + k.ec_jwk("e") + "]}";
    const auto v = jwt_verifier::from_jwks(jwks).value();
    const std::vector<std::string> tokens = {k.rs256(header("RS256", "r"), payload()),
                                             k.es256(header("ES256", "e"), payload())};
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i) {
                for (const auto& token : tokens) {
                    if (v.verify(token, now)) {
                        ++ok;
                    }
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(ok.load(), 4 * 50 * 2);
}

// --- JWKS --------------------------------------------------------------------

TEST(jwt_jwks, picks_the_key_by_kid) {
    const auto& k = test_keys();
    const std::string oct = "{\"kty\":\"oct\",\"kid\":\"h1\",\"k\":\"" + b64(secret) + "\"}";
    const std::string jwks =
        "{\"keys\":[" + k.rsa_jwk("r1") + "," + k.ec_jwk("e1") + "," + oct +
        ",{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":\"x\",\"n\":\"AQ\",\"e\":\"AQ\"}"
        ",{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"o\",\"x\":\"AA\"}"
        ",{\"kty\":\"RSA\",\"alg\":\"PS256\",\"kid\":\"p\",\"n\":\"AQ\",\"e\":\"AQ\"}"
        "]}";
    std::string detail;
    auto v = jwt_verifier::from_jwks(jwks, {}, &detail);
    ASSERT_TRUE(v) << v.error().message() << ": " << detail;
    EXPECT_EQ(v->key_count(), 3u);
    EXPECT_TRUE(v->verify(k.rs256(header("RS256", "r1"), payload()), now));
    EXPECT_TRUE(v->verify(k.es256(header("ES256", "e1"), payload()), now));
    EXPECT_TRUE(v->verify(hs256(header("HS256", "h1"), payload()), now));
    EXPECT_EQ(v->verify(k.rs256(header("RS256", "nope"), payload()), now).error(),
              jwt_errc::unknown_kid);
    EXPECT_EQ(v->verify(k.rs256(header("RS256", "x"), payload()), now).error(),
              jwt_errc::unknown_kid);  // the encryption key was skipped
    // kid of the RSA key with an HS256 token (confusion through the key set).
    EXPECT_EQ(v->verify(hs256(header("HS256", "r1"), payload(), k.rsa_pem), now).error(),
              jwt_errc::alg_mismatch);
    EXPECT_EQ(v->verify(k.es256(header("ES256", "r1"), payload()), now).error(),
              jwt_errc::alg_mismatch);
    // No kid: the only key of that algorithm.
    EXPECT_TRUE(v->verify(k.es256(header("ES256"), payload()), now));
    EXPECT_TRUE(v->verify(k.rs256(header("RS256"), payload()), now));
}

TEST(jwt_jwks, without_kid_several_keys_need_one) {
    const auto& k = test_keys();
    auto other = keys{};  // a second set of keys
    const std::string jwks = "{\"keys\":[" + k.ec_jwk("a") + "," + other.ec_jwk("b") + "]}";
    auto v = jwt_verifier::from_jwks(jwks).value();
    EXPECT_EQ(v.verify(k.es256(header("ES256"), payload()), now).error(), jwt_errc::kid_required);
    EXPECT_TRUE(v.verify(other.es256(header("ES256", "b"), payload()), now));
    EXPECT_EQ(v.verify(other.es256(header("ES256", "a"), payload()), now).error(),
              jwt_errc::bad_signature);
    EXPECT_EQ(v.verify(hs256(header("HS256"), payload()), now).error(), jwt_errc::alg_mismatch);
}

TEST(jwt_jwks, bad_documents) {
    std::string detail;
    EXPECT_EQ(jwt_verifier::from_jwks("nope").error(), jwt_errc::bad_json);
    EXPECT_EQ(jwt_verifier::from_jwks("{}").error(), jwt_errc::bad_json);
    EXPECT_EQ(jwt_verifier::from_jwks("{\"keys\":[]}").error(), jwt_errc::no_usable_key);
    EXPECT_EQ(jwt_verifier::from_jwks("{\"keys\":[{\"kty\":\"OKP\"}]}").error(),
              jwt_errc::no_usable_key);
    EXPECT_EQ(jwt_verifier::from_jwks("{\"keys\":[1]}").error(), jwt_errc::bad_key);
    EXPECT_EQ(
        jwt_verifier::from_jwks("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2hvcnQ\"}]}", {}, &detail)
            .error(),
        jwt_errc::key_too_weak);
    EXPECT_EQ(detail.rfind("keys[0]: ", 0), 0u) << detail;
    EXPECT_EQ(
        jwt_verifier::from_jwks("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}")
            .error(),
        jwt_errc::key_too_weak);
    EXPECT_EQ(jwt_verifier::from_jwks("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"A=\",\"e\":\"AQAB\"}]}")
                  .error(),
              jwt_errc::bad_key);
    // A point off the curve.
    const std::string zero = b64(std::string(32, '\0'));
    EXPECT_EQ(jwt_verifier::from_jwks("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" +
                                          zero + "\",\"y\":\"" + zero + "\"}]}",
                                      {}, &detail)
                  .error(),
              jwt_errc::bad_key);
    jwt_options small;
    small.limits.max_jwks_keys = 2;
    EXPECT_EQ(jwt_verifier::from_jwks("{\"keys\":[{},{},{}]}", small).error(), jwt_errc::too_large);
    small.limits.max_jwks_size = 10;
    EXPECT_EQ(jwt_verifier::from_jwks("{\"keys\":[          ]}", small).error(),
              jwt_errc::too_large);
}

// --- An independent implementation -------------------------------------------

// Runs a Python script with /usr/bin/python3 and returns "name value" lines.
std::map<std::string, std::string> run_python(const std::string& script) {
    char path[] = "/tmp/corvid-jwt-XXXXXX";
    const int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    close(fd);
    std::ofstream(path) << script;
    std::map<std::string, std::string> out;
    FILE* p = popen(("timeout 60 /usr/bin/python3 " + std::string(path) + " 2>&1").c_str(), "r");
    std::string text;
    std::array<char, 4096> buf{};
    while (p != nullptr) {
        const auto n = fread(buf.data(), 1, buf.size(), p);
        if (n == 0) {
            break;
        }
        text.append(buf.data(), n);
    }
    const int status = p != nullptr ? pclose(p) : -1;
    unlink(path);
    EXPECT_EQ(status, 0) << text;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        const auto space = line.find(' ');
        if (space != std::string::npos) {
            out[line.substr(0, space)] = line.substr(space + 1);
        }
    }
    return out;
}

TEST(jwt_interop, python_stdlib_hs256) {
    const auto out = run_python(R"(
import base64, hashlib, hmac, json
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
key = b"0123456789abcdef0123456789abcdef-corvid"
def sign(header, claims):
    inp = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return inp + "." + b64(hmac.new(key, inp.encode(), hashlib.sha256).digest())
print("good", sign({"alg": "HS256", "typ": "JWT"},
                   {"sub": "bob", "exp": 1700003600, "channels": ["news.*"], "admin": True,
                    "aud": "corvid", "note": "caf\u00e9 \u2603"}))
print("expired", sign({"alg": "HS256"}, {"sub": "bob", "exp": 1699999000}))
print("wrongkey", sign({"alg": "HS256"}, {"sub": "bob", "exp": 1700003600}).rsplit(".", 1)[0] + "." + b64(b"x" * 32))
)");
    ASSERT_EQ(out.size(), 3u);
    jwt_options o;
    o.audiences = {"corvid"};
    auto v = hs_verifier(o);
    auto c = v.verify(out.at("good"), now);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->sub, "bob");
    EXPECT_TRUE(c->admin);
    EXPECT_TRUE(channel_allowed(c->channels, "news.eu"));
    EXPECT_EQ(v.verify(out.at("expired"), now).error(), jwt_errc::expired);
    EXPECT_EQ(v.verify(out.at("wrongkey"), now).error(), jwt_errc::bad_signature);
}

TEST(jwt_interop, pyjwt_rs256_es256_and_jwks) {
    const auto out = run_python(R"(
import json, jwt
from jwt.algorithms import RSAAlgorithm, ECAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa, ec
from cryptography.hazmat.primitives import serialization
def pem(k):
    return k.public_key().public_bytes(serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode().replace("\n", "|")
claims = {"sub": "carol", "exp": 1700003600, "nbf": 1699999000, "iss": "idp",
          "aud": ["corvid"], "publish": ["chat.**"]}
r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
e = ec.generate_private_key(ec.SECP256R1())
print("rsa_pem", pem(r))
print("ec_pem", pem(e))
print("rs", jwt.encode(claims, r, algorithm="RS256"))
print("es", jwt.encode(claims, e, algorithm="ES256"))
print("rs_kid", jwt.encode(claims, r, algorithm="RS256", headers={"kid": "rsa-1"}))
print("es_kid", jwt.encode(claims, e, algorithm="ES256", headers={"kid": "ec-1"}))
print("rs_expired", jwt.encode(dict(claims, exp=1699990000), r, algorithm="RS256"))
jr = json.loads(RSAAlgorithm.to_jwk(r.public_key())); jr.update(kid="rsa-1", use="sig", alg="RS256")
je = json.loads(ECAlgorithm.to_jwk(e.public_key())); je.update(kid="ec-1")
print("jwks", json.dumps({"keys": [jr, je]}, separators=(",", ":")))
)");
    ASSERT_EQ(out.size(), 8u);
    auto unbar = [](std::string s) {
        for (auto& ch : s) {
            ch = ch == '|' ? '\n' : ch;
        }
        return s;
    };
    jwt_options o;
    o.issuer = "idp";
    o.audiences = {"corvid"};
    auto rsa_v = jwt_verifier::from_public_key_pem(unbar(out.at("rsa_pem")), o).value();
    auto ec_v = jwt_verifier::from_public_key_pem(unbar(out.at("ec_pem")), o).value();
    auto c = rsa_v.verify(out.at("rs"), now);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->sub, "carol");
    EXPECT_TRUE(channel_allowed(c->publish, "chat.a.b"));
    EXPECT_FALSE(channel_allowed(c->channels, "chat.a"));
    auto ce = ec_v.verify(out.at("es"), now);
    ASSERT_TRUE(ce) << ce.error().message();
    EXPECT_EQ(ce->iss, "idp");
    EXPECT_EQ(rsa_v.verify(out.at("es"), now).error(), jwt_errc::alg_mismatch);
    EXPECT_EQ(ec_v.verify(out.at("rs"), now).error(), jwt_errc::alg_mismatch);
    EXPECT_EQ(rsa_v.verify(out.at("rs_expired"), now).error(), jwt_errc::expired);
    // The test's own RSA key does not verify PyJWT's token.
    auto mine = jwt_verifier::from_public_key_pem(test_keys().rsa_pem).value();
    EXPECT_EQ(mine.verify(out.at("rs"), now).error(), jwt_errc::bad_signature);

    std::string detail;
    auto set = jwt_verifier::from_jwks(out.at("jwks"), o, &detail);
    ASSERT_TRUE(set) << set.error().message() << ": " << detail;
    EXPECT_TRUE(set->verify(out.at("rs_kid"), now));
    EXPECT_TRUE(set->verify(out.at("es_kid"), now));
    EXPECT_TRUE(set->verify(out.at("rs"), now));  // no kid, one RSA key
    EXPECT_EQ(set->verify(test_keys().rs256(header("RS256", "rsa-9"), payload()), now).error(),
              jwt_errc::unknown_kid);
}

// --- Channel patterns ----------------------------------------------------------

TEST(jwt_glob, patterns) {
    EXPECT_TRUE(glob_match("news", "news"));
    EXPECT_FALSE(glob_match("news", "news2"));
    EXPECT_FALSE(glob_match("news", "new"));
    EXPECT_TRUE(glob_match("chat.*", "chat.room1"));
    EXPECT_TRUE(glob_match("chat.*", "chat."));
    EXPECT_FALSE(glob_match("chat.*", "chat.a.b"));
    EXPECT_FALSE(glob_match("chat.*", "chat"));
    EXPECT_TRUE(glob_match("chat.**", "chat.a.b"));
    EXPECT_TRUE(glob_match("chat.**", "chat.a"));
    EXPECT_FALSE(glob_match("chat.**", "chatter"));
    EXPECT_TRUE(glob_match("**", "any.thing.at.all"));
    EXPECT_TRUE(glob_match("**", ""));
    EXPECT_TRUE(glob_match("*", "plain"));
    EXPECT_FALSE(glob_match("*", "a.b"));
    EXPECT_TRUE(glob_match("user.*.inbox", "user.42.inbox"));
    EXPECT_FALSE(glob_match("user.*.inbox", "user.4.2.inbox"));
    EXPECT_TRUE(glob_match("user.**.inbox", "user.4.2.inbox"));
    EXPECT_TRUE(glob_match("room-?", "room-7"));
    EXPECT_FALSE(glob_match("room-?", "room-77"));
    EXPECT_FALSE(glob_match("a?b", "a.b"));
    EXPECT_TRUE(glob_match("*-*-*", "a-b-c"));
    EXPECT_TRUE(glob_match("***", "a.b"));
    EXPECT_FALSE(glob_match("", "a"));
    EXPECT_TRUE(glob_match("", ""));
    // A pathological pattern finishes (no exponential backtracking).
    const std::string pat = std::string(200, '*') + "b" + std::string(200, '*') + "c";
    EXPECT_FALSE(glob_match(pat, std::string(2000, 'a')));
    std::string many;
    for (int i = 0; i < 300; ++i) {
        many += "*a";
    }
    EXPECT_TRUE(glob_match(many, std::string(300, 'a')));
    EXPECT_FALSE(glob_match(many, std::string(299, 'a')));

    const std::vector<std::string> allowed = {"news", "chat.*"};
    EXPECT_TRUE(channel_allowed(allowed, "news"));
    EXPECT_TRUE(channel_allowed(allowed, "chat.x"));
    EXPECT_FALSE(channel_allowed(allowed, "admin"));
    EXPECT_FALSE(channel_allowed({}, "news"));
}

TEST(jwt_errors, messages_say_what_to_do) {
    for (int e = 1; e <= static_cast<int>(jwt_errc::missing_exp); ++e) {
        const auto ec = make_error_code(static_cast<jwt_errc>(e));
        EXPECT_EQ(ec.category().name(), std::string("corvid.jwt"));
        EXPECT_EQ(ec.message().find("unknown"), std::string::npos) << e;
    }
}

}  // namespace
