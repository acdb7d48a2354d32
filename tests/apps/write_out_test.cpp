#include "apps/corvid/write_out.hpp"

#include <gtest/gtest.h>

namespace corvid::cli {
namespace {

std::string out_text(const write_out_result& r) {
    std::string s;
    for (const auto& p : r.pieces) {
        if (p.stream == write_out_stream::out) {
            s += p.text;
        }
    }
    return s;
}

transfer_report sample() {
    transfer_report r;
    r.urlnum = 1;
    r.url = "http://example.test/a";
    r.url_effective = "http://example.test/b";
    r.method = "GET";
    r.scheme = "http";
    r.http_code = 200;
    r.http_version = 11;
    r.num_headers = 2;
    r.num_connects = 1;
    r.num_redirects = 1;
    r.content_type = "text/html";
    r.response_headers.add("Content-Type", "text/html");
    r.response_headers.add("X-Dup", "first");
    r.response_headers.add("x-dup", "second");
    r.remote_ip = "127.0.0.1";
    r.remote_port = 8080;
    r.time_namelookup = 0.000123;
    r.time_connect = 0.0012345;
    r.time_appconnect = 0;
    r.time_starttransfer = 0.5;
    r.time_total = 2.0;
    r.size_download = 1000;
    r.size_header = 54;
    r.exitcode = 0;
    return r;
}

TEST(CliWriteOut, Variables) {
    auto r = sample();
    EXPECT_EQ(out_text(format_write_out("%{http_code} %{response_code} %{http_version}", r)),
              "200 200 1.1");
    EXPECT_EQ(out_text(format_write_out("%{num_connects}/%{num_redirects}/%{num_headers}", r)),
              "1/1/2");
    EXPECT_EQ(out_text(format_write_out("%{url_effective} %{url} %{urlnum}", r)),
              "http://example.test/b http://example.test/a 1");
    EXPECT_EQ(out_text(format_write_out("%{remote_ip}:%{remote_port}", r)), "127.0.0.1:8080");
    EXPECT_EQ(out_text(format_write_out("%{content_type}|%{method}|%{scheme}", r)),
              "text/html|GET|http");
    EXPECT_EQ(out_text(format_write_out("%{size_download} %{size_header} %{speed_download}", r)),
              "1000 54 500");
    EXPECT_EQ(out_text(format_write_out("%{exitcode}%{errormsg}%{ssl_verify_result}", r)), "00");
}

TEST(CliWriteOut, TimesHaveSixDecimals) {
    auto r = sample();
    EXPECT_EQ(out_text(format_write_out(
                  "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_starttransfer} "
                  "%{time_total}",
                  r)),
              "0.000123 0.001235 0.000000 0.500000 2.000000");
    EXPECT_EQ(format_seconds(12.3456789), "12.345679");
    EXPECT_EQ(format_seconds(-1), "0.000000");
}

TEST(CliWriteOut, CodesWithoutAResponse) {
    transfer_report r;
    r.exitcode = 7;
    r.errormsg = "could not connect";
    EXPECT_EQ(out_text(format_write_out("%{http_code} %{http_version} %{exitcode} %{errormsg}", r)),
              "000 0 7 could not connect");
    r.http_version = 10;
    EXPECT_EQ(out_text(format_write_out("%{http_version}", r)), "1.0");
}

TEST(CliWriteOut, HeaderVariableIsCaseInsensitiveAndFirstValue) {
    auto r = sample();
    EXPECT_EQ(
        out_text(format_write_out("[%header{content-type}][%header{X-DUP}][%header{none}]", r)),
        "[text/html][first][]");
}

TEST(CliWriteOut, Escapes) {
    auto r = sample();
    EXPECT_EQ(out_text(format_write_out("a\\nb\\rc\\td\\\\e", r)), "a\nb\rc\td\\e");
    // Unknown escapes and a trailing backslash are copied as written.
    EXPECT_EQ(out_text(format_write_out("\\q\\", r)), "\\q\\");
    EXPECT_EQ(out_text(format_write_out("100%% %x %", r)), "100% %x %");
}

TEST(CliWriteOut, UnterminatedVariableIsLiteral) {
    auto r = sample();
    EXPECT_EQ(out_text(format_write_out("%{http_code", r)), "%{http_code");
    EXPECT_EQ(out_text(format_write_out("%header{x", r)), "%header{x");
}

TEST(CliWriteOut, UnknownVariablesAreReported) {
    auto r = sample();
    auto w = format_write_out("a%{nope}b%{also_not}", r);
    EXPECT_EQ(out_text(w), "ab");
    EXPECT_EQ(w.unknown, (std::vector<std::string>{"nope", "also_not"}));
}

TEST(CliWriteOut, StreamSwitching) {
    auto r = sample();
    auto w = format_write_out("o1%{stderr}e1%{http_code}%{stdout}o2", r);
    std::vector<write_out_piece> want = {{write_out_stream::out, "o1"},
                                         {write_out_stream::err, "e1200"},
                                         {write_out_stream::out, "o2"}};
    EXPECT_EQ(w.pieces, want);
}

}  // namespace
}  // namespace corvid::cli
