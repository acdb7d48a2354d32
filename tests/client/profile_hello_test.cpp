// The ClientHello a browser profile really puts on the wire: the client
// connects to a loopback listener that keeps the first TLS record, and the
// record is decoded by corvid's own ClientHello parser (proto/tls) and
// fingerprinted (tls/fingerprint). Every field the TLS library can produce
// must equal the reference capture of the browser (tests/data/fingerprints/).

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <iterator>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>

#include "corvid/client.hpp"
#include "corvid/profile.hpp"
#include "proto/tls/client_hello.hpp"
#include "support/async.hpp"
#include "tls/fingerprint.hpp"

namespace corvid {
namespace {

using tls_wire::is_grease;

std::vector<std::uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string data_path(const std::string& name) {
    return std::string(CORVID_SOURCE_DIR) + "/tests/data/fingerprints/" + name;
}

// Runs a request with client `c` against a listener that records the first
// TLS record the client sends and then closes; returns that record.
std::vector<std::uint8_t> capture_with(asio::io_context& io, client& c) {
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    std::vector<std::uint8_t> record;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto sock = co_await acceptor.async_accept(asio::use_awaitable);
            std::array<std::uint8_t, 5> header{};
            co_await asio::async_read(sock, asio::buffer(header), asio::use_awaitable);
            const std::size_t length = (std::size_t{header[3]} << 8) | header[4];
            record.assign(header.begin(), header.end());
            record.resize(5 + length);
            co_await asio::async_read(sock, asio::buffer(record.data() + 5, length),
                                      asio::use_awaitable);
            sock.close();
        },
        asio::detached);
    request req;
    req.url = "https://localhost:" + std::to_string(port) + "/";
    auto res = test::run(io, c.fetch(std::move(req)));
    EXPECT_FALSE(res);  // the listener never answers
    return record;
}

// The same with a new client using profile `p` (or none).
std::vector<std::uint8_t> capture_hello(std::shared_ptr<const profile> p,
                                        http_version_policy policy = http_version_policy::any) {
    asio::io_context io(1);
    client_options o;
    o.profile = std::move(p);
    o.http_version = policy;
    client c(io.get_executor(), o);
    return capture_with(io, c);
}

// BoringSSL pads a ClientHello whose length falls between 256 and 511 bytes
// to 512 with the padding extension (21), last. Without the browsers' 1.2 KB
// ML-KEM key share, a hello to a short host name such as "localhost" falls
// there when the random ECH GREASE payload is short: a recorded gap of both
// profiles. Returns the hello without it, after checking that it is only that.
tls_wire::client_hello strip_padding(tls_wire::client_hello h, std::size_t record_size) {
    if (!h.extensions.empty() && h.extensions.back().type == 21) {
        // Padded to 512 bytes (the handshake message; the padding extension
        // has at least 1 byte of body, so it may overshoot by up to 4).
        EXPECT_GE(record_size, 5u + 512u);
        EXPECT_LE(record_size, 5u + 516u);
        h.extensions.pop_back();
    }
    EXPECT_TRUE(std::none_of(h.extensions.begin(), h.extensions.end(),
                             [](const auto& e) { return e.type == 21; }));
    return h;
}

tls_wire::client_hello parse(const std::vector<std::uint8_t>& record) {
    auto hello = tls_wire::parse_client_hello_record(record);
    EXPECT_TRUE(hello) << hello.error().message();
    return hello ? *hello : tls_wire::client_hello{};
}

std::vector<std::uint16_t> without_grease(const std::vector<std::uint16_t>& v) {
    std::vector<std::uint16_t> out;
    std::copy_if(v.begin(), v.end(), std::back_inserter(out), [](auto x) { return !is_grease(x); });
    return out;
}

std::vector<std::uint16_t> extension_types(const tls_wire::client_hello& h) {
    std::vector<std::uint16_t> out;
    for (const auto& e : h.extensions) {
        out.push_back(e.type);
    }
    return out;
}

bool has_extension(const tls_wire::client_hello& h, std::uint16_t type) {
    auto types = extension_types(h);
    return std::find(types.begin(), types.end(), type) != types.end();
}

std::shared_ptr<const profile> builtin(const char* name) {
    std::string detail;
    auto p = profile::load(name, &detail);
    EXPECT_TRUE(p) << detail;
    return p ? *p : nullptr;
}

TEST(ProfileHello, ChromeProducesTheReachableChromiumFingerprint) {
    auto chrome = builtin("chrome");
    ASSERT_TRUE(chrome);
    const auto record = capture_hello(chrome);
    const auto hello = strip_padding(parse(record), record.size());
    const auto reference = parse(read_file(data_path("chromium156.bin")));

    EXPECT_EQ(tls::ja4(hello), "t13d1516h2_8daaf6152771_02713d6af862");
    EXPECT_EQ(tls::ja4(hello), chrome->expected_ja4);
    // Ciphers: GREASE first, then exactly Chromium's list.
    ASSERT_FALSE(hello.cipher_suites.empty());
    EXPECT_TRUE(is_grease(hello.cipher_suites.front()));
    EXPECT_EQ(without_grease(hello.cipher_suites), without_grease(reference.cipher_suites));
    // Groups: Chromium's minus X25519MLKEM768 (a gap), GREASE first.
    EXPECT_TRUE(is_grease(hello.supported_groups.front()));
    EXPECT_EQ(without_grease(hello.supported_groups), (std::vector<std::uint16_t>{29, 23, 24}));
    // Signature algorithms: Chromium's minus GREASE and ML-DSA (gaps).
    auto ref_sigalgs = without_grease(reference.signature_algorithms);
    std::erase_if(ref_sigalgs, [](auto s) { return s >= 0x0904 && s <= 0x0906; });
    EXPECT_EQ(hello.signature_algorithms, ref_sigalgs);
    EXPECT_EQ(hello.alpn, reference.alpn);
    EXPECT_EQ(hello.alps_old, std::vector<std::string>{"h2"});  // 17513: 17613 is a gap
    EXPECT_EQ(hello.cert_compression_algorithms, reference.cert_compression_algorithms);
    EXPECT_EQ(hello.supported_versions.size(), 3u);
    EXPECT_TRUE(is_grease(hello.supported_versions.front()));
    EXPECT_EQ(without_grease(hello.supported_versions),
              without_grease(reference.supported_versions));
    // Key shares: GREASE (1 byte) and X25519, Chromium's minus the ML-KEM one.
    ASSERT_EQ(hello.key_shares.size(), 2u);
    EXPECT_TRUE(is_grease(hello.key_shares[0].group));
    EXPECT_EQ(hello.key_shares[1].group, 29);
    // Every extension Chromium sends except the gaps, and nothing else.
    auto ref_types = without_grease(extension_types(reference));
    std::erase_if(ref_types, [](auto t) { return t == 17613 || t == 51764; });
    ref_types.push_back(17513);
    auto types = without_grease(extension_types(hello));
    std::sort(ref_types.begin(), ref_types.end());
    std::sort(types.begin(), types.end());
    EXPECT_EQ(types, ref_types);
    EXPECT_TRUE(is_grease(hello.extensions.front().type));
    EXPECT_TRUE(is_grease(hello.extensions.back().type));
}

TEST(ProfileHello, ChromePermutesItsExtensionsPerConnection) {
    auto chrome = builtin("chrome");
    ASSERT_TRUE(chrome);
    // The chance that 3 random permutations of 16 extensions coincide is nil.
    auto order = [&] {
        const auto record = capture_hello(chrome);
        return without_grease(extension_types(strip_padding(parse(record), record.size())));
    };
    const auto a = order();
    const auto b = order();
    const auto c = order();
    EXPECT_FALSE(a == b && b == c);
}

TEST(ProfileHello, ChromeWebSocketOverHttp11OffersHttp11AloneWithoutAlps) {
    auto chrome = builtin("chrome");
    ASSERT_TRUE(chrome);
    const auto hello = parse(capture_hello(chrome, http_version_policy::http1_1));
    EXPECT_EQ(hello.alpn, std::vector<std::string>{"http/1.1"});
    EXPECT_FALSE(has_extension(hello, 17513));
    EXPECT_TRUE(hello.alps_old.empty());
}

TEST(ProfileHello, FirefoxMatchesEverythingButTheRecordedGaps) {
    auto firefox = builtin("firefox");
    ASSERT_TRUE(firefox);
    const auto record = capture_hello(firefox);
    const auto hello = strip_padding(parse(record), record.size());
    const auto reference = parse(read_file(data_path("firefox153.bin")));
    EXPECT_FALSE(std::any_of(hello.cipher_suites.begin(), hello.cipher_suites.end(), is_grease));
    // The same suites; BoringSSL orders the TLS 1.3 ones itself (a gap).
    auto ours = hello.cipher_suites;
    auto theirs = reference.cipher_suites;
    EXPECT_EQ(std::vector(ours.begin() + 3, ours.end()),
              std::vector(theirs.begin() + 3, theirs.end()));
    std::sort(ours.begin(), ours.end());
    std::sort(theirs.begin(), theirs.end());
    EXPECT_EQ(ours, theirs);
    EXPECT_EQ(hello.supported_groups, (std::vector<std::uint16_t>{29, 23, 24, 25}));
    EXPECT_EQ(hello.signature_algorithms, reference.signature_algorithms);
    EXPECT_EQ(hello.alpn, reference.alpn);
    EXPECT_TRUE(hello.alps_old.empty());
    EXPECT_EQ(hello.cert_compression_algorithms, reference.cert_compression_algorithms);
    EXPECT_EQ(hello.supported_versions, reference.supported_versions);
    EXPECT_TRUE(has_extension(hello, 65037));  // ECH GREASE
    EXPECT_TRUE(has_extension(hello, 5));      // status_request
    EXPECT_TRUE(has_extension(hello, 18));     // SCT
    // Every extension Firefox sends but the gaps (34, 28).
    const auto& padless = hello;
    auto ref_types = extension_types(reference);
    std::erase_if(ref_types, [](auto t) { return t == 34 || t == 28; });
    auto types = extension_types(padless);
    std::sort(ref_types.begin(), ref_types.end());
    std::sort(types.begin(), types.end());
    EXPECT_EQ(types, ref_types);
    EXPECT_EQ(tls::ja4(padless), firefox->expected_ja4);
}

TEST(ProfileHello, SetProfileChangesTheNextConnectionsHello) {
    asio::io_context io(1);
    client c(io.get_executor(), client_options{});
    auto grease_first = [](const std::vector<std::uint8_t>& record) {
        auto h = tls_wire::parse_client_hello_record(record);
        return h && !h->cipher_suites.empty() && is_grease(h->cipher_suites.front());
    };
    EXPECT_FALSE(grease_first(capture_with(io, c)));
    ASSERT_TRUE(c.set_profile(builtin("chrome")));
    EXPECT_TRUE(grease_first(capture_with(io, c)));
    EXPECT_EQ(c.options().profile->name, "chrome");
    ASSERT_TRUE(c.set_profile(nullptr));
    EXPECT_FALSE(grease_first(capture_with(io, c)));
}

TEST(ProfileHello, NoProfileKeepsBoringSslDefaults) {
    const auto hello = parse(capture_hello(nullptr));
    EXPECT_FALSE(std::any_of(hello.cipher_suites.begin(), hello.cipher_suites.end(), is_grease));
    EXPECT_FALSE(has_extension(hello, 17513));
    EXPECT_FALSE(has_extension(hello, 27));
    EXPECT_EQ(hello.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
}

}  // namespace
}  // namespace corvid
