// Conformance, Autobahn group 2 (pings and pongs), both roles: a ping of
// every payload length 0..125 is reported and answered with a pong carrying
// the same bytes, fed whole, byte by byte and split at every byte; 126 bytes
// fail with 1002 as soon as the header is read; unsolicited pongs are only
// reported; many pings each get their pong when the output is pulled
// between them; pongs keep their place after data already queued.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/proto/ws/conformance_support.hpp"

namespace corvid::ws::conformance {
namespace {

class ws_conf_ping : public role_test {};
INSTANTIATE_TEST_SUITE_P(roles, ws_conf_ping, ::testing::Values(role::client, role::server),
                         role_name);

// 2.1-2.3, 2.6: every payload length, binary content included.
TEST_P(ws_conf_ping, EveryPayloadLengthIsEchoedInAPong) {
    for (std::size_t len = 0; len <= 125; ++len) {
        const std::string payload = pattern(len, static_cast<unsigned>(len) + 100);
        const std::string wire = in(op_ping, payload);
        for (std::size_t piece : {std::size_t{0}, std::size_t{1}}) {
            endpoint ep(me());
            ep.feed(wire, piece);
            ASSERT_FALSE(ep.ec) << len;
            ASSERT_EQ(ep.events.size(), 1u) << len;
            EXPECT_EQ(ep.events[0].kind, rec::ping);
            EXPECT_EQ(ep.events[0].bytes, payload);
            const auto out = ep.drain_frames();
            ASSERT_EQ(out.size(), 1u) << len;
            EXPECT_TRUE(out[0].fin);
            EXPECT_EQ(out[0].rsv, 0);
            EXPECT_EQ(out[0].op, op_pong);
            EXPECT_EQ(out[0].masked, me() == role::client);
            EXPECT_EQ(out[0].payload, payload) << len;
            EXPECT_FALSE(ep.c.closed());
        }
    }
}

TEST_P(ws_conf_ping, MaximalPingSplitAtEveryByte) {
    const std::string payload = pattern(125, 7);
    const std::string wire = in(op_ping, payload);
    for (std::size_t point = 0; point <= wire.size(); ++point) {
        endpoint ep(me());
        ep.feed(wire, split_at(wire.size(), point));
        ASSERT_EQ(ep.events.size(), 1u) << point;
        EXPECT_EQ(ep.events[0].bytes, payload);
        const auto out = ep.drain_frames();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].payload, payload);
    }
}

// 2.5: a ping of 126 bytes (16-bit length form) fails with 1002 when its
// length is read: no payload byte is taken and no pong is sent. Also the
// 64-bit form, and 126 in the 7-bit form's forbidden neighbourhood.
TEST_P(ws_conf_ping, PingOver125BytesFailsAtItsHeader) {
    for (std::size_t len : {126, 127, 1000, 65535, 65536}) {
        endpoint ep(me());
        ep.feed(in(op_ping, std::string(len, 'p')), 1);
        EXPECT_EQ(ep.error_at, 2u) << len;  // the length byte
        EXPECT_TRUE(ep.events.empty());
        EXPECT_TRUE(failed_with(ep, websocket_errc::control_frame_too_long)) << len;
    }
    // The same for a pong.
    endpoint ep(me());
    ep.feed(in(op_text, "ok") + in(op_pong, std::string(200, 'q')));
    EXPECT_EQ(ep.messages().size(), 1u);
    EXPECT_TRUE(failed_with(ep, websocket_errc::control_frame_too_long));
}

// 2.7, 2.8: unsolicited pongs (empty and with payload) are reported and
// nothing is sent; 2.9: a pong then a ping: only the ping is answered.
TEST_P(ws_conf_ping, UnsolicitedPongsAreOnlyReported) {
    endpoint ep(me());
    ep.feed(in(op_pong, "") + in(op_pong, pattern(125, 2)) + in(op_pong, "unsolicited") +
                in(op_ping, "real"),
            1);
    ASSERT_FALSE(ep.ec);
    ASSERT_EQ(ep.events.size(), 4u);
    EXPECT_EQ(ep.events[0].kind, rec::pong);
    EXPECT_EQ(ep.events[0].bytes, "");
    EXPECT_EQ(ep.events[1].bytes, pattern(125, 2));
    EXPECT_EQ(ep.events[2].bytes, "unsolicited");
    EXPECT_EQ(ep.events[3].kind, rec::ping);
    const auto out = ep.drain_frames();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].op, op_pong);
    EXPECT_EQ(out[0].payload, "real");
}

// 2.10, 2.11: ten pings, whole and byte by byte; pulling the output after
// each ping event yields one pong per ping, in order.
TEST_P(ws_conf_ping, TenPingsGetTenPongsWhenOutputIsPulledBetween) {
    std::string wire;
    for (int i = 0; i < 10; ++i) {
        wire += in(op_ping, "payload-" + std::to_string(i));
    }
    for (std::size_t piece : {std::size_t{0}, std::size_t{1}}) {
        endpoint ep(me());
        std::string sent;
        ep.on_event = [&sent](endpoint& e, const rec&) { sent += e.drain(); };
        ep.feed(wire, piece);
        ASSERT_FALSE(ep.ec);
        ASSERT_EQ(ep.count(rec::ping), 10u);
        const auto out = parse_wire(sent);
        ASSERT_EQ(out.size(), 10u);
        for (int i = 0; i < 10; ++i) {
            EXPECT_EQ(out[i].op, op_pong);
            EXPECT_EQ(out[i].payload, "payload-" + std::to_string(i));
        }
    }
}

// Pings arriving faster than the output is pulled may be coalesced (RFC 6455
// 5.5.3), but the answer carries the payload of the latest ping, and the
// output does not grow with the number of pings (a peer cannot make us
// buffer pongs).
TEST_P(ws_conf_ping, PingFloodDoesNotGrowTheOutput) {
    std::string wire;
    for (int i = 0; i < 5000; ++i) {
        wire += in(op_ping, pattern(125, static_cast<unsigned>(i)));
    }
    endpoint ep(me());
    ep.feed(wire);
    ASSERT_EQ(ep.count(rec::ping), 5000u);
    EXPECT_LE(ep.c.buffered_output(), 125u + 14u);
    const auto out = ep.drain_frames();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, pattern(125, 4999));
}

// A pong owed goes out after frames the application queued before it, as
// whole frames (never inside another frame).
TEST_P(ws_conf_ping, PongFollowsDataAlreadyQueued) {
    endpoint ep(me());
    ASSERT_FALSE(ep.c.send_binary(codec::as_bytes(pattern(70000, 1))));
    ep.feed(in(op_ping, "after"));
    ASSERT_FALSE(ep.c.begin_message(message_type::text, codec::as_bytes("frag")));
    const auto out = ep.drain_frames();
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].op, op_binary);
    EXPECT_EQ(out[1].op, op_text);
    EXPECT_FALSE(out[1].fin);
    EXPECT_EQ(out[2].op, op_pong);
    EXPECT_EQ(out[2].payload, "after");
    // The pong can go out inside our own fragmented message.
    ASSERT_FALSE(ep.c.end_message(codec::as_bytes("!")));
}

// Pings between client and server codecs, the pong travelling back, for a
// spread of payloads; the application's own pong (unsolicited) too.
TEST_P(ws_conf_ping, PingPongRoundTripsBetweenPeers) {
    endpoint a(me());
    endpoint b(peer());
    for (std::size_t len : {0, 1, 2, 3, 4, 5, 124, 125}) {
        const std::string payload = pattern(len, 77);
        ASSERT_FALSE(a.c.send_ping(codec::as_bytes(payload)));
        b.feed(a.drain(), 1);
        a.feed(b.drain(), 1);
        ASSERT_FALSE(a.ec || b.ec);
        ASSERT_FALSE(a.events.empty());
        EXPECT_EQ(a.events.back().kind, rec::pong);
        EXPECT_EQ(a.events.back().bytes, payload);
    }
    ASSERT_FALSE(b.c.send_pong(codec::as_bytes("heartbeat")));
    a.feed(b.drain());
    EXPECT_EQ(a.events.back().kind, rec::pong);
    EXPECT_EQ(a.events.back().bytes, "heartbeat");
    EXPECT_TRUE(a.drain().empty());  // a pong is never answered
    EXPECT_EQ(a.c.send_pong(codec::as_bytes(std::string(126, 'x'))),
              make_error_code(websocket_errc::control_frame_too_long));
}

}  // namespace
}  // namespace corvid::ws::conformance
