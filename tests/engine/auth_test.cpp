// Token lookup and the principal of an engine request (engine/auth.hpp):
// where the token comes from, precedence, anonymous access, the cross-site
// cookie check.

#include "engine/auth.hpp"

#include <gtest/gtest.h>

namespace {

using corvid::headers;
using corvid::engine::auth_settings;
using corvid::engine::authenticate;
using corvid::engine::cookie_value;
using corvid::engine::cross_site_cookie;
using corvid::engine::find_token;
using corvid::engine::principal;
using corvid::engine::query_values;
using corvid::engine::target_path;
using corvid::engine::token_source;

TEST(EngineAuth, QueryValuesAndPath) {
    EXPECT_EQ(target_path("/sse?ch=a"), "/sse");
    EXPECT_EQ(target_path("/ws"), "/ws");
    EXPECT_EQ(query_values("/sse?ch=a&ch=b%2Ec&x=1&ch", "ch"),
              (std::vector<std::string>{"a", "b.c", ""}));
    EXPECT_TRUE(query_values("/sse", "ch").empty());
    EXPECT_EQ(query_values("/sse?ch=a#frag&ch=b", "ch"), std::vector<std::string>{"a"});
}

TEST(EngineAuth, CookieParsing) {
    headers h{{"Cookie", "a=1; access_token=abc.def.ghi ; b=2"}, {"Cookie", "c=\"quoted\""}};
    EXPECT_EQ(cookie_value(h, "access_token"), "abc.def.ghi");
    EXPECT_EQ(cookie_value(h, "c"), "quoted");
    EXPECT_FALSE(cookie_value(h, "missing"));
}

TEST(EngineAuth, TokenPrecedence) {
    headers all{{"Authorization", "Bearer from-header"}, {"Cookie", "access_token=from-cookie"}};
    auto t = find_token(all, "/ws?token=from-query");
    EXPECT_EQ(t.source, token_source::authorization);
    EXPECT_EQ(t.token, "from-header");
    headers cookie{{"Cookie", "access_token=from-cookie"}};
    t = find_token(cookie, "/ws?token=from-query");
    EXPECT_EQ(t.source, token_source::cookie);
    EXPECT_EQ(t.token, "from-cookie");
    t = find_token({}, "/ws?token=from%2Dquery");
    EXPECT_EQ(t.source, token_source::query);
    EXPECT_EQ(t.token, "from-query");
    // Other schemes are not bearer tokens.
    headers basic{{"Authorization", "Basic dXNlcjpwYXNz"}};
    EXPECT_EQ(find_token(basic, "/ws").source, token_source::none);
    headers lower{{"authorization", "bearer  spaced "}};
    EXPECT_EQ(find_token(lower, "/ws").token, "spaced");
}

TEST(EngineAuth, AnonymousOnlyWhenAllowedAndNeverOverABadToken) {
    auto verifier =
        corvid::engine::jwt_verifier::from_secret("0123456789abcdef0123456789abcdef").value();
    auth_settings s;
    s.verifier = &verifier;
    auto missing = authenticate({}, "/ws", s, 1'700'000'000);
    EXPECT_EQ(missing.error(), std::errc::permission_denied);
    s.allow_anonymous = true;
    s.anonymous_channels = {"public.*"};
    auto anon = authenticate({}, "/ws", s, 1'700'000'000);
    ASSERT_TRUE(anon);
    EXPECT_TRUE(anon->anonymous);
    EXPECT_EQ(anon->claims.channels, std::vector<std::string>{"public.*"});
    EXPECT_TRUE(anon->claims.publish.empty());
    // A token that is present is verified even with anonymous access on.
    auto bad = authenticate({}, "/ws?token=not.a.jwt", s, 1'700'000'000);
    EXPECT_FALSE(bad);
    EXPECT_EQ(bad.error().category(), corvid::jwt_category());
}

TEST(EngineAuth, CrossSiteCookie) {
    principal by_cookie;
    by_cookie.source = token_source::cookie;
    principal by_header;
    by_header.source = token_source::authorization;
    headers same{{"Host", "app.example:8080"}, {"Origin", "https://app.example:8080"}};
    headers other{{"Host", "app.example:8080"}, {"Origin", "https://evil.example"}};
    headers no_origin{{"Host", "app.example:8080"}};
    std::vector<std::string> none;
    EXPECT_FALSE(cross_site_cookie(by_cookie, same, none));
    EXPECT_TRUE(cross_site_cookie(by_cookie, other, none));
    EXPECT_FALSE(cross_site_cookie(by_cookie, no_origin, none));
    EXPECT_FALSE(cross_site_cookie(by_header, other, none));
    std::vector<std::string> allowed{"https://evil.example"};
    EXPECT_FALSE(cross_site_cookie(by_cookie, other, allowed));
}

}  // namespace
