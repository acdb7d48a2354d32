#include "corvid/cookies.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace corvid {
namespace {

using clock = cookie_jar::clock;
using namespace std::chrono_literals;

// 2025-01-01 00:00:00 UTC.
const clock::time_point t0 = std::chrono::sys_days{std::chrono::year{2025} / 1 / 1};

url u(std::string_view text) {
    return url::parse(text).value();
}

std::int64_t unix_seconds(clock::time_point t) {
    return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

const cookie* find(const cookie_jar& jar, std::string_view name) {
    for (const auto& c : jar.all()) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

// ---- Parsing ----

TEST(cookie_jar, stores_a_host_only_cookie) {
    cookie_jar jar;
    jar.store(u("http://example.com/"), "a=1", t0);
    ASSERT_EQ(jar.size(), 1u);
    const cookie& c = jar.all()[0];
    EXPECT_EQ(c.name, "a");
    EXPECT_EQ(c.value, "1");
    EXPECT_EQ(c.domain, "example.com");
    EXPECT_EQ(c.path, "/");
    EXPECT_TRUE(c.host_only);
    EXPECT_FALSE(c.secure);
    EXPECT_FALSE(c.http_only);
    EXPECT_FALSE(c.persistent);
    EXPECT_EQ(c.created, t0);

    EXPECT_EQ(jar.header_for(u("http://example.com/x"), t0), "a=1");
    EXPECT_EQ(jar.header_for(u("http://www.example.com/"), t0), "");  // host-only
    EXPECT_EQ(jar.header_for(u("http://example.org/"), t0), "");
    EXPECT_EQ(jar.header_for(u("http://EXAMPLE.com:8080/"), t0), "a=1");  // ports are not isolated
}

TEST(cookie_jar, trims_whitespace_and_reads_attributes_case_insensitively) {
    cookie_jar jar;
    jar.store(u("https://example.com/"),
              "  sid = a b  ; path = /x ;SECURE; httponly; SameSite=lax; Unknown=1", t0);
    ASSERT_EQ(jar.size(), 1u);
    const cookie& c = jar.all()[0];
    EXPECT_EQ(c.name, "sid");
    EXPECT_EQ(c.value, "a b");
    EXPECT_EQ(c.path, "/x");
    EXPECT_TRUE(c.secure);
    EXPECT_TRUE(c.http_only);
    EXPECT_EQ(c.same_site, "Lax");
}

TEST(cookie_jar, same_site_is_normalized_when_known_and_kept_otherwise) {
    cookie_jar jar;
    url from = u("https://example.com/");
    jar.store(from, "a=1; SameSite=STRICT", t0);
    jar.store(from, "b=1; SameSite=none; Secure", t0);
    jar.store(from, "c=1; SameSite=Weird", t0);
    jar.store(from, "d=1", t0);
    EXPECT_EQ(find(jar, "a")->same_site, "Strict");
    EXPECT_EQ(find(jar, "b")->same_site, "None");
    EXPECT_EQ(find(jar, "c")->same_site, "Weird");
    EXPECT_EQ(find(jar, "d")->same_site, "");
    // Not enforced: a client has no site for cookies.
    EXPECT_EQ(jar.header_for(u("https://example.com/"), t0), "a=1; b=1; c=1; d=1");
}

TEST(cookie_jar, quoted_and_empty_values_are_kept_as_sent) {
    cookie_jar jar;
    url from = u("http://example.com/");
    jar.store(from, "q=\"a b\"", t0);
    jar.store(from, "e=", t0);
    EXPECT_EQ(jar.header_for(from, t0), "q=\"a b\"; e=");
}

TEST(cookie_jar, malformed_cookies_are_ignored) {
    cookie_jar jar;
    url from = u("http://example.com/");
    jar.store(from, "", t0);
    jar.store(from, "novalue", t0);
    jar.store(from, "=nameless", t0);
    jar.store(from, "  =x; Path=/", t0);
    jar.store(from, std::string("a\x01") + "=b", t0);
    jar.store(from, "a=b\x7f", t0);
    jar.store(from, "a=b\r\nInjected: yes", t0);
    EXPECT_EQ(jar.size(), 0u);
    jar.store(from, "a\tb=1", t0);  // a tab in the name would break cookie files
    EXPECT_EQ(jar.size(), 0u);
    jar.store(from, "tab=a\tb", t0);  // HTAB is allowed in a value
    EXPECT_EQ(jar.size(), 1u);
}

TEST(cookie_jar, name_and_value_over_the_limit_are_dropped) {
    cookie_jar jar;
    url from = u("http://example.com/");
    std::string at_limit = "n=" + std::string(8 * 1024 - 1, 'v');
    std::string over = "m=" + std::string(8 * 1024, 'v');
    jar.store(from, at_limit, t0);
    jar.store(from, over, t0);
    ASSERT_EQ(jar.size(), 1u);
    EXPECT_EQ(jar.all()[0].name, "n");

    cookie_jar small(cookie_limits{.max_name_value = 4});
    small.store(from, "ab=cd", t0);
    small.store(from, "ab=cde", t0);
    ASSERT_EQ(small.size(), 1u);
    EXPECT_EQ(small.all()[0].value, "cd");
}

// ---- Domain ----

TEST(cookie_jar, domain_attribute_makes_a_domain_cookie) {
    cookie_jar jar;
    jar.store(u("http://www.example.com/"), "a=1; Domain=.EXAMPLE.com", t0);
    ASSERT_EQ(jar.size(), 1u);
    EXPECT_EQ(jar.all()[0].domain, "example.com");
    EXPECT_FALSE(jar.all()[0].host_only);
    EXPECT_EQ(jar.header_for(u("http://example.com/"), t0), "a=1");
    EXPECT_EQ(jar.header_for(u("http://www.example.com/"), t0), "a=1");
    EXPECT_EQ(jar.header_for(u("http://a.b.example.com/"), t0), "a=1");
    EXPECT_EQ(jar.header_for(u("http://notexample.com/"), t0), "");
    EXPECT_EQ(jar.header_for(u("http://example.com.evil.org/"), t0), "");
}

TEST(cookie_jar, domain_equal_to_the_host_is_still_a_domain_cookie) {
    cookie_jar jar;
    jar.store(u("http://example.com/"), "a=1; Domain=example.com", t0);
    ASSERT_EQ(jar.size(), 1u);
    EXPECT_FALSE(jar.all()[0].host_only);
    EXPECT_EQ(jar.header_for(u("http://sub.example.com/"), t0), "a=1");
}

TEST(cookie_jar, domain_that_does_not_match_the_host_is_refused) {
    cookie_jar jar;
    url from = u("http://www.example.com/");
    jar.store(from, "a=1; Domain=other.com", t0);
    jar.store(from, "b=1; Domain=sub.www.example.com", t0);  // more specific than the host
    jar.store(from, "c=1; Domain=ample.com", t0);            // suffix but not at a dot
    EXPECT_EQ(jar.size(), 0u);
}

TEST(cookie_jar, empty_domain_attribute_gives_a_host_only_cookie) {
    cookie_jar jar;
    jar.store(u("http://www.example.com/"), "a=1; Domain=", t0);
    jar.store(u("http://www.example.com/"), "b=1; Domain=.", t0);
    ASSERT_EQ(jar.size(), 2u);
    EXPECT_TRUE(jar.all()[0].host_only);
    EXPECT_TRUE(jar.all()[1].host_only);
    EXPECT_EQ(jar.all()[1].domain, "www.example.com");
}

TEST(cookie_jar, the_last_domain_attribute_wins) {
    cookie_jar jar;
    jar.store(u("http://www.example.com/"), "a=1; Domain=other.com; Domain=example.com", t0);
    ASSERT_EQ(jar.size(), 1u);
    EXPECT_EQ(jar.all()[0].domain, "example.com");
}

TEST(cookie_jar, top_level_domain_is_refused) {
    cookie_jar jar;
    jar.store(u("http://example.com/"), "a=1; Domain=com", t0);
    jar.store(u("http://example.com/"), "b=1; Domain=.com", t0);
    EXPECT_EQ(jar.size(), 0u);
    // A single-label host may still set a host-only cookie naming itself.
    jar.store(u("http://localhost/"), "c=1; Domain=localhost", t0);
    ASSERT_EQ(jar.size(), 1u);
    EXPECT_TRUE(jar.all()[0].host_only);
    EXPECT_EQ(jar.header_for(u("http://localhost/"), t0), "c=1");
    EXPECT_EQ(jar.header_for(u("http://a.localhost/"), t0), "");
}

TEST(cookie_jar, ip_literals_only_match_themselves) {
    cookie_jar jar;
    jar.store(u("http://192.168.0.1/"), "a=1; Domain=0.1", t0);
    jar.store(u("http://192.168.0.1/"), "b=1; Domain=168.0.1", t0);
    EXPECT_EQ(jar.size(), 0u);
    jar.store(u("http://192.168.0.1/"), "c=1; Domain=192.168.0.1", t0);
    jar.store(u("http://192.168.0.1/"), "d=1", t0);
    EXPECT_EQ(jar.size(), 2u);
    EXPECT_EQ(jar.header_for(u("http://192.168.0.1/"), t0), "c=1; d=1");
    EXPECT_EQ(jar.header_for(u("http://10.192.168.0.1/"), t0), "");

    jar.store(u("http://[::1]/"), "v6=1", t0);
    EXPECT_EQ(jar.header_for(u("http://[::1]:8080/"), t0), "v6=1");
}

// ---- Path ----

TEST(cookie_jar, default_path_is_the_request_directory) {
    cookie_jar jar;
    jar.store(u("http://example.com/a/b/c?q=1"), "x=1", t0);
    jar.store(u("http://example.com/top"), "y=1", t0);
    jar.store(u("http://example.com/a/b/c"), "z=1; Path=relative", t0);  // invalid: default
    EXPECT_EQ(find(jar, "x")->path, "/a/b");
    EXPECT_EQ(find(jar, "y")->path, "/");
    EXPECT_EQ(find(jar, "z")->path, "/a/b");
    jar.store(u("http://example.com/a/b/c"), "t=1; Path=/x\ty", t0);  // tab: invalid too
    EXPECT_EQ(find(jar, "t")->path, "/a/b");
}

TEST(cookie_jar, path_matching) {
    cookie_jar jar;
    jar.store(u("http://example.com/"), "d=1; Path=/docs", t0);
    EXPECT_EQ(jar.header_for(u("http://example.com/docs"), t0), "d=1");
    EXPECT_EQ(jar.header_for(u("http://example.com/docs/"), t0), "d=1");
    EXPECT_EQ(jar.header_for(u("http://example.com/docs/web?x=1"), t0), "d=1");
    EXPECT_EQ(jar.header_for(u("http://example.com/doc"), t0), "");
    EXPECT_EQ(jar.header_for(u("http://example.com/docsets"), t0), "");
    EXPECT_EQ(jar.header_for(u("http://example.com/"), t0), "");

    cookie_jar slash;
    slash.store(u("http://example.com/"), "s=1; Path=/docs/", t0);
    EXPECT_EQ(slash.header_for(u("http://example.com/docs/x"), t0), "s=1");
    EXPECT_EQ(slash.header_for(u("http://example.com/docs"), t0), "");
}

TEST(cookie_jar, longer_paths_first_then_older_first) {
    cookie_jar jar;
    url from = u("http://example.com/");
    jar.store(from, "a=1; Path=/", t0);
    jar.store(from, "b=2; Path=/foo", t0 + 1s);
    jar.store(from, "c=3; Path=/", t0 + 2s);
    jar.store(from, "d=4; Path=/foo/bar", t0 + 3s);
    jar.store(from, "e=5; Path=/foo", t0 - 1s);
    EXPECT_EQ(jar.header_for(u("http://example.com/foo/bar"), t0 + 4s), "d=4; e=5; b=2; a=1; c=3");
}

TEST(cookie_jar, same_name_with_different_paths_or_domains_are_distinct) {
    cookie_jar jar;
    jar.store(u("http://www.example.com/"), "id=root; Path=/", t0);
    jar.store(u("http://www.example.com/"), "id=app; Path=/app", t0 + 1s);
    jar.store(u("http://www.example.com/"), "id=dom; Domain=example.com", t0 + 2s);
    EXPECT_EQ(jar.size(), 3u);
    EXPECT_EQ(jar.header_for(u("http://www.example.com/app/x"), t0 + 3s),
              "id=app; id=root; id=dom");
}

// ---- Secure ----

TEST(cookie_jar, secure_cookies_need_a_secure_origin) {
    cookie_jar jar;
    jar.store(u("http://example.com/"), "a=1; Secure", t0);
    EXPECT_EQ(jar.size(), 0u);
    jar.store(u("https://example.com/"), "b=1; Secure", t0);
    ASSERT_EQ(jar.size(), 1u);
    EXPECT_EQ(jar.header_for(u("https://example.com/"), t0), "b=1");
    EXPECT_EQ(jar.header_for(u("http://example.com/"), t0), "");
    EXPECT_EQ(jar.header_for(u("wss://example.com/"), t0), "b=1");
}

TEST(cookie_jar, loopback_over_http_counts_as_secure) {
    cookie_jar jar;
    jar.store(u("http://localhost:8080/"), "a=1; Secure", t0);
    jar.store(u("http://127.0.0.1/"), "b=1; Secure", t0);
    jar.store(u("http://127.1.2.3/"), "c=1; Secure", t0);
    jar.store(u("http://[::1]/"), "d=1; Secure", t0);
    jar.store(u("http://app.localhost/"), "e=1; Secure", t0);
    EXPECT_EQ(jar.size(), 5u);
    EXPECT_EQ(jar.header_for(u("http://localhost/"), t0), "a=1");
    EXPECT_EQ(jar.header_for(u("http://127.0.0.1/"), t0), "b=1");

    // Names that merely look like loopback are not.
    jar.store(u("http://127.0.0.1.example.com/"), "f=1; Secure", t0);
    jar.store(u("http://mylocalhost/"), "g=1; Secure", t0);
    jar.store(u("http://128.0.0.1/"), "h=1; Secure", t0);
    EXPECT_EQ(jar.size(), 5u);
}

TEST(cookie_jar, insecure_origin_cannot_overwrite_or_shadow_a_secure_cookie) {
    cookie_jar jar;
    jar.store(u("https://example.com/"), "s=secret; Secure", t0);
    jar.store(u("http://example.com/"), "s=evil", t0 + 1s);
    jar.store(u("http://example.com/"), "s=shadow; Path=/sub", t0 + 1s);
    jar.store(u("http://www.example.com/"), "s=parent; Domain=example.com", t0 + 1s);
    ASSERT_EQ(jar.size(), 1u);
    EXPECT_EQ(jar.all()[0].value, "secret");
    // Another name is fine, and so is the same name from a secure origin.
    jar.store(u("http://example.com/"), "t=1", t0 + 1s);
    jar.store(u("https://example.com/"), "s=new", t0 + 2s);
    EXPECT_EQ(jar.header_for(u("https://example.com/sub"), t0 + 3s), "s=new; t=1");
}

// ---- Prefixes ----

TEST(cookie_jar, secure_prefix_requires_secure) {
    cookie_jar jar;
    jar.store(u("https://example.com/"), "__Secure-a=1", t0);
    jar.store(u("http://example.com/"), "__Secure-b=1; Secure", t0);
    jar.store(u("https://example.com/"), "__secure-c=1", t0);  // prefix matched in any case
    EXPECT_EQ(jar.size(), 0u);
    jar.store(u("https://example.com/"), "__Secure-d=1; Secure; Domain=example.com; Path=/x", t0);
    EXPECT_EQ(jar.size(), 1u);
}

TEST(cookie_jar, host_prefix_requires_secure_host_only_and_root_path) {
    cookie_jar jar;
    url from = u("https://example.com/app/page");
    jar.store(from, "__Host-a=1; Secure", t0);                              // no Path
    jar.store(from, "__Host-b=1; Path=/", t0);                              // not Secure
    jar.store(from, "__Host-c=1; Secure; Path=/; Domain=example.com", t0);  // Domain
    jar.store(from, "__Host-d=1; Secure; Path=/app", t0);                   // not /
    jar.store(u("http://example.com/"), "__Host-e=1; Secure; Path=/", t0);  // insecure
    jar.store(from, "__HOST-f=1; Path=/", t0);
    EXPECT_EQ(jar.size(), 0u);
    jar.store(from, "__Host-ok=1; Secure; Path=/", t0);
    ASSERT_EQ(jar.size(), 1u);
    EXPECT_TRUE(jar.all()[0].host_only);
    EXPECT_EQ(jar.header_for(u("https://example.com/"), t0), "__Host-ok=1");
    EXPECT_EQ(jar.header_for(u("https://www.example.com/"), t0), "");
}

// ---- Expiry ----

TEST(cookie_jar, max_age_sets_the_expiry) {
    cookie_jar jar;
    url from = u("http://example.com/");
    jar.store(from, "a=1; Max-Age=60", t0);
    ASSERT_EQ(jar.size(), 1u);
    EXPECT_TRUE(jar.all()[0].persistent);
    EXPECT_EQ(jar.all()[0].expires, t0 + 60s);
    EXPECT_EQ(jar.header_for(from, t0 + 59s), "a=1");
    EXPECT_EQ(jar.header_for(from, t0 + 60s), "");
}

TEST(cookie_jar, max_age_wins_over_expires_in_either_order) {
    cookie_jar jar;
    url from = u("http://example.com/");
    jar.store(from, "a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60", t0);
    jar.store(from, "b=1; Max-Age=60; Expires=Fri, 01 Jan 2100 00:00:00 GMT", t0);
    ASSERT_EQ(jar.size(), 2u);
    EXPECT_EQ(find(jar, "a")->expires, t0 + 60s);
    EXPECT_EQ(find(jar, "b")->expires, t0 + 60s);
}

TEST(cookie_jar, invalid_max_age_is_ignored) {
    cookie_jar jar;
    url from = u("http://example.com/");
    jar.store(from, "a=1; Max-Age=abc", t0);
    jar.store(from, "b=1; Max-Age=+60", t0);
    jar.store(from, "c=1; Max-Age=6 0", t0);
    jar.store(from, "d=1; Max-Age=", t0);
    ASSERT_EQ(jar.size(), 4u);
    for (const auto& c : jar.all()) {
        EXPECT_FALSE(c.persistent) << c.name;
    }
}

TEST(cookie_jar, huge_max_age_saturates) {
    cookie_jar jar;
    url from = u("http://example.com/");
    jar.store(from, "a=1; Max-Age=99999999999999999999999999", t0);
    ASSERT_EQ(jar.size(), 1u);
    EXPECT_TRUE(jar.all()[0].persistent);
    EXPECT_GT(jar.all()[0].expires, t0 + std::chrono::hours(24 * 365 * 100));
    EXPECT_EQ(jar.header_for(from, t0 + std::chrono::hours(24 * 365 * 100)), "a=1");
}

TEST(cookie_jar, expires_in_the_formats_servers_send) {
    const auto expected = t0 + 60s;  // 2025-01-01 00:01:00 UTC
    const char* dates[] = {
        "Wed, 01 Jan 2025 00:01:00 GMT",      // RFC 1123
        "Wednesday, 01-Jan-25 00:01:00 GMT",  // RFC 850
        "Wed Jan  1 00:01:00 2025",           // asctime
        "Wed, 01-Jan-2025 00:01:00 GMT",      // common hybrid
        "1 jan 2025 00:01:00",                // no weekday, lower case
        "01 JANUARY 2025 0:1:0 UTC",          // long month, short time fields
        "Wed, 01 Jan 2025 00:01:00 +0000",    // numeric zone (ignored)
    };
    for (const char* date : dates) {
        cookie_jar jar;
        jar.store(u("http://example.com/"), std::string("a=1; Expires=") + date, t0);
        ASSERT_EQ(jar.size(), 1u) << date;
        EXPECT_TRUE(jar.all()[0].persistent) << date;
        EXPECT_EQ(jar.all()[0].expires, expected) << date;
        EXPECT_EQ(jar.header_for(u("http://example.com/"), t0 + 59s), "a=1") << date;
        EXPECT_EQ(jar.header_for(u("http://example.com/"), t0 + 60s), "") << date;
    }
}

TEST(cookie_jar, two_digit_years_follow_rfc_6265) {
    cookie_jar jar;
    jar.store(u("http://example.com/"), "a=1; Expires=Sat, 01 Jan 70 00:00:10 GMT", t0 - 1000s);
    jar.store(u("http://example.com/"), "b=1; Expires=Mon, 01 Jan 69 00:00:00 GMT", t0);
    // 70 is 1970: already expired, so not stored. 69 is 2069.
    EXPECT_EQ(find(jar, "a"), nullptr);
    ASSERT_NE(find(jar, "b"), nullptr);
    EXPECT_EQ(find(jar, "b")->expires,
              clock::time_point(std::chrono::sys_days{std::chrono::year{2069} / 1 / 1}));
}

TEST(cookie_jar, unparseable_expires_is_ignored) {
    const char* dates[] = {
        "",
        "tomorrow",
        "Wed, 30 Feb 2025 00:00:00 GMT",  // no such date
        "Wed, 32 Jan 2025 00:00:00 GMT",
        "Wed, 01 Jan 2025 24:00:00 GMT",
        "Wed, 01 Jan 2025 00:60:00 GMT",
        "Wed, 01 Foo 2025 00:00:00 GMT",
        "Wed, 01 Jan 2025",               // no time
        "Tue, 31 Dec 1600 23:59:59 GMT",  // before 1601
        "2025-01-01T00:01:00Z",
    };
    for (const char* date : dates) {
        cookie_jar jar;
        jar.store(u("http://example.com/"), std::string("a=1; Expires=") + date, t0);
        ASSERT_EQ(jar.size(), 1u) << date;
        EXPECT_FALSE(jar.all()[0].persistent) << date;
    }
}

TEST(cookie_jar, far_future_expires_is_clamped_not_wrapped) {
    cookie_jar jar;
    jar.store(u("http://example.com/"), "a=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT", t0);
    ASSERT_EQ(jar.size(), 1u);
    EXPECT_TRUE(jar.all()[0].persistent);
    EXPECT_GT(jar.all()[0].expires, t0 + std::chrono::hours(24 * 365 * 200));
    EXPECT_EQ(jar.header_for(u("http://example.com/"), t0), "a=1");
}

TEST(cookie_jar, zero_or_negative_max_age_and_past_expires_delete) {
    cookie_jar jar;
    url from = u("http://example.com/");
    jar.store(from, "a=1", t0);
    jar.store(from, "b=1", t0);
    jar.store(from, "c=1", t0);
    jar.store(from, "d=1; Path=/x", t0);
    jar.store(from, "a=; Max-Age=0", t0 + 1s);
    jar.store(from, "b=; Max-Age=-5", t0 + 1s);
    jar.store(from, "c=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", t0 + 1s);
    jar.store(from, "d=; Max-Age=0", t0 + 1s);  // wrong path: deletes nothing
    ASSERT_EQ(jar.size(), 1u);
    EXPECT_EQ(jar.all()[0].name, "d");
    // Deleting what is not there stores nothing.
    jar.store(from, "e=1; Max-Age=0", t0 + 1s);
    EXPECT_EQ(jar.size(), 1u);
}

TEST(cookie_jar, replacement_keeps_the_creation_time_and_order) {
    cookie_jar jar;
    url from = u("http://example.com/");
    jar.store(from, "a=1", t0);
    jar.store(from, "b=2", t0 + 1s);
    jar.store(from, "a=3; HttpOnly; Max-Age=100", t0 + 2s);
    ASSERT_EQ(jar.size(), 2u);
    const cookie* a = find(jar, "a");
    EXPECT_EQ(a->value, "3");
    EXPECT_EQ(a->created, t0);
    EXPECT_TRUE(a->http_only);
    EXPECT_EQ(a->expires, t0 + 102s);
    EXPECT_EQ(jar.header_for(from, t0 + 3s), "a=3; b=2");
}

// ---- Limits ----

TEST(cookie_jar, per_domain_limit_evicts_the_oldest) {
    cookie_jar jar;
    url from = u("http://example.com/");
    for (int i = 0; i < 51; ++i) {
        jar.store(from, "c" + std::to_string(i) + "=1", t0 + std::chrono::seconds(i));
    }
    EXPECT_EQ(jar.size(), 50u);
    EXPECT_EQ(find(jar, "c0"), nullptr);
    EXPECT_NE(find(jar, "c1"), nullptr);
    EXPECT_NE(find(jar, "c50"), nullptr);
    // Other domains are not affected.
    jar.store(u("http://example.org/"), "x=1", t0 + 100s);
    EXPECT_EQ(jar.size(), 51u);
}

TEST(cookie_jar, total_limit_evicts_the_oldest_across_domains) {
    cookie_jar jar(cookie_limits{.max_per_domain = 50, .max_total = 3});
    jar.store(u("http://a.com/"), "a=1", t0);
    jar.store(u("http://b.com/"), "b=1", t0 + 1s);
    jar.store(u("http://c.com/"), "c=1", t0 + 2s);
    jar.store(u("http://d.com/"), "d=1", t0 + 3s);
    EXPECT_EQ(jar.size(), 3u);
    EXPECT_EQ(find(jar, "a"), nullptr);
}

TEST(cookie_jar, expired_cookies_go_before_live_ones) {
    cookie_jar jar(cookie_limits{.max_per_domain = 3});
    url from = u("http://example.com/");
    jar.store(from, "old=1", t0);
    jar.store(from, "short=1; Max-Age=10", t0 + 1s);
    jar.store(from, "mid=1", t0 + 2s);
    jar.store(from, "new=1", t0 + 20s);  // "short" has expired by now
    EXPECT_EQ(jar.size(), 3u);
    EXPECT_NE(find(jar, "old"), nullptr);
    EXPECT_EQ(find(jar, "short"), nullptr);
}

TEST(cookie_jar, default_limits_are_the_documented_ones) {
    cookie_jar jar;
    EXPECT_EQ(jar.limits().max_name_value, 8u * 1024);
    EXPECT_EQ(jar.limits().max_per_domain, 50u);
    EXPECT_EQ(jar.limits().max_total, 3000u);
}

// ---- Netscape format ----

TEST(cookie_jar, netscape_output_format) {
    cookie_jar jar;
    jar.store(u("https://www.example.com/"),
              "sid=abc; Domain=example.com; Secure; HttpOnly; "
              "Max-Age=3600",
              t0);
    jar.store(u("http://www.example.com/app/x"), "pref=dark", t0);
    std::string text = jar.to_netscape(t0);
    EXPECT_EQ(text.rfind("# Netscape HTTP Cookie File\n", 0), 0u) << text;
    std::string expiry = std::to_string(unix_seconds(t0 + 3600s));
    EXPECT_NE(text.find("#HttpOnly_.example.com\tTRUE\t/\tTRUE\t" + expiry + "\tsid\tabc\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\nwww.example.com\tFALSE\t/app\tFALSE\t0\tpref\tdark\n"),
              std::string::npos)
        << text;
    // Expired cookies are not written.
    EXPECT_EQ(jar.to_netscape(t0 + 3600s).find("sid"), std::string::npos);
}

TEST(cookie_jar, netscape_round_trip) {
    cookie_jar jar;
    jar.store(u("https://www.example.com/"),
              "sid=abc; Domain=example.com; Secure; HttpOnly; "
              "Max-Age=3600",
              t0);
    jar.store(u("http://www.example.com/app/x"), "pref=dark", t0);
    jar.store(u("http://example.org/"), "empty=", t0);
    jar.store(u("https://example.org/"), "__Host-t=1; Secure; Path=/; Max-Age=60", t0);
    jar.store(u("http://localhost:8080/"), "tab=a\tb; Max-Age=60", t0);

    cookie_jar copy;
    copy.load_netscape(jar.to_netscape(t0), t0 + 1s);
    ASSERT_EQ(copy.size(), jar.size());
    for (std::size_t i = 0; i < jar.size(); ++i) {
        const cookie& a = jar.all()[i];
        const cookie& b = copy.all()[i];
        EXPECT_EQ(a.name, b.name);
        EXPECT_EQ(a.value, b.value);
        EXPECT_EQ(a.domain, b.domain);
        EXPECT_EQ(a.path, b.path);
        EXPECT_EQ(a.host_only, b.host_only) << a.name;
        EXPECT_EQ(a.secure, b.secure) << a.name;
        EXPECT_EQ(a.http_only, b.http_only) << a.name;
        EXPECT_EQ(a.persistent, b.persistent) << a.name;
        if (a.persistent) {
            EXPECT_EQ(unix_seconds(a.expires), unix_seconds(b.expires)) << a.name;
        }
    }
    EXPECT_EQ(copy.to_netscape(t0), jar.to_netscape(t0));
    for (const char* target : {"https://www.example.com/app/1", "http://example.org/",
                               "https://example.org/", "http://localhost/"}) {
        EXPECT_EQ(copy.header_for(u(target), t0 + 2s), jar.header_for(u(target), t0 + 2s))
            << target;
    }
}

TEST(cookie_jar, reads_a_file_as_curl_writes_it) {
    // Layout of `curl -c`: a header comment, a blank line, then tab-separated
    // lines; domain cookies carry a leading dot, HttpOnly ones a prefix.
    const std::string expiry = std::to_string(unix_seconds(t0 + 86400s));
    std::string text =
        "# Netscape HTTP Cookie File\n"
        "# Comment lines like this one are ignored.\n"
        "\n"
        "#HttpOnly_.example.com\tTRUE\t/\tFALSE\t" +
        expiry +
        "\tsid\tabc123\n"
        "www.example.com\tFALSE\t/app\tTRUE\t0\tpref\tdark\n"
        ".example.com\tTRUE\t/\tFALSE\t" +
        expiry +
        "\tempty\t\n"
        "example.org\tFALSE\t/\tFALSE\t" +
        expiry +
        "\tsix\r\n"                                         // six fields, CRLF
        "example.org\tFALSE\t/\tFALSE\t1000\told\tx\n"      // expired
        "example.org\tMAYBE\t/\tFALSE\t0\tbad1\tx\n"        // bad flag
        "example.org\tFALSE\t/\tFALSE\tsoon\tbad2\tx\n"     // bad expiry
        "example.org\tFALSE\tnoslash\tFALSE\t0\tbad3\tx\n"  // bad path
        "example.org\tFALSE\t/\tFALSE\n"                    // too few fields
        ".com\tTRUE\t/\tFALSE\t0\tbad4\tx\n"                // a TLD
        "..x.org\tFALSE\t/\tFALSE\t0\tbad5\tx\n"            // not a host name
        "#x.org\tFALSE\t/\tFALSE\t0\tbad6\tx\n"             // a comment
        "   \n";
    cookie_jar jar;
    jar.load_netscape(text, t0);
    ASSERT_EQ(jar.size(), 4u) << jar.to_netscape(t0);

    const cookie* sid = find(jar, "sid");
    ASSERT_NE(sid, nullptr);
    EXPECT_EQ(sid->domain, "example.com");
    EXPECT_FALSE(sid->host_only);
    EXPECT_TRUE(sid->http_only);
    EXPECT_TRUE(sid->persistent);
    EXPECT_EQ(sid->expires, t0 + 86400s);

    const cookie* pref = find(jar, "pref");
    ASSERT_NE(pref, nullptr);
    EXPECT_TRUE(pref->host_only);
    EXPECT_TRUE(pref->secure);
    EXPECT_FALSE(pref->persistent);

    ASSERT_NE(find(jar, "six"), nullptr);
    EXPECT_EQ(find(jar, "six")->value, "");

    EXPECT_EQ(jar.header_for(u("https://www.example.com/app/page"), t0),
              "pref=dark; sid=abc123; empty=");
    EXPECT_EQ(jar.header_for(u("http://www.example.com/app/page"), t0), "sid=abc123; empty=");
    EXPECT_EQ(jar.header_for(u("http://example.org/"), t0), "six=");
}

TEST(cookie_jar, loaded_cookies_replace_stored_ones) {
    cookie_jar jar;
    jar.store(u("http://example.com/"), "a=old", t0);
    jar.load_netscape("example.com\tFALSE\t/\tFALSE\t0\ta\tnew\n", t0 + 1s);
    ASSERT_EQ(jar.size(), 1u);
    EXPECT_EQ(jar.all()[0].value, "new");
    EXPECT_EQ(jar.all()[0].created, t0);
}

// ---- Files ----

class cookie_file : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/corvid-cookies-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::remove((dir_ + "/jar.txt").c_str());
        ::rmdir(dir_.c_str());
    }
    std::string dir_;
};

TEST_F(cookie_file, save_then_load) {
    cookie_jar jar;
    auto now = clock::now();
    jar.store(u("https://example.com/"), "a=1; Max-Age=3600; Secure", now);
    jar.store(u("http://example.com/"), "b=2", now);
    std::string path = dir_ + "/jar.txt";
    ASSERT_TRUE(jar.save_file(path).has_value());

    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);  // cookies are credentials

    std::ifstream in(path);
    std::stringstream contents;
    contents << in.rdbuf();
    EXPECT_EQ(contents.str(), jar.to_netscape());

    cookie_jar loaded;
    ASSERT_TRUE(loaded.load_file(path).has_value());
    EXPECT_EQ(loaded.size(), 2u);
    EXPECT_EQ(loaded.header_for(u("https://example.com/")), "a=1; b=2");
}

TEST_F(cookie_file, missing_file_reports_the_system_error) {
    cookie_jar jar;
    auto r = jar.load_file(dir_ + "/absent.txt");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), std::errc::no_such_file_or_directory);

    auto w = jar.save_file(dir_ + "/no/such/dir/jar.txt");
    ASSERT_FALSE(w.has_value());
    EXPECT_EQ(w.error(), std::errc::no_such_file_or_directory);

    auto d = jar.load_file(dir_);  // a directory
    ASSERT_FALSE(d.has_value());
    EXPECT_EQ(d.error(), std::errc::is_a_directory);
}

}  // namespace
}  // namespace corvid
