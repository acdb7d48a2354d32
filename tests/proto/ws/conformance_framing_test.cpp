// Conformance, Autobahn group 1 (framing): text and binary messages of the
// lengths at the edges of the 7-, 16- and 64-bit length forms and large
// ones, in both roles, fed whole, in 1-byte pieces, split at every byte
// boundary and in random pieces, and exchanged between a client and a
// server codec. Frames are built by conformance_support.hpp, not the codec.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tests/proto/ws/conformance_support.hpp"

namespace corvid::ws::conformance {
namespace {

class ws_conf_framing : public role_test {};
INSTANTIATE_TEST_SUITE_P(roles, ws_conf_framing, ::testing::Values(role::client, role::server),
                         role_name);

const std::size_t k_lengths[] = {0, 1, 125, 126, 127, 128, 65535, 65536};

// The header size of a frame of `len` bytes, as RFC 6455 5.2 requires it
// (shortest length form; a masking key towards a server).
std::size_t header_size(role receiver, std::size_t len) {
    const std::size_t ext = len < 126 ? 0 : len <= 65535 ? 2 : 8;
    return 2 + ext + (receiver == role::server ? 4 : 0);
}

// 1.1.x (text) and 1.2.x (binary): each length whole and in 1-byte pieces.
TEST_P(ws_conf_framing, EveryLengthFormWholeAndByteByByte) {
    for (int op : {op_text, op_binary}) {
        for (std::size_t len : k_lengths) {
            // Text must be UTF-8: printable ASCII; binary gets every byte value.
            const std::string payload = op == op_text
                                            ? std::string(len, 'a' + static_cast<char>(len % 26))
                                            : pattern(len, static_cast<unsigned>(len));
            const std::string wire = in(op, payload);
            ASSERT_EQ(wire.size(), header_size(me(), len) + len);
            for (std::size_t piece : {std::size_t{0}, std::size_t{1}}) {
                endpoint ep(me());
                ep.feed(wire, piece);
                ASSERT_FALSE(ep.ec) << len << ": " << ep.ec.message();
                EXPECT_EQ(ep.used, wire.size());
                const auto msgs = ep.messages();
                ASSERT_EQ(msgs.size(), 1u) << len << " piece " << piece;
                EXPECT_EQ(msgs[0], (message{static_cast<message_type>(op), false, payload}))
                    << len << " piece " << piece;
                // A receiver never answers data.
                EXPECT_TRUE(ep.drain().empty());
                if (piece == 1 && len > 0) {
                    // Byte by byte: one chunk per payload byte, none empty.
                    EXPECT_EQ(ep.count(rec::data), len);
                }
            }
        }
    }
}

// 1.1.8 / 1.2.8 send 65536 bytes in pieces of 997; here random pieces too.
TEST_P(ws_conf_framing, PiecesOf997AndRandomPieces) {
    const std::string payload = pattern(65536, 8);
    const std::string wire = in(op_binary, payload);
    for (unsigned seed = 0; seed < 20; ++seed) {
        endpoint ep(me());
        if (seed == 0) {
            ep.feed(wire, 997);
        } else {
            ep.feed(wire, random_pieces(wire.size(), seed, seed < 10 ? 16 : 4096));
        }
        ASSERT_FALSE(ep.ec) << seed;
        ASSERT_EQ(ep.messages(), (std::vector<message>{{message_type::binary, false, payload}}))
            << seed;
    }
}

// The header split at every byte boundary, for every length form: the codec
// buffers the partial header and resumes.
TEST_P(ws_conf_framing, HeaderAndPayloadSplitAtEveryByte) {
    for (std::size_t len : k_lengths) {
        const std::string payload = pattern(len, 3);
        const std::string wire = in(op_binary, payload);
        // Every split point in the header and the first bytes of payload,
        // then a sample across the rest.
        for (std::size_t point = 0; point <= wire.size();
             point += point < header_size(me(), len) + 8 ? 1 : 4093) {
            endpoint ep(me());
            ep.feed(wire, split_at(wire.size(), point));
            ASSERT_FALSE(ep.ec) << len << " split " << point;
            ASSERT_EQ(ep.messages().size(), 1u) << len << " split " << point;
            EXPECT_EQ(ep.messages()[0].data, payload) << len << " split " << point;
        }
    }
}

// A stream of many frames of mixed lengths, split at every byte: the
// boundaries between frames are where a parser's state machine slips.
TEST_P(ws_conf_framing, StreamOfFramesSplitAtEveryByte) {
    std::string wire;
    std::vector<message> expected;
    for (std::size_t len : {0, 1, 5, 125, 126, 127, 300, 0, 2}) {
        const int op = len % 2 == 0 ? op_text : op_binary;
        std::string payload = op == op_text ? std::string(len, 'x') : pattern(len, 9);
        wire += in(op, payload);
        expected.push_back({static_cast<message_type>(op), false, payload});
    }
    for (std::size_t point = 0; point <= wire.size(); ++point) {
        endpoint ep(me());
        ep.feed(wire, split_at(wire.size(), point));
        ASSERT_FALSE(ep.ec) << point;
        ASSERT_EQ(ep.messages(), expected) << "split at " << point;
    }
    endpoint bytewise(me());
    bytewise.feed(wire, 1);
    ASSERT_EQ(bytewise.messages(), expected);
}

// Large messages: 1 MiB and 8 MiB in one frame (64-bit length), whole and in
// random pieces; every byte arrives in order, unmasked.
TEST_P(ws_conf_framing, LargeSingleFrameMessages) {
    for (std::size_t len : {std::size_t{1} << 20, std::size_t{8} << 20}) {
        const std::string payload = pattern(len, 5);
        const std::string wire = in(op_binary, payload);
        for (unsigned seed : {0u, 1u}) {
            endpoint ep(me());
            if (seed == 0) {
                ep.feed(wire);
            } else {
                ep.feed(wire, random_pieces(wire.size(), seed, 70000));
            }
            ASSERT_FALSE(ep.ec);
            const auto msgs = ep.messages();
            ASSERT_EQ(msgs.size(), 1u);
            EXPECT_TRUE(msgs[0].data == payload) << len;
        }
    }
}

// A 64-bit length above 4 GiB (when the limits allow it) is streamed: the
// codec delivers what arrives without buffering the frame or truncating the
// length to 32 bits (a 2^32 + 5 length read as 32 bits would be 5).
TEST_P(ws_conf_framing, SixtyFourBitLengthAboveFourGibIsStreamed) {
    codec_limits unlimited;
    unlimited.max_frame_payload = std::numeric_limits<std::uint64_t>::max();
    unlimited.max_message_size = std::numeric_limits<std::uint64_t>::max();
    endpoint ep(me(), unlimited);
    const std::uint64_t declared = (std::uint64_t{1} << 32) + 5;
    std::string wire = frame_header(me(), 0x80 | op_binary, declared);
    const std::string part = pattern(1 << 20, 4);
    // Masked towards a server: mask the part with the default key.
    std::string body = part;
    if (me() == role::server) {
        const auto key = wire.substr(wire.size() - 4);
        for (std::size_t i = 0; i < body.size(); ++i) {
            body[i] = static_cast<char>(body[i] ^ key[i % 4]);
        }
    }
    ep.feed(wire + body, random_pieces(wire.size() + body.size(), 3, 100000));
    ASSERT_FALSE(ep.ec) << ep.ec.message();
    EXPECT_EQ(ep.data_bytes(), part);
    EXPECT_TRUE(ep.messages().empty());  // the message is not finished
    for (const auto& e : ep.events) {
        EXPECT_FALSE(e.fin);
    }
}

// Client and server codecs back to back: every length both ways, the
// sender's header bytes exactly as RFC 6455 5.2 spells them, fed to the
// receiver in 1-byte pieces (small) or random pieces (large).
TEST_P(ws_conf_framing, RoundTripBetweenPeersWithExactHeaders) {
    endpoint sender(me());
    endpoint receiver(peer());
    std::vector<message> expected;
    for (std::size_t len : {0, 1, 125, 126, 127, 128, 65535, 65536, 1 << 20}) {
        for (int op : {op_text, op_binary}) {
            const std::string payload =
                op == op_text ? std::string(len, 'T') : pattern(len, static_cast<unsigned>(len));
            ASSERT_FALSE(
                sender.c.send_message(static_cast<message_type>(op), codec::as_bytes(payload)));
            const std::string wire = sender.drain();
            const auto frames = parse_wire(wire);
            ASSERT_EQ(frames.size(), 1u);
            EXPECT_EQ(frames[0].header_size, header_size(peer(), len)) << len;
            EXPECT_TRUE(frames[0].fin);
            EXPECT_EQ(frames[0].rsv, 0);
            EXPECT_EQ(frames[0].op, op);
            EXPECT_EQ(frames[0].masked, me() == role::client);
            const std::size_t b1 = static_cast<std::uint8_t>(wire[1]) & 0x7F;
            EXPECT_EQ(b1, len < 126 ? len : len <= 65535 ? 126u : 127u) << len;
            EXPECT_TRUE(frames[0].payload == payload) << len;
            receiver.feed(wire, len < 300 ? 1 : 0);
            expected.push_back({static_cast<message_type>(op), false, payload});
        }
    }
    ASSERT_FALSE(receiver.ec);
    EXPECT_EQ(receiver.messages(), expected);
}

// RFC 6455 5.2 requires the minimal number of bytes for the length: every
// length in a longer form than needed fails with 1002 once the length field
// is complete, fed byte by byte; so does a 64-bit length with its top bit
// set. Control frames in a 16- or 64-bit form fail at byte 2 (their length
// can only be 7-bit).
TEST_P(ws_conf_framing, NonMinimalLengthFormsFailAtTheLengthField) {
    struct tc {
        std::size_t len;
        len_form form;
        std::size_t length_end;
    };
    const tc cases[] = {
        {0, len_form::bits16, 4},      {1, len_form::bits16, 4},    {125, len_form::bits16, 4},
        {0, len_form::bits64, 10},     {125, len_form::bits64, 10}, {126, len_form::bits64, 10},
        {65535, len_form::bits64, 10},
    };
    for (const auto& t : cases) {
        for (int op : {op_text, op_binary, op_cont}) {
            const std::string prefix = op == op_cont ? in(op_binary, "a", false) : "";
            endpoint ep(me());
            ep.feed(prefix + in(op, std::string(t.len, 'n'), true, 0, t.form), 1);
            EXPECT_EQ(ep.error_at, prefix.size() + t.length_end) << t.len;
            EXPECT_EQ(ep.data_bytes(), op == op_cont ? "a" : "");
            EXPECT_TRUE(failed_with(ep, websocket_errc::non_minimal_length))
                << t.len << " op " << op;
        }
    }
    // The minimal forms at the same edges pass.
    for (std::size_t len : {125, 126, 65535, 65536}) {
        endpoint ep(me());
        ep.feed(in(op_binary, std::string(len, 'm'), true, 0,
                   len < 126     ? len_form::bits7
                   : len < 65536 ? len_form::bits16
                                 : len_form::bits64),
                1);
        EXPECT_FALSE(ep.ec) << len;
    }
    for (std::uint64_t top : {std::uint64_t{1} << 63, ~std::uint64_t{0}}) {
        endpoint ep(me());
        ep.feed(frame_header(me(), 0x80 | op_binary, top, len_form::bits64), 1);
        EXPECT_EQ(ep.error_at, 10u);
        EXPECT_TRUE(failed_with(ep, websocket_errc::length_too_large));
    }
    for (int op : {op_ping, op_pong, op_close}) {
        for (len_form form : {len_form::bits16, len_form::bits64}) {
            endpoint ep(me());
            ep.feed(in(op, op == op_close ? close_body(1000) : "x", true, 0, form), 1);
            EXPECT_EQ(ep.error_at, 2u);
            EXPECT_EQ(close_code_sent(ep), close_code::protocol_error) << op;
        }
    }
}

// Many small messages in one buffer: one event each, in order, and the
// codec takes each frame whole before the next one (receive() stops after
// each event).
TEST_P(ws_conf_framing, ManyMessagesInOneBuffer) {
    std::string wire;
    std::vector<message> expected;
    for (int i = 0; i < 1000; ++i) {
        std::string payload = "message " + std::to_string(i);
        wire += in(op_text, payload);
        expected.push_back({message_type::text, false, payload});
    }
    endpoint ep(me());
    ep.feed(wire);
    ASSERT_FALSE(ep.ec);
    EXPECT_EQ(ep.messages(), expected);
    EXPECT_EQ(ep.events.size(), 1000u);
}

}  // namespace
}  // namespace corvid::ws::conformance
