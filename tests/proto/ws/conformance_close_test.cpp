// Conformance, Autobahn group 7 (close handling), both roles: what follows
// a close is not processed (data, pings, a second close); close payloads of
// 0, 1, 2, 2+reason, 125 and 126 bytes; every one of the 65536 close codes
// (valid: 1000-1003, 1007-1014 per the IANA registry, 3000-4999; anything
// else fails with 1002) and the echo of each valid one; reasons that are
// not UTF-8 fail with 1007; the closing handshake between peers, started by
// either side or both at once.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/proto/ws/conformance_support.hpp"

namespace corvid::ws::conformance {
namespace {

class ws_conf_close : public role_test {
  protected:
    // Checks that the output holds exactly one frame, a close with `body`.
    void expect_only_close(endpoint& ep, const std::string& body) {
        const auto out = ep.drain_frames();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].op, op_close);
        EXPECT_TRUE(out[0].fin);
        EXPECT_EQ(out[0].masked, me() == role::client);
        EXPECT_EQ(out[0].payload, body);
    }
};
INSTANTIATE_TEST_SUITE_P(roles, ws_conf_close, ::testing::Values(role::client, role::server),
                         role_name);

// 7.1.1-7.1.4, 7.1.6: a message, then a close, then more frames of every
// kind: the message is delivered, the close reported and echoed, and the
// codec takes nothing after the close frame.
TEST_P(ws_conf_close, NothingAfterTheCloseIsProcessed) {
    const std::string big = pattern(256 * 1024, 2);
    const std::vector<std::string> after = {
        in(op_ping, "ping after close"),   in(op_text, "text after close"),
        in(op_close, close_body(1001)),    in(op_cont, "continuation"),
        in(op_binary, "x", true, rsv2),    in(op_text, "\xff"),
        std::string("\x83\x00garbage", 9),
    };
    for (const auto& tail : after) {
        for (std::size_t piece : {std::size_t{0}, std::size_t{1}}) {
            const std::string head = in(op_binary, big) + in(op_close, close_body(1000));
            endpoint ep(me());
            ep.feed(head + tail, piece == 0 ? 0 : head.size() - 1);
            ASSERT_FALSE(ep.ec) << ep.ec.message();
            EXPECT_EQ(ep.used, head.size());
            EXPECT_TRUE(ep.stalled);
            ASSERT_EQ(ep.events.back().kind, rec::close);
            EXPECT_EQ(ep.events.back().code, 1000);
            EXPECT_EQ(ep.count(rec::close), 1u);
            EXPECT_EQ(ep.count(rec::ping), 0u);
            ASSERT_EQ(ep.messages().size(), 1u);
            EXPECT_TRUE(ep.messages()[0].data == big);
            EXPECT_TRUE(ep.c.close_received());
            EXPECT_TRUE(ep.c.closed());
            expect_only_close(ep, close_body(1000));
            // Sending is over too.
            EXPECT_EQ(ep.c.send_text("x"), make_error_code(websocket_errc::closed));
            EXPECT_EQ(ep.c.send_ping(), make_error_code(websocket_errc::closed));
            EXPECT_EQ(ep.c.send_close(), make_error_code(websocket_errc::closed));
            EXPECT_TRUE(ep.drain().empty());
        }
    }
}

// 7.3.x: close payload sizes. 0: no code (reported as 1005), echoed empty;
// 1: 1002; 2: the code; 2 + reason: code and reason, echo without the
// reason; 125: the largest; 126: 1002 at the length byte.
TEST_P(ws_conf_close, ClosePayloadSizes) {
    {
        endpoint ep(me());
        ep.feed(in(op_close, ""), 1);
        ASSERT_EQ(ep.events.size(), 1u);
        EXPECT_EQ(ep.events[0].code, close_code::no_status);
        EXPECT_EQ(ep.events[0].bytes, "");
        expect_only_close(ep, "");
    }
    for (int b = 0; b < 256; ++b) {
        endpoint ep(me());
        ep.feed(in(op_close, std::string(1, static_cast<char>(b))));
        EXPECT_TRUE(ep.events.empty());
        EXPECT_TRUE(failed_with(ep, websocket_errc::bad_close_payload)) << b;
    }
    for (std::size_t reason_len : {0, 1, 30, 122, 123}) {
        const std::string reason(reason_len, 'r');
        endpoint ep(me());
        ep.feed(in(op_close, close_body(1000, reason)), 1);
        ASSERT_FALSE(ep.ec) << reason_len;
        ASSERT_EQ(ep.events.size(), 1u);
        EXPECT_EQ(ep.events[0].code, 1000);
        EXPECT_EQ(ep.events[0].bytes, reason);
        expect_only_close(ep, close_body(1000));
    }
    for (std::size_t reason_len : {124, 200, 1000}) {
        endpoint ep(me());
        ep.feed(in(op_close, close_body(1000, std::string(reason_len, 'r'))), 1);
        EXPECT_EQ(ep.error_at, 2u);
        EXPECT_TRUE(failed_with(ep, websocket_errc::control_frame_too_long)) << reason_len;
    }
}

// A close frame split at every byte gives the same close.
TEST_P(ws_conf_close, CloseSplitAtEveryByte) {
    const std::string reason = "\xe2\x82\xac going away \xf0\x9f\x98\x80";
    const std::string wire = in(op_close, close_body(1001, reason));
    for (std::size_t point = 0; point <= wire.size(); ++point) {
        endpoint ep(me());
        ep.feed(wire, split_at(wire.size(), point));
        ASSERT_EQ(ep.events.size(), 1u) << point;
        EXPECT_EQ(ep.events[0].code, 1001);
        EXPECT_EQ(ep.events[0].bytes, reason);
        expect_only_close(ep, close_body(1001));
    }
}

// 7.7.x, 7.9.x, 7.13.x: every 16-bit code. Valid ones are reported and
// echoed; the others fail with 1002 and the codec sends 1002 (the code it
// received is never echoed). send_close() takes exactly the valid ones.
TEST_P(ws_conf_close, EveryCloseCode) {
    auto valid = [](int c) {
        return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
    };
    std::size_t accepted = 0;
    for (int code = 0; code <= 0xFFFF; ++code) {
        const auto c16 = static_cast<std::uint16_t>(code);
        endpoint ep(me());
        ep.feed(in(op_close, close_body(c16, "r")));
        EXPECT_EQ(is_valid_close_code(c16), valid(code)) << code;
        codec sender = make_codec(me());
        if (valid(code)) {
            ++accepted;
            ASSERT_FALSE(ep.ec) << code;
            ASSERT_EQ(ep.events.size(), 1u);
            EXPECT_EQ(ep.events[0].code, code);
            const auto out = ep.drain_frames();
            ASSERT_EQ(out.size(), 1u);
            ASSERT_EQ(out[0].payload, close_body(c16)) << code;
            EXPECT_FALSE(sender.send_close(c16, "reason")) << code;
        } else {
            ASSERT_TRUE(failed_with(ep, websocket_errc::invalid_close_code)) << code;
            if (code != close_code::no_status) {
                EXPECT_EQ(sender.send_close(c16),
                          make_error_code(websocket_errc::invalid_close_code))
                    << code;
            }
        }
    }
    EXPECT_EQ(accepted, 4u + 8u + 2000u);
}

// 7.5.1 and more: a reason that is not UTF-8 fails with 1007, whole or
// byte by byte; a valid multi-byte reason of the full 123 bytes passes.
TEST_P(ws_conf_close, CloseReasonUtf8) {
    const std::vector<std::string> bad = {
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
        "edited",
        "cut \xe2\x82",
        "\xc0\xaf",
        "\xf4\x90\x80\x80",
        "\x80",
        "\xff",
        std::string(122, 'a') + "\xc3",
    };
    for (const auto& reason : bad) {
        for (std::size_t piece : {std::size_t{0}, std::size_t{1}}) {
            endpoint ep(me());
            ep.feed(in(op_close, close_body(1000, reason)), piece);
            EXPECT_TRUE(ep.events.empty());
            EXPECT_TRUE(failed_with(ep, websocket_errc::invalid_utf8))
                << testing::PrintToString(reason);
        }
    }
    std::string euros;
    for (int i = 0; i < 41; ++i) {
        euros += "\xe2\x82\xac";
    }
    ASSERT_EQ(euros.size(), 123u);
    endpoint ep(me());
    ep.feed(in(op_close, close_body(4000, euros)), 1);
    ASSERT_FALSE(ep.ec);
    EXPECT_EQ(ep.events.at(0).bytes, euros);
    // And the sender takes it too, a 124-byte one not.
    codec s = make_codec(me());
    EXPECT_EQ(s.send_close(4000, euros + "x"),
              make_error_code(websocket_errc::control_frame_too_long));
    EXPECT_FALSE(s.send_close(4000, euros));
}

// Closing handshake started by us: our close goes out with code and
// reason; data and pings from the peer still arrive until its close (pings
// not answered: nothing may follow our close); its close completes the
// handshake without a second close from us.
TEST_P(ws_conf_close, HandshakeStartedByUs) {
    endpoint a(me());
    ASSERT_FALSE(a.c.send_close(3001, "app done"));
    const auto out = parse_wire(a.drain());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, close_body(3001, "app done"));
    EXPECT_EQ(out[0].masked, me() == role::client);
    EXPECT_TRUE(a.c.close_sent());
    EXPECT_FALSE(a.c.closed());
    a.feed(in(op_text, "in flight") + in(op_ping, "p") + in(op_close, close_body(1000)));
    ASSERT_FALSE(a.ec);
    EXPECT_EQ(a.messages().size(), 1u);
    EXPECT_EQ(a.count(rec::ping), 1u);
    EXPECT_EQ(a.events.back().code, 1000);
    EXPECT_TRUE(a.c.closed());
    EXPECT_TRUE(a.drain().empty());
}

// Both ends close at once: each receives the other's close, neither sends
// a second one, both are closed.
TEST_P(ws_conf_close, SimultaneousClose) {
    endpoint a(me());
    endpoint b(peer());
    ASSERT_FALSE(a.c.send_close(1000, "a"));
    ASSERT_FALSE(b.c.send_close(1001, "b"));
    const std::string from_a = a.drain();
    const std::string from_b = b.drain();
    a.feed(from_b, 1);
    b.feed(from_a, 1);
    ASSERT_FALSE(a.ec || b.ec);
    EXPECT_EQ(a.events.at(0).code, 1001);
    EXPECT_EQ(b.events.at(0).code, 1000);
    EXPECT_TRUE(a.c.closed());
    EXPECT_TRUE(b.c.closed());
    EXPECT_TRUE(a.drain().empty());
    EXPECT_TRUE(b.drain().empty());
}

// The peer closes first, between codecs: the echo is what completes the
// handshake on the peer's side, and its code matches.
TEST_P(ws_conf_close, EchoCompletesThePeersHandshake) {
    for (std::uint16_t code : {1000, 1003, 1011, 1014, 3000, 4999}) {
        endpoint a(me());
        endpoint b(peer());
        ASSERT_FALSE(b.c.send_close(code, "bye"));
        a.feed(b.drain());
        EXPECT_TRUE(a.c.closed());
        b.feed(a.drain());
        ASSERT_FALSE(b.ec);
        ASSERT_EQ(b.events.size(), 1u);
        EXPECT_EQ(b.events[0].code, code);
        EXPECT_TRUE(b.c.closed());
    }
    // An empty close is echoed empty, and the peer sees 1005.
    endpoint a(me());
    endpoint b(peer());
    ASSERT_FALSE(b.c.send_close(close_code::no_status));
    a.feed(b.drain());
    b.feed(a.drain());
    EXPECT_EQ(a.events.at(0).code, close_code::no_status);
    EXPECT_EQ(b.events.at(0).code, close_code::no_status);
}

}  // namespace
}  // namespace corvid::ws::conformance
