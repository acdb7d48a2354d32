// Conformance, Autobahn group 5 (fragmentation), both roles: text and
// binary messages in many fragments (empty ones included), pings and pongs
// between fragments (each ping answered), fed whole, byte by byte, split at
// every byte and in random pieces; a continuation without a message, a new
// data frame inside an unfinished message and a fragmented control frame
// each fail with 1002 at their frame's first two bytes.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/proto/ws/conformance_support.hpp"

namespace corvid::ws::conformance {
namespace {

class ws_conf_fragmentation : public role_test {};
INSTANTIATE_TEST_SUITE_P(roles, ws_conf_fragmentation,
                         ::testing::Values(role::client, role::server), role_name);

// `payload` cut into fragments of the given sizes (the last takes the rest),
// with `between` (a frame) inserted after each fragment but the last.
std::string fragmented(role receiver, int op, const std::string& payload,
                       const std::vector<std::size_t>& sizes, const std::string& between = {}) {
    std::string wire;
    std::size_t pos = 0;
    for (std::size_t i = 0; i <= sizes.size(); ++i) {
        const bool last = i == sizes.size();
        const std::size_t n = last ? payload.size() - pos : sizes[i];
        wire += frame(receiver, i == 0 ? op : op_cont, payload.substr(pos, n), last);
        pos += n;
        if (!last) {
            wire += between;
        }
    }
    return wire;
}

// 5.3-5.5, 5.15: text and binary in 2..many fragments, empty ones included.
TEST_P(ws_conf_fragmentation, FragmentedMessagesOfManyShapes) {
    const std::string text =
        "Hello, fragmented world! \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
    const std::string bin = pattern(300, 11);
    const std::vector<std::vector<std::size_t>> shapes = {
        {},                     // one frame
        {0},                    // empty first fragment
        {5},                    // two fragments
        {1, 1, 1, 1, 1, 1, 1},  // many tiny ones
        {0, 0, 3, 0, 0},        // empty ones in between
        {26, 1, 1},             // inside a multi-byte code point
    };
    for (const auto& sizes : shapes) {
        for (int op : {op_text, op_binary}) {
            const std::string& payload = op == op_text ? text : bin;
            // Two messages back to back, so the second starts cleanly.
            const std::string wire =
                fragmented(me(), op, payload, sizes) + fragmented(me(), op, payload, sizes);
            for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
                endpoint ep(me());
                ep.feed(wire, piece);
                ASSERT_FALSE(ep.ec) << ep.ec.message();
                const message m{static_cast<message_type>(op), false, payload};
                EXPECT_EQ(ep.messages(), (std::vector<message>{m, m}))
                    << sizes.size() << " fragments, piece " << piece;
            }
        }
    }
}

// 5.6-5.9, 5.16-5.20: pings (and pongs) between every pair of fragments;
// each ping is reported in its place and answered (output pulled after each
// event), fed split at every byte.
TEST_P(ws_conf_fragmentation, ControlFramesBetweenFragmentsSplitAtEveryByte) {
    const std::string payload = "fragment1fragment2fragment3";
    std::string wire = in(op_text, "fragment1", false) + in(op_ping, "ping-1") +
                       in(op_cont, "fragment2", false) + in(op_pong, "pong-1") +
                       in(op_ping, "ping-2") + in(op_cont, "fragment3", true);
    for (std::size_t point = 0; point <= wire.size(); ++point) {
        endpoint ep(me());
        std::string sent;
        ep.on_event = [&sent](endpoint& e, const rec&) { sent += e.drain(); };
        ep.feed(wire, split_at(wire.size(), point));
        ASSERT_FALSE(ep.ec) << point;
        ASSERT_EQ(ep.messages(), (std::vector<message>{{message_type::text, false, payload}}));
        // The order of events follows the wire.
        std::vector<rec::kind_t> kinds;
        for (const auto& e : ep.events) {
            if (kinds.empty() || kinds.back() != e.kind || e.kind != rec::data) {
                kinds.push_back(e.kind);
            }
        }
        const std::vector<rec::kind_t> want = {rec::data, rec::ping, rec::data,
                                               rec::pong, rec::ping, rec::data};
        EXPECT_EQ(kinds, want) << point;
        const auto out = parse_wire(sent);
        ASSERT_EQ(out.size(), 2u);
        EXPECT_EQ(out[0].payload, "ping-1");
        EXPECT_EQ(out[1].payload, "ping-2");
    }
}

// A large message in many fragments with a ping between every pair, fed in
// random pieces.
TEST_P(ws_conf_fragmentation, LargeMessageInManyFragmentsWithPings) {
    const std::string payload = pattern(256 * 1024, 5);
    const std::vector<std::size_t> sizes(255, 1024);
    const std::string wire =
        fragmented(me(), op_binary, payload, sizes, frame(me(), op_ping, "hb"));
    for (unsigned seed = 1; seed <= 3; ++seed) {
        endpoint ep(me());
        ep.feed(wire, random_pieces(wire.size(), seed, 3000));
        ASSERT_FALSE(ep.ec);
        EXPECT_EQ(ep.count(rec::ping), 255u);
        const auto msgs = ep.messages();
        ASSERT_EQ(msgs.size(), 1u);
        EXPECT_TRUE(msgs[0].data == payload);
    }
}

// 5.1, 5.2: a ping or pong (and a close) with FIN clear fails at byte 2,
// also in the middle of a fragmented data message.
TEST_P(ws_conf_fragmentation, FragmentedControlFramesFail) {
    for (int op : {op_ping, op_pong, op_close}) {
        for (bool inside : {false, true}) {
            const std::string prefix = inside ? in(op_binary, "data", false) : "";
            endpoint ep(me());
            ep.feed(prefix + in(op, "fragm", false) + in(op_cont, "ented"), 1);
            EXPECT_EQ(ep.error_at, prefix.size() + 2);
            EXPECT_EQ(ep.count(rec::ping) + ep.count(rec::pong) + ep.count(rec::close), 0u);
            EXPECT_TRUE(failed_with(ep, websocket_errc::fragmented_control_frame))
                << op << " inside " << inside;
        }
    }
}

// 5.10-5.14: a continuation frame with no message started: as the first
// frame, after a complete single-frame message, after a complete fragmented
// message; with FIN set or clear; whole and byte by byte. Nothing after it
// is processed.
TEST_P(ws_conf_fragmentation, ContinuationWithoutAMessageFails) {
    struct tc {
        std::string prefix;
        std::size_t messages;  // complete before the orphan
    };
    const std::vector<tc> cases = {
        {"", 0},
        {in(op_text, "complete"), 1},
        {in(op_text, "frag", false) + in(op_cont, "ment"), 1},
        {in(op_ping, "p"), 0},
    };
    for (const auto& t : cases) {
        for (bool fin : {true, false}) {
            for (std::size_t piece : {std::size_t{0}, std::size_t{1}}) {
                endpoint ep(me());
                ep.feed(t.prefix + in(op_cont, "orphan", fin) + in(op_text, "next"), piece);
                EXPECT_EQ(ep.error_at, t.prefix.size() + 2);
                EXPECT_EQ(ep.messages().size(), t.messages);
                EXPECT_EQ(ep.data_bytes().find("orphan"), std::string::npos);
                EXPECT_TRUE(failed_with(ep, websocket_errc::unexpected_continuation))
                    << t.prefix.size() << " fin " << fin;
            }
        }
    }
}

// A new text or binary frame while a message is unfinished fails, also when
// a control frame came in between and when the unfinished message's first
// frame was empty.
TEST_P(ws_conf_fragmentation, NewDataFrameInsideAMessageFails) {
    for (int first : {op_text, op_binary}) {
        for (int second : {op_text, op_binary}) {
            for (const std::string& between : {""s, in(op_ping, "p")}) {
                for (const std::string& first_payload : {""s, "abc"s}) {
                    for (bool second_fin : {true, false}) {
                        const std::string prefix = in(first, first_payload, false) + between;
                        endpoint ep(me());
                        ep.feed(prefix + in(second, "new", second_fin), 1);
                        EXPECT_EQ(ep.error_at, prefix.size() + 2);
                        EXPECT_EQ(ep.data_bytes(), first_payload);
                        EXPECT_TRUE(failed_with(ep, websocket_errc::expected_continuation))
                            << first << " " << second << " " << between.size();
                    }
                }
            }
        }
    }
}

// A close between fragments ends the connection normally: reported, echoed,
// and the rest of the message is never asked for.
TEST_P(ws_conf_fragmentation, CloseBetweenFragments) {
    endpoint ep(me());
    ep.feed(in(op_text, "unfin", false) + in(op_close, close_body(1001, "bye")) +
            in(op_cont, "ished"));
    ASSERT_FALSE(ep.ec);
    EXPECT_TRUE(ep.stalled);
    ASSERT_EQ(ep.events.size(), 2u);
    EXPECT_EQ(ep.events[1].kind, rec::close);
    EXPECT_EQ(ep.events[1].code, 1001);
    EXPECT_TRUE(ep.messages().empty());
    const auto out = ep.drain_frames();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, close_body(1001));
}

// Sending: fragments between client and server codecs, with pings and the
// receiver's pongs interleaved, many fragments of varying size, both types.
TEST_P(ws_conf_fragmentation, FragmentedRoundTripBetweenPeers) {
    endpoint a(me());
    endpoint b(peer());
    for (int op : {op_text, op_binary}) {
        const std::string payload = op == op_text ? std::string(5000, 'w') : pattern(5000, 6);
        std::size_t pos = 0;
        std::size_t size = 0;
        ASSERT_FALSE(a.c.begin_message(static_cast<message_type>(op), {}));
        while (pos < payload.size()) {
            size = std::min(payload.size() - pos, size * 2 + 1);
            ASSERT_FALSE(a.c.continue_message(codec::as_bytes(payload.substr(pos, size))));
            ASSERT_FALSE(a.c.send_ping(codec::as_bytes(std::to_string(pos))));
            pos += size;
            b.feed(a.drain(), 3);
            a.feed(b.drain(), 2);
        }
        ASSERT_FALSE(a.c.end_message({}));
        b.feed(a.drain());
        ASSERT_FALSE(a.ec || b.ec);
    }
    const auto msgs = b.messages();
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0], (message{message_type::text, false, std::string(5000, 'w')}));
    EXPECT_EQ(msgs[1], (message{message_type::binary, false, pattern(5000, 6)}));
    EXPECT_EQ(a.count(rec::pong), b.count(rec::ping));
    EXPECT_GT(a.count(rec::pong), 10u);
}

}  // namespace
}  // namespace corvid::ws::conformance
