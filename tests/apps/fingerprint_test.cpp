// `corvid fingerprint`, as issue 4's "done when" reads: with --impersonate
// chrome (and firefox) and --compare against the browser's capture, every
// field the library can produce is `match` and the rest `cannot`; plus the
// nghttpd -v log reader the comparison uses.

#include "proto/h2/nghttpd_log.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include <sys/wait.h>

namespace corvid {
namespace {

std::string data(const std::string& name) {
    return std::string(CORVID_SOURCE_DIR) + "/tests/data/fingerprints/" + name;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct output {
    int code = -1;
    std::string out;
};

output run(const std::string& args) {
    const std::string cmd = std::string(CORVID_BUILD_DIR) + "/corvid fingerprint " + args;
    output r;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), buf.size(), pipe.get()) != nullptr) {
        r.out += buf.data();
    }
    const int status = ::pclose(pipe.release());
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(NghttpdLog, ReadsTheChromiumAndFirefoxCaptures) {
    auto chromium = h2::parse_nghttpd_log(slurp(data("chromium156-h2-frames.txt")));
    ASSERT_TRUE(chromium);
    EXPECT_EQ(h2::akamai_string(*chromium), "1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p");
    ASSERT_EQ(chromium->header_blocks.size(), 1u);
    ASSERT_TRUE(chromium->header_blocks[0].priority);
    EXPECT_EQ(chromium->header_blocks[0].priority->weight, 256);
    EXPECT_TRUE(chromium->header_blocks[0].priority->exclusive);
    EXPECT_EQ(chromium->header_blocks[0].fields.size(), 4u + 13u);
    EXPECT_EQ(chromium->header_blocks[0].fields[4].first, "sec-ch-ua");

    // Firefox's first connection closed without a request: the second one counts.
    auto firefox = h2::parse_nghttpd_log(slurp(data("firefox153-h2-frames.txt")));
    ASSERT_TRUE(firefox);
    EXPECT_EQ(h2::akamai_string(*firefox), "1:65536;2:0;4:131072;5:16384|12517377|0|m,p,a,s");
    EXPECT_EQ(firefox->header_blocks[0].priority->weight, 42);
    EXPECT_EQ(firefox->header_blocks[0].fields.back().first, "te");

    EXPECT_FALSE(h2::parse_nghttpd_log(""));
    EXPECT_FALSE(h2::parse_nghttpd_log("IPv4: listen 0.0.0.0:9444\n[id=1] closed\n"));
}

TEST(FingerprintCommand, ChromeMatchesChromiumWhereverTheLibraryCan) {
    auto r = run("--impersonate chrome --compare " + data("chromium156.bin"));
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(has(r.out, " 0 differs")) << r.out;
    EXPECT_TRUE(has(r.out, "cannot (library limit)")) << r.out;
    // Padded or not (see docs/profiles.md), one of the two JA4s.
    EXPECT_TRUE(has(r.out, "JA4     t13d1516h2_8daaf6152771_02713d6af862") ||
                has(r.out, "JA4     t13d1517h2_8daaf6152771_b1ff8ab2d16f"))
        << r.out;
    EXPECT_TRUE(has(r.out, "Akamai  1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p")) << r.out;
    for (const char* row : {"HTTP/2 settings           match", "header order              match",
                            "HTTP/2 HEADERS priority   match", "ciphers                   match"}) {
        EXPECT_TRUE(has(r.out, row)) << row << "\n" << r.out;
    }
}

TEST(FingerprintCommand, FirefoxMatchesFirefoxWhereverTheLibraryCan) {
    auto r = run("--impersonate firefox --compare " + data("firefox153.bin"));
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(has(r.out, " 0 differs")) << r.out;
    EXPECT_TRUE(has(r.out, "Akamai  1:65536;2:0;4:131072;5:16384|12517377|0|m,p,a,s")) << r.out;
}

TEST(FingerprintCommand, PlainClientDiffersFromChromium) {
    auto r = run("--compare " + data("chromium156.bin"));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_FALSE(has(r.out, " 0 differs")) << r.out;
}

TEST(FingerprintCommand, WebSocketHellosMatchTheBrowsersWebSocketCaptures) {
    for (const auto& [name, capture] :
         {std::pair<const char*, const char*>{"chrome", "chromium156-ws-hello.bin"},
          {"firefox", "firefox153-ws-hello.bin"}}) {
        auto r = run(std::string("--impersonate ") + name + " --kind websocket --compare " +
                     data(capture));
        ASSERT_EQ(r.code, 0) << r.out;
        EXPECT_TRUE(has(r.out, "ALPN                      match")) << r.out;
        EXPECT_TRUE(has(r.out, " 0 differs")) << r.out;
    }
}

TEST(FingerprintCommand, WebSocketKindUsesHttp11AndItsHeaders) {
    auto r = run("--impersonate chrome --kind websocket");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(has(r.out, "ALPN    http/1.1")) << r.out;
    EXPECT_TRUE(
        has(r.out, "header order  Host,Connection,Pragma,Cache-Control,User-Agent,Upgrade,"))
        << r.out;
}

TEST(CliProfiles, ListProfilesAndUnknownProfile) {
    const std::string corvid = std::string(CORVID_BUILD_DIR) + "/corvid";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen((corvid + " --list-profiles").c_str(), "r"),
                                               ::pclose);
    std::string out;
    std::array<char, 512> buf{};
    while (std::fgets(buf.data(), buf.size(), pipe.get()) != nullptr) {
        out += buf.data();
    }
    EXPECT_EQ(WEXITSTATUS(::pclose(pipe.release())), 0);
    EXPECT_TRUE(out.starts_with("none ")) << out;
    EXPECT_TRUE(has(out, "\nchrome    Chromium 156")) << out;
    EXPECT_TRUE(has(out, "\nfirefox   Firefox ESR 153")) << out;
    const int status =
        std::system((corvid + " --impersonate netscape https://localhost:1/ 2>/dev/null").c_str());
    EXPECT_EQ(WEXITSTATUS(status), 2);
}

TEST(FingerprintCommand, BadArgumentsAreUsageErrors) {
    EXPECT_EQ(run("--kind upload").code, 2);
    EXPECT_EQ(run("--impersonate netscape").code, 2);
    EXPECT_EQ(run("--compare /nonexistent.bin").code, 2);
}

}  // namespace
}  // namespace corvid
