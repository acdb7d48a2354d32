// Loading browser profiles: the built-in files parse and say what the
// captures say; a user's file loads from a path; every malformed shape is
// refused with the field named, never half-loaded.

#include "corvid/profile.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "corvid/error.hpp"

namespace corvid {
namespace {

TEST(Profile, BuiltinNamesStartWithNone) {
    const auto names = profile::builtin_names();
    ASSERT_GE(names.size(), 3u);
    EXPECT_EQ(names[0], "none");
    EXPECT_NE(std::find(names.begin(), names.end(), "chrome"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "firefox"), names.end());
}

TEST(Profile, ChromeMatchesTheCapture) {
    std::string detail;
    auto p = profile::load("chrome", &detail);
    ASSERT_TRUE(p) << detail;
    const profile& c = **p;
    EXPECT_EQ(c.name, "chrome");
    EXPECT_EQ(c.tls.cipher_suites.size(), 15u);
    EXPECT_EQ(c.tls.cipher_suites.front(), 4865);
    EXPECT_TRUE(c.tls.grease);
    EXPECT_TRUE(c.tls.permute_extensions);
    EXPECT_EQ(c.tls.alps, std::vector<std::string>{"h2"});
    EXPECT_EQ(c.websocket_alpn, std::vector<std::string>{"http/1.1"});
    EXPECT_TRUE(c.websocket_alps.empty());
    ASSERT_EQ(c.http2.settings.size(), 4u);
    EXPECT_EQ(c.http2.settings[2].id, 4);
    EXPECT_EQ(c.http2.settings[2].value, 6291456u);
    EXPECT_EQ(c.http2.connection_window_increment, 15663105u);
    ASSERT_TRUE(c.http2.headers_priority.has_value());
    EXPECT_EQ(c.http2.headers_priority->weight, 256);
    EXPECT_TRUE(c.http2.headers_priority->exclusive);
    EXPECT_EQ(c.http2.pseudo_header_order, "m,a,s,p");
    EXPECT_EQ(c.navigation.fields.get("sec-fetch-mode"), "navigate");
    EXPECT_EQ(c.headers_for(request_kind::fetch).fields.get("sec-fetch-mode"), "cors");
    EXPECT_FALSE(c.gaps.empty());
}

TEST(Profile, FirefoxMatchesTheCapture) {
    std::string detail;
    auto p = profile::load("firefox", &detail);
    ASSERT_TRUE(p) << detail;
    const profile& f = **p;
    EXPECT_FALSE(f.tls.grease);
    EXPECT_EQ(f.tls.cert_compression, (std::vector<std::uint16_t>{1, 2, 3}));
    EXPECT_EQ(f.http2.pseudo_header_order, "m,p,a,s");
    EXPECT_EQ(f.http2.stream_window_increment, 12451840u);
    EXPECT_EQ(f.navigation.fields.get("te"), "trailers");
}

TEST(Profile, UnknownNameIsNotFound) {
    std::string detail;
    auto p = profile::load("netscape", &detail);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error(), profile_errc::not_found);
    EXPECT_NE(detail.find("netscape"), std::string::npos);
    EXPECT_EQ(profile::load("/nonexistent/profile.json").error(), profile_errc::not_found);
}

TEST(Profile, UserFileLoadsFromAPath) {
    const auto dir = std::filesystem::path(::testing::TempDir()) / "corvid-profile-test";
    std::filesystem::create_directories(dir);
    const auto path = dir / "mine.json";
    std::ofstream(path) << R"({"format": "corvid-profile/1", "name": "mine",
        "tls": {"cipher_suites": [4865, 49195], "alpn": ["http/1.1"]},
        "headers": {"navigation": {"fields": [["user-agent", "mine/1"]]}}})";
    std::string detail;
    auto p = profile::load(path.string(), &detail);
    ASSERT_TRUE(p) << detail;
    EXPECT_EQ((*p)->name, "mine");
    EXPECT_EQ((*p)->navigation.fields.get("user-agent"), "mine/1");
    EXPECT_EQ((*p)->websocket_alpn, std::vector<std::string>{"http/1.1"});
}

TEST(Profile, MalformedFilesAreRefusedWithTheFieldNamed) {
    const std::string base_tls = R"("tls": {"cipher_suites": [4865], "alpn": ["h2"]})";
    auto doc = [&](const std::string& extra) {
        return R"({"format": "corvid-profile/1", "name": "x", )" + base_tls +
               (extra.empty() ? "" : ", " + extra) + "}";
    };
    struct bad_case {
        std::string json;
        std::string field;  // expected at the start of the detail
    };
    const std::vector<bad_case> cases{
        {"", "not JSON"},
        {"[1, 2]", "profile"},
        {"{\"format\": \"corvid-profile/2\", \"name\": \"x\", " + base_tls + "}", "format"},
        {doc(R"("colour": "blue")"), "profile"},
        {R"({"format": "corvid-profile/1", "name": "Bad Name", )" + base_tls + "}", "name"},
        {R"({"format": "corvid-profile/1", "name": "none", )" + base_tls + "}", "name"},
        {R"({"format": "corvid-profile/1", "name": "x"})", "tls"},
        {R"({"format": "corvid-profile/1", "name": "x", "tls": {"cipher_suites": [65535], "alpn": ["h2"]}})",
         "tls.cipher_suites"},
        {R"({"format": "corvid-profile/1", "name": "x", "tls": {"cipher_suites": [4865], "alpn": ["h2"], "groups": [4588]}})",
         "tls.groups"},
        {R"({"format": "corvid-profile/1", "name": "x", "tls": {"cipher_suites": [4865], "alpn": ["h2"], "signature_algorithms": [2308]}})",
         "tls.signature_algorithms"},
        {R"({"format": "corvid-profile/1", "name": "x", "tls": {"cipher_suites": [4865], "alpn": ["h2"], "cert_compression": [4]}})",
         "tls.cert_compression"},
        {R"({"format": "corvid-profile/1", "name": "x", "tls": {"cipher_suites": [4865], "alpn": ["h2"], "alps": ["h3"]}})",
         "tls.alps"},
        {R"({"format": "corvid-profile/1", "name": "x", "tls": {"cipher_suites": [4865], "alpn": ["h2"], "min_version": "1.3", "max_version": "1.2"}})",
         "tls.min_version"},
        {R"({"format": "corvid-profile/1", "name": "x", "tls": {"cipher_suites": [4865], "alpn": ["h2"], "grease": "yes"}})",
         "tls.grease"},
        {doc(R"("http2": {"settings": [[4, 2147483648]]})"), "http2.settings"},
        {doc(R"("http2": {"settings": [[2, 2]]})"), "http2.settings"},
        {doc(R"("http2": {"settings": [[5, 100]]})"), "http2.settings"},
        {doc(R"("http2": {"settings": [[1]]})"), "http2.settings"},
        {doc(R"("http2": {"headers_priority": {"weight": 0}})"), "http2.headers_priority.weight"},
        {doc(R"("http2": {"headers_priority": {"weight": 257}})"), "http2.headers_priority.weight"},
        {doc(R"("http2": {"pseudo_header_order": "m,a,s"})"), "http2.pseudo_header_order"},
        {doc(R"("http2": {"pseudo_header_order": "m,a,a,p"})"), "http2.pseudo_header_order"},
        {doc(R"("http2": {"connection_window_increment": -1})"),
         "http2.connection_window_increment"},
        {doc(R"("headers": {"navigation": {"fields": [["User-Agent", "x"]]}})"),
         "headers.navigation.fields"},
        {doc(R"("headers": {"navigation": {"fields": [["x", "a\r\nb"]]}})"),
         "headers.navigation.fields"},
        {doc(R"("headers": {"navigation": {"fields": [["x"]]}})"), "headers.navigation.fields"},
        {doc(R"("headers": {"upload": {"fields": []}})"), "headers"},
        {doc(R"("gaps": [{"field": "x", "colour": "y"}])"), "gaps"},
        {doc(R"("websocket_tls": {"alpn": ["http/1.1"], "alps": ["h2"]})"), "websocket_tls.alps"},
        // Containers of the wrong type (found by profile_fuzz: iterating one
        // crashed the loader).
        {doc(R"("websocket_tls": "x")"), "websocket_tls"},
        {doc(R"("headers": 1)"), "headers"},
        {doc(R"("headers": {"fetch": {"fields": "x"}})"), "headers.fetch.fields"},
        {doc(R"("gaps": {})"), "gaps"},
        {doc(R"("http2": {"settings": 1})"), "http2.settings"},
        {doc(R"("http2": [])"), "http2"},
    };
    for (const auto& c : cases) {
        std::string detail;
        auto p = profile::parse(c.json, &detail);
        ASSERT_FALSE(p) << c.json;
        EXPECT_EQ(p.error(), profile_errc::invalid) << c.json;
        EXPECT_EQ(detail.rfind(c.field, 0), 0u) << c.json << "\n -> " << detail;
    }
    // Over the size limit.
    std::string detail;
    EXPECT_EQ(profile::parse(std::string(2 << 20, ' '), &detail).error(), profile_errc::invalid);
}

}  // namespace
}  // namespace corvid
