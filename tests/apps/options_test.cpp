#include "apps/corvid/options.hpp"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace corvid::cli {
namespace {

parse_result parse(std::vector<std::string_view> args) {
    return parse_args(args);
}

TEST(CliOptions, UrlsAndGroupedShortFlags) {
    auto r = parse({"-sSLfik", "http://a/", "https://b/x"});
    ASSERT_TRUE(r.ok()) << r.error;
    const auto& o = r.opts;
    EXPECT_TRUE(o.silent);
    EXPECT_TRUE(o.show_error);
    EXPECT_TRUE(o.location);
    EXPECT_TRUE(o.fail);
    EXPECT_TRUE(o.include);
    EXPECT_TRUE(o.insecure);
    EXPECT_FALSE(o.verbose);
    EXPECT_EQ(o.urls, (std::vector<std::string>{"http://a/", "https://b/x"}));
}

TEST(CliOptions, ShortOptionArgumentAttachedOrSeparate) {
    auto r = parse({"-XPUT", "-H", "A: 1", "-HB: 2", "-o/tmp/x", "-w%{http_code}", "u"});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.opts.method, "PUT");
    EXPECT_EQ(r.opts.headers, (std::vector<std::string>{"A: 1", "B: 2"}));
    ASSERT_EQ(r.opts.outputs.size(), 1u);
    EXPECT_EQ(r.opts.outputs[0].path, "/tmp/x");
    EXPECT_EQ(r.opts.write_out, "%{http_code}");
}

TEST(CliOptions, GroupEndsWithOptionTakingTheNextWord) {
    auto r = parse({"-so", "out.bin", "u"});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_TRUE(r.opts.silent);
    ASSERT_EQ(r.opts.outputs.size(), 1u);
    EXPECT_EQ(r.opts.outputs[0].path, "out.bin");
    EXPECT_EQ(r.opts.urls, std::vector<std::string>{"u"});
}

TEST(CliOptions, LongOptions) {
    auto r = parse({"--request",    "DELETE",   "--header",     "X: y",         "--location",
                    "--max-redirs", "3",        "--verbose",    "--compressed", "--http1.1",
                    "--cacert",     "ca.pem",   "--user-agent", "ua/1",         "--referer",
                    "http://r/",    "--user",   "u:p",          "--cookie-jar", "jar.txt",
                    "--url",        "http://u/"});
    ASSERT_TRUE(r.ok()) << r.error;
    const auto& o = r.opts;
    EXPECT_EQ(o.method, "DELETE");
    EXPECT_EQ(o.headers, std::vector<std::string>{"X: y"});
    EXPECT_TRUE(o.location);
    EXPECT_EQ(o.max_redirs, 3);
    EXPECT_TRUE(o.verbose);
    EXPECT_TRUE(o.compressed);
    EXPECT_TRUE(o.http1_1);
    EXPECT_EQ(o.cacert, "ca.pem");
    EXPECT_EQ(o.user_agent, "ua/1");
    EXPECT_EQ(o.referer, "http://r/");
    EXPECT_EQ(o.user, "u:p");
    EXPECT_EQ(o.cookie_jar, "jar.txt");
    EXPECT_EQ(o.urls, std::vector<std::string>{"http://u/"});
}

TEST(CliOptions, NoFormOfBooleans) {
    auto r = parse({"-s", "--no-silent", "--no-progress-meter", "u"});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_FALSE(r.opts.silent);
    EXPECT_FALSE(r.opts.progress_bar);
    // Options with an argument have no --no- form.
    auto bad = parse({"--no-header", "u"});
    EXPECT_FALSE(bad.ok());
    EXPECT_EQ(bad.error, "option --no-header: is unknown");
}

TEST(CliOptions, DataKindsKeepOrderAndText) {
    auto r = parse({"-d", "a=1", "--data-binary", "@f", "--data-raw", "@x", "--data-urlencode",
                    "n=v w", "--json", "{}", "--data-ascii", "b", "u"});
    ASSERT_TRUE(r.ok()) << r.error;
    using k = data_item::kind;
    std::vector<data_item> want = {{k::ascii, "a=1"},       {k::binary, "@f"}, {k::raw, "@x"},
                                   {k::urlencode, "n=v w"}, {k::json, "{}"},   {k::ascii, "b"}};
    EXPECT_EQ(r.opts.data, want);
}

TEST(CliOptions, OutputsInOrderIncludingRemoteName) {
    auto r = parse({"-o", "a", "-O", "-o", "-", "u1", "u2", "u3"});
    ASSERT_TRUE(r.ok()) << r.error;
    std::vector<output_spec> want = {{false, "a"}, {true, ""}, {false, "-"}};
    EXPECT_EQ(r.opts.outputs, want);
}

TEST(CliOptions, CookieStringOrFile) {
    auto r = parse({"-b", "a=1; b=2", "-b", "cookies.txt", "-b", "c=3", "u"});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.opts.cookie_strings, (std::vector<std::string>{"a=1; b=2", "c=3"}));
    EXPECT_EQ(r.opts.cookie_files, std::vector<std::string>{"cookies.txt"});
}

TEST(CliOptions, Timeouts) {
    auto r = parse({"--max-time", "2.5", "--connect-timeout", "0.25", "u"});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_DOUBLE_EQ(*r.opts.max_time, 2.5);
    EXPECT_DOUBLE_EQ(*r.opts.connect_timeout, 0.25);
    auto m = parse({"-m", "3", "u"});
    ASSERT_TRUE(m.ok());
    EXPECT_DOUBLE_EQ(*m.opts.max_time, 3.0);
    for (auto bad : {"abc", "-1", "1s", "", "nan", "inf"}) {
        auto b = parse({"--max-time", bad, "u"});
        EXPECT_FALSE(b.ok()) << bad;
        EXPECT_EQ(b.error, "option --max-time: expected a proper numerical parameter") << bad;
    }
}

TEST(CliOptions, MaxRedirsBounds) {
    EXPECT_EQ(parse({"--max-redirs", "-1", "u"}).opts.max_redirs, -1);
    EXPECT_EQ(parse({"u"}).opts.max_redirs, 50);
    EXPECT_FALSE(parse({"--max-redirs", "-2", "u"}).ok());
    EXPECT_FALSE(parse({"--max-redirs", "x", "u"}).ok());
}

TEST(CliOptions, UsageErrors) {
    EXPECT_EQ(parse({"--bogus", "u"}).error, "option --bogus: is unknown");
    EXPECT_EQ(parse({"-z", "u"}).error, "option -z: is unknown");
    EXPECT_EQ(parse({"u", "-o"}).error, "option -o: requires parameter");
    EXPECT_EQ(parse({"u", "--output"}).error, "option --output: requires parameter");
    EXPECT_EQ(parse({"-s"}).error, "no URL specified!");
    EXPECT_EQ(parse({}).error, "no URL specified!");
    auto both = parse({"-I", "-d", "x", "u"});
    EXPECT_FALSE(both.ok());
    EXPECT_NE(both.error.find("only select one HTTP request method"), std::string::npos);
    // -G turns the data into a query, so HEAD is fine.
    EXPECT_TRUE(parse({"-I", "-G", "-d", "x", "u"}).ok());
}

TEST(CliOptions, HelpAndVersionNeedNoUrl) {
    EXPECT_TRUE(parse({"--help"}).ok());
    EXPECT_TRUE(parse({"-h"}).opts.help);
    EXPECT_TRUE(parse({"-V"}).opts.version);
}

TEST(CliOptions, DashDashEndsOptionsAndLoneDashIsAUrl) {
    auto r = parse({"--", "-v", "-"});
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_FALSE(r.opts.verbose);
    EXPECT_EQ(r.opts.urls, (std::vector<std::string>{"-v", "-"}));
}

TEST(CliOptions, Proxies) {
    EXPECT_EQ(parse({"-x", "proxy:3128", "u"}).opts.proxy, "http://proxy:3128");
    EXPECT_EQ(parse({"-x", "http://proxy", "u"}).opts.proxy, "http://proxy:1080");
    EXPECT_EQ(parse({"-x", "SOCKS5H://p:9", "u"}).opts.proxy, "socks5h://p:9");
    EXPECT_EQ(parse({"--socks5", "127.0.0.1:1081", "u"}).opts.proxy, "socks5://127.0.0.1:1081");
    EXPECT_EQ(parse({"--socks5-hostname", "p", "u"}).opts.proxy, "socks5h://p:1080");
    // The last proxy option wins.
    EXPECT_EQ(parse({"--socks5", "a:1", "-x", "b:2", "u"}).opts.proxy, "http://b:2");
    EXPECT_FALSE(parse({"-x", "https://p:1", "u"}).ok());
    EXPECT_FALSE(parse({"-x", "socks4://p:1", "u"}).ok());
    EXPECT_FALSE(parse({"-x", "p:99999", "u"}).ok());
    EXPECT_FALSE(parse({"--socks5", "", "u"}).ok());
}

TEST(CliOptions, NormalizeProxy) {
    EXPECT_EQ(normalize_proxy(""), "");
    EXPECT_EQ(normalize_proxy("[::1]:8080"), "http://[::1]:8080");
    EXPECT_EQ(normalize_proxy("[::1]"), "http://[::1]:1080");
    EXPECT_EQ(normalize_proxy("http://p:3128/"), "http://p:3128");
    EXPECT_EQ(normalize_proxy("http://user:pw@p:3128"), "http://user:pw@p:3128");
    EXPECT_EQ(normalize_proxy("http://"), std::nullopt);
    EXPECT_EQ(normalize_proxy("p:"), "http://p:1080");
    EXPECT_EQ(normalize_proxy("[::1"), std::nullopt);
    EXPECT_EQ(normalize_proxy("p:0"), std::nullopt);
}

TEST(CliOptions, ImpersonateAndListProfiles) {
    auto p = parse({"--impersonate", "chrome", "https://example.com/"});
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_EQ(p.opts.impersonate, "chrome");
    EXPECT_FALSE(parse({"--impersonate"}).ok());
    // --list-profiles needs no URL.
    auto l = parse({"--list-profiles"});
    ASSERT_TRUE(l.ok()) << l.error;
    EXPECT_TRUE(l.opts.list_profiles);
    EXPECT_NE(help_text().find("--impersonate"), std::string::npos);
}

TEST(CliOptions, HelpListsOptionsAndExitCodes) {
    auto h = help_text();
    for (auto s : {"--request",
                   "--header",
                   "--data-binary",
                   "--output",
                   "--include",
                   "--head",
                   "--location",
                   "--max-redirs",
                   "--verbose",
                   "--silent",
                   "--show-error",
                   "--fail",
                   "--insecure",
                   "--cacert",
                   "--compressed",
                   "--proxy",
                   "--socks5-hostname",
                   "--cookie-jar",
                   "--http1.1",
                   "--max-time",
                   "--connect-timeout",
                   "--user-agent",
                   "--referer",
                   "--user",
                   "--write-out",
                   "--version",
                   " 22  ",
                   " 60  ",
                   " 97  "}) {
        EXPECT_NE(h.find(s), std::string::npos) << s;
    }
}

}  // namespace
}  // namespace corvid::cli
