// tls/fingerprint: JA3/JA3N/JA4 of the reference captures equal what
// hello_capture.py computed (their .json), and compare() gives the verdicts
// documented in fingerprint.hpp.

#include "tls/fingerprint.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "proto/tls/capture_data.hpp"

namespace corvid::tls {
namespace {

using tls_wire::client_hello;

client_hello load(const std::string& name) {
    auto parsed = tls_wire::parse_client_hello_record(test::read_capture(name));
    EXPECT_TRUE(parsed) << name << ": " << parsed.error().message();
    return parsed ? *parsed : client_hello{};
}

std::string json_of(const std::string& name) {
    return test::read_file(test::fingerprint_data_dir() / name);
}

TEST(Fingerprint, Chromium156MatchesOracle) {
    const auto h = load("chromium156.bin");
    const auto json = json_of("chromium156.json");
    EXPECT_EQ(ja4(h), "t13d1517h2_8daaf6152771_cb7bf5808d99");
    EXPECT_EQ(ja4(h), test::json_string(json, "ja4"));
    EXPECT_EQ(ja3n_string(h), test::json_string(json, "ja3_norm"));
}

TEST(Fingerprint, Firefox153MatchesOracle) {
    const auto h = load("firefox153.bin");
    const auto json = json_of("firefox153.json");
    EXPECT_EQ(ja4(h), "t13d1617h2_86a278354501_3cbfd9057e0d");
    EXPECT_EQ(ja4(h), test::json_string(json, "ja4"));
    EXPECT_EQ(ja3n_string(h), test::json_string(json, "ja3_norm"));
    // Firefox does not permute: JA3 keeps the wire order.
    EXPECT_EQ(ja3_string(h),
              "771,4865-4867-4866-49195-49199-52393-52392-49196-49200-49162-49171-49172-156-157-"
              "47-53,0-23-65281-10-11-35-16-5-34-18-51-43-13-45-28-27-65037,"
              "4588-29-23-24-25-256-257,0");
}

TEST(Fingerprint, HashesAndRawForm) {
    EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const auto h = load("chromium156.bin");
    const auto f = compute_fingerprints(h);
    EXPECT_EQ(f.ja3_md5, md5_hex(f.ja3));
    EXPECT_EQ(f.ja3n_md5, md5_hex(f.ja3n));
    EXPECT_EQ(f.ja3_md5.size(), 32u);
    EXPECT_EQ(f.ja4, ja4(h));
    // JA3 keeps Chromium's permuted wire order, JA3N sorts it.
    EXPECT_NE(f.ja3, f.ja3n);
    EXPECT_EQ(f.ja3.find("60138"), std::string::npos);  // GREASE removed
    // JA4_r hashes to JA4.
    const auto raw = f.ja4_r;
    const auto first = raw.find('_');
    const auto second = raw.find('_', first + 1);
    EXPECT_EQ(raw.substr(0, first), "t13d1517h2");
    EXPECT_EQ(sha256_hex(raw.substr(first + 1, second - first - 1)).substr(0, 12), "8daaf6152771");
    EXPECT_EQ(sha256_hex(raw.substr(second + 1)).substr(0, 12), "cb7bf5808d99");
    EXPECT_EQ(raw.find("0000,"), std::string::npos);  // no SNI in the extension list
}

TEST(Fingerprint, Ja4EdgeCases) {
    client_hello h;
    h.legacy_version = 0x0303;
    h.cipher_suites = {0x0a0a, 0x002f};
    // No extensions: TLS 1.2 from legacy_version, no SNI, no ALPN, no sigalgs.
    EXPECT_EQ(ja4(h).substr(0, 10), "t12i010000");
    EXPECT_EQ(ja4(h).substr(11, 12), sha256_hex("002f").substr(0, 12));
    EXPECT_EQ(ja4(h).substr(24), sha256_hex("").substr(0, 12));
    h.legacy_version = 0x0300;
    EXPECT_EQ(ja4(h).substr(0, 3), "t00");
    // ALPN characters that are not alphanumeric: the JA4 rule (hex digits).
    h.extensions.push_back({tls_wire::ext::alpn, {}});
    h.alpn = {"\x01x/"};
    EXPECT_EQ(ja4(h).substr(8, 2), "0f");
    h.alpn = {"http/1.1"};
    EXPECT_EQ(ja4(h).substr(8, 2), "h1");
    // Counts stop at 99.
    for (std::uint16_t c = 1; c <= 120; ++c) {
        h.cipher_suites.push_back(c);
    }
    EXPECT_EQ(ja4(h).substr(4, 2), "99");
}

// --- compare() ---

const fingerprint_row& row(const std::vector<fingerprint_row>& rows, const std::string& field) {
    auto it = std::find_if(rows.begin(), rows.end(),
                           [&](const fingerprint_row& r) { return r.field == field; });
    EXPECT_NE(it, rows.end()) << field;
    return *it;
}

TEST(FingerprintCompare, SelfIsAllMatch) {
    for (const char* name : {"chromium156.bin", "firefox153.bin"}) {
        const auto h = load(name);
        const auto rows = compare(h, h, gap_list{});
        EXPECT_EQ(rows.size(), 15u);
        for (const auto& r : rows) {
            EXPECT_EQ(r.verdict, row_verdict::match) << name << " " << r.field << ": " << r.note;
            EXPECT_TRUE(r.note.empty());
        }
    }
}

/// A hello like the one BoringSSL could send for the chrome profile: the
/// Chromium capture minus what the library cannot produce, with other
/// GREASE values drawn and ALPS left out.
client_hello reachable_chrome(const client_hello& chrome) {
    client_hello h = chrome;
    auto drop = [](std::vector<std::uint16_t>& v, std::uint16_t x) {
        v.erase(std::remove(v.begin(), v.end(), x), v.end());
    };
    std::erase_if(h.extensions,
                  [](const tls_wire::extension& e) { return e.type == 17613 || e.type == 51764; });
    h.alps_new.clear();
    drop(h.supported_groups, 4588);
    std::erase_if(h.key_shares, [](const tls_wire::key_share_entry& k) { return k.group == 4588; });
    h.signature_algorithms.erase(h.signature_algorithms.begin());  // the GREASE one
    for (std::uint16_t s : {2308, 2309, 2310}) {
        drop(h.signature_algorithms, s);
    }
    // Other GREASE values and another permutation.
    h.cipher_suites[0] = 0x2a2a;
    h.supported_groups[0] = 0x3a3a;
    std::reverse(h.extensions.begin() + 1, h.extensions.end() - 1);
    return h;
}

gap_list boringssl_gaps() {
    gap_list g;
    g.groups = {4588, 256, 257};
    g.key_share_groups = {4588, 23};
    g.extensions = {17613, 51764, 34, 28};
    g.signature_algorithms = {2308, 2309, 2310, 0x0a0a};
    return g;
}

TEST(FingerprintCompare, ChromeGapsAreCannot) {
    const auto chrome = load("chromium156.bin");
    const auto ours = reachable_chrome(chrome);
    const auto rows = compare(ours, chrome, boringssl_gaps(), {true, true});

    EXPECT_EQ(row(rows, "ciphers").verdict, row_verdict::match);
    EXPECT_EQ(row(rows, "ALPN").verdict, row_verdict::match);
    EXPECT_EQ(row(rows, "versions").verdict, row_verdict::match);
    EXPECT_EQ(row(rows, "certificate compression").verdict, row_verdict::match);
    EXPECT_EQ(row(rows, "extension order").verdict, row_verdict::match);
    EXPECT_EQ(row(rows, "extension order").ours, "permuted");

    const auto& groups = row(rows, "groups");
    EXPECT_EQ(groups.verdict, row_verdict::cannot);
    EXPECT_EQ(groups.note, "cannot produce 4588");
    EXPECT_EQ(groups.reference, "GREASE,4588,29,23,24");
    EXPECT_EQ(groups.ours, "GREASE,29,23,24");

    const auto& set = row(rows, "extension set");
    EXPECT_EQ(set.verdict, row_verdict::cannot);
    EXPECT_EQ(set.note, "cannot produce 17613,51764");

    const auto& sigalgs = row(rows, "signature algorithms");
    EXPECT_EQ(sigalgs.verdict, row_verdict::cannot);
    EXPECT_EQ(sigalgs.note, "cannot produce GREASE,2308,2309,2310");

    const auto& shares = row(rows, "key shares");
    EXPECT_EQ(shares.verdict, row_verdict::cannot);
    EXPECT_EQ(shares.reference, "GREASE(1),4588(1216),29(32)");

    const auto& alps = row(rows, "ALPS");
    EXPECT_EQ(alps.verdict, row_verdict::cannot);
    EXPECT_EQ(alps.reference, "17613:h2");
    EXPECT_EQ(alps.ours, "(none)");

    const auto& grease = row(rows, "GREASE positions");
    EXPECT_EQ(grease.verdict, row_verdict::cannot) << grease.note;
    EXPECT_EQ(grease.note, "cannot produce GREASE in sigalgs");
    EXPECT_NE(grease.reference.find("extensions@first,last"), std::string::npos);
}

TEST(FingerprintCompare, NonGapDifferencesDiffer) {
    const auto chrome = load("chromium156.bin");
    auto ours = reachable_chrome(chrome);
    // A cipher swapped, a group the reference lacks, ALPS on the old code point.
    std::swap(ours.cipher_suites[1], ours.cipher_suites[2]);
    ours.supported_groups.push_back(25);
    ours.extensions.push_back({17513, {}});
    ours.alps_old = {"h2"};
    const auto rows = compare(ours, chrome, boringssl_gaps(), {true, true});

    EXPECT_EQ(row(rows, "ciphers").verdict, row_verdict::differs);
    EXPECT_EQ(row(rows, "ciphers").note, "same items, different order or lengths");
    const auto& groups = row(rows, "groups");
    EXPECT_EQ(groups.verdict, row_verdict::differs);
    EXPECT_NE(groups.note.find("ours only: 25"), std::string::npos);
    const auto& set = row(rows, "extension set");
    EXPECT_EQ(set.verdict, row_verdict::differs);
    EXPECT_NE(set.note.find("ours only: 17513"), std::string::npos);
    const auto& alps = row(rows, "ALPS");
    EXPECT_EQ(alps.verdict, row_verdict::differs);
    EXPECT_NE(alps.note.find("ours only: 17513"), std::string::npos);
    EXPECT_NE(alps.note.find("cannot produce 17613"), std::string::npos);

    // Without the gap list the gaps differ too.
    const auto plain = compare(reachable_chrome(chrome), chrome, gap_list{}, {true, true});
    EXPECT_EQ(row(plain, "groups").verdict, row_verdict::differs);
    EXPECT_EQ(row(plain, "GREASE positions").verdict, row_verdict::differs);
}

TEST(FingerprintCompare, GreasePresenceCounts) {
    const auto chrome = load("chromium156.bin");
    auto ours = chrome;
    // Drop the GREASE extensions: the set differs although GREASE values are
    // otherwise ignored.
    ours.extensions.erase(ours.extensions.begin());
    ours.extensions.pop_back();
    const auto rows = compare(ours, chrome, gap_list{}, {true, true});
    const auto& set = row(rows, "extension set");
    EXPECT_EQ(set.verdict, row_verdict::differs);
    EXPECT_EQ(set.note, "reference only: GREASE,GREASE");
    EXPECT_EQ(row(rows, "GREASE positions").verdict, row_verdict::differs);
}

TEST(FingerprintCompare, ExtensionOrder) {
    const auto firefox = load("firefox153.bin");
    auto ours = firefox;
    std::swap(ours.extensions[1], ours.extensions[2]);
    auto rows = compare(ours, firefox, gap_list{});
    EXPECT_EQ(row(rows, "extension order").verdict, row_verdict::differs);
    EXPECT_EQ(row(rows, "extension set").verdict, row_verdict::match);

    gap_list order_gap;
    order_gap.extension_order = true;
    rows = compare(ours, firefox, order_gap);
    EXPECT_EQ(row(rows, "extension order").verdict, row_verdict::cannot);

    // Only one side permutes.
    rows = compare(firefox, firefox, gap_list{}, {true, false});
    EXPECT_EQ(row(rows, "extension order").verdict, row_verdict::differs);
    EXPECT_EQ(row(rows, "extension order").ours, "permuted");

    // Missing extensions do not disturb the relative order of the rest.
    auto fewer = firefox;
    std::erase_if(fewer.extensions,
                  [](const tls_wire::extension& e) { return e.type == 34 || e.type == 28; });
    rows = compare(fewer, firefox, gap_list{});
    EXPECT_EQ(row(rows, "extension order").verdict, row_verdict::match);
    EXPECT_EQ(row(rows, "extension order").note, "order compared over the 15 extensions both send");
}

TEST(FingerprintCompare, VerdictNames) {
    EXPECT_EQ(to_string(row_verdict::match), "match");
    EXPECT_EQ(to_string(row_verdict::differs), "differs");
    EXPECT_EQ(to_string(row_verdict::cannot), "cannot");
}

}  // namespace
}  // namespace corvid::tls
