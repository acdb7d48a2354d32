// proto/tls/client_hello: the Chromium 156 and Firefox ESR 153 captures
// parse into the fields hello_capture.py decoded, and malformed input gives
// an error code, never a crash.

#include "proto/tls/client_hello.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "proto/tls/capture_data.hpp"

namespace corvid::tls_wire {
namespace {

using bytes = std::vector<std::uint8_t>;

template <typename T>
std::vector<std::uint64_t> widen(const std::vector<T>& v) {
    return {v.begin(), v.end()};
}

std::vector<std::uint64_t> key_share_numbers(const client_hello& h) {
    std::vector<std::uint64_t> out;
    for (const auto& k : h.key_shares) {
        out.push_back(k.group);
        out.push_back(k.key_length);
    }
    return out;
}

/// Every field hello_capture.py decodes, against its JSON.
void expect_matches_json(const client_hello& h, const std::string& json) {
    using test::json_numbers;
    EXPECT_EQ(h.legacy_version, json_numbers(json, "legacy_version").at(0));
    EXPECT_EQ(widen(h.cipher_suites), json_numbers(json, "ciphers"));
    EXPECT_EQ(widen(h.extension_types()), json_numbers(json, "extensions"));
    EXPECT_EQ(widen(h.supported_groups), json_numbers(json, "groups"));
    EXPECT_EQ(widen(h.signature_algorithms), json_numbers(json, "sigalgs"));
    EXPECT_EQ(widen(h.supported_versions), json_numbers(json, "versions"));
    EXPECT_EQ(key_share_numbers(h), json_numbers(json, "key_shares"));
    EXPECT_EQ(widen(h.cert_compression_algorithms), json_numbers(json, "cert_compression"));
    EXPECT_EQ(widen(h.ec_point_formats), json_numbers(json, "ec_point_formats"));
}

TEST(ClientHello, Chromium156Capture) {
    const auto record = test::read_capture("chromium156.bin");
    const auto json = test::read_file(test::fingerprint_data_dir() / "chromium156.json");
    auto parsed = parse_client_hello_record(record);
    ASSERT_TRUE(parsed) << parsed.error().message();
    const client_hello& h = *parsed;
    expect_matches_json(h, json);
    EXPECT_EQ(h.wire_size, record.size());
    EXPECT_EQ(h.record_version >> 8, 3);
    EXPECT_EQ(h.session_id.size(), 32u);
    EXPECT_EQ(h.compression_methods, (bytes{0}));
    EXPECT_EQ(h.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
    EXPECT_TRUE(h.alps_old.empty());
    EXPECT_EQ(h.alps_new, (std::vector<std::string>{"h2"}));
    ASSERT_TRUE(h.server_name);
    EXPECT_EQ(*h.server_name, "localhost");
    EXPECT_TRUE(h.status_request);
    EXPECT_TRUE(h.signed_certificate_timestamp);
    EXPECT_TRUE(h.encrypted_client_hello);
    EXPECT_TRUE(h.session_ticket);
    EXPECT_FALSE(h.delegated_credentials);
    EXPECT_FALSE(h.record_size_limit);
    EXPECT_EQ(h.psk_key_exchange_modes, (bytes{1}));
    EXPECT_TRUE(is_grease(h.cipher_suites.front()));
    EXPECT_TRUE(is_grease(h.extensions.front().type));
    EXPECT_TRUE(is_grease(h.extensions.back().type));
    EXPECT_TRUE(h.has_extension(51764));
}

TEST(ClientHello, Firefox153Capture) {
    const auto record = test::read_capture("firefox153.bin");
    const auto json = test::read_file(test::fingerprint_data_dir() / "firefox153.json");
    auto parsed = parse_client_hello_record(record);
    ASSERT_TRUE(parsed) << parsed.error().message();
    const client_hello& h = *parsed;
    expect_matches_json(h, json);
    EXPECT_EQ(h.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
    EXPECT_TRUE(h.alps_old.empty());
    EXPECT_TRUE(h.alps_new.empty());
    ASSERT_TRUE(h.server_name);
    EXPECT_EQ(*h.server_name, "localhost");
    EXPECT_TRUE(h.delegated_credentials);
    EXPECT_EQ(h.delegated_credential_signature_algorithms,
              (std::vector<std::uint16_t>{1027, 1283, 1539, 515}));
    ASSERT_TRUE(h.record_size_limit);
    EXPECT_EQ(*h.record_size_limit, 16385);
    EXPECT_TRUE(h.encrypted_client_hello);
    EXPECT_TRUE(h.status_request);
    EXPECT_TRUE(h.signed_certificate_timestamp);
    EXPECT_FALSE(h.padding_length);
    for (auto c : h.cipher_suites) {
        EXPECT_FALSE(is_grease(c));
    }
}

TEST(ClientHello, BareMessageMatchesRecord) {
    const auto record = test::read_capture("firefox153.bin");
    const std::span<const std::uint8_t> message(record.data() + 5, record.size() - 5);
    auto from_message = parse_client_hello_message(message);
    ASSERT_TRUE(from_message) << from_message.error().message();
    EXPECT_EQ(from_message->record_version, 0);
    EXPECT_EQ(from_message->wire_size, message.size());
    auto from_record = parse_client_hello_record(record);
    ASSERT_TRUE(from_record);
    EXPECT_EQ(from_message->cipher_suites, from_record->cipher_suites);
    EXPECT_EQ(from_message->extension_types(), from_record->extension_types());
}

TEST(ClientHello, IsGrease) {
    int count = 0;
    for (std::uint32_t v = 0; v <= 0xffff; ++v) {
        count += is_grease(static_cast<std::uint16_t>(v)) ? 1 : 0;
    }
    EXPECT_EQ(count, 16);
    EXPECT_TRUE(is_grease(0x0a0a));
    EXPECT_TRUE(is_grease(0xfafa));
    EXPECT_TRUE(is_grease(51914));  // 0xcaca, Chromium's last extension above
    EXPECT_FALSE(is_grease(0x0a1a));
    EXPECT_FALSE(is_grease(0x1301));
}

TEST(ClientHello, EveryTruncationFails) {
    for (const char* name : {"chromium156.bin", "firefox153.bin"}) {
        const auto record = test::read_capture(name);
        for (std::size_t n = 0; n < record.size(); ++n) {
            auto parsed = parse_client_hello_record(std::span(record.data(), n));
            ASSERT_FALSE(parsed) << name << " truncated to " << n;
            EXPECT_EQ(parsed.error(), client_hello_errc::truncated) << name << " at " << n;
        }
        // The same as a bare message.
        const std::span<const std::uint8_t> message(record.data() + 5, record.size() - 5);
        for (std::size_t n = 0; n < message.size(); ++n) {
            auto parsed = parse_client_hello_message(message.first(n));
            ASSERT_FALSE(parsed) << name << " message truncated to " << n;
            EXPECT_EQ(parsed.error(), client_hello_errc::truncated);
        }
        // And as a record whose header length is patched to match: the
        // handshake length then overruns the record, or the extensions block
        // does.
        for (std::size_t n = 5; n < record.size(); ++n) {
            bytes cut(record.begin(), record.begin() + static_cast<std::ptrdiff_t>(n));
            cut[3] = static_cast<std::uint8_t>((n - 5) >> 8);
            cut[4] = static_cast<std::uint8_t>(n - 5);
            auto parsed = parse_client_hello_record(cut);
            EXPECT_FALSE(parsed) << name << " patched record of " << n;
        }
    }
}

// --- A small ClientHello builder for the malformed cases. ---

void put16(bytes& out, std::size_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

struct hello_parts {
    std::uint16_t version = 0x0303;
    bytes session_id = bytes(32, 0x11);
    std::vector<std::uint16_t> ciphers = {0x1301, 0x1302};
    bytes compression = {0};
    std::vector<std::pair<std::uint16_t, bytes>> extensions = {
        {0, {0, 6, 0, 0, 3, 'a', '.', 'b'}},
        {43, {2, 3, 4}},
    };
    bool omit_extensions = false;
};

bytes body_of(const hello_parts& p) {
    bytes b;
    put16(b, p.version);
    b.insert(b.end(), 32, 0x42);
    b.push_back(static_cast<std::uint8_t>(p.session_id.size()));
    b.insert(b.end(), p.session_id.begin(), p.session_id.end());
    put16(b, p.ciphers.size() * 2);
    for (auto c : p.ciphers) {
        put16(b, c);
    }
    b.push_back(static_cast<std::uint8_t>(p.compression.size()));
    b.insert(b.end(), p.compression.begin(), p.compression.end());
    if (!p.omit_extensions) {
        bytes ext;
        for (const auto& [type, body] : p.extensions) {
            put16(ext, type);
            put16(ext, body.size());
            ext.insert(ext.end(), body.begin(), body.end());
        }
        put16(b, ext.size());
        b.insert(b.end(), ext.begin(), ext.end());
    }
    return b;
}

bytes message_of(const bytes& body) {
    bytes m = {1, static_cast<std::uint8_t>(body.size() >> 16),
               static_cast<std::uint8_t>(body.size() >> 8), static_cast<std::uint8_t>(body.size())};
    m.insert(m.end(), body.begin(), body.end());
    return m;
}

bytes record_of(const bytes& payload) {
    bytes r = {22, 3, 1};
    put16(r, payload.size());
    r.insert(r.end(), payload.begin(), payload.end());
    return r;
}

bytes record_of(const hello_parts& p) {
    return record_of(message_of(body_of(p)));
}

std::error_code error_of(const bytes& record) {
    auto parsed = parse_client_hello_record(record);
    return parsed ? std::error_code{} : parsed.error();
}

TEST(ClientHello, BuilderBaselineParses) {
    auto parsed = parse_client_hello_record(record_of(hello_parts{}));
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->server_name, "a.b");
    EXPECT_EQ(parsed->supported_versions, (std::vector<std::uint16_t>{0x0304}));

    hello_parts no_ext;
    no_ext.omit_extensions = true;
    auto bare = parse_client_hello_record(record_of(no_ext));
    ASSERT_TRUE(bare) << bare.error().message();
    EXPECT_TRUE(bare->extensions.empty());
}

TEST(ClientHello, RecordLayerErrors) {
    const auto good = record_of(hello_parts{});
    auto alert = good;
    alert[0] = 21;
    EXPECT_EQ(error_of(alert), client_hello_errc::not_handshake);
    auto sslv2 = good;
    sslv2[1] = 2;
    EXPECT_EQ(error_of(sslv2), client_hello_errc::bad_record);
    // A record length over 2^14 is refused before the bytes are awaited.
    bytes huge = {22, 3, 1, 0x40, 0x01};
    EXPECT_EQ(error_of(huge), client_hello_errc::too_large);
    // Not a ClientHello (a ServerHello, type 2).
    auto server_hello = good;
    server_hello[5] = 2;
    EXPECT_EQ(error_of(server_hello), client_hello_errc::not_client_hello);
    // An empty record.
    EXPECT_EQ(error_of(bytes{22, 3, 1, 0, 0}), client_hello_errc::bad_length);
    // The hello split over two records: the first one holds only part.
    const auto message = message_of(body_of(hello_parts{}));
    const bytes first_half(message.begin(), message.begin() + 20);
    EXPECT_EQ(error_of(record_of(first_half)), client_hello_errc::fragmented);
    const bytes tiny(message.begin(), message.begin() + 2);
    EXPECT_EQ(error_of(record_of(tiny)), client_hello_errc::fragmented);
    // A second handshake message after the hello in the same record.
    auto two = message;
    two.insert(two.end(), {20, 0, 0, 0});
    EXPECT_EQ(error_of(record_of(two)), client_hello_errc::bad_length);
    // Bytes after the record are not examined.
    auto trailing = good;
    trailing.insert(trailing.end(), {23, 3, 3, 0, 1, 0});
    auto parsed = parse_client_hello_record(trailing);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->wire_size, good.size());
}

TEST(ClientHello, MessageSizeLimit) {
    hello_parts p;
    p.extensions.push_back({21, bytes(2000, 0)});
    const auto message = message_of(body_of(p));
    parse_options small;
    small.max_message_size = 1000;
    auto parsed = parse_client_hello_message(message, small);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error(), client_hello_errc::too_large);
    EXPECT_EQ(parse_client_hello_record(record_of(message), small).error(),
              client_hello_errc::too_large);
    auto ok = parse_client_hello_message(message);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->padding_length, 2000u);
    // A bare message with bytes after it.
    auto longer = message;
    longer.push_back(0);
    EXPECT_EQ(parse_client_hello_message(longer).error(), client_hello_errc::bad_length);
    EXPECT_EQ(parse_client_hello_message(bytes{2, 0, 0, 0}).error(),
              client_hello_errc::not_client_hello);
}

TEST(ClientHello, BodyErrors) {
    struct body_case {
        const char* name;
        std::function<void(hello_parts&)> mutate;
        client_hello_errc expected;
    };
    const std::vector<body_case> cases = {
        {"session id of 33 bytes", [](hello_parts& p) { p.session_id.assign(33, 0); },
         client_hello_errc::bad_length},
        {"no cipher suites", [](hello_parts& p) { p.ciphers.clear(); },
         client_hello_errc::bad_length},
        {"no compression methods", [](hello_parts& p) { p.compression.clear(); },
         client_hello_errc::bad_length},
        {"duplicate extension",
         [](hello_parts& p) {
             p.extensions.push_back({43, {2, 3, 4}});
         },
         client_hello_errc::duplicate_extension},
        {"duplicate GREASE extension",
         [](hello_parts& p) {
             p.extensions.push_back({0x1a1a, {}});
             p.extensions.push_back({0x1a1a, {}});
         },
         client_hello_errc::duplicate_extension},
        {"empty ALPN name",
         [](hello_parts& p) {
             p.extensions.push_back({16, {0, 1, 0}});
         },
         client_hello_errc::bad_extension},
        {"ALPN name overruns",
         [](hello_parts& p) {
             p.extensions.push_back({16, {0, 3, 5, 'h', '2'}});
         },
         client_hello_errc::bad_extension},
        {"ALPN with trailing byte",
         [](hello_parts& p) {
             p.extensions.push_back({16, {0, 3, 2, 'h', '2', 0}});
         },
         client_hello_errc::bad_extension},
        {"odd groups",
         [](hello_parts& p) {
             p.extensions.push_back({10, {0, 3, 0, 29, 0}});
         },
         client_hello_errc::bad_extension},
        {"empty groups",
         [](hello_parts& p) {
             p.extensions.push_back({10, {0, 0}});
         },
         client_hello_errc::bad_extension},
        {"sigalgs overrun",
         [](hello_parts& p) {
             p.extensions.push_back({13, {0, 4, 4, 3}});
         },
         client_hello_errc::bad_extension},
        {"versions odd",
         [](hello_parts& p) {
             p.extensions[1].second = {3, 3, 4, 3};
         },
         client_hello_errc::bad_extension},
        {"key share without key",
         [](hello_parts& p) {
             p.extensions.push_back({51, {0, 4, 0, 29, 0, 0}});
         },
         client_hello_errc::bad_extension},
        {"key share overrun",
         [](hello_parts& p) {
             p.extensions.push_back({51, {0, 6, 0, 29, 0, 32, 1, 2}});
         },
         client_hello_errc::bad_extension},
        {"record_size_limit of 3 bytes",
         [](hello_parts& p) {
             p.extensions.push_back({28, {0x40, 0x01, 0}});
         },
         client_hello_errc::bad_extension},
        {"empty SNI list",
         [](hello_parts& p) {
             p.extensions[0].second = {0, 0};
         },
         client_hello_errc::bad_extension},
        {"empty host name",
         [](hello_parts& p) {
             p.extensions[0].second = {0, 3, 0, 0, 0};
         },
         client_hello_errc::bad_extension},
        {"cert compression odd",
         [](hello_parts& p) {
             p.extensions.push_back({27, {3, 0, 2, 0}});
         },
         client_hello_errc::bad_extension},
        {"ALPS name overrun",
         [](hello_parts& p) {
             p.extensions.push_back({17613, {0, 3, 9, 'h', '2'}});
         },
         client_hello_errc::bad_extension},
        {"ec point formats empty",
         [](hello_parts& p) {
             p.extensions.push_back({11, {0}});
         },
         client_hello_errc::bad_extension},
        {"psk modes overrun",
         [](hello_parts& p) {
             p.extensions.push_back({45, {2, 1}});
         },
         client_hello_errc::bad_extension},
        {"delegated credentials empty",
         [](hello_parts& p) {
             p.extensions.push_back({34, {}});
         },
         client_hello_errc::bad_extension},
    };
    for (const auto& c : cases) {
        hello_parts p;
        c.mutate(p);
        EXPECT_EQ(error_of(record_of(p)), c.expected) << c.name;
    }
}

TEST(ClientHello, LengthFieldErrors) {
    // Odd cipher suite length: patch the length in place.
    auto body = body_of(hello_parts{});
    const std::size_t cipher_len_at = 2 + 32 + 1 + 32;
    body[cipher_len_at + 1] = 3;  // 3 bytes of ciphers, then the rest shifts
    EXPECT_FALSE(parse_client_hello_message(message_of(body)));

    // An extension whose length overruns the extensions block.
    hello_parts p;
    p.extensions = {{43, {2, 3, 4}}};
    auto b = body_of(p);
    b[b.size() - 4] = 9;  // extension body length 3 -> 9
    EXPECT_EQ(parse_client_hello_message(message_of(b)).error(), client_hello_errc::bad_length);

    // Bytes after the extensions block, inside the message.
    auto extra = body_of(hello_parts{});
    extra.push_back(0);
    EXPECT_EQ(parse_client_hello_message(message_of(extra)).error(), client_hello_errc::bad_length);

    // Extensions block length larger than what is left.
    auto overrun = body_of(hello_parts{});
    const std::size_t ext_len_at = 2 + 32 + 1 + 32 + 2 + 4 + 1 + 1;
    overrun[ext_len_at] = 0x7f;
    EXPECT_EQ(parse_client_hello_message(message_of(overrun)).error(),
              client_hello_errc::truncated);
}

TEST(ClientHello, ErrorMessagesAreSentences) {
    for (int e = 1; e <= static_cast<int>(client_hello_errc::bad_extension); ++e) {
        const std::error_code ec = static_cast<client_hello_errc>(e);
        EXPECT_EQ(std::string(ec.category().name()), "corvid.client_hello");
        EXPECT_EQ(ec.message().find("unknown"), std::string::npos) << e;
    }
}

}  // namespace
}  // namespace corvid::tls_wire
