// Conformance, Autobahn group 6 (UTF-8 handling), both roles: the samples
// of Markus Kuhn's UTF-8 decoder stress test that Autobahn uses (valid
// boundaries and noncharacters; invalid overlongs, surrogates, code points
// above U+10FFFF, impossible bytes, stray continuations, lonely and
// truncated sequences), each as one frame fed whole and byte by byte and as
// two fragments split at every byte. Invalid text fails with 1007 at the
// frame holding the first bad byte ("fail fast": before the message ends,
// and byte-exact when fed byte by byte), and no invalid byte is ever
// delivered. The expected outcome comes from a reference check written here
// from Unicode's table of well-formed byte sequences (Table 3-7).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/proto/ws/conformance_support.hpp"

namespace corvid::ws::conformance {
namespace {

class ws_conf_utf8 : public role_test {};
INSTANTIATE_TEST_SUITE_P(roles, ws_conf_utf8, ::testing::Values(role::client, role::server),
                         role_name);

// Where a byte string stops being a prefix of valid UTF-8: `bad` is the
// index of the first byte no valid sequence can have there (npos: none);
// `complete` says it ends on a code point boundary.
struct verdict {
    std::size_t bad = std::string::npos;
    bool complete = true;
    bool valid() const { return bad == std::string::npos && complete; }
};

verdict reference_check(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<std::uint8_t>(s[i]);
        int need = 0;
        std::uint8_t lo = 0x80;
        std::uint8_t hi = 0xBF;
        if (b <= 0x7F) {
            ++i;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
        } else if (b == 0xE0) {
            need = 2;
            lo = 0xA0;
        } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
            need = 2;
        } else if (b == 0xED) {
            need = 2;
            hi = 0x9F;
        } else if (b == 0xF0) {
            need = 3;
            lo = 0x90;
        } else if (b >= 0xF1 && b <= 0xF3) {
            need = 3;
        } else if (b == 0xF4) {
            need = 3;
            hi = 0x8F;
        } else {
            return {i, false};
        }
        std::size_t j = i + 1;
        for (int k = 0; k < need; ++k, ++j) {
            if (j == s.size()) {
                return {std::string::npos, false};
            }
            const auto c = static_cast<std::uint8_t>(s[j]);
            if (c < (k == 0 ? lo : 0x80) || c > (k == 0 ? hi : 0xBF)) {
                return {j, false};
            }
        }
        i = j;
    }
    return {};
}

// The samples (Autobahn 6.2-6.23, after Kuhn's UTF-8-test.txt).
std::vector<std::string> samples() {
    std::vector<std::string> v = {
        // 6.1, 6.2, 6.5: valid text.
        "",
        "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
        // 6.7: first possible sequence of each length.
        "\x00"s,
        "\xc2\x80",
        "\xe0\xa0\x80",
        "\xf0\x90\x80\x80",
        // 6.8 (invalid): first 5- and 6-byte forms.
        "\xf8\x88\x80\x80\x80",
        "\xfc\x84\x80\x80\x80\x80",
        // 6.9: last possible of each length (and beyond U+10FFFF).
        "\x7f",
        "\xdf\xbf",
        "\xef\xbf\xbf",
        "\xf4\x8f\xbf\xbf",
        "\xf7\xbf\xbf\xbf",
        "\xfb\xbf\xbf\xbf\xbf",
        "\xfd\xbf\xbf\xbf\xbf\xbf",
        // 6.11: other boundaries.
        "\xed\x9f\xbf",
        "\xee\x80\x80",
        "\xef\xbf\xbd",
        "\xf4\x90\x80\x80",
        // 6.12, 6.13: unexpected continuation bytes.
        "\x80",
        "\xbf",
        "\x80\xbf",
        "\x80\xbf\x80",
        "\x80\xbf\x80\xbf",
        // 6.14: lonely start characters followed by a space.
        "\xc0 ",
        "\xc1 ",
        "\xc2 ",
        "\xdf ",
        "\xe0 ",
        "\xef ",
        "\xf0 ",
        "\xf4 ",
        "\xf7 ",
        "\xf8 ",
        "\xfb ",
        "\xfc ",
        "\xfd ",
        // 6.15, 6.16: sequences with their last byte missing, and concatenated.
        "\xc0",
        "\xe0\x80",
        "\xf0\x80\x80",
        "\xf8\x80\x80\x80",
        "\xfc\x80\x80\x80\x80",
        "\xdf",
        "\xef\xbf",
        "\xf4\x8f\xbf",
        "\xe1\x80",
        "\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf\xf7\xbf\xbf",
        // 6.17: impossible bytes.
        "\xfe",
        "\xff",
        "\xfe\xfe\xff\xff",
        // 6.18-6.20: overlong forms of '/', maximal overlongs, overlong NUL.
        "\xc0\xaf",
        "\xe0\x80\xaf",
        "\xf0\x80\x80\xaf",
        "\xf8\x80\x80\x80\xaf",
        "\xc1\xbf",
        "\xe0\x9f\xbf",
        "\xf0\x8f\xbf\xbf",
        "\xc0\x80",
        "\xe0\x80\x80",
        "\xf0\x80\x80\x80",
        // 6.21, 6.22: single and paired UTF-16 surrogates.
        "\xed\xa0\x80",
        "\xed\xad\xbf",
        "\xed\xae\x80",
        "\xed\xaf\xbf",
        "\xed\xb0\x80",
        "\xed\xbe\x80",
        "\xed\xbf\xbf",
        "\xed\xa0\x80\xed\xb0\x80",
        "\xed\xaf\xbf\xed\xbf\xbf",
        // 6.23: noncharacters are valid.
        "\xef\xbf\xbe",
        "\xef\xb7\x90",
        "\xef\xb7\xaf",
        "\xf0\x9f\xbf\xbe",
        "\xf0\x9f\xbf\xbf",
        "\xf3\xbf\xbf\xbe",
        "\xf4\x8f\xbf\xbe",
        // 6.3: a surrogate inside valid text.
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
        "edited",
    };
    // 6.12.x: every continuation byte alone.
    std::string all_continuations;
    for (int b = 0x80; b <= 0xBF; ++b) {
        all_continuations.push_back(static_cast<char>(b));
    }
    v.push_back(all_continuations);
    // Each sample also inside ASCII text, so the bad byte is mid-message.
    const std::size_t n = v.size();
    for (std::size_t i = 0; i < n; ++i) {
        v.push_back("pre " + v[i] + " post");
    }
    return v;
}

// Sanity of the reference itself on a few cases whose answer is known.
TEST(ws_conf_utf8_reference, KnownAnswers) {
    EXPECT_TRUE(reference_check("\xf4\x8f\xbf\xbf").valid());
    EXPECT_EQ(reference_check("ab\xf4\x90\x80\x80").bad, 3u);
    EXPECT_EQ(reference_check("ab\xed\xa0\x80").bad, 3u);
    EXPECT_EQ(reference_check("ab\xc0\x80").bad, 2u);
    EXPECT_EQ(reference_check("ab\xe1\x80x").bad, 4u);
    const verdict cut = reference_check("ab\xe2\x82");
    EXPECT_EQ(cut.bad, std::string::npos);
    EXPECT_FALSE(cut.complete);
}

// One frame, fed whole: valid text is delivered unchanged; invalid text
// fails with 1007 and none of it is delivered.
TEST_P(ws_conf_utf8, EverySampleInOneFrame) {
    std::size_t valid = 0;
    std::size_t invalid = 0;
    for (const auto& s : samples()) {
        const verdict v = reference_check(s);
        endpoint ep(me());
        ep.feed(in(op_text, s) + in(op_ping, "after"));
        if (v.valid()) {
            ++valid;
            ASSERT_FALSE(ep.ec) << testing::PrintToString(s);
            EXPECT_EQ(ep.messages(), (std::vector<message>{{message_type::text, false, s}}));
        } else {
            ++invalid;
            EXPECT_TRUE(ep.data_bytes().empty());
            EXPECT_EQ(ep.count(rec::ping), 0u);
            EXPECT_TRUE(failed_with(ep, websocket_errc::invalid_utf8)) << testing::PrintToString(s);
        }
    }
    EXPECT_GT(valid, 30u);
    EXPECT_GT(invalid, 100u);
}

// One frame, fed byte by byte: invalid text fails with the first bad byte
// (or with the message's last byte when only the end is cut short), and
// exactly the bytes before it are delivered.
TEST_P(ws_conf_utf8, EverySampleByteByByteFailsAtTheFirstBadByte) {
    for (const auto& s : samples()) {
        const verdict v = reference_check(s);
        const std::string wire = in(op_text, s);
        const std::size_t header = wire.size() - s.size();
        endpoint ep(me());
        ep.feed(wire, 1);
        if (v.valid()) {
            ASSERT_FALSE(ep.ec) << testing::PrintToString(s);
            EXPECT_EQ(ep.data_bytes(), s);
            continue;
        }
        const std::size_t fail_at = v.bad != std::string::npos ? v.bad : s.size() - 1;
        EXPECT_EQ(ep.error_at, header + fail_at + 1) << testing::PrintToString(s);
        EXPECT_EQ(ep.data_bytes(), s.substr(0, fail_at)) << testing::PrintToString(s);
        EXPECT_TRUE(failed_with(ep, websocket_errc::invalid_utf8)) << testing::PrintToString(s);
    }
}

// Two fragments split at every byte (6.2.2, 6.3.2, 6.4.x): the error comes
// with the fragment holding the first bad byte, so a bad first fragment
// fails before the second arrives; a sequence cut short at the end fails
// with the last fragment. Valid text is delivered whatever the split.
TEST_P(ws_conf_utf8, EverySampleInTwoFragmentsSplitAtEveryByte) {
    for (const auto& s : samples()) {
        const verdict v = reference_check(s);
        for (std::size_t p = 0; p <= s.size(); ++p) {
            const std::string first = in(op_text, s.substr(0, p), false);
            const std::string second = in(op_cont, s.substr(p));
            endpoint ep(me());
            ep.feed(first + second);
            if (v.valid()) {
                ASSERT_FALSE(ep.ec) << testing::PrintToString(s) << " split " << p;
                EXPECT_EQ(ep.messages(), (std::vector<message>{{message_type::text, false, s}}));
                continue;
            }
            const bool in_first = v.bad != std::string::npos && v.bad < p;
            EXPECT_EQ(ep.error_at, in_first ? first.size() : first.size() + second.size())
                << testing::PrintToString(s) << " split " << p;
            EXPECT_EQ(ep.data_bytes(), in_first ? "" : s.substr(0, p));
            EXPECT_TRUE(failed_with(ep, websocket_errc::invalid_utf8))
                << testing::PrintToString(s) << " split " << p;
        }
    }
}

// 6.4.1-6.4.4: the message's later fragments never arrive (the peer waits);
// the fault must be reported from what arrived.
TEST_P(ws_conf_utf8, FailFastWithoutTheRestOfTheMessage) {
    const std::string good = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
    const std::string bad = "\xf4\x90\x80\x80";
    // 6.4.1: the bad code point is a fragment of its own.
    {
        endpoint ep(me());
        ep.feed(in(op_text, good, false) + in(op_cont, bad, false));
        EXPECT_EQ(ep.data_bytes(), good);
        EXPECT_TRUE(failed_with(ep, websocket_errc::invalid_utf8));
    }
    // 6.4.2: the bad code point's first byte ends fragment 1; its second byte
    // (the first impossible one) starts fragment 2, of which only that
    // byte arrives.
    {
        endpoint ep(me());
        const std::string wire =
            in(op_text, good + bad.substr(0, 1), false) + in(op_cont, bad.substr(1) + good, false);
        const std::size_t second_header = me() == role::server ? 6 : 2;
        const std::size_t upto = in(op_text, good + bad.substr(0, 1), false).size() + second_header;
        ep.feed(wire.substr(0, upto + 1), 1);
        EXPECT_EQ(ep.error_at, upto + 1);
        EXPECT_TRUE(failed_with(ep, websocket_errc::invalid_utf8));
    }
    // 6.4.3, 6.4.4: one frame whose declared payload has not fully arrived.
    {
        const std::string payload = good + bad + good;
        const std::string wire = in(op_text, payload);
        const std::size_t header = wire.size() - payload.size();
        endpoint ep(me());
        ep.feed(wire.substr(0, header + good.size() + 2));
        EXPECT_EQ(ep.error_at, header + good.size() + 2);
        EXPECT_TRUE(failed_with(ep, websocket_errc::invalid_utf8));
    }
}

// Every Unicode scalar value in one text message, fed in random pieces
// (code points cut everywhere), and the surrogates' neighbours.
TEST_P(ws_conf_utf8, EveryScalarValueInOneMessage) {
    std::string all;
    for (std::uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            continue;
        }
        if (cp < 0x80) {
            all.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            all.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            all.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            all.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            all.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            all.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            all.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            all.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            all.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            all.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }
    ASSERT_TRUE(reference_check(all).valid());
    const std::string wire = in(op_text, all);
    endpoint ep(me());
    ep.feed(wire, random_pieces(wire.size(), 42, 1000));
    ASSERT_FALSE(ep.ec) << ep.ec.message();
    ASSERT_EQ(ep.messages().size(), 1u);
    EXPECT_TRUE(ep.messages()[0].data == all);
}

// Text sent between client and server codecs: the sender does not check
// (it may be compressed), the receiver does.
TEST_P(ws_conf_utf8, InvalidTextBetweenPeersIsRefusedByTheReceiver) {
    endpoint a(me());
    endpoint b(peer());
    ASSERT_FALSE(a.c.send_text("fine \xe2\x82\xac"));
    ASSERT_FALSE(a.c.send_text("broken \xed\xa0\x80"));
    b.feed(a.drain(), 1);
    EXPECT_EQ(b.messages().size(), 1u);
    // Byte by byte: ED may start a valid sequence, A0 after it cannot.
    EXPECT_EQ(b.data_bytes(),
              "fine \xe2\x82\xac"
              "broken \xed");
    EXPECT_TRUE(failed_with(b, websocket_errc::invalid_utf8));
}

}  // namespace
}  // namespace corvid::ws::conformance
