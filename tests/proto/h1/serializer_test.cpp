#include "proto/h1/serializer.hpp"

#include <gtest/gtest.h>

#include <string>

#include "corvid/error.hpp"
#include "proto/h1/request_parser.hpp"
#include "proto/h1/response_parser.hpp"

namespace corvid::h1 {
namespace {

using namespace std::string_literals;

TEST(Serializer, RequestHeadExactBytesInOrder) {
    headers h;
    h.add("Host", "example.com");
    h.add("user-agent", "corvid/0.1");
    h.add("Accept", "*/*");
    h.add("accept", "text/html");  // duplicates and spelling kept
    std::string out = "prefix|";
    serialize_request_head(out, "GET", "/a?b=c", h);
    EXPECT_EQ(out,
              "prefix|GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nuser-agent: corvid/0.1\r\n"
              "Accept: */*\r\naccept: text/html\r\n\r\n");
}

TEST(Serializer, EmptyFieldsAndEmptyValue) {
    std::string out;
    serialize_request_head(out, "OPTIONS", "*", {});
    EXPECT_EQ(out, "OPTIONS * HTTP/1.1\r\n\r\n");
    out.clear();
    serialize_request_head(out, "GET", "/", {{"X-Empty", ""}});
    EXPECT_EQ(out, "GET / HTTP/1.1\r\nX-Empty: \r\n\r\n");
}

TEST(Serializer, ResponseHead) {
    std::string out;
    serialize_response_head(out, 200, "OK", {{"Content-Length", "5"}, {"Server", "corvid"}});
    EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: corvid\r\n\r\n");
    out.clear();
    serialize_response_head(out, 101, "Switching Protocols", {});
    EXPECT_EQ(out, "HTTP/1.1 101 Switching Protocols\r\n\r\n");
    out.clear();
    serialize_response_head(out, 599, "", {});
    EXPECT_EQ(out, "HTTP/1.1 599 \r\n\r\n");
}

TEST(Serializer, InjectionIsRefused) {
    EXPECT_FALSE(validate_request_head("GET", "/", {{"Host", "a"}}));
    EXPECT_EQ(validate_request_head("GET", "/", {{"X", "a\r\nInjected: 1"}}),
              http1_errc::bad_header);
    EXPECT_EQ(validate_request_head("GET", "/", {{"X", "a\nb"}}), http1_errc::bad_header);
    EXPECT_EQ(validate_request_head("GET", "/", {{"X", "a\rb"}}), http1_errc::bad_header);
    EXPECT_EQ(validate_request_head("GET", "/", {{"X", "a\0b"s}}), http1_errc::bad_header);
    EXPECT_EQ(validate_request_head("GET", "/", {{"X\r\nY", "a"}}), http1_errc::bad_header);
    EXPECT_EQ(validate_request_head("GET", "/", {{"X Y", "a"}}), http1_errc::bad_header);
    EXPECT_EQ(validate_request_head("GET", "/", {{"X:", "a"}}), http1_errc::bad_header);
    EXPECT_EQ(validate_request_head("GET", "/", {{"", "a"}}), http1_errc::bad_header);
    EXPECT_EQ(validate_request_head("GET", "/", {{"X", " padded"}}), http1_errc::bad_header);
    EXPECT_EQ(validate_request_head("GET", "/ HTTP/1.1\r\nX: y\r\n\r\nGET /", {}),
              http1_errc::bad_target);
    EXPECT_EQ(validate_request_head("GET", "/a b", {}), http1_errc::bad_target);
    EXPECT_EQ(validate_request_head("GET", "", {}), http1_errc::bad_target);
    EXPECT_EQ(validate_request_head("GET", "/\x7f", {}), http1_errc::bad_target);
    EXPECT_EQ(validate_request_head("GET /", "/", {}), http1_errc::bad_method);
    EXPECT_EQ(validate_request_head("", "/", {}), http1_errc::bad_method);
    EXPECT_EQ(validate_request_head("G\r\nT", "/", {}), http1_errc::bad_method);

    EXPECT_FALSE(validate_response_head(200, "OK", {}));
    EXPECT_EQ(validate_response_head(200, "OK\r\nX: y", {}), http1_errc::bad_status_line);
    EXPECT_EQ(validate_response_head(99, "", {}), http1_errc::bad_status_line);
    EXPECT_EQ(validate_response_head(1000, "", {}), http1_errc::bad_status_line);
    EXPECT_EQ(validate_response_head(200, "OK", {{"A", "b\r\n"}}), http1_errc::bad_header);
}

TEST(Serializer, TryVariantsAppendNothingOnError) {
    std::string out = "keep";
    EXPECT_EQ(try_serialize_request_head(out, "GET", "/", {{"X", "a\r\nb: c"}}),
              http1_errc::bad_header);
    EXPECT_EQ(out, "keep");
    EXPECT_EQ(try_serialize_response_head(out, 200, "O\nK", {}), http1_errc::bad_status_line);
    EXPECT_EQ(out, "keep");
    EXPECT_FALSE(try_serialize_request_head(out, "GET", "/", {{"Host", "a"}}));
    EXPECT_EQ(out, "keepGET / HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(Serializer, ChunkFraming) {
    std::string out;
    append_chunk_header(out, 1);
    append_chunk_header(out, 0xa);
    append_chunk_header(out, 0x1f);
    append_chunk_header(out, 65536);
    append_chunk_header(out, SIZE_MAX);
    EXPECT_EQ(out, "1\r\na\r\n1f\r\n10000\r\nffffffffffffffff\r\n");
    out.clear();
    append_chunk_end(out);
    EXPECT_EQ(out, "\r\n");
    out.clear();
    append_last_chunk(out);
    EXPECT_EQ(out, "0\r\n\r\n");
    out.clear();
    headers trailers{{"X-Checksum", "abc"}, {"X-Count", "2"}};
    append_last_chunk(out, &trailers);
    EXPECT_EQ(out, "0\r\nX-Checksum: abc\r\nX-Count: 2\r\n\r\n");
}

// What the serializer writes, the parsers read back unchanged.
TEST(Serializer, RoundTripsThroughTheParsers) {
    headers h{{"Host", "example.com"}, {"Transfer-Encoding", "chunked"}, {"X-Y", "a, b"}};
    std::string wire;
    ASSERT_FALSE(try_serialize_request_head(wire, "POST", "/upload", h));
    append_chunk_header(wire, 5);
    wire += "hello";
    append_chunk_end(wire);
    headers trailers{{"X-Sum", "1"}};
    append_last_chunk(wire, &trailers);

    request_parser req;
    req.reset();
    std::string_view in = wire;
    std::string body;
    std::error_code ec;
    while (true) {
        auto ev = req.parse(in, ec);
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
    EXPECT_EQ(req.method(), "POST");
    EXPECT_EQ(req.target(), "/upload");
    EXPECT_EQ(req.fields(), h);
    EXPECT_EQ(body, "hello");
    EXPECT_EQ(req.trailers(), trailers);
    EXPECT_TRUE(in.empty());

    std::string res;
    serialize_response_head(res, 404, "Not Found", {{"Content-Length", "0"}, {"A", "b"}});
    response_parser rp;
    rp.reset();
    auto ev = rp.parse(res, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(ev.consumed, res.size());
    EXPECT_EQ(rp.status(), 404);
    EXPECT_EQ(rp.reason(), "Not Found");
    EXPECT_EQ(rp.fields(), (headers{{"Content-Length", "0"}, {"A", "b"}}));
}

}  // namespace
}  // namespace corvid::h1
