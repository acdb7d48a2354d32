#include "corvid/profile.hpp"

#include <openssl/ssl.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "client/builtin_profiles.hpp"
#include "corvid/error.hpp"

namespace corvid {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

constexpr std::size_t max_profile_bytes = 1 << 20;
constexpr std::size_t max_list_entries = 64;

class profile_errc_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "corvid.profile"; }
    std::string message(int ev) const override {
        switch (static_cast<profile_errc>(ev)) {
            case profile_errc::not_found:
                return "no such browser profile: use --list-profiles for the built-in ones, or "
                       "give the path of a profile file";
            case profile_errc::invalid:
                return "the browser profile file is not valid (see docs/profiles.md)";
        }
        return "unknown corvid.profile error";
    }
};

// Parsing state: the first error wins and names the field.
struct reader {
    std::string error;

    bool fail(const std::string& where, const std::string& what) {
        if (error.empty()) {
            error = where + ": " + what;
        }
        return false;
    }

    // Refuses keys that are not in `known`: a typo must not pass silently.
    bool only_keys(object o, const std::string& where,
                   std::initializer_list<std::string_view> known) {
        for (auto field : o) {
            if (std::find(known.begin(), known.end(), field.key) == known.end()) {
                return fail(where, "unknown key \"" + std::string(field.key) + "\"");
            }
        }
        return true;
    }

    bool get_object(element e, const std::string& where, object& out) {
        if (e.get_object().get(out) != simdjson::SUCCESS) {
            return fail(where, "must be an object");
        }
        return true;
    }

    bool get_string(element e, const std::string& where, std::string& out) {
        std::string_view v;
        if (e.get_string().get(v) != simdjson::SUCCESS) {
            return fail(where, "must be a string");
        }
        out.assign(v);
        return true;
    }

    bool get_bool(element e, const std::string& where, bool& out) {
        if (e.get_bool().get(out) != simdjson::SUCCESS) {
            return fail(where, "must be true or false");
        }
        return true;
    }

    template <typename T>
    bool get_uint(element e, const std::string& where, std::uint64_t max, T& out) {
        std::uint64_t v = 0;
        if (e.get_uint64().get(v) != simdjson::SUCCESS || v > max) {
            return fail(where, "must be an integer from 0 to " + std::to_string(max));
        }
        out = static_cast<T>(v);
        return true;
    }

    bool get_array(element e, const std::string& where, array& out) {
        if (e.get_array().get(out) != simdjson::SUCCESS) {
            return fail(where, "must be an array");
        }
        if (out.size() > max_list_entries) {
            return fail(where, "more than " + std::to_string(max_list_entries) + " entries");
        }
        return true;
    }

    bool get_u16_list(element e, const std::string& where, std::vector<std::uint16_t>& out) {
        array a;
        if (!get_array(e, where, a)) {
            return false;
        }
        out.clear();
        for (element item : a) {
            std::uint16_t v = 0;
            if (!get_uint(item, where, 0xffff, v)) {
                return false;
            }
            out.push_back(v);
        }
        return true;
    }

    bool get_string_list(element e, const std::string& where, std::vector<std::string>& out) {
        array a;
        if (!get_array(e, where, a)) {
            return false;
        }
        out.clear();
        for (element item : a) {
            std::string v;
            if (!get_string(item, where, v)) {
                return false;
            }
            out.push_back(std::move(v));
        }
        return true;
    }
};

bool is_token_char(char c) {
    static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           extra.find(c) != std::string_view::npos;
}

bool valid_field_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), is_token_char);
}

bool valid_field_value(std::string_view value) {
    return std::none_of(value.begin(), value.end(),
                        [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool parse_version(reader& r, element e, const std::string& where, std::uint16_t& out) {
    std::string v;
    if (!r.get_string(e, where, v)) {
        return false;
    }
    if (v == "1.2") {
        out = TLS1_2_VERSION;
    } else if (v == "1.3") {
        out = TLS1_3_VERSION;
    } else {
        return r.fail(where, "must be \"1.2\" or \"1.3\"");
    }
    return true;
}

// What this BoringSSL can put in the ClientHello: a profile asking for
// anything else must record it as a gap instead.
bool supported_group(std::uint16_t id) {
    return id == SSL_CURVE_X25519 || id == SSL_CURVE_SECP256R1 || id == SSL_CURVE_SECP384R1 ||
           id == SSL_CURVE_SECP521R1;
}

bool supported_signature_algorithm(std::uint16_t id) {
    static constexpr std::array<std::uint16_t, 12> known{
        SSL_SIGN_RSA_PKCS1_SHA1,      SSL_SIGN_ECDSA_SHA1,
        SSL_SIGN_RSA_PKCS1_SHA256,    SSL_SIGN_ECDSA_SECP256R1_SHA256,
        SSL_SIGN_RSA_PKCS1_SHA384,    SSL_SIGN_ECDSA_SECP384R1_SHA384,
        SSL_SIGN_RSA_PKCS1_SHA512,    SSL_SIGN_ECDSA_SECP521R1_SHA512,
        SSL_SIGN_RSA_PSS_RSAE_SHA256, SSL_SIGN_RSA_PSS_RSAE_SHA384,
        SSL_SIGN_RSA_PSS_RSAE_SHA512, SSL_SIGN_ED25519};
    return std::find(known.begin(), known.end(), id) != known.end();
}

bool parse_tls(reader& r, element e, tls_profile& t) {
    object o;
    if (!r.get_object(e, "tls", o) ||
        !r.only_keys(
            o, "tls",
            {"cipher_suites", "groups", "signature_algorithms", "alpn", "alps", "cert_compression",
             "grease", "permute_extensions", "ech_grease", "ocsp_stapling",
             "signed_cert_timestamps", "session_tickets", "min_version", "max_version"})) {
        return false;
    }
    for (auto field : o) {
        const std::string where = "tls." + std::string(field.key);
        const auto& k = field.key;
        bool ok = true;
        if (k == "cipher_suites") {
            ok = r.get_u16_list(field.value, where, t.cipher_suites);
            for (auto id : t.cipher_suites) {
                if (ok && SSL_get_cipher_by_value(id) == nullptr) {
                    ok = r.fail(where, "cipher suite " + std::to_string(id) +
                                           " is not implemented by BoringSSL: record it as a gap");
                }
            }
        } else if (k == "groups") {
            ok = r.get_u16_list(field.value, where, t.groups);
            for (auto id : t.groups) {
                if (ok && !supported_group(id)) {
                    ok = r.fail(where, "group " + std::to_string(id) +
                                           " is not implemented by BoringSSL: record it as a gap");
                }
            }
        } else if (k == "signature_algorithms") {
            ok = r.get_u16_list(field.value, where, t.signature_algorithms);
            for (auto id : t.signature_algorithms) {
                if (ok && !supported_signature_algorithm(id)) {
                    ok = r.fail(where, "signature algorithm " + std::to_string(id) +
                                           " is not implemented by BoringSSL: record it as a gap");
                }
            }
        } else if (k == "alpn") {
            ok = r.get_string_list(field.value, where, t.alpn);
        } else if (k == "alps") {
            ok = r.get_string_list(field.value, where, t.alps);
        } else if (k == "cert_compression") {
            ok = r.get_u16_list(field.value, where, t.cert_compression);
            for (auto id : t.cert_compression) {
                if (ok && (id < 1 || id > 3)) {
                    ok = r.fail(where, "algorithm " + std::to_string(id) +
                                           " has no decompressor (1 zlib, 2 brotli, 3 zstd)");
                }
            }
        } else if (k == "grease") {
            ok = r.get_bool(field.value, where, t.grease);
        } else if (k == "permute_extensions") {
            ok = r.get_bool(field.value, where, t.permute_extensions);
        } else if (k == "ech_grease") {
            ok = r.get_bool(field.value, where, t.ech_grease);
        } else if (k == "ocsp_stapling") {
            ok = r.get_bool(field.value, where, t.ocsp_stapling);
        } else if (k == "signed_cert_timestamps") {
            ok = r.get_bool(field.value, where, t.signed_cert_timestamps);
        } else if (k == "session_tickets") {
            ok = r.get_bool(field.value, where, t.session_tickets);
        } else if (k == "min_version") {
            ok = parse_version(r, field.value, where, t.min_version);
        } else if (k == "max_version") {
            ok = parse_version(r, field.value, where, t.max_version);
        }
        if (!ok) {
            return false;
        }
    }
    if (t.min_version > t.max_version) {
        return r.fail("tls.min_version", "is above tls.max_version");
    }
    for (const auto& p : t.alpn) {
        if (p.empty() || p.size() > 255) {
            return r.fail("tls.alpn", "protocol names are 1 to 255 bytes");
        }
    }
    for (const auto& p : t.alps) {
        if (std::find(t.alpn.begin(), t.alpn.end(), p) == t.alpn.end()) {
            return r.fail("tls.alps", "\"" + p + "\" is not in tls.alpn");
        }
    }
    return true;
}

bool parse_priority(reader& r, element e, const std::string& where,
                    std::optional<http2_profile::priority>& out) {
    if (e.is_null()) {
        out.reset();
        return true;
    }
    object p;
    if (!r.get_object(e, where, p) ||
        !r.only_keys(p, where, {"depends_on", "weight", "exclusive"})) {
        return false;
    }
    http2_profile::priority prio;
    for (auto pf : p) {
        const std::string pw = where + "." + std::string(pf.key);
        bool ok = true;
        if (pf.key == "depends_on") {
            ok = r.get_uint(pf.value, pw, 0x7fffffff, prio.depends_on);
        } else if (pf.key == "weight") {
            ok = r.get_uint(pf.value, pw, 256, prio.weight);
            if (ok && prio.weight == 0) {
                ok = r.fail(pw, "must be 1 to 256");
            }
        } else {
            ok = r.get_bool(pf.value, pw, prio.exclusive);
        }
        if (!ok) {
            return false;
        }
    }
    out = prio;
    return true;
}

bool parse_http2(reader& r, element e, http2_profile& h) {
    object o;
    if (!r.get_object(e, "http2", o) ||
        !r.only_keys(o, "http2",
                     {"settings", "connection_window_increment", "stream_window_increment",
                      "headers_priority", "pseudo_header_order"})) {
        return false;
    }
    constexpr std::uint64_t max_window = 0x7fffffff;
    for (auto field : o) {
        const std::string where = "http2." + std::string(field.key);
        const auto& k = field.key;
        bool ok = true;
        if (k == "settings") {
            array a;
            if (!r.get_array(field.value, where, a)) {
                return false;
            }
            h.settings.clear();
            for (element entry : a) {
                array pair;
                if (entry.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2) {
                    return r.fail(where, "each entry is [id, value]");
                }
                http2_profile::setting s;
                ok = r.get_uint(pair.at(0).value_unsafe(), where, 0xffff, s.id) &&
                     r.get_uint(pair.at(1).value_unsafe(), where, 0xffffffff, s.value);
                if (ok && s.id == 0x2 && s.value > 1) {
                    ok = r.fail(where, "ENABLE_PUSH must be 0 or 1");
                } else if (ok && s.id == 0x4 && s.value > max_window) {
                    ok = r.fail(where, "INITIAL_WINDOW_SIZE must be at most 2^31-1");
                } else if (ok && s.id == 0x5 && (s.value < 16384 || s.value > 16777215)) {
                    ok = r.fail(where, "MAX_FRAME_SIZE must be 16384 to 16777215");
                }
                h.settings.push_back(s);
            }
        } else if (k == "connection_window_increment") {
            ok = r.get_uint(field.value, where, max_window - 65535, h.connection_window_increment);
        } else if (k == "stream_window_increment") {
            ok = r.get_uint(field.value, where, max_window, h.stream_window_increment);
        } else if (k == "headers_priority") {
            ok = parse_priority(r, field.value, where, h.headers_priority);
        } else if (k == "pseudo_header_order") {
            ok = r.get_string(field.value, where, h.pseudo_header_order);
            std::string letters = h.pseudo_header_order;
            std::erase(letters, ',');
            std::string sorted = letters;
            std::sort(sorted.begin(), sorted.end());
            if (ok && (sorted != "amps" || h.pseudo_header_order.size() != 7)) {
                ok = r.fail(where, "must order m, a, s and p, e.g. \"m,a,s,p\"");
            }
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool parse_template(reader& r, element e, const std::string& where, header_template& t) {
    object o;
    if (!r.get_object(e, where, o) ||
        !r.only_keys(o, where,
                     {"fields", "user_headers_before", "cookie_before", "http2_priority"})) {
        return false;
    }
    for (auto field : o) {
        const std::string w = where + "." + std::string(field.key);
        bool ok = true;
        if (field.key == "fields") {
            array a;
            if (!r.get_array(field.value, w, a)) {
                return false;
            }
            t.fields.clear();
            for (element entry : a) {
                array pair;
                std::string name;
                std::string value;
                if (entry.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2 ||
                    !r.get_string(pair.at(0).value_unsafe(), w, name) ||
                    !r.get_string(pair.at(1).value_unsafe(), w, value)) {
                    return r.fail(w, "each entry is [name, value]");
                }
                if (!valid_field_name(name) || std::any_of(name.begin(), name.end(), [](char c) {
                        return c >= 'A' && c <= 'Z';
                    })) {
                    return r.fail(w, "\"" + name + "\" is not a lower-case field name");
                }
                if (!valid_field_value(value)) {
                    return r.fail(w, "the value of \"" + name + "\" contains CR, LF or NUL");
                }
                t.fields.add(name, value);
            }
        } else if (field.key == "user_headers_before") {
            ok = r.get_string(field.value, w, t.user_headers_before);
        } else if (field.key == "http2_priority") {
            ok = parse_priority(r, field.value, w, t.http2_priority);
        } else {
            ok = r.get_string(field.value, w, t.cookie_before);
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool parse_profile(reader& r, element root, profile& p) {
    object o;
    if (!r.get_object(root, "profile", o) ||
        !r.only_keys(o, "profile",
                     {"format", "name", "description", "reference_ja4", "expected_ja4", "tls",
                      "websocket_tls", "http2", "headers", "http1_names", "gaps"})) {
        return false;
    }
    std::string format;
    bool have_tls = false;
    bool have_websocket_tls = false;
    for (auto field : o) {
        const std::string where(field.key);
        const auto& k = field.key;
        bool ok = true;
        if (k == "format") {
            ok = r.get_string(field.value, where, format);
        } else if (k == "name") {
            ok = r.get_string(field.value, where, p.name);
        } else if (k == "description") {
            ok = r.get_string(field.value, where, p.description);
        } else if (k == "reference_ja4") {
            ok = r.get_string(field.value, where, p.reference_ja4);
        } else if (k == "expected_ja4") {
            ok = r.get_string(field.value, where, p.expected_ja4);
        } else if (k == "tls") {
            ok = parse_tls(r, field.value, p.tls);
            have_tls = true;
        } else if (k == "websocket_tls") {
            object w;
            if (!r.get_object(field.value, where, w) || !r.only_keys(w, where, {"alpn", "alps"})) {
                return false;
            }
            for (auto wf : w) {
                if (!ok) {
                    break;
                }
                ok = r.get_string_list(wf.value, where + "." + std::string(wf.key),
                                       wf.key == "alpn" ? p.websocket_alpn : p.websocket_alps);
            }
            have_websocket_tls = true;
        } else if (k == "http2") {
            ok = parse_http2(r, field.value, p.http2);
        } else if (k == "headers") {
            object h;
            if (!r.get_object(field.value, where, h) ||
                !r.only_keys(h, where, {"navigation", "fetch", "websocket"})) {
                return false;
            }
            for (auto hf : h) {
                if (!ok) {
                    break;
                }
                const std::string hw = "headers." + std::string(hf.key);
                ok = parse_template(r, hf.value, hw,
                                    hf.key == "navigation" ? p.navigation
                                    : hf.key == "fetch"    ? p.fetch
                                                           : p.websocket);
            }
        } else if (k == "http1_names") {
            std::vector<std::string> names;
            ok = r.get_string_list(field.value, where, names);
            for (const auto& n : names) {
                if (ok && !valid_field_name(n)) {
                    ok = r.fail(where, "\"" + n + "\" is not a field name");
                }
                p.http1_names.add(n, n);
            }
        } else if (k == "gaps") {
            array a;
            if (!r.get_array(field.value, where, a)) {
                return false;
            }
            for (element entry : a) {
                object g;
                profile_gap gap;
                if (!r.get_object(entry, where, g) ||
                    !r.only_keys(g, where, {"field", "item", "why"})) {
                    return false;
                }
                for (auto gf : g) {
                    std::string& target = gf.key == "field"  ? gap.field
                                          : gf.key == "item" ? gap.item
                                                             : gap.why;
                    if (!r.get_string(gf.value, where + "." + std::string(gf.key), target)) {
                        return false;
                    }
                }
                p.gaps.push_back(std::move(gap));
            }
        }
        if (!ok) {
            return false;
        }
    }
    if (format != "corvid-profile/1") {
        return r.fail("format", "must be \"corvid-profile/1\"");
    }
    if (p.name.empty() || p.name == "none" ||
        !std::all_of(p.name.begin(), p.name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        })) {
        return r.fail("name", "must be lower-case letters, digits, '-' or '_', and not \"none\"");
    }
    if (!have_tls || p.tls.cipher_suites.empty() || p.tls.alpn.empty()) {
        return r.fail("tls", "cipher_suites and alpn are required");
    }
    if (!have_websocket_tls) {
        p.websocket_alpn = {"http/1.1"};
    }
    // Spell the templates' names the HTTP/1.1 way once, here: HTTP/2
    // lower-cases them on the wire anyway, and the client then copies each
    // field as it is instead of looking its spelling up per request.
    for (header_template* t : {&p.navigation, &p.fetch, &p.websocket}) {
        corvid::headers spelled;
        spelled.reserve(t->fields.size());
        for (const auto& f : t->fields) {
            const auto name = p.http1_names.get(f.name);
            spelled.add(name ? *name : std::string_view(f.name), f.value);
        }
        t->fields = std::move(spelled);
    }
    for (const auto& a : p.websocket_alps) {
        if (std::find(p.websocket_alpn.begin(), p.websocket_alpn.end(), a) ==
            p.websocket_alpn.end()) {
            return r.fail("websocket_tls.alps", "\"" + a + "\" is not in websocket_tls.alpn");
        }
    }
    return true;
}

}  // namespace

const std::error_category& profile_category() noexcept {
    static const profile_errc_category_impl category;
    return category;
}

const header_template& profile::headers_for(request_kind kind) const noexcept {
    switch (kind) {
        case request_kind::fetch:
            return fetch;
        case request_kind::websocket:
            return websocket;
        case request_kind::navigation:
            break;
    }
    return navigation;
}

result<profile> profile::parse(std::string_view json, std::string* detail) {
    auto invalid = [&](std::string why) -> result<profile> {
        if (detail != nullptr) {
            *detail = std::move(why);
        }
        return make_error_code(profile_errc::invalid);
    };
    if (json.size() > max_profile_bytes) {
        return invalid("the file is larger than 1 MiB");
    }
    simdjson::dom::parser parser;
    element root;
    if (auto err = parser.parse(json.data(), json.size()).get(root); err != simdjson::SUCCESS) {
        return invalid(std::string("not JSON: ") + simdjson::error_message(err));
    }
    profile p;
    reader r;
    if (!parse_profile(r, root, p)) {
        return invalid(r.error);
    }
    return p;
}

result<std::shared_ptr<const profile>> profile::load(std::string_view name_or_path,
                                                     std::string* detail) {
    const bool is_path =
        name_or_path.find('/') != std::string_view::npos || name_or_path.ends_with(".json");
    std::string text;
    if (is_path) {
        std::ifstream in{std::string(name_or_path), std::ios::binary};
        if (!in) {
            if (detail != nullptr) {
                *detail = "cannot open " + std::string(name_or_path);
            }
            return make_error_code(profile_errc::not_found);
        }
        std::ostringstream buffer;
        buffer << in.rdbuf();
        text = std::move(buffer).str();
    } else {
        const auto& table = detail::builtin_profile_texts();
        auto it = std::find_if(table.begin(), table.end(),
                               [&](const auto& b) { return b.name == name_or_path; });
        if (it == table.end()) {
            if (detail != nullptr) {
                *detail = "no built-in profile \"" + std::string(name_or_path) + "\"";
            }
            return make_error_code(profile_errc::not_found);
        }
        text.assign(it->json);
    }
    auto parsed = parse(text, detail);
    if (!parsed) {
        return parsed.error();
    }
    return std::make_shared<const profile>(std::move(*parsed));
}

std::vector<std::string> profile::builtin_names() {
    std::vector<std::string> names{"none"};
    for (const auto& b : detail::builtin_profile_texts()) {
        names.emplace_back(b.name);
    }
    return names;
}

}  // namespace corvid
