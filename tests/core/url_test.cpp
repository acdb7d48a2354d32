#include "corvid/url.hpp"

#include <gtest/gtest.h>

namespace corvid {
namespace {

TEST(Url, ParsesTheCommonShapes) {
    auto u = url::parse("HTTPS://User:pw@Example.COM:8443/a/b?x=1#frag");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->scheme, "https");
    EXPECT_EQ(u->userinfo, "User:pw");
    EXPECT_EQ(u->host, "example.com");
    EXPECT_EQ(u->port, 8443);
    EXPECT_EQ(u->target, "/a/b?x=1");
    EXPECT_EQ(u->authority(), "example.com:8443");
    EXPECT_EQ(u->origin(), "https://example.com:8443");
}

TEST(Url, DefaultsPortAndPath) {
    auto u = url::parse("http://localhost");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->port, 80);
    EXPECT_EQ(u->target, "/");
    EXPECT_EQ(u->authority(), "localhost");
    auto q = url::parse("http://h?x");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->target, "/?x");
}

TEST(Url, Ipv6Literal) {
    auto u = url::parse("http://[::1]:8080/");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->authority(), "[::1]:8080");
}

TEST(Url, RefusesMalformed) {
    for (const char* bad :
         {"", "example.com", "http://", "http://host:0/", "http://host:65536/", "http://host:12x/",
          "http://[::1/", "http://ho st/", "http://a\x01/", "ftp://host/", "://host"}) {
        auto u = url::parse(bad);
        EXPECT_FALSE(u) << bad;
    }
    EXPECT_EQ(url::parse("gopher://x/").error(), client_errc::unsupported_scheme);
}

TEST(Url, ResolvesReferences) {
    auto base = url::parse("http://a/b/c/d;p?q").value();
    auto check = [&](const char* ref, const char* want) {
        auto r = base.resolve(ref);
        ASSERT_TRUE(r) << ref;
        EXPECT_EQ(r->to_string(), want) << ref;
    };
    check("g", "http://a/b/c/g");
    check("./g", "http://a/b/c/g");
    check("g/", "http://a/b/c/g/");
    check("/g", "http://a/g");
    check("//g", "http://g/");
    check("?y", "http://a/b/c/d;p?y");
    check("g?y", "http://a/b/c/g?y");
    check("..", "http://a/b/");
    check("../g", "http://a/b/g");
    check("../../../g", "http://a/g");
    check("https://other:444/x", "https://other:444/x");
}

}  // namespace
}  // namespace corvid
