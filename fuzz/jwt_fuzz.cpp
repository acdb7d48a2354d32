// The JWT verifier and the channel glob matcher (engine/jwt.hpp). The first
// byte picks what the rest is:
//   0: a token, verified against an HMAC secret and a JWKS with an EC and an
//      oct key (a forged signature must never pass);
//   1: "HEADER\nPAYLOAD" JSON texts, signed here with the HMAC secret so the
//      claims code behind the signature check is reached; a token that
//      verifies must give back its payload and obey the expiry rules;
//   2: a JWKS document (a refusal always says why);
//   3: "PATTERN\nCHANNEL", matched by glob_match and by a plain recursive
//      matcher that must agree (on short inputs: it is exponential).

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/jwt.hpp"

namespace {

using corvid::engine::jwt_options;
using corvid::engine::jwt_verifier;

constexpr std::int64_t fuzz_now = 1'700'000'000;
const std::string fuzz_secret = "fuzz-secret-fuzz-secret-fuzz-secret!";

const jwt_verifier& hmac_verifier() {
    static const jwt_verifier v = [] {
        jwt_options o;
        o.require_exp = false;
        return jwt_verifier::from_secret(fuzz_secret, o).value();
    }();
    return v;
}

const jwt_verifier& jwks_verifier() {
    static const jwt_verifier v =
        jwt_verifier::from_jwks(
            R"({"keys":[{"kty":"EC","crv":"P-256","kid":"e1",)"
            R"("x":"4FnSDJw7DdPCz4C41CBr4IHg8qd7ODd_OG_azh_Rauc",)"
            R"("y":"_2n_M_RryO0AZazAijHBlDeflsaUyngJOzNpTJF3Ue4"},)"
            R"({"kty":"oct","kid":"h1","k":"ZnV6ei1vdGhlci1zZWNyZXQtZnV6ei1vdGhlci1zZWNyZXQ"}]})")
            .value();
    return v;
}

// The reference: '*' any run without '.', '**' any run, '?' one non-dot.
bool reference_match(std::string_view p, std::string_view c) {
    if (p.empty()) {
        return c.empty();
    }
    if (p[0] == '*') {
        const bool dbl = p.size() > 1 && p[1] == '*';
        const auto rest = p.substr(dbl ? 2 : 1);
        for (std::size_t i = 0; i <= c.size(); ++i) {
            if (reference_match(rest, c.substr(i))) {
                return true;
            }
            if (i < c.size() && !dbl && c[i] == '.') {
                return false;
            }
        }
        return false;
    }
    if (c.empty()) {
        return false;
    }
    if ((p[0] == '?' && c[0] != '.') || p[0] == c[0]) {
        return reference_match(p.substr(1), c.substr(1));
    }
    return false;
}

void sign_and_verify(std::string_view text) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
        return;
    }
    const auto header = text.substr(0, nl);
    const auto payload = text.substr(nl + 1);
    const std::string input =
        corvid::engine::base64url_encode(header) + "." + corvid::engine::base64url_encode(payload);
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
    unsigned len = 0;
    HMAC(EVP_sha256(), fuzz_secret.data(), fuzz_secret.size(),
         reinterpret_cast<const std::uint8_t*>(input.data()), input.size(), mac.data(), &len);
    const std::string token =
        input + "." +
        corvid::engine::base64url_encode({reinterpret_cast<const char*>(mac.data()), len});
    auto c = hmac_verifier().verify(token, fuzz_now);
    if (!c) {
        return;
    }
    const auto leeway = hmac_verifier().options().leeway_seconds;
    if (c->payload_json != payload || (c->exp && *c->exp <= fuzz_now - leeway) ||
        (c->nbf && *c->nbf > fuzz_now + leeway)) {
        std::abort();
    }
    for (const auto& p : c->channels) {
        (void)corvid::engine::glob_match(p, c->sub);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 4) {
        case 0:
            // Nobody can sign for these keys, so nothing may verify.
            if (hmac_verifier().verify(text, fuzz_now) || jwks_verifier().verify(text, fuzz_now)) {
                std::abort();
            }
            break;
        case 1:
            sign_and_verify(text);
            break;
        case 2: {
            std::string detail;
            auto v = jwt_verifier::from_jwks(text, {}, &detail);
            if (!v && detail.empty()) {
                std::abort();
            }
            break;
        }
        case 3: {
            const auto nl = text.find('\n');
            if (nl == std::string_view::npos) {
                break;
            }
            const auto pattern = text.substr(0, nl);
            const auto channel = text.substr(nl + 1);
            const bool fast = corvid::engine::glob_match(pattern, channel);
            if (pattern.size() <= 12 && channel.size() <= 24 &&
                fast != reference_match(pattern, channel)) {
                std::abort();
            }
            break;
        }
    }
    return 0;
}
