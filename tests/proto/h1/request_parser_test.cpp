#include "proto/h1/request_parser.hpp"

#include <gtest/gtest.h>

#include <string>

#include "corvid/error.hpp"
#include "proto/h1/h1_test_driver.hpp"

namespace corvid::h1 {
namespace {

using test::bytewise;
using test::split_at;
using test::transcript;
using test::whole;
using namespace std::string_literals;

std::string describe(const request_parser& p) {
    return std::string(p.method()) + " " + std::string(p.target()) + " " +
           std::to_string(p.version()) + " | " + test::dump(p.fields());
}

transcript run(std::vector<std::string_view> pieces, bool eof = false, parser_limits limits = {}) {
    request_parser p(limits);
    p.reset();
    return test::drive(p, pieces, eof, describe);
}

TEST(RequestParser, GetEvents) {
    const std::string msg =
        "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
    request_parser p;
    p.reset();
    EXPECT_TRUE(p.idle());
    std::error_code ec;
    auto ev = p.parse(msg, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(ev.kind, event_kind::head);
    EXPECT_EQ(ev.consumed, msg.size());
    EXPECT_EQ(p.method(), "GET");
    EXPECT_EQ(p.target(), "/index.html?q=1");
    EXPECT_EQ(p.version(), 11);
    EXPECT_EQ(p.fields().get("host"), "example.com");
    EXPECT_EQ(p.body(), body_kind::none);
    EXPECT_FALSE(p.content_length());
    EXPECT_TRUE(p.keep_alive());
    EXPECT_FALSE(p.expects_continue());
    ev = p.parse({}, ec);
    EXPECT_EQ(ev.kind, event_kind::done);
    EXPECT_EQ(ev.consumed, 0u);
}

TEST(RequestParser, PostWithContentLength) {
    const std::string msg =
        "POST /api/publish HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\n\r\n{\"ch\":\"news\"}";
    auto t = run(whole(msg));
    ASSERT_FALSE(t.ec);
    EXPECT_TRUE(t.done);
    EXPECT_EQ(t.body, "{\"ch\":\"news\"}");
}

TEST(RequestParser, ChunkedUploadWithTrailers) {
    const std::string msg =
        "PUT /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
        "4;x=y\r\nabcd\r\n1\r\ne\r\n0\r\nDigest: sha-256=:x:\r\n\r\n";
    request_parser p;
    p.reset();
    std::error_code ec;
    auto ev = p.parse(msg, ec);
    ASSERT_EQ(ev.kind, event_kind::head);
    EXPECT_EQ(p.body(), body_kind::chunked);
    EXPECT_TRUE(p.expects_continue());
    auto t = run(whole(msg));
    EXPECT_EQ(t.body, "abcde");
    EXPECT_EQ(t.trailers, "Digest=sha-256=:x:;");
    EXPECT_TRUE(t.done);
}

const char* const split_cases[] = {
    "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    "3\r\nabc\r\n2;e=\"q\"\r\nde\r\n0\r\nT: v\r\n\r\n",
    "\r\nGET / HTTP/1.0\r\n\r\nGET /next HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
};

TEST(RequestParser, EverySplitGivesTheSameResult) {
    for (std::string_view msg : split_cases) {
        SCOPED_TRACE(testing::PrintToString(std::string(msg)));
        auto expected = run(whole(msg), true);
        EXPECT_TRUE(expected.done || expected.ec);
        for (std::size_t i = 0; i <= msg.size(); ++i) {
            EXPECT_EQ(run(split_at(msg, i), true), expected) << "split at " << i;
        }
        EXPECT_EQ(run(bytewise(msg), true), expected);
    }
}

TEST(RequestParser, LeadingEmptyLineIsSkipped) {
    auto t = run(whole(split_cases[2]));
    ASSERT_FALSE(t.ec);
    EXPECT_EQ(t.heads.at(0), "GET / 10 | ");
    EXPECT_EQ(t.rest, "GET /next HTTP/1.1\r\n\r\n");
}

TEST(RequestParser, PipelinedRequests) {
    const std::string buf =
        "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
        "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
        "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n"
        "GET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    request_parser p;
    std::string_view in = buf;
    std::vector<std::string> got;
    for (int msg = 0; msg < 4; ++msg) {
        p.reset();
        std::string body;
        while (true) {
            std::error_code ec;
            auto ev = p.parse(in, ec);
            ASSERT_FALSE(ec) << ec.message();
            in.remove_prefix(ev.consumed);
            if (ev.kind == event_kind::body) {
                body.append(ev.body);
            }
            if (ev.kind == event_kind::done) {
                break;
            }
            ASSERT_NE(ev.kind, event_kind::need_more);
        }
        got.push_back(std::string(p.target()) + ":" + body + ":" +
                      (p.keep_alive() ? "keep" : "close"));
    }
    EXPECT_TRUE(in.empty());
    EXPECT_EQ(got, (std::vector<std::string>{"/1::keep", "/2:abc:keep", "/3:z:keep", "/4::close"}));
}

TEST(RequestParser, KeepAliveAndExpect) {
    struct row {
        const char* head;
        bool keep_alive;
        bool expects_continue;
    };
    const row rows[] = {
        {"GET / HTTP/1.1\r\n\r\n", true, false},
        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false, false},
        {"GET / HTTP/1.0\r\n\r\n", false, false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, false},
        {"POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", true, true},
        {"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", false, false},
        {"POST / HTTP/1.1\r\nExpect: something\r\nContent-Length: 1\r\n\r\n", true, false},
    };
    for (const auto& r : rows) {
        request_parser p;
        p.reset();
        std::error_code ec;
        auto ev = p.parse(r.head, ec);
        ASSERT_FALSE(ec) << r.head;
        ASSERT_EQ(ev.kind, event_kind::head);
        EXPECT_EQ(p.keep_alive(), r.keep_alive) << r.head;
        EXPECT_EQ(p.expects_continue(), r.expects_continue) << r.head;
    }
}

TEST(RequestParser, TargetForms) {
    for (const char* line : {"GET http://example.com/a?b HTTP/1.1", "OPTIONS * HTTP/1.1",
                             "CONNECT example.com:443 HTTP/1.1", "CONNECT [::1]:8443 HTTP/1.1",
                             "GET /%20a/b;c=d HTTP/1.1", "M-SEARCH * HTTP/1.1"}) {
        request_parser p;
        p.reset();
        std::error_code ec;
        p.parse(std::string(line) + "\r\n\r\n", ec);
        if (std::string_view(line).substr(0, 8) == "M-SEARCH") {
            EXPECT_EQ(ec, http1_errc::bad_target) << line;  // "*" is for OPTIONS only
        } else {
            EXPECT_FALSE(ec) << line << ": " << ec.message();
        }
    }
}

TEST(RequestParser, FinishEof) {
    request_parser p;
    std::error_code ec;
    p.reset();
    auto ev = p.finish_eof(ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(ev.kind, event_kind::need_more);

    p.reset();
    p.parse("GET / HTTP/1.1\r\n", ec);
    p.finish_eof(ec);
    EXPECT_EQ(ec, http1_errc::partial_message);

    p.reset();
    std::string_view post = "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab";
    ev = p.parse(post, ec);
    p.parse(post.substr(ev.consumed), ec);
    p.finish_eof(ec);
    EXPECT_EQ(ec, http1_errc::partial_message);

    p.reset();
    p.parse("GET / HTTP/1.1\r\n\r\n", ec);
    ev = p.finish_eof(ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(ev.kind, event_kind::done);
}

TEST(RequestParser, Limits) {
    parser_limits limits;
    limits.max_header_bytes = 64;
    EXPECT_EQ(run(whole("GET /" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n"), false, limits).ec,
              http1_errc::header_too_large);
    limits = {};
    limits.max_fields = 1;
    EXPECT_EQ(run(whole("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n"), false, limits).ec,
              http1_errc::too_many_headers);
    limits = {};
    limits.max_body_bytes = 3;
    EXPECT_EQ(run(whole("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd"), false, limits).ec,
              http1_errc::body_too_large);
    EXPECT_EQ(run(whole("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n"),
                  false, limits)
                  .ec,
              http1_errc::body_too_large);
}

struct bad_case {
    const char* name;
    std::string input;
    http1_errc expected;
};

std::string get_with(std::string_view fields) {
    return "GET / HTTP/1.1\r\nHost: a\r\n" + std::string(fields) + "\r\n";
}

std::string post_chunked(std::string_view body) {
    return "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(body);
}

const bad_case bad_cases[] = {
    {"double_space", "GET  / HTTP/1.1\r\n\r\n", http1_errc::bad_request_line},
    {"leading_space", " GET / HTTP/1.1\r\n\r\n", http1_errc::bad_request_line},
    {"http09", "GET /\r\n\r\n", http1_errc::bad_request_line},
    {"space_in_target", "GET /a b HTTP/1.1\r\n\r\n", http1_errc::bad_request_line},
    {"tab_separator", "GET\t/ HTTP/1.1\r\n\r\n", http1_errc::bad_request_line},
    {"bare_lf_request_line", "GET / HTTP/1.1\nHost: a\r\n\r\n", http1_errc::bad_request_line},
    {"bare_cr_request_line", "GET / HTTP/1.1\rHost: a\r\n\r\n", http1_errc::bad_request_line},
    {"nul_in_target", "GET /\0 HTTP/1.1\r\n\r\n"s, http1_errc::bad_request_line},
    {"bad_method_char", "G(T / HTTP/1.1\r\n\r\n", http1_errc::bad_method},
    {"bad_method_utf8", "G\xc3\xa9T / HTTP/1.1\r\n\r\n", http1_errc::bad_method},
    {"relative_target", "GET a/b HTTP/1.1\r\n\r\n", http1_errc::bad_target},
    {"fragment_in_target", "GET /a#b HTTP/1.1\r\n\r\n", http1_errc::bad_target},
    {"high_byte_in_target", "GET /\xff HTTP/1.1\r\n\r\n", http1_errc::bad_target},
    {"asterisk_with_get", "GET * HTTP/1.1\r\n\r\n", http1_errc::bad_target},
    {"connect_with_path", "CONNECT /x HTTP/1.1\r\n\r\n", http1_errc::bad_target},
    {"version_1_2", "GET / HTTP/1.2\r\n\r\n", http1_errc::bad_version},
    {"version_2", "GET / HTTP/2.0\r\n\r\n", http1_errc::bad_version},
    {"version_lowercase", "GET / http/1.1\r\n\r\n", http1_errc::bad_request_line},
    {"bare_lf_field", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", http1_errc::bad_header},
    {"bare_lf_end", "GET / HTTP/1.1\r\nHost: a\r\n\n", http1_errc::bad_header},
    {"two_hosts", get_with("Host: b\r\n"), http1_errc::bad_header},
    {"cl_and_te", get_with("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n"),
     http1_errc::chunked_with_content_length},
    {"cl_differs", get_with("Content-Length: 3\r\nContent-Length: 4\r\n"),
     http1_errc::conflicting_content_length},
    {"cl_bad", get_with("Content-Length: 3 4\r\n"), http1_errc::bad_content_length},
    {"te_gzip", get_with("Transfer-Encoding: gzip\r\n"), http1_errc::bad_transfer_encoding},
    {"te_chunked_twice", get_with("Transfer-Encoding: chunked, chunked\r\n"),
     http1_errc::bad_transfer_encoding},
    {"te_xchunked", get_with("Transfer-Encoding: xchunked\r\n"), http1_errc::bad_transfer_encoding},
    {"te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
     http1_errc::bad_transfer_encoding},
    {"obs_fold", get_with("X: a\r\n  b\r\n"), http1_errc::obs_fold},
    {"space_before_colon", get_with("Transfer-Encoding : chunked\r\n"), http1_errc::bad_header},
    {"nul_in_value", get_with("X: a\0\r\n"s), http1_errc::bad_header},
    {"chunk_0x", post_chunked("0x5\r\nhello\r\n0\r\n\r\n"), http1_errc::bad_chunk_size},
    {"chunk_negative", post_chunked("-1\r\n"), http1_errc::bad_chunk_size},
    {"chunk_overflow", post_chunked("fffffffffffffffffff\r\n"), http1_errc::bad_chunk_size},
    {"chunk_no_crlf", post_chunked("5\r\nhello0\r\n\r\n"), http1_errc::bad_chunk},
    {"chunk_bare_lf_size", post_chunked("5\nhello\r\n0\r\n\r\n"), http1_errc::bad_chunk_size},
};

class RequestParserMalformed : public testing::TestWithParam<bad_case> {};

TEST_P(RequestParserMalformed, YieldsTheSpecificError) {
    const auto& c = GetParam();
    std::error_code expected = c.expected;
    EXPECT_EQ(run(whole(c.input), true).ec, expected) << c.input;
    EXPECT_EQ(run(bytewise(c.input), true).ec, expected) << "byte by byte";
}

INSTANTIATE_TEST_SUITE_P(Table, RequestParserMalformed, testing::ValuesIn(bad_cases),
                         [](const testing::TestParamInfo<bad_case>& tp) {
                             return std::string(tp.param.name);
                         });

}  // namespace
}  // namespace corvid::h1
