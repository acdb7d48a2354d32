// proto/h2: malformed input and floods. Every case ends in a clear
// connection error and a GOAWAY with the matching code in the output.

#include <gtest/gtest.h>

#include <string>

#include "proto/h2/h2_test_support.hpp"
#include "proto/h2/session.hpp"

namespace corvid::h2 {
namespace {

using test::event_log;
using test::make_frame;

const std::string server_preface = make_frame(NGHTTP2_SETTINGS, 0, 0, "");

std::string client_preface() {
    return std::string(test::client_magic) + make_frame(NGHTTP2_SETTINGS, 0, 0, "");
}

request_head get() {
    request_head h;
    h.method = "GET";
    h.scheme = "http";
    h.authority = "example.test";
    h.path = "/";
    return h;
}

/// The GOAWAY frames in `out` (frames only, no client magic).
std::vector<test::raw_frame> goaways(std::string_view out) {
    std::vector<test::raw_frame> found;
    for (auto& f : test::parse_frames(out)) {
        if (f.type == NGHTTP2_GOAWAY) {
            found.push_back(std::move(f));
        }
    }
    return found;
}

std::uint32_t goaway_code(const test::raw_frame& f) {
    return test::be32(std::string_view(f.payload).substr(4, 4));
}

/// A client that has sent one request and whose output was thrown away.
client_session client_with_request(const client_options& co = {}) {
    client_session c = client_session::create(co).value();
    EXPECT_EQ(c.submit_request(get(), true).value(), 1);
    std::string_view out = c.pending_output();
    c.consume_output(out.size());
    return c;
}

/// The output of a client after its preface was already consumed.
std::string drain_output(session& s) {
    std::string all;
    for (std::string_view out = s.pending_output(); !out.empty(); out = s.pending_output()) {
        all.append(out);
        s.consume_output(out.size());
    }
    return all;
}

void expect_fatal(session& s, std::error_code got, http2_errc want, wire_error code,
                  std::string_view output_frames) {
    EXPECT_EQ(got, want) << got.message();
    EXPECT_TRUE(is_connection_error(got));
    EXPECT_EQ(s.error(), want);
    EXPECT_TRUE(s.is_closing());
    EXPECT_FALSE(s.want_read());
    const auto g = goaways(output_frames);
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(goaway_code(g[0]), static_cast<std::uint32_t>(code));
    // Sticky: more input changes nothing.
    EXPECT_EQ(s.receive(std::string_view("more")), want);
}

TEST(H2SessionErrors, ClientGarbageInsteadOfServerPreface) {
    client_session c = client_with_request();
    const std::error_code ec = c.receive(std::string_view("HTTP/1.1 400 Bad Request\r\n\r\n"));
    expect_fatal(c, ec, http2_errc::protocol_error, wire_error::protocol_error, drain_output(c));
    EXPECT_FALSE(c.error_detail().empty());
    EXPECT_EQ(c.submit_request(get(), true).error(), http2_errc::session_closing);
    EXPECT_EQ(c.ping(), http2_errc::session_closing);
}

TEST(H2SessionErrors, ServerBadClientPreface) {
    server_session s = server_session::create().value();
    const std::error_code ec =
        s.receive(std::string_view("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"));
    expect_fatal(s, ec, http2_errc::bad_preface, wire_error::protocol_error, drain_output(s));
}

TEST(H2SessionErrors, ServerGarbageAfterPreface) {
    server_session s = server_session::create().value();
    std::string in = client_preface();
    in += "\xff\xff\xff garbage that is no frame at all, quite long indeed";
    const std::error_code ec = s.receive(in);
    EXPECT_TRUE(is_connection_error(ec)) << ec.message();
    const auto g = goaways(drain_output(s));
    ASSERT_EQ(g.size(), 1u);
    EXPECT_NE(goaway_code(g[0]), 0u);
}

TEST(H2SessionErrors, FrameTooLarge) {
    server_session s = server_session::create().value();
    std::string in = client_preface();
    in += make_frame(NGHTTP2_DATA, 0, 1, std::string(20000, 'x'));  // max is 16384
    const std::error_code ec = s.receive(in);
    expect_fatal(s, ec, http2_errc::frame_size_error, wire_error::frame_size_error,
                 drain_output(s));
}

TEST(H2SessionErrors, BadHpackToServer) {
    server_session s = server_session::create().value();
    std::string in = client_preface();
    // Indexed field with index 0: not valid HPACK.
    in +=
        make_frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1, "\x80");
    const std::error_code ec = s.receive(in);
    expect_fatal(s, ec, http2_errc::compression_error, wire_error::compression_error,
                 drain_output(s));
}

TEST(H2SessionErrors, BadHpackToClient) {
    client_session c = client_with_request();
    std::string in = server_preface;
    in += make_frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, "\xff\xff\xff\xff\xff\xff");
    const std::error_code ec = c.receive(in);
    expect_fatal(c, ec, http2_errc::compression_error, wire_error::compression_error,
                 drain_output(c));
}

TEST(H2SessionErrors, ClientFlowControlOverrun) {
    client_options co;
    co.profile.settings = {{setting_id::enable_push, 0}};
    co.profile.connection_window_increment = 0;
    client_session c = client_with_request(co);
    test::hpack_encoder enc;
    std::string in = server_preface;
    in +=
        make_frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, enc.encode({{":status", "200"}}));
    for (int i = 0; i < 5; ++i) {  // 80 000 bytes into a 65 535-byte window
        in += make_frame(NGHTTP2_DATA, 0, 1, std::string(16000, 'd'));
    }
    const std::error_code ec = c.receive(in);
    expect_fatal(c, ec, http2_errc::flow_control_error, wire_error::flow_control_error,
                 drain_output(c));
}

TEST(H2SessionErrors, PushPromiseWhilePushDisabled) {
    client_session c = client_with_request();
    test::hpack_encoder enc;
    std::string payload("\x00\x00\x00\x02", 4);
    payload +=
        enc.encode({{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/p"}});
    // After the server acknowledged ENABLE_PUSH=0, a push is a connection error.
    std::string in = server_preface + make_frame(NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0, "");
    in += make_frame(NGHTTP2_PUSH_PROMISE, NGHTTP2_FLAG_END_HEADERS, 1, payload);
    const std::error_code ec = c.receive(in);
    expect_fatal(c, ec, http2_errc::protocol_error, wire_error::protocol_error, drain_output(c));
}

TEST(H2SessionErrors, PushBeforeSettingsAckIsRefused) {
    // Before the ACK the server may not have seen ENABLE_PUSH=0: the pushed
    // stream is refused, the connection lives, the application sees nothing.
    client_session c = client_with_request();
    test::hpack_encoder enc;
    std::string payload("\x00\x00\x00\x02", 4);
    payload +=
        enc.encode({{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/p"}});
    std::string in = server_preface;
    in += make_frame(NGHTTP2_PUSH_PROMISE, NGHTTP2_FLAG_END_HEADERS, 1, payload);
    in +=
        make_frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 2, enc.encode({{":status", "200"}}));
    in += make_frame(NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 2, "pushed body");
    ASSERT_FALSE(c.receive(in));
    event_log log;
    log.drain(c);
    EXPECT_EQ(log.streams.count(2), 0u);
    EXPECT_FALSE(c.error());
    bool refused = false;
    for (const auto& f : test::parse_frames(drain_output(c))) {
        refused = refused || (f.type == NGHTTP2_RST_STREAM && f.stream_id == 2);
    }
    EXPECT_TRUE(refused);
}

TEST(H2SessionErrors, MalformedInputInSmallPieces) {
    // The same error when the bytes arrive one at a time.
    server_session s = server_session::create().value();
    std::string in = client_preface();
    in += make_frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, "\x80");
    std::error_code ec;
    for (char ch : in) {
        ec = s.receive(std::string_view(&ch, 1));
        if (ec) {
            break;
        }
    }
    EXPECT_EQ(ec, http2_errc::compression_error);
}

// --- floods -------------------------------------------------------------------------------

TEST(H2SessionErrors, PingFloodWithoutReading) {
    server_session s = server_session::create().value();
    std::string in = client_preface();
    for (int i = 0; i < 40000; ++i) {
        in += make_frame(NGHTTP2_PING, 0, 0, "12345678");
    }
    std::error_code ec;
    // In reads of 16 KiB, never pulling the output.
    for (std::size_t pos = 0; pos < in.size() && !ec; pos += 16384) {
        ec = s.receive(std::string_view(in).substr(pos, 16384));
    }
    EXPECT_EQ(ec, http2_errc::flooded);
    EXPECT_TRUE(is_connection_error(ec));
    const std::string out = drain_output(s);
    const auto g = goaways(out);
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(goaway_code(g[0]), static_cast<std::uint32_t>(wire_error::enhance_your_calm));
    // The output stays bounded: limit plus nghttp2's queue of ACKs.
    EXPECT_LT(out.size(), 256u * 1024 + 1000 * 17 + 4096);
}

TEST(H2SessionErrors, PingsAreFineWhenTheOutputIsPulled) {
    server_session s = server_session::create().value();
    ASSERT_FALSE(s.receive(client_preface()));
    const std::string ping = make_frame(NGHTTP2_PING, 0, 0, "12345678");
    for (int round = 0; round < 200; ++round) {
        std::string in;
        for (int i = 0; i < 500; ++i) {
            in += ping;
        }
        ASSERT_FALSE(s.receive(in));
        drain_output(s);
    }
    EXPECT_FALSE(s.error());
}

TEST(H2SessionErrors, SettingsFloodWithoutReading) {
    server_session s = server_session::create().value();
    std::string in = client_preface();
    for (int i = 0; i < 60000; ++i) {
        in += make_frame(NGHTTP2_SETTINGS, 0, 0, "");
    }
    EXPECT_EQ(s.receive(in), http2_errc::flooded);
}

TEST(H2SessionErrors, TooManySettingsEntries) {
    server_options so;
    so.limits.max_settings = 32;
    server_session s = server_session::create(so).value();
    std::string entries;
    for (int i = 0; i < 40; ++i) {
        entries += std::string("\x00\x03\x00\x00\x00\x64", 6);  // MAX_CONCURRENT_STREAMS 100
    }
    std::string in = std::string(test::client_magic) + make_frame(NGHTTP2_SETTINGS, 0, 0, entries);
    const std::error_code ec = s.receive(in);
    expect_fatal(s, ec, http2_errc::flooded, wire_error::enhance_your_calm, drain_output(s));
}

TEST(H2SessionErrors, TooManyContinuationFrames) {
    server_options so;
    so.limits.max_continuations = 4;
    server_session s = server_session::create(so).value();
    test::hpack_encoder enc;
    const std::string block = enc.encode({{":method", "GET"},
                                          {":scheme", "http"},
                                          {":authority", "example.test"},
                                          {":path", "/"},
                                          {"x-a", std::string(100, 'a')}});
    std::string in = client_preface();
    // The block split over HEADERS + 10 CONTINUATION frames.
    const std::size_t piece = block.size() / 11 + 1;
    in += make_frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1, block.substr(0, piece));
    for (std::size_t pos = piece; pos < block.size(); pos += piece) {
        const bool last = pos + piece >= block.size();
        in += make_frame(NGHTTP2_CONTINUATION, last ? NGHTTP2_FLAG_END_HEADERS : 0, 1,
                         block.substr(pos, piece));
    }
    EXPECT_EQ(s.receive(in), http2_errc::flooded);
}

TEST(H2SessionErrors, ContinuationFramesWithinTheLimitAreFine) {
    server_session s = server_session::create().value();  // limit 8
    test::hpack_encoder enc;
    const std::string block = enc.encode({{":method", "GET"},
                                          {":scheme", "http"},
                                          {":authority", "example.test"},
                                          {":path", "/"},
                                          {"x-a", std::string(100, 'a')}});
    std::string in = client_preface();
    const std::size_t piece = block.size() / 4 + 1;
    in += make_frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1, block.substr(0, piece));
    for (std::size_t pos = piece; pos < block.size(); pos += piece) {
        const bool last = pos + piece >= block.size();
        in += make_frame(NGHTTP2_CONTINUATION, last ? NGHTTP2_FLAG_END_HEADERS : 0, 1,
                         block.substr(pos, piece));
    }
    ASSERT_FALSE(s.receive(in));
    event_log log;
    log.drain(s);
    ASSERT_TRUE(log.streams.at(1).request.has_value());
    EXPECT_EQ(log.streams.at(1).request->head.fields.get("x-a"), std::string(100, 'a'));
}

TEST(H2SessionErrors, RapidResetTripsTheRateLimit) {
    server_options so;
    so.limits.stream_reset_burst = 10;
    so.limits.stream_reset_rate = 1;
    server_session s = server_session::create(so).value();
    test::hpack_encoder enc;
    std::string in = client_preface();
    for (int i = 0; i < 50; ++i) {
        const std::int32_t id = 1 + 2 * i;
        in += make_frame(
            NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id,
            enc.encode(
                {{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/"}}));
        in += make_frame(NGHTTP2_RST_STREAM, 0, id, std::string("\x00\x00\x00\x08", 4));
    }
    const std::error_code ec = s.receive(in);
    EXPECT_EQ(ec, http2_errc::flooded) << ec.message();
    const auto g = goaways(drain_output(s));
    ASSERT_EQ(g.size(), 1u);
    EXPECT_NE(goaway_code(g[0]), 0u);
    EXPECT_EQ(s.error(), http2_errc::flooded);
}

}  // namespace
}  // namespace corvid::h2
