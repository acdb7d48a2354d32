// Conformance, Autobahn group 3 (reserved bits), both roles: any of RSV1-3
// on any frame kind without a negotiated extension fails the connection with
// 1002 at the frame's first two bytes, fail-fast: nothing after that frame is
// processed (a following ping gets no pong). With permessage-deflate
// negotiated (rsv1_allowed) RSV1 is accepted on a data message's first frame
// only, RSV2/RSV3 never.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/proto/ws/conformance_support.hpp"

namespace corvid::ws::conformance {
namespace {

class ws_conf_reserved : public role_test {};
INSTANTIATE_TEST_SUITE_P(roles, ws_conf_reserved, ::testing::Values(role::client, role::server),
                         role_name);

const int k_rsv_values[] = {rsv3,        rsv2,        rsv2 | rsv3,       rsv1,
                            rsv1 | rsv3, rsv1 | rsv2, rsv1 | rsv2 | rsv3};

// 3.1-3.7: small text, then the frame with reserved bits, then a ping: the
// text is delivered, the reserved bits fail the connection at byte 2 of
// their frame, the ping is never seen or answered. Every frame kind
// (continuation in the middle of a message), fed whole and byte by byte.
TEST_P(ws_conf_reserved, ReservedBitsFailFastOnEveryFrameKind) {
    for (int rsv : k_rsv_values) {
        for (int op : {op_text, op_binary, op_cont, op_close, op_ping, op_pong}) {
            for (std::size_t piece : {std::size_t{0}, std::size_t{1}}) {
                std::string prefix = in(op_text, "Hello, world!");
                if (op == op_cont) {
                    prefix += in(op_text, "start", false);
                }
                const std::string body = op == op_close ? close_body(1000) : "payload";
                const std::string wire = prefix + in(op, body, true, rsv) + in(op_ping, "p");
                endpoint ep(me());
                ep.feed(wire, piece);
                EXPECT_EQ(ep.error_at, prefix.size() + 2) << rsv << " op " << op;
                ASSERT_GE(ep.messages().size(), 1u);
                EXPECT_EQ(ep.messages()[0].data, "Hello, world!");
                EXPECT_EQ(ep.count(rec::ping), 0u);
                EXPECT_TRUE(failed_with(ep, websocket_errc::reserved_bits))
                    << "rsv " << rsv << " op " << op << " piece " << piece;
            }
        }
    }
}

// RSV bits on the first frame of a fragmented message, with FIN clear.
TEST_P(ws_conf_reserved, ReservedBitsOnAnUnfinishedFirstFrame) {
    for (int rsv : k_rsv_values) {
        endpoint ep(me());
        ep.feed(in(op_binary, "abc", false, rsv) + in(op_cont, "def"));
        EXPECT_TRUE(ep.events.empty());
        EXPECT_TRUE(failed_with(ep, websocket_errc::reserved_bits)) << rsv;
    }
}

// With the extension negotiated: RSV1 alone on a data message's first
// frame passes (single-frame and fragmented, text and binary), and the
// chunks report it; RSV2/RSV3, with or without RSV1, still fail.
TEST_P(ws_conf_reserved, Rsv1AcceptedOnFirstFramesOnlyWhenNegotiated) {
    endpoint ep(me(), {}, true);
    // Compressed text is not UTF-8 checked by the codec (the caller inflates
    // first), so arbitrary bytes pass with RSV1.
    ep.feed(in(op_text, "\xff\xfe", true, rsv1) + in(op_binary, "ab", false, rsv1) +
                in(op_ping, "x") + in(op_cont, "cd", false) + in(op_cont, "ef") +
                in(op_text, "plain"),
            1);
    ASSERT_FALSE(ep.ec) << ep.ec.message();
    const auto msgs = ep.messages();
    ASSERT_EQ(msgs.size(), 3u);
    EXPECT_EQ(msgs[0], (message{message_type::text, true, "\xff\xfe"}));
    EXPECT_EQ(msgs[1], (message{message_type::binary, true, "abcdef"}));
    EXPECT_EQ(msgs[2], (message{message_type::text, false, "plain"}));

    for (int rsv : k_rsv_values) {
        if (rsv == rsv1) {
            continue;
        }
        endpoint bad(me(), {}, true);
        bad.feed(in(op_text, "x", true, rsv));
        EXPECT_TRUE(failed_with(bad, websocket_errc::reserved_bits)) << rsv;
    }
}

// RSV1 of one message does not leak into the next: a message without RSV1
// after a compressed one is UTF-8 checked again.
TEST_P(ws_conf_reserved, Rsv1DoesNotCarryOverToTheNextMessage) {
    endpoint ep(me(), {}, true);
    ep.feed(in(op_text, "\xc3", false, rsv1) + in(op_cont, "\xff") + in(op_text, "ok\xff"));
    ASSERT_EQ(ep.messages().size(), 1u);
    EXPECT_EQ(ep.messages()[0], (message{message_type::text, true, "\xc3\xff"}));
    EXPECT_TRUE(failed_with(ep, websocket_errc::invalid_utf8));
}

// With the extension: RSV1 on a continuation frame (RFC 7692 6.1), whether
// or not the message's first frame had it, fails with 1002; so does RSV1 on
// every control frame kind.
TEST_P(ws_conf_reserved, Rsv1OnContinuationOrControlFailsWhenNegotiated) {
    for (int first_rsv : {0, rsv1}) {
        endpoint ep(me(), {}, true);
        const std::string prefix = in(op_text, "a", false, first_rsv) + in(op_cont, "b", false);
        ep.feed(prefix + in(op_cont, "c", true, rsv1), 1);
        EXPECT_EQ(ep.error_at, prefix.size() + 2);
        EXPECT_EQ(ep.data_bytes(), "ab");
        EXPECT_TRUE(failed_with(ep, websocket_errc::rsv1_on_continuation)) << first_rsv;
    }
    for (int op : {op_close, op_ping, op_pong}) {
        endpoint ep(me(), {}, true);
        ep.feed(in(op, op == op_close ? close_body(1000) : "", true, rsv1));
        EXPECT_TRUE(ep.events.empty());
        EXPECT_TRUE(failed_with(ep, websocket_errc::compressed_control_frame)) << op;
    }
}

// set_rsv1_allowed() switches the rule at once (a codec created before the
// handshake completed).
TEST_P(ws_conf_reserved, Rsv1PermissionFollowsTheSetting) {
    endpoint ep(me());
    ep.feed(in(op_text, "before"));
    ep.c.set_rsv1_allowed(true);
    ep.feed(in(op_binary, "z", true, rsv1));
    ASSERT_FALSE(ep.ec);
    ep.c.set_rsv1_allowed(false);
    ep.feed(in(op_binary, "z", true, rsv1));
    EXPECT_EQ(ep.messages().size(), 2u);
    EXPECT_TRUE(failed_with(ep, websocket_errc::reserved_bits));
}

// Sending: RSV1 goes on the first frame only, and only when allowed; a
// peer codec of the other role with the extension takes it.
TEST_P(ws_conf_reserved, SendingRsv1BetweenPeers) {
    endpoint a(me(), {}, true);
    endpoint b(peer(), {}, true);
    ASSERT_FALSE(a.c.send_message(message_type::binary, codec::as_bytes("one"), true));
    ASSERT_FALSE(a.c.begin_message(message_type::binary, codec::as_bytes("t"), true));
    ASSERT_FALSE(a.c.continue_message(codec::as_bytes("w")));
    ASSERT_FALSE(a.c.end_message(codec::as_bytes("o")));
    const std::string wire = a.drain();
    const auto frames = parse_wire(wire);
    ASSERT_EQ(frames.size(), 4u);
    EXPECT_EQ(frames[0].rsv, rsv1);
    EXPECT_EQ(frames[1].rsv, rsv1);
    EXPECT_EQ(frames[2].rsv, 0);
    EXPECT_EQ(frames[3].rsv, 0);
    b.feed(wire, 1);
    ASSERT_FALSE(b.ec);
    EXPECT_EQ(b.messages(), (std::vector<message>{{message_type::binary, true, "one"},
                                                  {message_type::binary, true, "two"}}));
    // Without the extension the peer refuses it.
    endpoint c(peer());
    c.feed(wire);
    EXPECT_TRUE(failed_with(c, websocket_errc::reserved_bits));
}

}  // namespace
}  // namespace corvid::ws::conformance
