// Conformance, Autobahn group 4 (opcodes), both roles: the reserved
// non-control opcodes 3-7 and control opcodes 0xB-0xF fail the connection
// with 1002 at the frame's first two bytes, whatever the frame's FIN,
// payload and place (between messages or inside a fragmented one), and
// nothing after them is processed (a following ping is never answered).

#include <gtest/gtest.h>

#include <string>

#include "tests/proto/ws/conformance_support.hpp"

namespace corvid::ws::conformance {
namespace {

class ws_conf_opcode : public role_test {};
INSTANTIATE_TEST_SUITE_P(roles, ws_conf_opcode, ::testing::Values(role::client, role::server),
                         role_name);

const int k_reserved[] = {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF};

// 4.1.1-4.2.5: after a valid text message, a frame with a reserved opcode
// (empty or with payload, FIN set or clear), then a ping.
TEST_P(ws_conf_opcode, ReservedOpcodesFailFast) {
    for (int op : k_reserved) {
        for (bool fin : {true, false}) {
            for (const std::string& payload : {""s, "reserved payload"s, pattern(300, 3)}) {
                for (std::size_t piece : {std::size_t{0}, std::size_t{1}}) {
                    const std::string prefix = in(op_text, "before");
                    endpoint ep(me());
                    ep.feed(prefix + in(op, payload, fin) + in(op_ping, "after"), piece);
                    EXPECT_EQ(ep.error_at, prefix.size() + 2) << op;
                    ASSERT_EQ(ep.messages().size(), 1u);
                    EXPECT_EQ(ep.count(rec::ping), 0u);
                    EXPECT_TRUE(failed_with(ep, websocket_errc::reserved_opcode))
                        << "op " << op << " fin " << fin << " payload " << payload.size();
                }
            }
        }
    }
}

// A reserved opcode in the middle of a fragmented message (where a
// continuation or a control frame is expected).
TEST_P(ws_conf_opcode, ReservedOpcodeInsideAFragmentedMessage) {
    for (int op : k_reserved) {
        endpoint ep(me());
        const std::string prefix = in(op_text, "frag", false) + in(op_ping, "p");
        ep.feed(prefix + in(op, "x") + in(op_cont, "ment"), 1);
        EXPECT_EQ(ep.error_at, prefix.size() + 2);
        EXPECT_EQ(ep.data_bytes(), "frag");
        EXPECT_TRUE(failed_with(ep, websocket_errc::reserved_opcode)) << op;
    }
}

// The reserved opcode comes as the very first frame (no earlier message),
// with reserved bits and a wrong mask as well: the opcode is what fails,
// and the failure still comes at byte 2.
TEST_P(ws_conf_opcode, ReservedOpcodeAsTheFirstFrame) {
    for (int op : k_reserved) {
        endpoint ep(me());
        ep.feed(frame(peer(), op, "wrongly masked", true, rsv2), 1);
        EXPECT_EQ(ep.error_at, 2u);
        EXPECT_TRUE(failed_with(ep, websocket_errc::reserved_opcode)) << op;
    }
}

// Every one of the 16 opcodes, in a frame with FIN and a 1-byte payload
// (the close frame gets a valid 2-byte body instead): exactly the six
// defined ones are accepted (a bare continuation only inside a message).
TEST_P(ws_conf_opcode, OnlyTheDefinedOpcodesAreAccepted) {
    for (int op = 0; op < 16; ++op) {
        endpoint ep(me());
        std::string wire;
        if (op == op_cont) {
            wire = in(op_binary, "a", false);
        }
        wire += in(op, op == op_close ? close_body(1000) : "a");
        ep.feed(wire);
        const bool defined = op <= 2 || (op >= 8 && op <= 10);
        EXPECT_EQ(!ep.ec, defined) << op << ": " << ep.ec.message();
    }
}

}  // namespace
}  // namespace corvid::ws::conformance
