#include "tls/fingerprint.hpp"

#include <openssl/md5.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <utility>

namespace corvid::tls {

using tls_wire::client_hello;
using tls_wire::is_grease;

namespace {

constexpr std::uint16_t grease_token = 0x0a0a;

std::string to_hex(const std::uint8_t* p, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(digits[p[i] >> 4]);
        out.push_back(digits[p[i] & 0x0f]);
    }
    return out;
}

std::string hex4(std::uint16_t v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04x", v);
    return buf;
}

template <typename T>
std::vector<T> without_grease(const std::vector<T>& in) {
    std::vector<T> out;
    for (auto v : in) {
        if (!is_grease(v)) {
            out.push_back(v);
        }
    }
    return out;
}

template <typename T, typename F>
std::string join(const std::vector<T>& items, std::string_view sep, F render) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i != 0) {
            out += sep;
        }
        out += render(items[i]);
    }
    return out;
}

std::string decimal(std::uint64_t v) {
    return std::to_string(v);
}

std::string ja3_text(const client_hello& h, bool sort_extensions) {
    auto extensions = without_grease(h.extension_types());
    if (sort_extensions) {
        std::sort(extensions.begin(), extensions.end());
    }
    std::string out = std::to_string(h.legacy_version);
    out += ',';
    out += join(without_grease(h.cipher_suites), "-", decimal);
    out += ',';
    out += join(extensions, "-", decimal);
    out += ',';
    out += join(without_grease(h.supported_groups), "-", decimal);
    out += ',';
    out += join(h.ec_point_formats, "-", decimal);
    return out;
}

/// JA4's replacement for an ALPN character that is not alphanumeric.
bool is_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string ja4_alpn(const client_hello& h) {
    if (h.alpn.empty() || h.alpn.front().empty()) {
        return "00";
    }
    const auto& p = h.alpn.front();
    const auto first = static_cast<unsigned char>(p.front());
    const auto last = static_cast<unsigned char>(p.back());
    std::string out;
    out += is_alnum(first) ? static_cast<char>(first) : to_hex(&first, 1)[0];
    out += is_alnum(last) ? static_cast<char>(last) : to_hex(&last, 1)[1];
    return out;
}

struct ja4_parts {
    std::string a;
    std::string ciphers;     ///< sorted, hex, comma-joined
    std::string extensions;  ///< sorted, no SNI/ALPN
    std::string sigalgs;     ///< wire order
};

ja4_parts ja4_compute(const client_hello& h) {
    const auto ciphers = without_grease(h.cipher_suites);
    const auto extensions = without_grease(h.extension_types());
    const auto versions = without_grease(h.supported_versions);
    const std::uint16_t version =
        versions.empty() ? h.legacy_version : *std::max_element(versions.begin(), versions.end());
    std::string_view v = "00";
    switch (version) {
        case 0x0304:
            v = "13";
            break;
        case 0x0303:
            v = "12";
            break;
        case 0x0302:
            v = "11";
            break;
        case 0x0301:
            v = "10";
            break;
        default:
            break;
    }
    char counts[8];
    std::snprintf(counts, sizeof counts, "%02zu%02zu", std::min<std::size_t>(ciphers.size(), 99),
                  std::min<std::size_t>(extensions.size(), 99));
    ja4_parts out;
    out.a = "t";
    out.a += v;
    out.a += h.has_extension(tls_wire::ext::server_name) ? 'd' : 'i';
    out.a += counts;
    out.a += ja4_alpn(h);

    auto sorted_ciphers = ciphers;
    std::sort(sorted_ciphers.begin(), sorted_ciphers.end());
    out.ciphers = join(sorted_ciphers, ",", hex4);

    std::vector<std::uint16_t> sorted_extensions;
    for (auto e : extensions) {
        if (e != tls_wire::ext::server_name && e != tls_wire::ext::alpn) {
            sorted_extensions.push_back(e);
        }
    }
    std::sort(sorted_extensions.begin(), sorted_extensions.end());
    out.extensions = join(sorted_extensions, ",", hex4);
    out.sigalgs = join(without_grease(h.signature_algorithms), ",", hex4);
    return out;
}

}  // namespace

std::string md5_hex(std::string_view data) {
    std::uint8_t digest[MD5_DIGEST_LENGTH];
    MD5(reinterpret_cast<const std::uint8_t*>(data.data()), data.size(), digest);
    return to_hex(digest, sizeof digest);
}

std::string sha256_hex(std::string_view data) {
    std::uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const std::uint8_t*>(data.data()), data.size(), digest);
    return to_hex(digest, sizeof digest);
}

std::string ja3_string(const client_hello& hello) {
    return ja3_text(hello, false);
}

std::string ja3n_string(const client_hello& hello) {
    return ja3_text(hello, true);
}

std::string ja4(const client_hello& hello) {
    const auto p = ja4_compute(hello);
    std::string c_input = p.extensions;
    if (!p.sigalgs.empty()) {
        c_input += '_';
        c_input += p.sigalgs;
    }
    return p.a + '_' + sha256_hex(p.ciphers).substr(0, 12) + '_' +
           sha256_hex(c_input).substr(0, 12);
}

std::string ja4_r(const client_hello& hello) {
    const auto p = ja4_compute(hello);
    std::string out = p.a + '_' + p.ciphers + '_' + p.extensions;
    if (!p.sigalgs.empty()) {
        out += '_';
        out += p.sigalgs;
    }
    return out;
}

fingerprints compute_fingerprints(const client_hello& hello) {
    fingerprints f;
    f.ja3 = ja3_string(hello);
    f.ja3_md5 = md5_hex(f.ja3);
    f.ja3n = ja3n_string(hello);
    f.ja3n_md5 = md5_hex(f.ja3n);
    f.ja4 = ja4(hello);
    f.ja4_r = ja4_r(hello);
    return f;
}

std::string_view to_string(row_verdict v) noexcept {
    switch (v) {
        case row_verdict::match:
            return "match";
        case row_verdict::differs:
            return "differs";
        case row_verdict::cannot:
            return "cannot";
    }
    return "?";
}

// ---------------------------------------------------------------------------
// compare()

namespace {

/// A list item for comparison: a 16-bit code point with GREASE folded to one
/// value, plus an optional detail (a key share's length) that must also match.
struct item {
    std::uint16_t code = 0;
    std::uint64_t detail = 0;
    bool has_detail = false;
    bool operator==(const item& o) const noexcept {
        return code == o.code && detail == o.detail && has_detail == o.has_detail;
    }
};

std::uint16_t fold(std::uint16_t v) {
    return is_grease(v) ? grease_token : v;
}

template <typename T>
std::vector<item> items_of(const std::vector<T>& values) {
    std::vector<item> out;
    out.reserve(values.size());
    for (auto v : values) {
        out.push_back({fold(static_cast<std::uint16_t>(v)), 0, false});
    }
    return out;
}

std::vector<item> key_share_items(const client_hello& h) {
    std::vector<item> out;
    for (const auto& k : h.key_shares) {
        out.push_back({fold(k.group), k.key_length, true});
    }
    return out;
}

std::string code_text(std::uint16_t code) {
    return code == grease_token ? std::string("GREASE") : std::to_string(code);
}

std::string item_text(const item& i) {
    std::string out = code_text(i.code);
    if (i.has_detail) {
        out += '(' + std::to_string(i.detail) + ')';
    }
    return out;
}

std::string items_text(const std::vector<item>& items) {
    return items.empty() ? std::string("(none)") : join(items, ",", item_text);
}

std::vector<std::uint16_t> fold_all(const std::vector<std::uint16_t>& v) {
    std::vector<std::uint16_t> out;
    for (auto x : v) {
        out.push_back(fold(x));
    }
    return out;
}

bool contains(const std::vector<std::uint16_t>& v, std::uint16_t x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

bool contains_code(const std::vector<item>& v, std::uint16_t code) {
    return std::any_of(v.begin(), v.end(), [&](const item& i) { return i.code == code; });
}

/// Items of `a` not matched one-for-one in `b` (multiset difference by code).
std::vector<std::uint16_t> missing_codes(const std::vector<item>& a, const std::vector<item>& b) {
    std::map<std::uint16_t, int> count;
    for (const auto& i : b) {
        ++count[i.code];
    }
    std::vector<std::uint16_t> out;
    for (const auto& i : a) {
        if (count[i.code] > 0) {
            --count[i.code];
        } else {
            out.push_back(i.code);
        }
    }
    return out;
}

std::string codes_text(const std::vector<std::uint16_t>& codes) {
    return join(codes, ",", code_text);
}

/// Ordered list comparison with gaps (see the header).
fingerprint_row compare_ordered(std::string field, const std::vector<item>& ours,
                                const std::vector<item>& ref,
                                const std::vector<std::uint16_t>& gaps) {
    fingerprint_row row;
    row.field = std::move(field);
    row.ours = items_text(ours);
    row.reference = items_text(ref);
    if (ours == ref) {
        row.verdict = row_verdict::match;
        return row;
    }
    const auto gap_codes = fold_all(gaps);
    std::vector<item> ref_reachable;
    std::vector<std::uint16_t> removed;
    for (const auto& i : ref) {
        if (contains(gap_codes, i.code) && !contains_code(ours, i.code)) {
            if (!contains(removed, i.code)) {
                removed.push_back(i.code);
            }
        } else {
            ref_reachable.push_back(i);
        }
    }
    if (!removed.empty() && ref_reachable == ours) {
        row.verdict = row_verdict::cannot;
        row.note = "cannot produce " + codes_text(removed);
        return row;
    }
    row.verdict = row_verdict::differs;
    const auto only_ref = missing_codes(ref, ours);
    const auto only_ours = missing_codes(ours, ref);
    if (only_ref.empty() && only_ours.empty()) {
        row.note = "same items, different order or lengths";
    } else {
        if (!only_ref.empty()) {
            row.note = "reference only: " + codes_text(only_ref);
        }
        if (!only_ours.empty()) {
            if (!row.note.empty()) {
                row.note += "; ";
            }
            row.note += "ours only: " + codes_text(only_ours);
        }
    }
    return row;
}

template <typename T, typename F>
fingerprint_row compare_plain(std::string field, const std::vector<T>& ours,
                              const std::vector<T>& ref, F render) {
    fingerprint_row row;
    row.field = std::move(field);
    row.ours = ours.empty() ? std::string("(none)") : join(ours, ",", render);
    row.reference = ref.empty() ? std::string("(none)") : join(ref, ",", render);
    if (ours == ref) {
        row.verdict = row_verdict::match;
    } else {
        row.verdict = row_verdict::differs;
        row.note = "values differ";
    }
    return row;
}

fingerprint_row compare_extension_set(const client_hello& ours, const client_hello& ref,
                                      const gap_list& gaps) {
    auto sorted_items = [](const client_hello& h) {
        auto codes = fold_all(h.extension_types());
        std::sort(codes.begin(), codes.end());
        return items_of(codes);
    };
    const auto o = sorted_items(ours);
    const auto r = sorted_items(ref);
    fingerprint_row row;
    row.field = "extension set";
    row.ours = items_text(o);
    row.reference = items_text(r);
    const auto only_ref = missing_codes(r, o);
    const auto only_ours = missing_codes(o, r);
    if (only_ref.empty() && only_ours.empty()) {
        row.verdict = row_verdict::match;
        return row;
    }
    const auto gap_codes = fold_all(gaps.extensions);
    const bool all_gaps = std::all_of(only_ref.begin(), only_ref.end(),
                                      [&](std::uint16_t c) { return contains(gap_codes, c); });
    const bool all_extra = std::all_of(only_ours.begin(), only_ours.end(), [&](std::uint16_t c) {
        return contains(gaps.extra_extensions, c);
    });
    if (all_gaps && all_extra) {
        row.verdict = row_verdict::cannot;
        row.note = only_ref.empty() ? std::string() : "cannot produce " + codes_text(only_ref);
        if (!only_ours.empty()) {
            row.note += std::string(row.note.empty() ? "" : "; ") + "sends instead " +
                        codes_text(only_ours);
        }
        return row;
    }
    row.verdict = row_verdict::differs;
    if (!only_ref.empty()) {
        row.note = "reference only: " + codes_text(only_ref);
    }
    if (!only_ours.empty()) {
        if (!row.note.empty()) {
            row.note += "; ";
        }
        row.note += "ours only: " + codes_text(only_ours);
    }
    return row;
}

fingerprint_row compare_extension_order(const client_hello& ours, const client_hello& ref,
                                        const gap_list& gaps, const compare_options& options) {
    const auto o = fold_all(ours.extension_types());
    const auto r = fold_all(ref.extension_types());
    fingerprint_row row;
    row.field = "extension order";
    row.ours = options.ours_permutes ? "permuted" : items_text(items_of(o));
    row.reference = options.reference_permutes ? "permuted" : items_text(items_of(r));
    if (options.ours_permutes && options.reference_permutes) {
        row.verdict = row_verdict::match;
        return row;
    }
    std::string difference;
    if (options.ours_permutes != options.reference_permutes) {
        difference = options.ours_permutes ? "ours permutes, the reference does not"
                                           : "the reference permutes, ours does not";
    } else {
        // Relative order of the extensions both send (multiset-aware: the
        // k-th GREASE on one side pairs with the k-th on the other).
        auto common = [](const std::vector<std::uint16_t>& a, const std::vector<std::uint16_t>& b) {
            std::map<std::uint16_t, int> count;
            for (auto x : b) {
                ++count[x];
            }
            std::vector<std::uint16_t> out;
            for (auto x : a) {
                if (count[x] > 0) {
                    --count[x];
                    out.push_back(x);
                }
            }
            return out;
        };
        const auto oc = common(o, r);
        const auto rc = common(r, o);
        if (oc == rc) {
            row.verdict = row_verdict::match;
            if (o.size() != oc.size() || r.size() != rc.size()) {
                row.note = "order compared over the " + std::to_string(oc.size()) +
                           " extensions both send";
            }
            return row;
        }
        difference = "the extensions both send are in a different order";
    }
    if (gaps.extension_order) {
        row.verdict = row_verdict::cannot;
        row.note = "cannot reproduce the reference's order (" + difference + ")";
    } else {
        row.verdict = row_verdict::differs;
        row.note = difference;
    }
    return row;
}

std::string grease_positions(const std::vector<std::uint16_t>& codes) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < codes.size(); ++i) {
        if (!is_grease(codes[i])) {
            continue;
        }
        if (i == 0) {
            out.emplace_back("first");
        } else if (i + 1 == codes.size()) {
            out.emplace_back("last");
        } else {
            out.push_back(std::to_string(i));
        }
    }
    return join(out, ",", [](const std::string& s) { return s; });
}

fingerprint_row compare_grease(const client_hello& ours, const client_hello& ref,
                               const gap_list& gaps) {
    struct list {
        const char* name;
        std::function<std::vector<std::uint16_t>(const client_hello&)> get;
        const std::vector<std::uint16_t>* gaps;
    };
    auto key_share_groups = [](const client_hello& h) {
        std::vector<std::uint16_t> out;
        for (const auto& k : h.key_shares) {
            out.push_back(k.group);
        }
        return out;
    };
    const list lists[] = {
        {"ciphers", [](const client_hello& h) { return h.cipher_suites; }, &gaps.ciphers},
        // Extensions the library adds because of a gap (the padding it
        // appends last) do not move the GREASE values the browser places.
        {"extensions",
         [&gaps](const client_hello& h) {
             auto types = h.extension_types();
             std::erase_if(types,
                           [&](std::uint16_t t) { return contains(gaps.extra_extensions, t); });
             return types;
         },
         &gaps.extensions},
        {"groups", [](const client_hello& h) { return h.supported_groups; }, &gaps.groups},
        {"key_shares", key_share_groups, &gaps.key_share_groups},
        {"sigalgs", [](const client_hello& h) { return h.signature_algorithms; },
         &gaps.signature_algorithms},
        {"versions", [](const client_hello& h) { return h.supported_versions; }, &gaps.versions},
    };
    fingerprint_row row;
    row.field = "GREASE positions";
    std::vector<std::string> cannot_lists;
    std::vector<std::string> differing_lists;
    for (const auto& l : lists) {
        const auto o = grease_positions(l.get(ours));
        const auto r = grease_positions(l.get(ref));
        if (!o.empty()) {
            row.ours += (row.ours.empty() ? "" : " ") + std::string(l.name) + '@' + o;
        }
        if (!r.empty()) {
            row.reference += (row.reference.empty() ? "" : " ") + std::string(l.name) + '@' + r;
        }
        if (o == r) {
            continue;
        }
        const bool grease_gap = std::any_of(l.gaps->begin(), l.gaps->end(),
                                            [](std::uint16_t g) { return is_grease(g); });
        if (o.empty() && grease_gap) {
            cannot_lists.emplace_back(l.name);
        } else {
            differing_lists.emplace_back(l.name);
        }
    }
    if (row.ours.empty()) {
        row.ours = "(none)";
    }
    if (row.reference.empty()) {
        row.reference = "(none)";
    }
    auto names = [](const std::vector<std::string>& v) {
        return join(v, ",", [](const std::string& s) { return s; });
    };
    if (!differing_lists.empty()) {
        row.verdict = row_verdict::differs;
        row.note = "differs in " + names(differing_lists);
        if (!cannot_lists.empty()) {
            row.note += "; cannot produce GREASE in " + names(cannot_lists);
        }
    } else if (!cannot_lists.empty()) {
        row.verdict = row_verdict::cannot;
        row.note = "cannot produce GREASE in " + names(cannot_lists);
    } else {
        row.verdict = row_verdict::match;
    }
    return row;
}

fingerprint_row compare_alps(const client_hello& ours, const client_hello& ref,
                             const gap_list& gaps) {
    using alps_map = std::map<std::uint16_t, std::vector<std::string>>;
    auto collect = [](const client_hello& h) {
        alps_map m;
        if (h.has_extension(tls_wire::ext::alps_old)) {
            m[tls_wire::ext::alps_old] = h.alps_old;
        }
        if (h.has_extension(tls_wire::ext::alps_new)) {
            m[tls_wire::ext::alps_new] = h.alps_new;
        }
        return m;
    };
    auto text = [](const alps_map& m) {
        if (m.empty()) {
            return std::string("(none)");
        }
        std::string out;
        for (const auto& [code, protocols] : m) {
            if (!out.empty()) {
                out += ' ';
            }
            out += std::to_string(code) + ':' +
                   join(protocols, ",", [](const std::string& s) { return s; });
        }
        return out;
    };
    const auto o = collect(ours);
    const auto r = collect(ref);
    fingerprint_row row;
    row.field = "ALPS";
    row.ours = text(o);
    row.reference = text(r);
    if (o == r) {
        row.verdict = row_verdict::match;
        return row;
    }
    std::vector<std::uint16_t> cannot;
    std::vector<std::string> differences;
    for (const auto& [code, protocols] : r) {
        auto it = o.find(code);
        if (it == o.end()) {
            if (contains(gaps.extensions, code)) {
                cannot.push_back(code);
            } else {
                differences.push_back("reference only: " + std::to_string(code));
            }
        } else if (it->second != protocols) {
            differences.push_back("protocols differ on " + std::to_string(code));
        }
    }
    for (const auto& entry_ours : o) {
        const std::uint16_t code = entry_ours.first;
        const auto& protocols = entry_ours.second;  // named: clang 14 cannot capture a binding
        if (r.find(code) != r.end()) {
            continue;
        }
        // ALPS on 17513 standing in for the reference's 17613 with the same
        // protocols is the library's limit, not a difference.
        const bool stands_in =
            contains(gaps.extra_extensions, code) &&
            std::any_of(r.begin(), r.end(), [&](const auto& entry) {
                return contains(gaps.extensions, entry.first) && entry.second == protocols;
            });
        if (!stands_in) {
            differences.push_back("ours only: " + std::to_string(code));
        }
    }
    auto strings = [](const std::vector<std::string>& v) {
        return join(v, "; ", [](const std::string& s) { return s; });
    };
    if (differences.empty()) {
        row.verdict = row_verdict::cannot;
        row.note = "cannot produce " + codes_text(cannot);
    } else {
        row.verdict = row_verdict::differs;
        row.note = strings(differences);
        if (!cannot.empty()) {
            row.note += "; cannot produce " + codes_text(cannot);
        }
    }
    return row;
}

std::string quoted(const std::string& s) {
    return s;
}

}  // namespace

std::vector<fingerprint_row> compare(const client_hello& ours, const client_hello& reference,
                                     const gap_list& cannot, const compare_options& options) {
    std::vector<fingerprint_row> rows;
    rows.push_back(compare_plain("legacy version", std::vector<std::uint16_t>{ours.legacy_version},
                                 std::vector<std::uint16_t>{reference.legacy_version},
                                 [](std::uint16_t v) { return std::to_string(v); }));
    rows.push_back(compare_ordered("ciphers", items_of(ours.cipher_suites),
                                   items_of(reference.cipher_suites), cannot.ciphers));
    if (auto& row = rows.back(); row.verdict == row_verdict::differs && cannot.cipher_order) {
        auto sorted = [](std::vector<std::uint16_t> v) {
            v = fold_all(v);
            std::sort(v.begin(), v.end());
            return v;
        };
        if (sorted(ours.cipher_suites) == sorted(reference.cipher_suites)) {
            row.verdict = row_verdict::cannot;
            row.note = "same ciphers; the library orders some of them itself";
        }
    }
    rows.push_back(compare_plain("compression methods", ours.compression_methods,
                                 reference.compression_methods, decimal));
    rows.push_back(compare_extension_set(ours, reference, cannot));
    rows.push_back(compare_extension_order(ours, reference, cannot, options));
    rows.push_back(compare_grease(ours, reference, cannot));
    rows.push_back(compare_ordered("groups", items_of(ours.supported_groups),
                                   items_of(reference.supported_groups), cannot.groups));
    rows.push_back(compare_ordered("key shares", key_share_items(ours), key_share_items(reference),
                                   cannot.key_share_groups));
    rows.push_back(compare_ordered("signature algorithms", items_of(ours.signature_algorithms),
                                   items_of(reference.signature_algorithms),
                                   cannot.signature_algorithms));
    rows.push_back(compare_plain("ALPN", ours.alpn, reference.alpn, quoted));
    rows.push_back(compare_alps(ours, reference, cannot));
    rows.push_back(compare_ordered(
        "certificate compression", items_of(ours.cert_compression_algorithms),
        items_of(reference.cert_compression_algorithms), cannot.cert_compression_algorithms));
    rows.push_back(compare_ordered("versions", items_of(ours.supported_versions),
                                   items_of(reference.supported_versions), cannot.versions));
    rows.push_back(compare_plain("ec point formats", ours.ec_point_formats,
                                 reference.ec_point_formats, decimal));
    rows.push_back(compare_plain("psk key exchange modes", ours.psk_key_exchange_modes,
                                 reference.psk_key_exchange_modes, decimal));
    return rows;
}

}  // namespace corvid::tls
