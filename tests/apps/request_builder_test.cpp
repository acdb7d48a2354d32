#include "apps/corvid/request_builder.hpp"

#include <gtest/gtest.h>

#include <map>

#include "apps/corvid/exit_codes.hpp"

namespace corvid::cli {
namespace {

options parsed(std::vector<std::string_view> args) {
    auto r = parse_args(args);
    EXPECT_TRUE(r.ok()) << r.error;
    return r.opts;
}

// An in-memory file system for @file arguments.
file_reader files(std::map<std::string, std::string> contents) {
    return [contents](const std::string& path) -> result<std::string> {
        auto it = contents.find(path);
        if (it == contents.end()) {
            return std::make_error_code(std::errc::no_such_file_or_directory);
        }
        return it->second;
    };
}

prepared_inputs prepare(const options& o, std::map<std::string, std::string> fs = {}) {
    auto r = prepare_inputs(o, files(std::move(fs)));
    EXPECT_FALSE(r.error) << r.error->message;
    return r.inputs;
}

request_plan plan(std::vector<std::string_view> args, std::map<std::string, std::string> fs = {}) {
    auto o = parsed(args);
    auto in = prepare(o, std::move(fs));
    auto r = plan_request(o, in, o.urls.at(0), "corvid/test");
    EXPECT_FALSE(r.error) << r.error->message;
    return r.plan;
}

std::vector<std::string> names(const corvid::headers& h) {
    std::vector<std::string> out;
    for (const auto& f : h) {
        out.push_back(f.name + ": " + f.value);
    }
    return out;
}

TEST(CliRequest, DefaultsLikeCurl) {
    auto p = plan({"example.test/a?b"});
    EXPECT_EQ(p.method, "GET");
    EXPECT_EQ(p.url, "http://example.test/a?b");
    EXPECT_EQ(names(p.headers),
              (std::vector<std::string>{"User-Agent: corvid/test", "Accept: */*"}));
    EXPECT_FALSE(p.has_body);
}

TEST(CliRequest, DataJoinsWithAmpersandAndStripsNewlinesFromFiles) {
    auto p = plan({"-d", "a=1", "-d", "@f", "--data-binary", "@f", "--data-raw", "@f", "u"},
                  {{"f", "x=1\r\ny=2\n"}});
    EXPECT_EQ(p.method, "POST");
    EXPECT_TRUE(p.has_body);
    EXPECT_EQ(p.body, "a=1&x=1y=2&x=1\r\ny=2\n&@f");
    EXPECT_EQ(p.headers.get("Content-Type"), "application/x-www-form-urlencoded");
    // Content-Type comes after the -H fields, as curl orders it.
    EXPECT_EQ(p.headers.begin()->name, "User-Agent");
}

TEST(CliRequest, StdinIsTheDashFile) {
    auto p = plan({"--data-binary", "@-", "u"}, {{"-", "raw\nbody"}});
    EXPECT_EQ(p.body, "raw\nbody");
}

TEST(CliRequest, UnreadableDataFileIsReadError) {
    auto o = parsed({"-d", "@missing", "u"});
    auto r = prepare_inputs(o, files({}));
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->exit_code, 26);
    EXPECT_NE(r.error->message.find("'missing'"), std::string::npos) << r.error->message;
}

TEST(CliRequest, DataUrlencodeForms) {
    auto p = plan({"--data-urlencode", "a b&c", "--data-urlencode", "=x y", "--data-urlencode",
                   "name=v/w", "--data-urlencode", "@f", "--data-urlencode", "n@f", "u"},
                  {{"f", "é\n"}});
    EXPECT_EQ(p.body, "a%20b%26c&x%20y&name=v%2Fw&%C3%A9%0A&n=%C3%A9%0A");
}

TEST(CliRequest, JsonSetsTypesAndConcatenates) {
    auto p = plan({"--json", "{\"a\":", "--json", "1}", "u"});
    EXPECT_EQ(p.body, "{\"a\":1}");
    EXPECT_EQ(p.headers.get("Content-Type"), "application/json");
    EXPECT_EQ(p.headers.get("Accept"), "application/json");
}

TEST(CliRequest, MethodChoice) {
    EXPECT_EQ(plan({"-I", "u"}).method, "HEAD");
    EXPECT_EQ(plan({"-X", "PATCH", "-d", "x", "u"}).method, "PATCH");
    EXPECT_EQ(plan({"-X", "PUT", "u"}).method, "PUT");
    auto g = plan({"-G", "-d", "a=1", "-d", "b=2", "http://h/p?q#frag"});
    EXPECT_EQ(g.method, "GET");
    EXPECT_FALSE(g.has_body);
    EXPECT_EQ(g.url, "http://h/p?q&a=1&b=2");
    EXPECT_FALSE(g.headers.contains("Content-Type"));
    EXPECT_EQ(plan({"-G", "-d", "a=1", "http://h/p"}).url, "http://h/p?a=1");
}

TEST(CliRequest, CustomHeadersReplaceRemoveAndEmpty) {
    auto p = plan({"-H", "Accept: x/y", "-H", "X-First: 1", "-H", "User-Agent:", "-H", "X-Empty;",
                   "-H", "X-Ignored", "-H", "X-Semi; not-empty", "-H", "Host: other:81", "-d", "d",
                   "-H", "content-type: text/plain", "u"});
    EXPECT_EQ(names(p.headers), (std::vector<std::string>{"Accept: x/y", "X-First: 1", "X-Empty: ",
                                                          "content-type: text/plain"}));
    EXPECT_EQ(p.host_override, "other:81");
}

TEST(CliRequest, HeaderFileAndAuthAndReferer) {
    auto p = plan({"-H", "@h", "-u", "user:pw", "-e", "http://ref/", "-A", "ua/2", "u"},
                  {{"h", "A: 1\r\n\r\nB: 2\n"}});
    EXPECT_EQ(names(p.headers),
              (std::vector<std::string>{"Authorization: Basic dXNlcjpwdw==", "User-Agent: ua/2",
                                        "Accept: */*", "Referer: http://ref/", "A: 1", "B: 2"}));
}

TEST(CliRequest, EmptyUserAgentSendsNone) {
    auto p = plan({"-A", "", "u"});
    EXPECT_FALSE(p.headers.contains("User-Agent"));
}

TEST(CliRequest, CredentialsFromTheUrl) {
    auto p = plan({"http://us%40r:p%3Aw@h/"});
    EXPECT_EQ(p.headers.get("Authorization"), "Basic " + base64_encode("us@r:p:w"));
    EXPECT_EQ(p.url, "http://h/");
    EXPECT_TRUE(p.parsed.userinfo.empty());
    // -u wins over the URL's userinfo.
    EXPECT_EQ(plan({"-u", "a:b", "http://x:y@h/"}).headers.get("Authorization"),
              "Basic " + base64_encode("a:b"));
    EXPECT_EQ(plan({"-u", "a", "u"}).headers.get("Authorization"), "Basic " + base64_encode("a:"));
}

TEST(CliRequest, CookieStringsJoin) {
    auto p = plan({"-b", "a=1", "-b", "b=2; c=3", "u"});
    EXPECT_EQ(p.headers.get("Cookie"), "a=1; b=2; c=3");
}

TEST(CliRequest, BadUrlsAndSchemes) {
    auto o = parsed({"ftp://h/", "http://ho st/", "http://h:99999/"});
    auto in = prepare(o);
    auto ftp = plan_request(o, in, o.urls[0], "ua");
    ASSERT_TRUE(ftp.error);
    EXPECT_EQ(ftp.error->exit_code, exit_unsupported_protocol);
    for (int i : {1, 2}) {
        auto bad = plan_request(o, in, o.urls[i], "ua");
        ASSERT_TRUE(bad.error) << o.urls[i];
        EXPECT_EQ(bad.error->exit_code, exit_url_malformat);
    }
}

TEST(CliRequest, WriteOutFromFile) {
    auto o = parsed({"-w", "@fmt", "u"});
    EXPECT_EQ(prepare(o, {{"fmt", "%{http_code}\n"}}).write_out, "%{http_code}\n");
    auto missing = prepare_inputs(o, files({}));
    ASSERT_TRUE(missing.error);
    EXPECT_EQ(missing.error->exit_code, 26);
}

TEST(CliRequest, RedirectPolicy) {
    EXPECT_EQ(redirect_for(301, "POST")->method, "GET");
    EXPECT_FALSE(redirect_for(302, "POST")->keep_body);
    EXPECT_EQ(redirect_for(302, "PUT")->method, "PUT");
    EXPECT_TRUE(redirect_for(302, "PUT")->keep_body);
    EXPECT_EQ(redirect_for(303, "PUT")->method, "GET");
    EXPECT_EQ(redirect_for(303, "HEAD")->method, "HEAD");
    EXPECT_EQ(redirect_for(307, "POST")->method, "POST");
    EXPECT_TRUE(redirect_for(308, "POST")->keep_body);
    EXPECT_FALSE(redirect_for(304, "GET"));
    EXPECT_FALSE(redirect_for(200, "GET"));
}

TEST(CliRequest, FollowRedirectDropsBodyAndCrossOriginCredentials) {
    auto p = plan({"-u", "a:b", "-H", "Cookie: c=1", "-H", "X: y", "-d", "z", "http://h/a"});
    auto same = follow_redirect(p, *corvid::url::parse("http://h/b"), *redirect_for(302, "POST"));
    EXPECT_EQ(same.method, "GET");
    EXPECT_FALSE(same.has_body);
    EXPECT_TRUE(same.body.empty());
    EXPECT_FALSE(same.headers.contains("Content-Type"));
    EXPECT_TRUE(same.headers.contains("Authorization"));
    EXPECT_TRUE(same.headers.contains("Cookie"));
    EXPECT_EQ(same.url, "http://h/b");

    auto other =
        follow_redirect(p, *corvid::url::parse("http://other/"), *redirect_for(307, "POST"));
    EXPECT_EQ(other.method, "POST");
    EXPECT_EQ(other.body, "z");
    EXPECT_TRUE(other.headers.contains("Content-Type"));
    EXPECT_FALSE(other.headers.contains("Authorization"));
    EXPECT_FALSE(other.headers.contains("Cookie"));
    EXPECT_TRUE(other.headers.contains("X"));
}

TEST(CliRequest, RemoteFileName) {
    EXPECT_EQ(remote_file_name(*corvid::url::parse("http://h/a/b.txt?x=1")), "b.txt");
    EXPECT_EQ(remote_file_name(*corvid::url::parse("http://h/")), std::nullopt);
    EXPECT_EQ(remote_file_name(*corvid::url::parse("http://h/dir/")), std::nullopt);
}

}  // namespace
}  // namespace corvid::cli
