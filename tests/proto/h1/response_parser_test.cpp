#include "proto/h1/response_parser.hpp"

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

std::string describe(const response_parser& p) {
    return std::to_string(p.version()) + " " + std::to_string(p.status()) + " " +
           std::string(p.reason()) + " | " + test::dump(p.fields());
}

transcript run(std::vector<std::string_view> pieces, bool eof = false, bool head_request = false,
               parser_limits limits = {}) {
    response_parser p(limits);
    p.reset(head_request);
    return test::drive(p, pieces, eof, describe);
}

// --- every event of a simple response --------------------------------------

TEST(ResponseParser, ContentLengthEvents) {
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n";
    const std::string msg = head + "hello";
    response_parser p;
    p.reset();
    EXPECT_TRUE(p.idle());
    std::error_code ec;
    std::string_view in = msg;

    auto ev = p.parse(in, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(ev.kind, event_kind::head);
    EXPECT_EQ(ev.consumed, head.size());
    EXPECT_FALSE(p.idle());
    EXPECT_EQ(p.status(), 200);
    EXPECT_EQ(p.reason(), "OK");
    EXPECT_EQ(p.version(), 11);
    EXPECT_EQ(p.body(), body_kind::length);
    EXPECT_EQ(p.content_length(), 5u);
    EXPECT_TRUE(p.keep_alive());
    ASSERT_EQ(p.fields().size(), 2u);
    EXPECT_EQ(p.fields().get("x-a"), "1");
    in.remove_prefix(ev.consumed);

    ev = p.parse(in, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(ev.kind, event_kind::body);
    EXPECT_EQ(ev.consumed, 5u);
    EXPECT_EQ(ev.body, "hello");
    EXPECT_EQ(ev.body.data(), in.data());  // a view, not a copy
    in.remove_prefix(ev.consumed);

    ev = p.parse(in, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(ev.kind, event_kind::done);
    EXPECT_EQ(ev.consumed, 0u);
    // Done is stable until reset().
    ev = p.parse("HTTP/1.1", ec);
    EXPECT_EQ(ev.kind, event_kind::done);
    EXPECT_EQ(ev.consumed, 0u);
}

TEST(ResponseParser, NeedMoreConsumesEverythingAndBodyIsNotBuffered) {
    response_parser p;
    p.reset();
    std::error_code ec;
    std::string_view first = "HTTP/1.1 200 OK\r\nContent-Le";
    auto ev = p.parse(first, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(ev.kind, event_kind::need_more);
    EXPECT_EQ(ev.consumed, first.size());
    // The rest of the head and the body arrive together: the head event must
    // stop exactly at the end of the head so the body stays in our buffer.
    std::string second = "ngth: 3\r\n\r\nabcHTTP/1.1";
    ev = p.parse(second, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(ev.kind, event_kind::head);
    EXPECT_EQ(ev.consumed, 11u);
    ev = p.parse(std::string_view(second).substr(11), ec);
    EXPECT_EQ(ev.kind, event_kind::body);
    EXPECT_EQ(ev.body, "abc");
    EXPECT_EQ(ev.body.data(), second.data() + 11);
    ev = p.parse(std::string_view(second).substr(14), ec);
    EXPECT_EQ(ev.kind, event_kind::done);
    EXPECT_EQ(ev.consumed, 0u);
}

TEST(ResponseParser, EmptyInput) {
    response_parser p;
    p.reset();
    std::error_code ec;
    auto ev = p.parse({}, ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(ev.kind, event_kind::need_more);
    EXPECT_EQ(ev.consumed, 0u);
    EXPECT_TRUE(p.idle());
}

// --- splitting ---------------------------------------------------------------

const char* const split_cases[] = {
    "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nServer: x\r\n\r\nhello world",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;name=value;q=\"a \\\"b\\\"\"\r\nhello\r\n6 \r\n world\r\nA\r\n0123456789\r\n"
    "0\r\nX-Checksum: abc\r\nX-Other:  2 \r\n\r\n",
    "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
    "HTTP/1.1 200 OK\nContent-Length: 3\n\nabc",
    "\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer: x\r\n\r\nhel\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX",
    "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
};

TEST(ResponseParser, EverySplitGivesTheSameResult) {
    for (std::string_view msg : split_cases) {
        SCOPED_TRACE(testing::PrintToString(std::string(msg)));
        auto expected = run(whole(msg), /*eof=*/true);
        EXPECT_TRUE(expected.done || expected.ec);
        for (std::size_t i = 0; i <= msg.size(); ++i) {
            EXPECT_EQ(run(split_at(msg, i), true), expected) << "split at " << i;
        }
        EXPECT_EQ(run(bytewise(msg), true), expected) << "byte by byte";
    }
}

// --- framing -----------------------------------------------------------------

TEST(ResponseParser, ChunkedWithExtensionsAndTrailers) {
    auto t = run(whole(split_cases[1]));
    ASSERT_FALSE(t.ec) << t.ec.message();
    EXPECT_TRUE(t.done);
    EXPECT_EQ(t.body, "hello world0123456789");
    EXPECT_EQ(t.trailers, "X-Checksum=abc;X-Other=2;");
    EXPECT_EQ(t.rest, "");

    response_parser p;
    p.reset();
    std::error_code ec;
    auto ev = p.parse(split_cases[1], ec);
    EXPECT_EQ(p.body(), body_kind::chunked);
    EXPECT_FALSE(p.content_length());
    EXPECT_TRUE(p.keep_alive());
    EXPECT_EQ(p.trailers().size(), 0u);
    (void)ev;
}

TEST(ResponseParser, ChunkedBodyEventsAreViewsOfEachChunk) {
    std::string msg =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    auto t = run(whole(msg));
    EXPECT_EQ(t.body, "abcde");
    EXPECT_EQ(t.body_events, 2u);
    EXPECT_TRUE(t.done);
}

TEST(ResponseParser, UntilCloseEndsAtEof) {
    const std::string msg = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ";
    response_parser p;
    p.reset();
    std::error_code ec;
    auto ev = p.parse(msg, ec);
    ASSERT_EQ(ev.kind, event_kind::head);
    EXPECT_EQ(p.body(), body_kind::until_close);
    EXPECT_FALSE(p.keep_alive());
    std::string_view rest = std::string_view(msg).substr(ev.consumed);
    ev = p.parse(rest, ec);
    EXPECT_EQ(ev.kind, event_kind::body);
    EXPECT_EQ(ev.body, "part one, ");
    ev = p.parse("part two", ec);
    EXPECT_EQ(ev.kind, event_kind::body);
    EXPECT_EQ(ev.body, "part two");
    ev = p.parse({}, ec);
    EXPECT_EQ(ev.kind, event_kind::need_more);
    ev = p.finish_eof(ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(ev.kind, event_kind::done);
}

TEST(ResponseParser, FinalCodingOtherThanChunkedReadsUntilClose) {
    response_parser p;
    p.reset();
    std::error_code ec;
    p.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(p.body(), body_kind::until_close);
    EXPECT_FALSE(p.keep_alive());

    p.reset();
    p.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(p.body(), body_kind::chunked);

    p.reset();
    p.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(p.body(), body_kind::chunked);
}

TEST(ResponseParser, InterimResponsesThenFinal) {
    auto t = run(whole(split_cases[3]));
    ASSERT_FALSE(t.ec);
    ASSERT_EQ(t.heads.size(), 3u);
    EXPECT_EQ(t.heads[0], "11 100 Continue | ");
    EXPECT_EQ(t.heads[1], "11 103 Early Hints | Link=</a>;");
    EXPECT_EQ(t.heads[2], "11 200 OK | Content-Length=2;");
    EXPECT_EQ(t.body, "ok");
    EXPECT_TRUE(t.done);
}

TEST(ResponseParser, InterimResponseIsNotIdle) {
    response_parser p;
    p.reset();
    std::error_code ec;
    auto ev = p.parse("HTTP/1.1 100 Continue\r\n\r\n", ec);
    EXPECT_EQ(ev.kind, event_kind::head);
    EXPECT_EQ(p.status(), 100);
    EXPECT_FALSE(p.idle());
    p.finish_eof(ec);
    EXPECT_EQ(ec, http1_errc::partial_message);
}

TEST(ResponseParser, SwitchingProtocolsEndsTheMessage) {
    auto t = run(whole(split_cases[4]));
    ASSERT_FALSE(t.ec);
    ASSERT_EQ(t.heads.size(), 1u);
    EXPECT_TRUE(t.done);
    EXPECT_EQ(t.body, "");
    EXPECT_EQ(t.rest, "\x81\x05hello");  // left for the new protocol

    response_parser p;
    p.reset();
    std::error_code ec;
    p.parse(split_cases[4], ec);
    EXPECT_EQ(p.status(), 101);
    EXPECT_EQ(p.body(), body_kind::none);
    EXPECT_FALSE(p.keep_alive());
}

TEST(ResponseParser, NoBodyForHeadRequest204And304) {
    const std::string after = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
    auto head = run(whole("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + after), false,
                    /*head_request=*/true);
    EXPECT_TRUE(head.done);
    EXPECT_EQ(head.body, "");
    EXPECT_EQ(head.rest, after);

    response_parser p;
    p.reset(true);
    std::error_code ec;
    p.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ec);
    EXPECT_EQ(p.body(), body_kind::none);
    EXPECT_TRUE(p.keep_alive());
    p.reset(true);
    p.parse("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", ec);
    EXPECT_EQ(p.content_length(), 1000u);  // still reported: the size a GET would get

    for (const char* status : {"204 No Content", "304 Not Modified"}) {
        auto t =
            run(whole(std::string("HTTP/1.1 ") + status + "\r\nContent-Length: 7\r\n\r\n" + after));
        EXPECT_TRUE(t.done) << status;
        EXPECT_EQ(t.body, "") << status;
        EXPECT_EQ(t.rest, after) << status;
    }
}

TEST(ResponseParser, KeepAliveRules) {
    struct row {
        const char* head;
        bool keep_alive;
    };
    const row rows[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false},
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: Upgrade, CLOSE\r\n\r\n", false},
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", true},
        {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n\r\n", true},
        {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive, close\r\n\r\n", false},
        {"HTTP/1.1 200 OK\r\n\r\n", false},  // close-delimited body
        {"HTTP/1.1 204 No Content\r\n\r\n", true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true},
    };
    for (const auto& r : rows) {
        response_parser p;
        p.reset();
        std::error_code ec;
        auto ev = p.parse(r.head, ec);
        ASSERT_FALSE(ec) << r.head;
        ASSERT_EQ(ev.kind, event_kind::head);
        EXPECT_EQ(p.keep_alive(), r.keep_alive) << r.head;
    }
}

TEST(ResponseParser, PipelinedResponsesBackToBack) {
    const std::string buf =
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
        "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"
        "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nfour";
    response_parser p;
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
        got.push_back(std::to_string(p.status()) + ":" + body);
    }
    EXPECT_TRUE(in.empty());
    EXPECT_EQ(got, (std::vector<std::string>{"200:one", "200:two", "304:", "404:four"}));
}

TEST(ResponseParser, RepeatedIdenticalContentLengthIsOneValue) {
    for (const char* fields :
         {"Content-Length: 5, 5\r\n", "Content-Length: 5\r\nContent-Length: 5\r\n",
          "Content-Length:5 ,5\r\n"}) {
        auto t = run(whole(std::string("HTTP/1.1 200 OK\r\n") + fields + "\r\nhello"));
        EXPECT_FALSE(t.ec) << fields;
        EXPECT_EQ(t.body, "hello") << fields;
    }
}

TEST(ResponseParser, BareLfLineEndsAreAcceptedInTheHead) {
    auto t = run(whole("HTTP/1.1 200 OK\nContent-Length: 2\r\nA: b\n\r\nok"));
    ASSERT_FALSE(t.ec);
    EXPECT_EQ(t.heads[0], "11 200 OK | Content-Length=2;A=b;");
    EXPECT_EQ(t.body, "ok");
}

TEST(ResponseParser, StatusLineShapes) {
    response_parser p;
    std::error_code ec;
    p.reset();
    p.parse("HTTP/1.1 200\r\n\r\n", ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(p.reason(), "");
    p.reset();
    p.parse("HTTP/1.1 599 \r\n\r\n", ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(p.status(), 599);
    p.reset();
    p.parse("HTTP/1.0 404 Not \t Found \xe9\r\n\r\n", ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(p.reason(), "Not \t Found \xe9");
    EXPECT_EQ(p.version(), 10);
}

TEST(ResponseParser, FieldValuesAreTrimmedAndKeepOrderAndSpelling) {
    auto t =
        run(whole("HTTP/1.1 200 OK\r\nX-B: \t two words \t\r\nx-a:1\r\nSet-Cookie: a=1\r\n"
                  "Set-Cookie: b=2\r\nEmpty:\r\nContent-Length: 0\r\n\r\n"));
    ASSERT_FALSE(t.ec);
    EXPECT_EQ(t.heads[0],
              "11 200 OK | X-B=two words;x-a=1;Set-Cookie=a=1;Set-Cookie=b=2;Empty=;"
              "Content-Length=0;");
}

// --- end of stream -------------------------------------------------------------

TEST(ResponseParser, FinishEof) {
    response_parser p;
    std::error_code ec;

    p.reset();
    auto ev = p.finish_eof(ec);
    EXPECT_FALSE(ec);  // closed between responses: not an error
    EXPECT_EQ(ev.kind, event_kind::need_more);

    p.reset();
    p.parse("\r\n", ec);
    EXPECT_TRUE(p.idle());
    p.finish_eof(ec);
    EXPECT_FALSE(ec);

    p.reset();
    p.parse("HTTP/1.1 2", ec);
    EXPECT_FALSE(p.idle());
    p.finish_eof(ec);
    EXPECT_EQ(ec, http1_errc::partial_message);
    p.parse("00 OK\r\n\r\n", ec);  // sticky
    EXPECT_EQ(ec, http1_errc::partial_message);

    p.reset();
    std::string_view msg = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel";
    ev = p.parse(msg, ec);
    p.parse(msg.substr(ev.consumed), ec);
    p.finish_eof(ec);
    EXPECT_EQ(ec, http1_errc::partial_message);

    p.reset();
    p.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ec);
    p.parse("5\r\nhello\r\n", ec);
    p.finish_eof(ec);
    EXPECT_EQ(ec, http1_errc::partial_message);

    // A message that needs no more bytes completes at EOF even if the caller
    // had not yet asked for `done`.
    p.reset();
    p.parse("HTTP/1.1 204 No Content\r\n\r\n", ec);
    ev = p.finish_eof(ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(ev.kind, event_kind::done);
}

// --- limits --------------------------------------------------------------------

TEST(ResponseParser, HeaderLimitIsExact) {
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: 0123456789\r\n\r\n";
    parser_limits limits;
    limits.max_header_bytes = head.size();
    for (std::size_t i = 0; i <= head.size(); ++i) {
        auto t = run(split_at(head, i), false, false, limits);
        EXPECT_FALSE(t.ec) << i;
        EXPECT_TRUE(t.done) << i;
    }
    limits.max_header_bytes = head.size() - 1;
    for (std::size_t i = 0; i <= head.size(); ++i) {
        EXPECT_EQ(run(split_at(head, i), false, false, limits).ec, http1_errc::header_too_large)
            << i;
    }
}

TEST(ResponseParser, DefaultHeaderLimit) {
    std::string big = "HTTP/1.1 200 OK\r\nX: " + std::string(70 * 1024, 'a') + "\r\n\r\n";
    EXPECT_EQ(run(whole(big)).ec, http1_errc::header_too_large);
    EXPECT_EQ(run(split_at(big, 100)).ec, http1_errc::header_too_large);
    // No end of head in sight: refused once the limit is passed.
    EXPECT_EQ(run(whole(big.substr(0, 66 * 1024))).ec, http1_errc::header_too_large);
}

TEST(ResponseParser, FieldCountLimit) {
    parser_limits limits;
    limits.max_fields = 3;
    std::string ok = "HTTP/1.1 204 No Content\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    EXPECT_FALSE(run(whole(ok), false, false, limits).ec);
    std::string over = "HTTP/1.1 204 No Content\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    EXPECT_EQ(run(whole(over), false, false, limits).ec, http1_errc::too_many_headers);
    std::string many = "HTTP/1.1 204 No Content\r\n";
    for (int i = 0; i < 300; ++i) {
        many += "X: y\r\n";
    }
    EXPECT_EQ(run(whole(many + "\r\n")).ec, http1_errc::too_many_headers);
}

TEST(ResponseParser, BodyLimit) {
    parser_limits limits;
    limits.max_body_bytes = 10;
    auto cl = [&](int n) {
        return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n" +
               std::string(static_cast<std::size_t>(n), 'x');
    };
    EXPECT_FALSE(run(whole(cl(10)), false, false, limits).ec);
    EXPECT_EQ(run(whole(cl(11)), false, false, limits).ec, http1_errc::body_too_large);
    // A HEAD response's Content-Length is not a body.
    EXPECT_FALSE(run(whole(cl(11).substr(0, 40)), false, true, limits).ec);

    std::string chunked =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nxxxxx\r\n5\r\nxxxxx\r\n";
    EXPECT_FALSE(run(whole(chunked + "0\r\n\r\n"), false, false, limits).ec);
    EXPECT_EQ(run(whole(chunked + "1\r\nx\r\n0\r\n\r\n"), false, false, limits).ec,
              http1_errc::body_too_large);

    std::string close = "HTTP/1.1 200 OK\r\n\r\n" + std::string(10, 'x');
    EXPECT_FALSE(run(whole(close), true, false, limits).ec);
    EXPECT_EQ(run(split_at(close + "x", 25), true, false, limits).ec, http1_errc::body_too_large);
}

TEST(ResponseParser, ChunkExtensionLimit) {
    parser_limits limits;
    limits.max_chunk_ext_bytes = 8;
    std::string base = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    EXPECT_FALSE(run(whole(base + "1;ab=cdef\r\nx\r\n0\r\n\r\n"), false, false, limits).ec);
    EXPECT_EQ(run(whole(base + "1;ab=cdefg\r\nx\r\n0\r\n\r\n"), false, false, limits).ec,
              http1_errc::bad_chunk);
}

// --- malformed input -----------------------------------------------------------

struct bad_case {
    const char* name;
    std::string input;
    http1_errc expected;
};

std::string chunked_body(std::string_view body) {
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(body);
}

std::string with_fields(std::string_view fields) {
    return "HTTP/1.1 200 OK\r\n" + std::string(fields) + "\r\n";
}

const bad_case bad_cases[] = {
    {"cl_and_te", with_fields("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
     http1_errc::chunked_with_content_length},
    {"te_and_cl", with_fields("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"),
     http1_errc::chunked_with_content_length},
    {"cl_differs", with_fields("Content-Length: 5\r\nContent-Length: 6\r\n"),
     http1_errc::conflicting_content_length},
    {"cl_list_differs", with_fields("Content-Length: 5, 6\r\n"),
     http1_errc::conflicting_content_length},
    {"cl_not_digits", with_fields("Content-Length: 5x\r\n"), http1_errc::bad_content_length},
    {"cl_negative", with_fields("Content-Length: -1\r\n"), http1_errc::bad_content_length},
    {"cl_plus", with_fields("Content-Length: +5\r\n"), http1_errc::bad_content_length},
    {"cl_empty", with_fields("Content-Length: \r\n"), http1_errc::bad_content_length},
    {"cl_empty_element", with_fields("Content-Length: 5,\r\n"), http1_errc::bad_content_length},
    {"cl_hex", with_fields("Content-Length: 0x5\r\n"), http1_errc::bad_content_length},
    {"cl_overflow", with_fields("Content-Length: 18446744073709551616\r\n"),
     http1_errc::bad_content_length},
    {"te_chunked_twice", with_fields("Transfer-Encoding: chunked, chunked\r\n"),
     http1_errc::bad_transfer_encoding},
    {"te_chunked_two_fields",
     with_fields("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
     http1_errc::bad_transfer_encoding},
    {"te_xchunked", with_fields("Transfer-Encoding: xchunked\r\n"),
     http1_errc::bad_transfer_encoding},
    {"te_chunked_not_last", with_fields("Transfer-Encoding: chunked, gzip\r\n"),
     http1_errc::bad_transfer_encoding},
    {"te_params", with_fields("Transfer-Encoding: chunked;q=1\r\n"),
     http1_errc::bad_transfer_encoding},
    {"te_empty", with_fields("Transfer-Encoding: \r\n"), http1_errc::bad_transfer_encoding},
    {"te_unknown", with_fields("Transfer-Encoding: identity\r\n"),
     http1_errc::bad_transfer_encoding},
    {"te_in_http10", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
     http1_errc::bad_transfer_encoding},
    {"obs_fold", with_fields("X-A: a\r\n b\r\n"), http1_errc::obs_fold},
    {"obs_fold_tab", with_fields("X-A: a\r\n\tb\r\n"), http1_errc::obs_fold},
    {"space_before_first_field", "HTTP/1.1 200 OK\r\n X: a\r\n\r\n", http1_errc::obs_fold},
    {"space_before_colon", with_fields("Content-Length : 5\r\n"), http1_errc::bad_header},
    {"tab_before_colon", with_fields("X-A\t: 5\r\n"), http1_errc::bad_header},
    {"bad_name_char", with_fields("X[A]: 5\r\n"), http1_errc::bad_header},
    {"empty_name", with_fields(": 5\r\n"), http1_errc::bad_header},
    {"no_colon", with_fields("X-A 5\r\n"), http1_errc::bad_header},
    {"nul_in_value", with_fields("X-A: a\0b\r\n"s), http1_errc::bad_header},
    {"bare_cr_in_value", with_fields("X-A: a\rb\r\n"), http1_errc::bad_header},
    {"bare_cr_line_end", with_fields("X-A: a\rX-B: b\r\n"), http1_errc::bad_header},
    {"bare_cr_status_line", "HTTP/1.1 200 OK\rX: y\r\n\r\n", http1_errc::bad_status_line},
    {"status_two_digits", "HTTP/1.1 20 OK\r\n\r\n", http1_errc::bad_status_line},
    {"status_four_digits", "HTTP/1.1 2000 OK\r\n\r\n", http1_errc::bad_status_line},
    {"status_letters", "HTTP/1.1 2x0 OK\r\n\r\n", http1_errc::bad_status_line},
    {"status_below_100", "HTTP/1.1 099 OK\r\n\r\n", http1_errc::bad_status_line},
    {"status_double_space", "HTTP/1.1  200 OK\r\n\r\n", http1_errc::bad_status_line},
    {"status_missing", "HTTP/1.1\r\n\r\n", http1_errc::bad_status_line},
    {"status_lowercase_http", "http/1.1 200 OK\r\n\r\n", http1_errc::bad_status_line},
    {"status_not_http", "ICY 200 OK\r\n\r\n", http1_errc::bad_status_line},
    {"status_nul_in_reason", "HTTP/1.1 200 O\0K\r\n\r\n"s, http1_errc::bad_status_line},
    {"version_2", "HTTP/2 200 OK\r\n\r\n", http1_errc::bad_version},
    {"version_1_2", "HTTP/1.2 200 OK\r\n\r\n", http1_errc::bad_version},
    {"version_0_9", "HTTP/0.9 200 OK\r\n\r\n", http1_errc::bad_version},
    {"chunk_size_0x", chunked_body("0x5\r\nhello\r\n0\r\n\r\n"), http1_errc::bad_chunk_size},
    {"chunk_size_negative", chunked_body("-1\r\nx\r\n0\r\n\r\n"), http1_errc::bad_chunk_size},
    {"chunk_size_overflow", chunked_body("fffffffffffffffffff\r\n"), http1_errc::bad_chunk_size},
    {"chunk_size_2_63", chunked_body("8000000000000000\r\n"), http1_errc::bad_chunk_size},
    {"chunk_size_empty", chunked_body("\r\nhello\r\n"), http1_errc::bad_chunk_size},
    {"chunk_size_leading_space", chunked_body(" 5\r\nhello\r\n"), http1_errc::bad_chunk_size},
    {"chunk_size_junk", chunked_body("5 x\r\nhello\r\n"), http1_errc::bad_chunk_size},
    {"chunk_size_bare_lf", chunked_body("5\nhello\r\n0\r\n\r\n"), http1_errc::bad_chunk_size},
    {"chunk_size_bare_cr", chunked_body("5\rhello\r\n0\r\n\r\n"), http1_errc::bad_chunk_size},
    {"chunk_data_no_crlf", chunked_body("5\r\nhelloX\r\n0\r\n\r\n"), http1_errc::bad_chunk},
    {"chunk_data_bare_lf", chunked_body("5\r\nhello\n0\r\n\r\n"), http1_errc::bad_chunk},
    {"chunk_data_too_long", chunked_body("3\r\nhello\r\n0\r\n\r\n"), http1_errc::bad_chunk},
    {"chunk_ext_dangling_semicolon", chunked_body("5;\r\nhello\r\n"), http1_errc::bad_chunk},
    {"chunk_ext_no_value", chunked_body("5;a=\r\nhello\r\n"), http1_errc::bad_chunk},
    {"chunk_ext_open_quote", chunked_body("5;a=\"x\r\nhello\r\n"), http1_errc::bad_chunk},
    {"chunk_ext_bare_lf", chunked_body("5;a=b\nhello\r\n"), http1_errc::bad_chunk},
    {"chunk_ext_too_long", chunked_body("5;a=" + std::string(5000, 'b') + "\r\nhello\r\n"),
     http1_errc::bad_chunk},
    {"trailer_obs_fold", chunked_body("0\r\nA: b\r\n c\r\n\r\n"), http1_errc::obs_fold},
    {"trailer_bad_name", chunked_body("0\r\nA b: c\r\n\r\n"), http1_errc::bad_header},
    {"trailer_bare_lf", chunked_body("0\r\nA: b\n\r\n"), http1_errc::bad_header},
    {"trailer_too_large", chunked_body("0\r\nA: " + std::string(70 * 1024, 'b') + "\r\n\r\n"),
     http1_errc::header_too_large},
};

class ResponseParserMalformed : public testing::TestWithParam<bad_case> {};

TEST_P(ResponseParserMalformed, YieldsTheSpecificError) {
    const auto& c = GetParam();
    std::error_code expected = c.expected;
    EXPECT_EQ(run(whole(c.input), true).ec, expected) << c.input;
    EXPECT_EQ(run(bytewise(c.input), true).ec, expected) << "byte by byte";
    EXPECT_EQ(run(split_at(c.input, c.input.size() / 2), true).ec, expected) << "halves";
}

INSTANTIATE_TEST_SUITE_P(Table, ResponseParserMalformed, testing::ValuesIn(bad_cases),
                         [](const testing::TestParamInfo<bad_case>& tp) {
                             return std::string(tp.param.name);
                         });

TEST(ResponseParser, ErrorsAreSticky) {
    response_parser p;
    p.reset();
    std::error_code ec;
    p.parse("HTTP/9.9 200 OK\r\n\r\n", ec);
    EXPECT_EQ(ec, http1_errc::bad_version);
    EXPECT_FALSE(p.keep_alive());
    p.parse("HTTP/1.1 200 OK\r\n\r\n", ec);
    EXPECT_EQ(ec, http1_errc::bad_version);
    p.finish_eof(ec);
    EXPECT_EQ(ec, http1_errc::bad_version);
    p.reset();
    p.parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ec);
    EXPECT_FALSE(ec);
}

}  // namespace
}  // namespace corvid::h1
