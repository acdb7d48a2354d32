// Conformance, Autobahn group 9 (limits and large messages), both roles:
// max_frame_payload and max_message_size are exact (a frame or message at
// the limit passes, one byte more fails with 1009) and checked as soon as
// a length field is read, before any payload byte or masking key, in every
// length form and across fragments (control frames between fragments do
// not count); large messages (9.1-9.6) in frames of 64 bytes to 4 MiB, fed
// in pieces of 64 bytes to 128 KiB.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/proto/ws/conformance_support.hpp"

namespace corvid::ws::conformance {
namespace {

class ws_conf_limits : public role_test {};
INSTANTIATE_TEST_SUITE_P(roles, ws_conf_limits, ::testing::Values(role::client, role::server),
                         role_name);

// Bytes up to the end of the length field of a frame of `len` bytes.
std::size_t length_end(std::size_t len) {
    return len < 126 ? 2 : len <= 65535 ? 4 : 10;
}

codec_limits frame_limit(std::uint64_t n) {
    codec_limits l;
    l.max_frame_payload = n;
    return l;
}

codec_limits message_limit(std::uint64_t n) {
    codec_limits l;
    l.max_message_size = n;
    return l;
}

// A frame at the limit passes; one byte over fails at its length field, in
// each length form around the limit (7-bit, 16-bit, 64-bit).
TEST_P(ws_conf_limits, FramePayloadLimitIsExact) {
    for (std::size_t limit : {0, 1, 124, 125, 126, 65534, 65535, 65536, 100000}) {
        for (int op : {op_text, op_binary}) {
            endpoint ok(me(), frame_limit(limit));
            ok.feed(in(op, std::string(limit, 'a')));
            ASSERT_FALSE(ok.ec) << limit << ": " << ok.ec.message();
            ASSERT_EQ(ok.messages().size(), 1u);

            endpoint over(me(), frame_limit(limit));
            over.feed(in(op, std::string(limit + 1, 'a')), 1);
            EXPECT_EQ(over.error_at, length_end(limit + 1)) << limit;
            EXPECT_TRUE(over.events.empty());
            EXPECT_TRUE(failed_with(over, websocket_errc::frame_too_large)) << limit;
        }
    }
}

// The frame limit applies to every frame of a fragmented message, also to
// a continuation after smaller frames.
TEST_P(ws_conf_limits, FrameLimitOnAContinuation) {
    endpoint ep(me(), frame_limit(1000));
    const std::string prefix =
        in(op_binary, std::string(1000, 'a'), false) + in(op_cont, std::string(1000, 'b'), false);
    ep.feed(prefix + in(op_cont, std::string(1001, 'c')), 1);
    EXPECT_EQ(ep.error_at, prefix.size() + 4);
    EXPECT_EQ(ep.data_bytes().size(), 2000u);
    EXPECT_TRUE(failed_with(ep, websocket_errc::frame_too_large));
}

// Default limits: 16 MiB per frame, checked at the 64-bit length field
// without waiting for 16 MiB of payload.
TEST_P(ws_conf_limits, DefaultFrameLimit) {
    const codec_limits defaults;
    endpoint ep(me());
    ep.feed(frame_header(me(), 0x80 | op_binary, defaults.max_frame_payload + 1), 1);
    EXPECT_EQ(ep.error_at, 10u);
    EXPECT_TRUE(failed_with(ep, websocket_errc::frame_too_large));
    // At the limit the header is accepted and payload awaited.
    endpoint at(me());
    at.feed(frame_header(me(), 0x80 | op_binary, defaults.max_frame_payload) + "abc");
    EXPECT_FALSE(at.ec);
    EXPECT_EQ(at.data_bytes().size(), 3u);
}

// A message at the limit in one frame and in many fragments (pings of 125
// bytes between them do not count) passes, repeatedly (the count restarts
// with each message); one byte more fails at the header of the frame that
// crosses the limit.
TEST_P(ws_conf_limits, MessageSizeLimitIsExactAcrossFragments) {
    for (std::size_t limit : {0, 1, 1000, 65536}) {
        for (std::size_t fragments : {1, 2, 7}) {
            // `limit` bytes in `fragments` frames, the last taking the rest.
            auto message_wire = [&](std::size_t total) {
                std::string w;
                std::size_t left = total;
                for (std::size_t i = 0; i < fragments; ++i) {
                    const bool last = i + 1 == fragments;
                    const std::size_t n = last ? left : total / fragments;
                    w += in(i == 0 ? op_text : op_cont, std::string(n, 'm'), last);
                    if (!last) {
                        w += in(op_ping, std::string(125, 'p'));
                    }
                    left -= n;
                }
                return w;
            };
            endpoint ok(me(), message_limit(limit));
            const std::string good = message_wire(limit);
            ok.feed(good + good + good);
            ASSERT_FALSE(ok.ec) << limit << " in " << fragments;
            ASSERT_EQ(ok.messages().size(), 3u);

            endpoint over(me(), message_limit(limit));
            const std::string bad = message_wire(limit + 1);
            over.feed(bad, 1);
            // The last frame's header is where the message crosses the limit.
            const std::size_t last_len = limit + 1 - (limit + 1) / fragments * (fragments - 1);
            const std::size_t last_frame =
                bad.size() - in(op_cont, std::string(last_len, 'm')).size();
            const std::size_t crossing = fragments == 1 ? 0 : last_frame;
            EXPECT_EQ(over.error_at, crossing + length_end(last_len))
                << limit << " in " << fragments;
            EXPECT_TRUE(failed_with(over, websocket_errc::message_too_large))
                << limit << " in " << fragments;
        }
    }
}

// Which limit a frame trips when both are exceeded: the frame limit is
// checked first.
TEST_P(ws_conf_limits, FrameLimitIsCheckedBeforeMessageLimit) {
    codec_limits l;
    l.max_frame_payload = 100;
    l.max_message_size = 50;
    {
        endpoint ep(me(), l);
        ep.feed(in(op_binary, std::string(60, 'a')));
        EXPECT_TRUE(failed_with(ep, websocket_errc::message_too_large));
    }
    {
        endpoint ep(me(), l);
        ep.feed(in(op_binary, std::string(150, 'a')));
        EXPECT_TRUE(failed_with(ep, websocket_errc::frame_too_large));
    }
}

// A peer sends more than our limit: we fail with 1009, the peer's codec
// receives our close with 1009 and echoes it.
TEST_P(ws_conf_limits, OversizedMessageBetweenPeers) {
    endpoint a(me(), message_limit(4096));
    endpoint b(peer());
    ASSERT_FALSE(b.c.begin_message(message_type::binary, codec::as_bytes(pattern(4000, 1))));
    ASSERT_FALSE(b.c.end_message(codec::as_bytes(pattern(97, 2))));
    a.feed(b.drain());
    EXPECT_EQ(a.data_bytes(), pattern(4000, 1));
    const std::string from_a = a.drain();
    b.feed(from_a);
    ASSERT_EQ(b.events.size(), 1u);
    EXPECT_EQ(b.events[0].kind, rec::close);
    EXPECT_EQ(b.events[0].code, close_code::message_too_big);
    const auto echo = b.drain_frames();
    ASSERT_EQ(echo.size(), 1u);
    EXPECT_EQ(echo[0].payload, close_body(close_code::message_too_big));
    EXPECT_EQ(a.c.error(), make_error_code(websocket_errc::message_too_large));
}

// 9.1-9.6: 4 MiB text and binary messages in frames of 64 bytes up to one
// frame of 4 MiB, fed in pieces of 64 bytes up to 128 KiB; every byte is
// delivered in order.
TEST_P(ws_conf_limits, LargeMessagesInFramesOfEverySize) {
    const std::size_t total = 4u << 20;
    const std::string bin = pattern(total, 9);
    const std::string txt(total, '*');
    std::size_t k = 0;
    for (std::size_t frame_size = 64; frame_size <= total; frame_size *= 4, ++k) {
        for (int op : {op_text, op_binary}) {
            const std::string& payload = op == op_text ? txt : bin;
            std::string wire;
            wire.reserve(total + total / frame_size * 14 + 14);
            for (std::size_t pos = 0; pos < total; pos += frame_size) {
                wire +=
                    in(pos == 0 ? op : op_cont, std::string_view(payload).substr(pos, frame_size),
                       pos + frame_size >= total);
            }
            const std::size_t piece = std::size_t{64} << (2 * (k % 6));  // 64 .. 64 KiB
            endpoint ep(me());
            ep.feed(wire, piece);
            ASSERT_FALSE(ep.ec) << frame_size << ": " << ep.ec.message();
            const auto msgs = ep.messages();
            ASSERT_EQ(msgs.size(), 1u) << frame_size;
            EXPECT_EQ(msgs[0].type, static_cast<message_type>(op));
            EXPECT_TRUE(msgs[0].data == payload) << frame_size;
        }
    }
}

// A long stream of empty continuation frames costs no memory and counts
// nothing against the message limit; the message completes.
TEST_P(ws_conf_limits, ManyEmptyFragments) {
    endpoint ep(me(), message_limit(3));
    std::string wire = in(op_text, "a", false);
    for (int i = 0; i < 10000; ++i) {
        wire += in(op_cont, "", false);
    }
    wire += in(op_cont, "bc");
    ep.feed(wire);
    ASSERT_FALSE(ep.ec);
    EXPECT_EQ(ep.messages(), (std::vector<message>{{message_type::text, false, "abc"}}));
}

}  // namespace
}  // namespace corvid::ws::conformance
