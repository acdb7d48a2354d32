// Conformance cases for the WebSocket framing codec, after what the Autobahn
// testsuite's groups 1 (framing), 2 (pings/pongs), 3 (reserved bits),
// 4 (opcodes), 5 (fragmentation), 6 (UTF-8), 7 (close) and 9 (limits) check.
// Every case runs in both roles: hand-built frames are masked when the
// receiver is a server, and codecs of the two roles talk to each other.

#include "proto/ws/codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace corvid::ws {
namespace {

using namespace std::string_literals;

// A deterministic "random" source: 0x11, 0x22, ... so keys differ per frame.
random_fill counter_fill() {
    auto state = std::make_shared<std::uint8_t>(0);
    return [state](std::span<std::uint8_t> out) {
        for (auto& b : out) {
            *state = static_cast<std::uint8_t>(*state + 0x11);
            b = *state;
        }
    };
}

codec make(role r, codec_limits limits = {}, bool rsv1 = false) {
    return codec(r, counter_fill(), limits, rsv1);
}

role peer_of(role r) {
    return r == role::client ? role::server : role::client;
}

// Builds one frame as the peer of `receiver` would send it: masked with a
// fixed key when the receiver is a server. `len_bytes` forces a length
// encoding (0: minimal, 2: 16-bit, 8: 64-bit).
std::string frame(role receiver, bool fin, int op, const std::string& payload, int rsv = 0,
                  int len_bytes = 0) {
    std::string out;
    out.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | op));
    const bool masked = receiver == role::server;
    const std::uint8_t mask_bit = masked ? 0x80 : 0;
    const std::uint64_t len = payload.size();
    if (len_bytes == 0) {
        len_bytes = len < 126 ? 0 : len <= 0xFFFF ? 2 : 8;
    }
    if (len_bytes == 0) {
        out.push_back(static_cast<char>(mask_bit | len));
    } else if (len_bytes == 2) {
        out.push_back(static_cast<char>(mask_bit | 126));
        out.push_back(static_cast<char>(len >> 8));
        out.push_back(static_cast<char>(len));
    } else {
        out.push_back(static_cast<char>(mask_bit | 127));
        for (int s = 56; s >= 0; s -= 8) {
            out.push_back(static_cast<char>(len >> s));
        }
    }
    const std::uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (masked) {
        out.append(reinterpret_cast<const char*>(key), 4);
    }
    for (std::size_t i = 0; i < payload.size(); ++i) {
        out.push_back(static_cast<char>(payload[i] ^ (masked ? key[i % 4] : 0)));
    }
    return out;
}

std::string close_payload(std::uint16_t code, const std::string& reason = {}) {
    std::string p;
    p.push_back(static_cast<char>(code >> 8));
    p.push_back(static_cast<char>(code));
    return p + reason;
}

// An event with its bytes copied out of the input buffer.
struct rec {
    enum kind_t { data, ping, pong, close } kind = data;
    message_type type = message_type::binary;
    bool first = false;
    bool fin = false;
    bool rsv1 = false;
    std::string bytes;
    std::uint16_t code = 0;
};

struct feed_result {
    std::vector<rec> events;
    std::error_code ec;
    std::size_t used = 0;      // bytes the codec took
    std::size_t error_at = 0;  // bytes taken when the error came
};

// Feeds `in` in pieces of `piece` bytes (0: all at once) and collects events.
feed_result feed(codec& c, std::string in, std::size_t piece = 0) {
    feed_result r;
    std::vector<std::uint8_t> buf(in.begin(), in.end());
    std::size_t pos = 0;
    while (pos < buf.size()) {
        const std::size_t end = piece == 0 ? buf.size() : std::min(buf.size(), pos + piece);
        std::span<std::uint8_t> part(buf.data() + pos, end - pos);
        bool stalled = false;
        while (!part.empty()) {
            std::error_code ec;
            const std::size_t n = c.receive(part, ec);
            while (auto e = c.next_event()) {
                rec x;
                if (auto* d = std::get_if<data_event>(&*e)) {
                    x.kind = rec::data;
                    x.type = d->type;
                    x.first = d->first;
                    x.fin = d->fin;
                    x.rsv1 = d->rsv1;
                    x.bytes.assign(reinterpret_cast<const char*>(d->data.data()), d->data.size());
                } else if (auto* p = std::get_if<ping_event>(&*e)) {
                    x.kind = rec::ping;
                    x.bytes = p->payload;
                } else if (auto* q = std::get_if<pong_event>(&*e)) {
                    x.kind = rec::pong;
                    x.bytes = q->payload;
                } else if (auto* cl = std::get_if<close_event>(&*e)) {
                    x.kind = rec::close;
                    x.code = cl->code;
                    x.bytes = cl->reason;
                }
                r.events.push_back(std::move(x));
            }
            r.used += n;
            if (ec) {
                r.ec = ec;
                r.error_at = r.used;
                return r;
            }
            if (n == 0) {
                stalled = true;
                break;
            }
            part = part.subspan(n);
        }
        if (stalled) {
            break;
        }
        pos = end;
    }
    return r;
}

std::string drain(codec& c) {
    std::string out;
    while (true) {
        auto v = c.pending_output();
        if (v.empty()) {
            break;
        }
        out.append(reinterpret_cast<const char*>(v.data()), v.size());
        c.consume_output(v.size());
    }
    return out;
}

// Joins the data events of whole messages: one string per message.
std::vector<std::string> messages(const std::vector<rec>& evs) {
    std::vector<std::string> out;
    std::string cur;
    for (const auto& e : evs) {
        if (e.kind != rec::data) {
            continue;
        }
        cur += e.bytes;
        if (e.fin) {
            out.push_back(cur);
            cur.clear();
        }
    }
    return out;
}

// Reads the frames of `wire` as sent to a receiver of role `receiver`:
// (opcode byte 0, unmasked payload).
struct wire_frame {
    std::uint8_t b0 = 0;
    bool masked = false;
    std::string payload;
};
std::vector<wire_frame> parse_wire(const std::string& wire) {
    std::vector<wire_frame> out;
    std::size_t p = 0;
    while (p + 2 <= wire.size()) {
        wire_frame f;
        f.b0 = static_cast<std::uint8_t>(wire[p]);
        const auto b1 = static_cast<std::uint8_t>(wire[p + 1]);
        f.masked = (b1 & 0x80) != 0;
        std::uint64_t len = b1 & 0x7F;
        p += 2;
        if (len == 126) {
            len =
                (static_cast<std::uint8_t>(wire[p]) << 8) | static_cast<std::uint8_t>(wire[p + 1]);
            p += 2;
        } else if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; ++i) {
                len = (len << 8) | static_cast<std::uint8_t>(wire[p + i]);
            }
            p += 8;
        }
        std::uint8_t key[4] = {};
        if (f.masked) {
            for (int i = 0; i < 4; ++i) {
                key[i] = static_cast<std::uint8_t>(wire[p + i]);
            }
            p += 4;
        }
        for (std::uint64_t i = 0; i < len; ++i) {
            f.payload.push_back(static_cast<char>(wire[p + i] ^ key[i % 4]));
        }
        p += len;
        out.push_back(f);
    }
    return out;
}

std::string bytes(std::initializer_list<int> v) {
    std::string s;
    for (int b : v) {
        s.push_back(static_cast<char>(b));
    }
    return s;
}

class ws_codec : public ::testing::TestWithParam<role> {
  protected:
    role me() const { return GetParam(); }
    // Expects the codec failed with `e`, queued a close with its code, and
    // refuses further input.
    void expect_failed(codec& c, const feed_result& r, websocket_errc e) {
        EXPECT_EQ(r.ec, make_error_code(e)) << r.ec.message();
        EXPECT_EQ(c.error(), make_error_code(e));
        EXPECT_TRUE(c.closed());
        auto frames = parse_wire(drain(c));
        ASSERT_FALSE(frames.empty());
        const auto& last = frames.back();
        EXPECT_EQ(last.b0, 0x88);
        EXPECT_EQ(last.masked, me() == role::client);
        ASSERT_EQ(last.payload.size(), 2u);
        EXPECT_EQ(last.payload, close_payload(close_code_for(e)));
        std::vector<std::uint8_t> more{0x81, 0x00};
        std::error_code ec;
        EXPECT_EQ(c.receive(more, ec), 0u);
        EXPECT_EQ(ec, make_error_code(e));
    }
};

INSTANTIATE_TEST_SUITE_P(roles, ws_codec, ::testing::Values(role::client, role::server),
                         [](const ::testing::TestParamInfo<role>& p) {
                             return p.param == role::client ? "client"s : "server"s;
                         });

// ---------------------------------------------------------------- group 1: framing

TEST_P(ws_codec, TextAndBinaryOfEveryLengthEncoding) {
    for (std::size_t len : {0u, 1u, 125u, 126u, 127u, 128u, 65535u, 65536u, 70000u}) {
        for (int op : {1, 2}) {
            codec c = make(me());
            std::string payload(len, op == 1 ? '*' : '\xfe');
            for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{997}}) {
                if (piece == 1 && len > 1000) {
                    continue;
                }
                codec c2 = make(me());
                auto r = feed(c2, frame(me(), true, op, payload), piece);
                ASSERT_FALSE(r.ec) << r.ec.message();
                auto m = messages(r.events);
                ASSERT_EQ(m.size(), 1u) << len;
                EXPECT_EQ(m[0], payload);
                EXPECT_TRUE(r.events.front().first);
                EXPECT_EQ(r.events.front().type, static_cast<message_type>(op));
                EXPECT_FALSE(r.events.front().rsv1);
            }
        }
    }
}

TEST_P(ws_codec, DataChunksSayHowMuchOfTheirFrameIsLeft) {
    // 1,000 payload bytes arriving as the header plus 300, then 700.
    const std::string payload(1000, 'z');
    std::string wire = frame(me(), true, 2, payload);
    std::vector<std::uint8_t> buf(wire.begin(), wire.end());
    const std::size_t head = wire.size() - payload.size();
    codec c = make(me());
    std::error_code ec;
    std::span<std::uint8_t> first(buf.data(), head + 300);
    ASSERT_EQ(c.receive(first, ec), first.size());
    auto e = c.next_event();
    ASSERT_TRUE(e && std::holds_alternative<data_event>(*e));
    EXPECT_EQ(std::get<data_event>(*e).data.size(), 300u);
    EXPECT_EQ(std::get<data_event>(*e).frame_rest, 700u);
    EXPECT_FALSE(std::get<data_event>(*e).fin);
    std::span<std::uint8_t> rest(buf.data() + head + 300, 700);
    ASSERT_EQ(c.receive(rest, ec), rest.size());
    e = c.next_event();
    ASSERT_TRUE(e && std::holds_alternative<data_event>(*e));
    EXPECT_EQ(std::get<data_event>(*e).frame_rest, 0u);
    EXPECT_TRUE(std::get<data_event>(*e).fin);
    EXPECT_FALSE(ec);
}

TEST_P(ws_codec, PeersExchangeMessagesAndEncodeLengthsMinimally) {
    codec a = make(me());
    codec b = make(peer_of(me()));
    for (std::size_t len : {0u, 125u, 126u, 65535u, 65536u}) {
        std::string payload(len, 'x');
        ASSERT_FALSE(a.send_text(payload));
        const std::string wire = drain(a);
        const std::size_t ext = len < 126 ? 0 : len <= 0xFFFF ? 2 : 8;
        const std::size_t mask = me() == role::client ? 4 : 0;
        EXPECT_EQ(wire.size(), 2 + ext + mask + len);
        auto r = feed(b, wire);
        ASSERT_FALSE(r.ec);
        ASSERT_EQ(messages(r.events), std::vector<std::string>{payload});
    }
}

TEST_P(ws_codec, ClientMasksEveryFrameWithAFreshKey) {
    codec a = make(me());
    ASSERT_FALSE(a.send_text("hello"));
    ASSERT_FALSE(a.send_text("hello"));
    auto frames = parse_wire(drain(a));
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].masked, me() == role::client);
    EXPECT_EQ(frames[0].payload, "hello");
    if (me() == role::client) {
        // Same payload, different keys: different bytes on the wire.
        codec c = make(role::client);
        ASSERT_FALSE(c.send_text("hello"));
        ASSERT_FALSE(c.send_text("hello"));
        std::string w = drain(c);
        EXPECT_NE(w.substr(2, 9), w.substr(11, 9));
    }
}

TEST(ws_codec_rfc, ExamplesOfRfc6455Section5_7) {
    // A single-frame unmasked text message (server to client) and the same
    // masked with key 37 fa 21 3d (client to server).
    codec server = make(role::server);
    ASSERT_FALSE(server.send_text("Hello"));
    EXPECT_EQ(drain(server), bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
    codec client(role::client, [](std::span<std::uint8_t> out) {
        const std::uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
        std::copy(key, key + 4, out.begin());
    });
    ASSERT_FALSE(client.send_text("Hello"));
    EXPECT_EQ(drain(client),
              bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
    // A fragmented unmasked text message, and an unmasked ping.
    codec rx = make(role::client);
    auto r = feed(rx, bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f, 0x89, 0x05, 0x48,
                             0x65, 0x6c, 0x6c, 0x6f}));
    ASSERT_FALSE(r.ec);
    EXPECT_EQ(messages(r.events), std::vector<std::string>{"Hello"});
    EXPECT_EQ(r.events.back().kind, rec::ping);
}

TEST_P(ws_codec, WrongMaskingIsRefused) {
    codec c = make(me());
    // A frame as our own role would send it: wrong masking for us.
    auto r = feed(c, frame(peer_of(me()), true, 1, "hi"));
    expect_failed(c, r,
                  me() == role::server ? websocket_errc::unmasked_client_frame
                                       : websocket_errc::masked_server_frame);
}

TEST_P(ws_codec, NonMinimalLengthsAreRefused) {
    {
        codec c = make(me());
        auto r = feed(c, frame(me(), true, 2, std::string(125, 'a'), 0, 2));
        expect_failed(c, r, websocket_errc::non_minimal_length);
    }
    {
        codec c = make(me());
        auto r = feed(c, frame(me(), true, 2, std::string(65535, 'a'), 0, 8));
        expect_failed(c, r, websocket_errc::non_minimal_length);
    }
}

TEST_P(ws_codec, SixtyFourBitLengthWithTopBitIsRefused) {
    codec c = make(me());
    std::string f =
        bytes({0x82, (me() == role::server ? 0x80 : 0) | 127, 0x80, 0, 0, 0, 0, 0, 0, 1});
    auto r = feed(c, f);
    expect_failed(c, r, websocket_errc::length_too_large);
}

TEST(ws_mask, WordAtATimeMatchesBytewiseAtEveryOffset) {
    const std::uint8_t key[4] = {0x01, 0x82, 0x43, 0xc4};
    for (std::size_t off = 0; off < 8; ++off) {
        for (std::size_t len = 0; len < 40; ++len) {
            std::vector<std::uint8_t> a(len);
            for (std::size_t i = 0; i < len; ++i) {
                a[i] = static_cast<std::uint8_t>(i * 7 + 3);
            }
            std::vector<std::uint8_t> b = a;
            apply_mask(a, key, off);
            for (std::size_t i = 0; i < len; ++i) {
                b[i] ^= key[(off + i) % 4];
            }
            EXPECT_EQ(a, b) << off << " " << len;
        }
    }
}

// ---------------------------------------------------------------- group 2: pings and pongs

TEST_P(ws_codec, PingIsReportedAndAnsweredWithTheSamePayload) {
    for (std::string payload : {""s, "hello"s, std::string(125, '\xfe')}) {
        codec c = make(me());
        auto r = feed(c, frame(me(), true, 9, payload), 1);
        ASSERT_FALSE(r.ec);
        ASSERT_EQ(r.events.size(), 1u);
        EXPECT_EQ(r.events[0].kind, rec::ping);
        EXPECT_EQ(r.events[0].bytes, payload);
        auto frames = parse_wire(drain(c));
        ASSERT_EQ(frames.size(), 1u);
        EXPECT_EQ(frames[0].b0, 0x8A);
        EXPECT_EQ(frames[0].masked, me() == role::client);
        EXPECT_EQ(frames[0].payload, payload);
    }
}

TEST_P(ws_codec, PingOver125BytesIsRefused) {
    codec c = make(me());
    auto r = feed(c, frame(me(), true, 9, std::string(126, 'a')));
    expect_failed(c, r, websocket_errc::control_frame_too_long);
    codec s = make(me());
    EXPECT_EQ(s.send_ping(codec::as_bytes(std::string(126, 'a'))),
              make_error_code(websocket_errc::control_frame_too_long));
}

TEST_P(ws_codec, UnsolicitedPongIsReportedOnly) {
    codec c = make(me());
    auto r = feed(c, frame(me(), true, 10, "unsolicited"));
    ASSERT_FALSE(r.ec);
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].kind, rec::pong);
    EXPECT_EQ(r.events[0].bytes, "unsolicited");
    EXPECT_TRUE(drain(c).empty());
}

TEST_P(ws_codec, ManyPingsBeforeTheOutputIsPulledGetOnePong) {
    codec c = make(me());
    std::string in;
    for (int i = 0; i < 10; ++i) {
        in += frame(me(), true, 9, "p" + std::to_string(i));
    }
    auto r = feed(c, in);
    ASSERT_EQ(r.events.size(), 10u);
    auto frames = parse_wire(drain(c));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].payload, "p9");
}

TEST_P(ws_codec, PingPongBetweenPeers) {
    codec a = make(me());
    codec b = make(peer_of(me()));
    ASSERT_FALSE(a.send_ping(codec::as_bytes("abc")));
    auto r = feed(b, drain(a));
    ASSERT_EQ(r.events.size(), 1u);
    auto back = feed(a, drain(b));
    ASSERT_EQ(back.events.size(), 1u);
    EXPECT_EQ(back.events[0].kind, rec::pong);
    EXPECT_EQ(back.events[0].bytes, "abc");
}

// ---------------------------------------------------------------- group 3: reserved bits

TEST_P(ws_codec, ReservedBitsAreRefused) {
    for (int rsv = 1; rsv <= 7; ++rsv) {
        for (int op : {1, 2, 9, 10}) {
            codec c = make(me());
            // A valid message first: it is delivered before the failure.
            auto r = feed(c, frame(me(), true, 1, "ok") + frame(me(), true, op, "x", rsv));
            ASSERT_EQ(messages(r.events), std::vector<std::string>{"ok"});
            expect_failed(c, r, websocket_errc::reserved_bits);
        }
    }
}

TEST_P(ws_codec, Rsv1WhenAllowedIsOnTheFirstFrameOnly) {
    {
        codec c = make(me(), {}, true);
        auto r = feed(c, frame(me(), false, 1, "\xff\x01", 4) + frame(me(), true, 0, "\x02"));
        ASSERT_FALSE(r.ec) << r.ec.message();  // compressed text is not checked as UTF-8
        ASSERT_EQ(r.events.size(), 2u);
        EXPECT_TRUE(r.events[0].rsv1);
        EXPECT_TRUE(r.events[1].rsv1);
        EXPECT_TRUE(r.events[1].fin);
    }
    {
        codec c = make(me(), {}, true);
        auto r = feed(c, frame(me(), false, 2, "a", 4) + frame(me(), true, 0, "b", 4));
        expect_failed(c, r, websocket_errc::rsv1_on_continuation);
    }
    {
        codec c = make(me(), {}, true);
        auto r = feed(c, frame(me(), true, 9, "a", 4));
        expect_failed(c, r, websocket_errc::compressed_control_frame);
    }
    {
        codec c = make(me(), {}, true);
        auto r = feed(c, frame(me(), true, 2, "a", 2));
        expect_failed(c, r, websocket_errc::reserved_bits);
    }
}

TEST_P(ws_codec, SendingRsv1NeedsTheExtension) {
    codec a = make(me());
    EXPECT_EQ(a.send_message(message_type::binary, codec::as_bytes("x"), true),
              make_error_code(websocket_errc::reserved_bits));
    EXPECT_TRUE(drain(a).empty());
    codec b = make(me(), {}, true);
    codec peer = make(peer_of(me()), {}, true);
    ASSERT_FALSE(b.begin_message(message_type::text, codec::as_bytes("\xff"), true));
    ASSERT_FALSE(b.end_message(codec::as_bytes("\x00")));
    auto frames = parse_wire(drain(b));
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].b0, 0x41);
    EXPECT_EQ(frames[1].b0, 0x80);
}

// ---------------------------------------------------------------- group 4: opcodes

TEST_P(ws_codec, ReservedOpcodesAreRefused) {
    for (int op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
        codec c = make(me());
        auto r = feed(c, frame(me(), true, 1, "ok") + frame(me(), true, op, "x"));
        ASSERT_EQ(messages(r.events), std::vector<std::string>{"ok"});
        expect_failed(c, r, websocket_errc::reserved_opcode);
    }
}

// ---------------------------------------------------------------- group 5: fragmentation

TEST_P(ws_codec, FragmentsWithControlFramesInterleaved) {
    for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
        codec c = make(me());
        std::string in = frame(me(), false, 1, "frag") + frame(me(), true, 9, "p1") +
                         frame(me(), false, 0, "") + frame(me(), true, 10, "q") +
                         frame(me(), false, 0, "ment") + frame(me(), true, 0, "ed");
        auto r = feed(c, in, piece);
        ASSERT_FALSE(r.ec) << r.ec.message();
        EXPECT_EQ(messages(r.events), std::vector<std::string>{"fragmented"});
        int pings = 0;
        int pongs = 0;
        int firsts = 0;
        for (const auto& e : r.events) {
            pings += e.kind == rec::ping;
            pongs += e.kind == rec::pong;
            firsts += e.kind == rec::data && e.first;
            if (e.kind == rec::data) {
                EXPECT_EQ(e.type, message_type::text);
            }
        }
        EXPECT_EQ(pings, 1);
        EXPECT_EQ(pongs, 1);
        EXPECT_EQ(firsts, 1);
        auto frames = parse_wire(drain(c));
        ASSERT_EQ(frames.size(), 1u);
        EXPECT_EQ(frames[0].payload, "p1");
    }
}

TEST_P(ws_codec, ContinuationWithoutMessageIsRefused) {
    codec c = make(me());
    auto r = feed(c, frame(me(), true, 0, "x"));
    expect_failed(c, r, websocket_errc::unexpected_continuation);
    codec d = make(me());
    auto r2 = feed(d, frame(me(), true, 1, "a") + frame(me(), true, 0, "x"));
    expect_failed(d, r2, websocket_errc::unexpected_continuation);
}

TEST_P(ws_codec, NewMessageInsideFragmentedOneIsRefused) {
    codec c = make(me());
    auto r = feed(c, frame(me(), false, 1, "a") + frame(me(), true, 2, "b"));
    expect_failed(c, r, websocket_errc::expected_continuation);
}

TEST_P(ws_codec, FragmentedControlFramesAreRefused) {
    for (int op : {8, 9, 10}) {
        codec c = make(me());
        auto r = feed(c, frame(me(), false, op, "a") + frame(me(), true, 0, "b"));
        expect_failed(c, r, websocket_errc::fragmented_control_frame);
    }
}

TEST_P(ws_codec, SendingFragmentsBetweenPeers) {
    codec a = make(me());
    codec b = make(peer_of(me()));
    ASSERT_FALSE(a.begin_message(message_type::binary, codec::as_bytes("ab")));
    EXPECT_EQ(a.send_text("no"), make_error_code(websocket_errc::expected_continuation));
    ASSERT_FALSE(a.send_ping(codec::as_bytes("p")));
    ASSERT_FALSE(a.continue_message(codec::as_bytes("")));
    ASSERT_FALSE(a.end_message(codec::as_bytes("cd")));
    EXPECT_EQ(a.end_message(codec::as_bytes("x")),
              make_error_code(websocket_errc::unexpected_continuation));
    EXPECT_EQ(a.continue_message(codec::as_bytes("x")),
              make_error_code(websocket_errc::unexpected_continuation));
    auto r = feed(b, drain(a));
    ASSERT_FALSE(r.ec);
    EXPECT_EQ(messages(r.events), std::vector<std::string>{"abcd"});
    EXPECT_EQ(r.events.size(), 4u);
}

// ---------------------------------------------------------------- group 6: UTF-8

TEST_P(ws_codec, ValidUtf8TextIsDeliveredWhateverTheSplit) {
    const std::string text =
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 \xf0\x9f\x98\x80 \xef\xbf\xbf "
        "\xf4\x8f\xbf\xbf";
    for (std::size_t split = 0; split <= text.size(); ++split) {
        codec c = make(me());
        auto r = feed(
            c,
            frame(me(), false, 1, text.substr(0, split)) + frame(me(), true, 0, text.substr(split)),
            split % 3 + 1);
        ASSERT_FALSE(r.ec) << split;
        ASSERT_EQ(messages(r.events), std::vector<std::string>{text});
    }
}

TEST_P(ws_codec, InvalidUtf8FailsAtTheFirstBadByte) {
    struct tc {
        std::string text;
        std::size_t bad;  // index of the first byte that cannot be valid
    };
    const std::vector<tc> cases = {
        {"ab\x80", 2},              // stray continuation
        {"ab\xc0\x80", 2},          // overlong (C0 never valid)
        {"ab\xc1\xbf", 2},          // overlong
        {"ab\xe0\x80\x80", 3},      // overlong 3-byte
        {"ab\xed\xa0\x80", 3},      // surrogate U+D800
        {"ab\xed\xbf\xbf", 3},      // surrogate U+DFFF
        {"ab\xf0\x80\x80\x80", 3},  // overlong 4-byte
        {"ab\xf4\x90\x80\x80", 3},  // above U+10FFFF
        {"ab\xf5\x80\x80\x80", 2},  // F5 never valid
        {"ab\xff", 2},              // FF never valid
        {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
         "edited",
         12},
        {"ab\xe1\x80x", 4},  // sequence cut by ASCII
    };
    for (const auto& t : cases) {
        // One byte per receive(): the error comes with the bad byte.
        codec c = make(me());
        std::string f = frame(me(), true, 1, t.text + "tail");
        const std::size_t header = f.size() - t.text.size() - 4;
        auto r = feed(c, f, 1);
        EXPECT_EQ(r.error_at, header + t.bad + 1) << t.text;
        std::string delivered;
        for (const auto& e : r.events) {
            delivered += e.bytes;
        }
        EXPECT_EQ(delivered, t.text.substr(0, t.bad));
        expect_failed(c, r, websocket_errc::invalid_utf8);
    }
}

TEST_P(ws_codec, InvalidUtf8InALaterFragmentFailsBeforeTheMessageEnds) {
    codec c = make(me());
    auto r = feed(c, frame(me(), false, 1, "ok\xf4") + frame(me(), false, 0, "\x90") +
                         frame(me(), true, 0, "never"));
    ASSERT_EQ(r.events.size(), 1u);
    expect_failed(c, r, websocket_errc::invalid_utf8);
}

TEST_P(ws_codec, TruncatedCodePointAtMessageEndIsRefused) {
    codec c = make(me());
    auto r = feed(c, frame(me(), false, 1, "ok\xe2\x82") + frame(me(), true, 0, ""));
    expect_failed(c, r, websocket_errc::invalid_utf8);
}

TEST_P(ws_codec, BinaryIsNotCheckedAsUtf8) {
    codec c = make(me());
    auto r = feed(c, frame(me(), true, 2, "\xff\xfe\xc0"));
    ASSERT_FALSE(r.ec);
    EXPECT_EQ(messages(r.events), std::vector<std::string>{"\xff\xfe\xc0"});
}

// ---------------------------------------------------------------- group 7: close

TEST_P(ws_codec, EmptyCloseIsEchoedEmpty) {
    codec c = make(me());
    auto r = feed(c, frame(me(), true, 8, "") + frame(me(), true, 1, "after"));
    ASSERT_FALSE(r.ec);
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].kind, rec::close);
    EXPECT_EQ(r.events[0].code, close_code::no_status);
    EXPECT_EQ(r.used, 2u + (me() == role::server ? 4 : 0));  // nothing after the close
    auto frames = parse_wire(drain(c));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].b0, 0x88);
    EXPECT_EQ(frames[0].payload, "");
    EXPECT_TRUE(c.closed());
    EXPECT_EQ(c.send_text("x"), make_error_code(websocket_errc::closed));
}

TEST_P(ws_codec, CloseWithCodeAndReasonIsEchoed) {
    codec c = make(me());
    auto r = feed(c, frame(me(), true, 8, close_payload(1000, "bye \xe2\x82\xac")), 1);
    ASSERT_FALSE(r.ec);
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].code, 1000);
    EXPECT_EQ(r.events[0].bytes, "bye \xe2\x82\xac");
    auto frames = parse_wire(drain(c));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].payload, close_payload(1000));
}

TEST_P(ws_codec, CloseOfMaximalAndOversizedPayload) {
    codec c = make(me());
    auto r = feed(c, frame(me(), true, 8, close_payload(1000, std::string(123, 'r'))));
    ASSERT_FALSE(r.ec);
    EXPECT_EQ(r.events.at(0).bytes.size(), 123u);
    codec d = make(me());
    auto r2 = feed(d, frame(me(), true, 8, close_payload(1000, std::string(124, 'r'))));
    expect_failed(d, r2, websocket_errc::control_frame_too_long);
}

TEST_P(ws_codec, OneByteCloseIsRefused) {
    codec c = make(me());
    auto r = feed(c, frame(me(), true, 8, "\x03"));
    expect_failed(c, r, websocket_errc::bad_close_payload);
}

TEST_P(ws_codec, CloseCodes) {
    for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                     3999, 4000, 4999}) {
        codec c = make(me());
        auto r = feed(c, frame(me(), true, 8, close_payload(static_cast<std::uint16_t>(code))));
        ASSERT_FALSE(r.ec) << code;
        EXPECT_EQ(r.events.at(0).code, code);
        EXPECT_EQ(parse_wire(drain(c)).at(0).payload,
                  close_payload(static_cast<std::uint16_t>(code)));
        codec s = make(me());
        EXPECT_FALSE(s.send_close(static_cast<std::uint16_t>(code))) << code;
    }
    for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        codec c = make(me());
        auto r = feed(c, frame(me(), true, 8, close_payload(static_cast<std::uint16_t>(code))));
        expect_failed(c, r, websocket_errc::invalid_close_code);
        if (code != 1005) {
            codec s = make(me());
            EXPECT_EQ(s.send_close(static_cast<std::uint16_t>(code)),
                      make_error_code(websocket_errc::invalid_close_code))
                << code;
        }
    }
}

TEST_P(ws_codec, CloseReasonMustBeUtf8) {
    codec c = make(me());
    auto r = feed(c, frame(me(), true, 8, close_payload(1000, "\xce\xba\xed\xa0\x80")));
    expect_failed(c, r, websocket_errc::invalid_utf8);
    codec s = make(me());
    EXPECT_EQ(s.send_close(1000, "\xff"), make_error_code(websocket_errc::invalid_utf8));
}

TEST_P(ws_codec, SendCloseValidatesTheReasonLength) {
    codec s = make(me());
    EXPECT_EQ(s.send_close(1000, std::string(124, 'a')),
              make_error_code(websocket_errc::control_frame_too_long));
    EXPECT_EQ(s.send_close(close_code::no_status, "x"),
              make_error_code(websocket_errc::invalid_close_code));
    EXPECT_FALSE(s.send_close(1000, std::string(123, 'a')));
    EXPECT_EQ(s.send_close(1000), make_error_code(websocket_errc::closed));
    EXPECT_EQ(s.send_ping(), make_error_code(websocket_errc::closed));
    auto frames = parse_wire(drain(s));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].payload.size(), 125u);
}

TEST_P(ws_codec, CloseHandshakeBetweenPeers) {
    codec a = make(me());
    codec b = make(peer_of(me()));
    ASSERT_FALSE(a.send_close(4001, "done"));
    EXPECT_TRUE(a.close_sent());
    EXPECT_FALSE(a.closed());
    // b sends a message before it sees the close: a still receives it.
    ASSERT_FALSE(b.send_text("late"));
    auto ra = feed(a, drain(b));
    EXPECT_EQ(messages(ra.events), std::vector<std::string>{"late"});
    // A ping after our close is reported but not answered.
    ASSERT_FALSE(b.send_ping());
    auto rb = feed(b, drain(a));
    ASSERT_EQ(rb.events.size(), 1u);
    EXPECT_EQ(rb.events[0].code, 4001);
    EXPECT_EQ(rb.events[0].bytes, "done");
    EXPECT_TRUE(b.closed());
    auto ra2 = feed(a, drain(b));
    ASSERT_EQ(ra2.events.size(), 2u);
    EXPECT_EQ(ra2.events[0].kind, rec::ping);
    EXPECT_EQ(ra2.events[1].kind, rec::close);
    EXPECT_EQ(ra2.events[1].code, 4001);  // the echo
    EXPECT_TRUE(a.closed());
    EXPECT_TRUE(drain(a).empty());
}

TEST_P(ws_codec, OutputViewSurvivesSendsAndInput) {
    codec a = make(me());
    ASSERT_FALSE(a.send_binary(codec::as_bytes("first")));
    auto view = a.pending_output();
    const std::string before(reinterpret_cast<const char*>(view.data()), view.size());
    ASSERT_FALSE(a.send_binary(codec::as_bytes(std::string(5000, 'z'))));
    feed(a, frame(me(), true, 9, "ping"));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(view.data()), view.size()), before);
    a.consume_output(3);
    std::string rest(reinterpret_cast<const char*>(a.pending_output().data()),
                     a.pending_output().size());
    EXPECT_EQ(rest, before.substr(3));
    a.consume_output(rest.size());
    auto frames = parse_wire(drain(a));
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[1].b0, 0x8A);
}

TEST_P(ws_codec, WriteOutputIntoACallerBuffer) {
    codec a = make(me());
    codec b = make(peer_of(me()));
    ASSERT_FALSE(a.send_text("hello"));
    ASSERT_FALSE(a.send_text("world"));
    std::string wire;
    std::uint8_t buf[3];
    while (std::size_t n = a.write_output(buf)) {
        wire.append(reinterpret_cast<const char*>(buf), n);
    }
    EXPECT_EQ(a.buffered_output(), 0u);
    auto r = feed(b, wire);
    EXPECT_EQ(messages(r.events), (std::vector<std::string>{"hello", "world"}));
}

// ---------------------------------------------------------------- group 9: limits

TEST_P(ws_codec, FrameOverTheLimitIsRefusedAtItsHeader) {
    codec_limits l;
    l.max_frame_payload = 1000;
    codec c = make(me(), l);
    std::string f = frame(me(), true, 2, std::string(1001, 'a'));
    auto r = feed(c, f, 1);
    EXPECT_EQ(r.error_at, 4u);  // before the masking key
    expect_failed(c, r, websocket_errc::frame_too_large);
    codec ok = make(me(), l);
    EXPECT_FALSE(feed(ok, frame(me(), true, 2, std::string(1000, 'a'))).ec);
}

TEST_P(ws_codec, MessageOverTheLimitIsRefusedAtTheFrameThatCrossesIt) {
    codec_limits l;
    l.max_message_size = 100;
    codec c = make(me(), l);
    auto r = feed(c, frame(me(), false, 2, std::string(60, 'a')) + frame(me(), true, 9, "") +
                         frame(me(), true, 0, std::string(41, 'b')));
    EXPECT_EQ(r.events.size(), 2u);
    expect_failed(c, r, websocket_errc::message_too_large);
    codec ok = make(me(), l);
    auto r2 = feed(ok, frame(me(), false, 2, std::string(60, 'a')) +
                           frame(me(), true, 0, std::string(40, 'b')) +
                           frame(me(), true, 2, std::string(100, 'c')));
    EXPECT_FALSE(r2.ec);
    EXPECT_EQ(messages(r2.events).size(), 2u);
}

TEST_P(ws_codec, HugeDeclaredLengthFailsWithoutBuffering) {
    codec c = make(me());
    std::string f = bytes({0x82, (me() == role::server ? 0x80 : 0) | 127, 0x7f, 0xff, 0xff, 0xff,
                           0xff, 0xff, 0xff, 0xff});
    if (me() == role::server) {
        f += bytes({1, 2, 3, 4});
    }
    auto r = feed(c, f);
    expect_failed(c, r, websocket_errc::frame_too_large);
}

TEST_P(ws_codec, CollectorAssemblesWholeMessages) {
    codec c = make(me());
    auto in = frame(me(), false, 1, "he") + frame(me(), true, 9, "") + frame(me(), true, 0, "llo") +
              frame(me(), true, 2, "bin");
    std::vector<std::uint8_t> buf(in.begin(), in.end());
    std::span<std::uint8_t> rest(buf);
    message_collector col(10);
    std::vector<std::string> got;
    while (!rest.empty()) {
        std::error_code ec;
        std::size_t n = c.receive(rest, ec);
        ASSERT_FALSE(ec);
        while (auto e = c.next_event()) {
            if (auto* d = std::get_if<data_event>(&*e)) {
                std::error_code cec;
                if (col.add(*d, cec)) {
                    got.push_back(col.message());
                }
                ASSERT_FALSE(cec);
            }
        }
        rest = rest.subspan(n);
    }
    EXPECT_EQ(got, (std::vector<std::string>{"hello", "bin"}));
    message_collector small(3);
    data_event big;
    big.first = true;
    big.fin = true;
    const std::string four = "abcd";
    big.data = codec::as_bytes(four);
    std::error_code ec;
    EXPECT_FALSE(small.add(big, ec));
    EXPECT_EQ(ec, make_error_code(websocket_errc::message_too_large));
}

TEST_P(ws_codec, ErrorAfterOurCloseDoesNotSendASecondClose) {
    codec c = make(me());
    ASSERT_FALSE(c.send_close(1000));
    auto r = feed(c, frame(me(), true, 3, ""));
    EXPECT_EQ(r.ec, make_error_code(websocket_errc::reserved_opcode));
    auto frames = parse_wire(drain(c));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].payload, close_payload(1000));
}

}  // namespace
}  // namespace corvid::ws
