#pragma once

// Fingerprints of a parsed ClientHello (proto/tls/client_hello.hpp), and a
// field-by-field comparison of two hellos, for `corvid fingerprint`. Pure
// computations on values; MD5 and SHA-256 come from BoringSSL.
//
// JA3 (Salesforce, 2017): "legacy_version,ciphers,extensions,groups,
// ec_point_formats", decimal values joined by '-', GREASE removed from every
// list, extensions in wire order; its hash is the MD5 of that text in
// lowercase hex. JA3N is the same with the extensions sorted ascending, which
// makes it stable under Chrome's per-connection extension permutation.
//
// JA4 (FoxIO), computed exactly as shared/fingerprints/hello_capture.py does,
// "a_b_c" with GREASE removed everywhere:
//   a = "t" + version + ("d" if SNI present else "i") + cipher count (2 digits,
//       at most 99) + extension count (2 digits, at most 99, SNI and ALPN
//       included) + first and last character of the first ALPN protocol
//       ("00" without ALPN). version is the highest supported_versions entry,
//       else legacy_version: 0x0304 "13", 0x0303 "12", 0x0302 "11",
//       0x0301 "10", anything else "00".
//   b = first 12 hex digits of SHA-256 of the sorted ciphers as 4-digit hex
//       joined by ','.
//   c = first 12 hex digits of SHA-256 of the sorted extensions without SNI
//       (0) and ALPN (16), 4-digit hex joined by ',', then, when there are
//       signature algorithms, '_' and the signature algorithms in wire order.
// One divergence from the oracle, where the oracle cannot answer: when the
// first ALPN protocol's first or last byte is not an ASCII letter or digit,
// that character is replaced as the JA4 specification says (the first
// resp. last hex digit of the byte), where hello_capture.py would print the
// raw character (or fail to decode it).
//
// @par Thread Safety
// Free functions on immutable input.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/tls/client_hello.hpp"

namespace corvid::tls {

/// JA3/JA3N/JA4 of one hello.
struct fingerprints {
    std::string ja3;       ///< the JA3 text
    std::string ja3_md5;   ///< MD5 of ja3, 32 lowercase hex digits
    std::string ja3n;      ///< JA3 with extensions sorted
    std::string ja3n_md5;  ///< MD5 of ja3n
    std::string ja4;       ///< e.g. t13d1517h2_8daaf6152771_cb7bf5808d99
    std::string ja4_r;     ///< JA4 before hashing: a_ciphers_extensions[_sigalgs]
};

std::string ja3_string(const tls_wire::client_hello& hello);
std::string ja3n_string(const tls_wire::client_hello& hello);
std::string ja4(const tls_wire::client_hello& hello);
/// JA4's raw form ("JA4_r"): part a, then the sorted cipher list, the sorted
/// extension list (SNI and ALPN removed) and the signature algorithms, as
/// the texts that JA4 hashes.
std::string ja4_r(const tls_wire::client_hello& hello);
fingerprints compute_fingerprints(const tls_wire::client_hello& hello);

/// Lowercase hex digests (BoringSSL).
std::string md5_hex(std::string_view data);
std::string sha256_hex(std::string_view data);

// ---------------------------------------------------------------------------
// Field-by-field comparison.
//
// compare() lines up the hello a profile produced ("ours") against a
// reference capture of the real browser and returns one row per field:
//
//   legacy version, ciphers, compression methods, extension set, extension
//   order, GREASE positions, groups, key shares, signature algorithms, ALPN,
//   ALPS, certificate compression, versions, ec point formats,
//   psk key exchange modes
//
// Each row has both values as text (GREASE values print as "GREASE") and a
// verdict:
//   match   - the values are equal (lists: same items in the same order, any
//             GREASE value equal to any other);
//   cannot  - they differ, and every difference is a reference item listed
//             in the gap_list (an item the TLS library cannot produce) that
//             ours lacks: `note` names those items;
//   differs - anything else: `note` says what differs.
//
// Per field:
//   - ordered lists (ciphers, groups, signature algorithms, versions,
//     certificate compression): the reference list is compared with the gap
//     items that ours does not contain removed; equal after that -> cannot.
//   - key shares: (group, key length) pairs in order; a gap is listed by
//     group in gap_list::key_share_groups.
//   - extension set: ignores order and which GREASE values were drawn, but
//     counts GREASE extensions; reference-only extensions that are all in
//     gap_list::extensions -> cannot; any extension only ours sends -> differs.
//   - extension order: when both sides permute (compare_options), "permuted"
//     on both sides, match. When only one does, differs. Otherwise the
//     relative order of the extensions both send is compared (set
//     differences belong to the extension set row). Any order difference is
//     `cannot` when gap_list::extension_order is set.
//   - GREASE positions: where GREASE values sit in ciphers, extensions,
//     groups, key shares, signature algorithms and versions ("first", "last"
//     or the index). A list where only the reference has GREASE is `cannot`
//     when that list's gap items include a GREASE value.
//   - ALPS: per code point (17513, 17613) its protocol list; a code point
//     only the reference uses is `cannot` when it is in gap_list::extensions.
//   - ALPN, legacy version, compression methods, ec point formats and psk
//     key exchange modes have no gaps: match or differs.
// ---------------------------------------------------------------------------

/// What the TLS library cannot produce, as items of the reference. Any
/// GREASE value in a list stands for "a GREASE value" in that list (for
/// example 0x0a0a in signature_algorithms: the library cannot send a GREASE
/// signature algorithm).
struct gap_list {
    std::vector<std::uint16_t> ciphers;
    std::vector<std::uint16_t> extensions;
    std::vector<std::uint16_t> groups;
    std::vector<std::uint16_t> key_share_groups;
    std::vector<std::uint16_t> signature_algorithms;
    std::vector<std::uint16_t> cert_compression_algorithms;
    std::vector<std::uint16_t> versions;
    /// The library cannot reproduce the reference's extension order.
    bool extension_order = false;
    /// The library orders some ciphers itself (BoringSSL's TLS 1.3 suites):
    /// the same ciphers in another order are `cannot`, not `differs`.
    bool cipher_order = false;
    /// Extensions the library sends that the reference does not, because of
    /// a gap: ALPS on the old codepoint 17513 standing in for 17613, or the
    /// padding extension (21) BoringSSL adds to a hello shorter than the
    /// browser's. Ours-only items listed here make the extension set and
    /// ALPS rows `cannot` instead of `differs`.
    std::vector<std::uint16_t> extra_extensions;
};

/// Whether each side permutes its extensions per connection (Chrome does;
/// a single capture cannot tell, so the caller, who knows the profile and
/// the browser, says so).
struct compare_options {
    bool ours_permutes = false;
    bool reference_permutes = false;
};

enum class row_verdict { match, differs, cannot };
/// "match", "differs" or "cannot".
std::string_view to_string(row_verdict v) noexcept;

struct fingerprint_row {
    std::string field;      ///< e.g. "ciphers", "extension set"
    std::string ours;       ///< our value as text
    std::string reference;  ///< the reference value as text
    row_verdict verdict = row_verdict::match;
    std::string note;  ///< empty on match; the gap items or the differences
};

/// One row per field, in the order listed above.
std::vector<fingerprint_row> compare(const tls_wire::client_hello& ours,
                                     const tls_wire::client_hello& reference,
                                     const gap_list& cannot, const compare_options& options = {});

}  // namespace corvid::tls
