#pragma once

// Shared pieces of the WebSocket conformance tests (conformance_*_test.cpp),
// which check what the Autobahn testsuite's groups 1-7, 9, 12 and 13 check,
// against corvid::ws::codec in both roles.
//
// Frames are built here byte by byte (frame()), independently of the codec's
// own serializer, so a bug shared by the codec's reader and writer cannot
// hide. An `endpoint` wraps a codec, feeds it input in chosen pieces (whole,
// fixed sizes, every split point, random sizes), copies every event out of
// the input buffer (data events view it) and keeps the first error with the
// byte count at which it came, so tests can check that a fault is reported
// at the first bad byte ("fail fast"). parse_wire() reads the codec's output
// back into frames.

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "corvid/error.hpp"
#include "proto/ws/codec.hpp"

namespace corvid::ws::conformance {

using namespace std::string_literals;

inline constexpr int op_cont = 0x0;
inline constexpr int op_text = 0x1;
inline constexpr int op_binary = 0x2;
inline constexpr int op_close = 0x8;
inline constexpr int op_ping = 0x9;
inline constexpr int op_pong = 0xA;

inline constexpr int rsv1 = 0x40;
inline constexpr int rsv2 = 0x20;
inline constexpr int rsv3 = 0x10;

inline role peer_of(role r) {
    return r == role::client ? role::server : role::client;
}

inline std::string role_name(const ::testing::TestParamInfo<role>& p) {
    return p.param == role::client ? "client" : "server";
}

/// A deterministic stand-in for the OS random source: keys differ per frame.
inline random_fill counter_fill(std::uint8_t start = 0) {
    auto state = std::make_shared<std::uint8_t>(start);
    return [state](std::span<std::uint8_t> out) {
        for (auto& b : out) {
            *state = static_cast<std::uint8_t>(*state * 5 + 0x3b);
            b = *state;
        }
    };
}

inline codec make_codec(role r, codec_limits limits = {}, bool rsv1_allowed = false) {
    return codec(r, counter_fill(r == role::client ? 1 : 2), limits, rsv1_allowed);
}

/// Encodings of the payload length (RFC 6455 5.2): `minimal` picks the
/// shortest; the others force a form, possibly a non-minimal one.
enum class len_form { minimal, bits7, bits16, bits64 };

/// The header of one frame as the peer of `receiver` would send it: masked
/// (with `key`) when the receiver is a server. `declared` is the length
/// field's value, which need not match any payload that follows.
inline std::string frame_header(role receiver, int b0, std::uint64_t declared,
                                len_form form = len_form::minimal,
                                const std::uint8_t* key = nullptr) {
    std::string out;
    out.push_back(static_cast<char>(b0));
    const bool masked = receiver == role::server;
    const int mask_bit = masked ? 0x80 : 0;
    if (form == len_form::minimal) {
        form = declared < 126      ? len_form::bits7
               : declared <= 65535 ? len_form::bits16
                                   : len_form::bits64;
    }
    if (form == len_form::bits7) {
        out.push_back(static_cast<char>(mask_bit | static_cast<int>(declared & 0x7F)));
    } else if (form == len_form::bits16) {
        out.push_back(static_cast<char>(mask_bit | 126));
        out.push_back(static_cast<char>((declared >> 8) & 0xFF));
        out.push_back(static_cast<char>(declared & 0xFF));
    } else {
        out.push_back(static_cast<char>(mask_bit | 127));
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(static_cast<char>((declared >> shift) & 0xFF));
        }
    }
    if (masked) {
        static const std::uint8_t k_default[4] = {0x9c, 0x01, 0x5e, 0xe7};
        out.append(reinterpret_cast<const char*>(key != nullptr ? key : k_default), 4);
    }
    return out;
}

/// One whole frame as the peer of `receiver` sends it. `rsv` is an OR of
/// rsv1/rsv2/rsv3. The masking key varies with the payload so that masking
/// at every key offset gets exercised.
inline std::string frame(role receiver, int op, std::string_view payload, bool fin = true,
                         int rsv = 0, len_form form = len_form::minimal) {
    std::uint8_t key[4];
    for (int i = 0; i < 4; ++i) {
        key[i] = static_cast<std::uint8_t>(0xa5 ^ (payload.size() * 13 + i * 71 + op * 7));
    }
    std::string out =
        frame_header(receiver, (fin ? 0x80 : 0) | rsv | op, payload.size(), form, key);
    const bool masked = receiver == role::server;
    out.reserve(out.size() + payload.size());
    for (std::size_t i = 0; i < payload.size(); ++i) {
        out.push_back(static_cast<char>(payload[i] ^ (masked ? key[i % 4] : 0)));
    }
    return out;
}

/// A close frame's payload: the code in network order, then the reason.
inline std::string close_body(std::uint16_t code, std::string_view reason = {}) {
    std::string p;
    p.push_back(static_cast<char>(code >> 8));
    p.push_back(static_cast<char>(code & 0xFF));
    p.append(reason);
    return p;
}

/// Bytes with every value appearing: a payload in which a masking or
/// offset error cannot cancel out.
inline std::string pattern(std::size_t n, unsigned seed = 1) {
    std::string s(n, '\0');
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& c : s) {
        x = x * 1103515245u + 12345u;
        c = static_cast<char>(x >> 23);
    }
    return s;
}

/// An event with its bytes copied out of the input buffer.
struct rec {
    enum kind_t { data, ping, pong, close } kind = data;
    message_type type = message_type::binary;
    bool first = false;
    bool fin = false;
    bool rsv1 = false;
    std::string bytes;
    std::uint16_t code = 0;
};

/// A whole data message, joined from its chunks.
struct message {
    message_type type = message_type::binary;
    bool rsv1 = false;
    std::string data;
    friend bool operator==(const message&, const message&) = default;
};

inline std::ostream& operator<<(std::ostream& os, const message& m) {
    return os << (m.type == message_type::text ? "text" : "binary") << (m.rsv1 ? "+rsv1" : "")
              << "[" << m.data.size() << "]";
}

/// A frame read back from the codec's output.
struct wire_frame {
    bool fin = false;
    int rsv = 0;
    int op = 0;
    bool masked = false;
    std::size_t header_size = 0;
    std::string payload;
};

/// Reads frames from `wire`; a trailing partial frame is a test failure.
inline std::vector<wire_frame> parse_wire(std::string_view wire) {
    std::vector<wire_frame> out;
    std::size_t p = 0;
    auto at = [&](std::size_t i) { return static_cast<std::uint8_t>(wire[i]); };
    while (p < wire.size()) {
        if (wire.size() - p < 2) {
            ADD_FAILURE() << "partial frame header in the output";
            break;
        }
        wire_frame f;
        const std::size_t start = p;
        f.fin = (at(p) & 0x80) != 0;
        f.rsv = at(p) & 0x70;
        f.op = at(p) & 0x0F;
        f.masked = (at(p + 1) & 0x80) != 0;
        std::uint64_t len = at(p + 1) & 0x7F;
        p += 2;
        const std::size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
        if (wire.size() - p < ext + (f.masked ? 4 : 0)) {
            ADD_FAILURE() << "partial frame header in the output";
            break;
        }
        if (ext != 0) {
            len = 0;
            for (std::size_t i = 0; i < ext; ++i) {
                len = (len << 8) | at(p + i);
            }
            p += ext;
        }
        std::uint8_t key[4] = {};
        if (f.masked) {
            for (int i = 0; i < 4; ++i) {
                key[i] = at(p + i);
            }
            p += 4;
        }
        f.header_size = p - start;
        if (wire.size() - p < len) {
            ADD_FAILURE() << "partial frame payload in the output";
            break;
        }
        f.payload.resize(len);
        for (std::uint64_t i = 0; i < len; ++i) {
            f.payload[i] = static_cast<char>(at(p + i) ^ key[i % 4]);
        }
        p += len;
        out.push_back(std::move(f));
    }
    return out;
}

/// Piece sizes that split `n` bytes at one point (two pieces, or one when
/// the point is an end).
inline std::vector<std::size_t> split_at(std::size_t n, std::size_t point) {
    std::vector<std::size_t> v;
    if (point > 0) {
        v.push_back(point);
    }
    if (point < n) {
        v.push_back(n - point);
    }
    return v;
}

/// Piece sizes of `piece` bytes each (the last one shorter); 0: one piece.
inline std::vector<std::size_t> fixed_pieces(std::size_t n, std::size_t piece) {
    if (piece == 0 || piece >= n) {
        return {n};
    }
    std::vector<std::size_t> v(n / piece, piece);
    if (n % piece != 0) {
        v.push_back(n % piece);
    }
    return v;
}

/// Random piece sizes of 1..max_piece bytes.
inline std::vector<std::size_t> random_pieces(std::size_t n, unsigned seed, std::size_t max_piece) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> dist(1, max_piece);
    std::vector<std::size_t> v;
    std::size_t left = n;
    while (left > 0) {
        const std::size_t k = std::min(left, dist(rng));
        v.push_back(k);
        left -= k;
    }
    return v;
}

/// A codec and what it reported.
struct endpoint {
    explicit endpoint(role r, codec_limits limits = {}, bool rsv1_allowed = false)
        : c(make_codec(r, limits, rsv1_allowed)) {}

    codec c;
    std::vector<rec> events;
    std::error_code ec;        ///< the first error receive() returned
    std::size_t used = 0;      ///< input bytes the codec took
    std::size_t error_at = 0;  ///< `used` when the error came
    std::size_t offered = 0;   ///< input bytes offered (fed) so far
    bool stalled = false;      ///< receive() took nothing more (a close came)
    bool halted = false;       ///< set by on_event: feed nothing more (the layer above failed)
    /// Called after each event is recorded (e.g. to pull the output).
    std::function<void(endpoint&, const rec&)> on_event;

    role get_role() const { return c.get_role(); }

    /// Feeds `in` in pieces of the given sizes (summing to in.size()).
    void feed(std::string_view in, const std::vector<std::size_t>& pieces) {
        std::size_t pos = 0;
        for (std::size_t n : pieces) {
            feed_piece(in.substr(pos, n));
            pos += n;
        }
        if (pos < in.size()) {
            feed_piece(in.substr(pos));
        }
    }
    void feed(std::string_view in, std::size_t piece = 0) {
        feed(in, fixed_pieces(in.size(), piece));
    }

    /// Feeds one piece in its own buffer (unmasked in place).
    void feed_piece(std::string_view piece) {
        offered += piece.size();
        if (ec || stalled || halted) {
            return;
        }
        std::vector<std::uint8_t> buf(piece.begin(), piece.end());
        std::span<std::uint8_t> rest(buf);
        while (!rest.empty()) {
            std::error_code e;
            const std::size_t n = c.receive(rest, e);
            used += n;
            while (auto ev = c.next_event()) {
                record(*ev);
            }
            if (e) {
                ec = e;
                error_at = used;
                return;
            }
            if (halted) {
                return;
            }
            if (n == 0) {
                stalled = true;
                return;
            }
            rest = rest.subspan(n);
        }
    }

    /// Everything the codec has to send, consumed.
    std::string drain() {
        std::string out;
        for (;;) {
            auto v = c.pending_output();
            if (v.empty()) {
                break;
            }
            out.append(reinterpret_cast<const char*>(v.data()), v.size());
            c.consume_output(v.size());
        }
        return out;
    }
    std::vector<wire_frame> drain_frames() { return parse_wire(drain()); }

    /// The data messages completed so far, checking that every message's
    /// chunks carry `first` on the first only, `fin` on the last only and
    /// one type and RSV1 throughout.
    std::vector<message> messages() const {
        std::vector<message> out;
        std::optional<message> cur;
        for (const auto& e : events) {
            if (e.kind != rec::data) {
                continue;
            }
            if (e.first != !cur.has_value()) {
                ADD_FAILURE() << "data event with first=" << e.first << " out of place";
            }
            if (!cur) {
                cur = message{e.type, e.rsv1, {}};
            } else if (cur->type != e.type || cur->rsv1 != e.rsv1) {
                ADD_FAILURE() << "type or rsv1 changed within a message";
            }
            cur->data += e.bytes;
            if (e.fin) {
                out.push_back(std::move(*cur));
                cur.reset();
            }
        }
        return out;
    }
    /// Bytes of every data event, joined (also those of an unfinished message).
    std::string data_bytes() const {
        std::string s;
        for (const auto& e : events) {
            if (e.kind == rec::data) {
                s += e.bytes;
            }
        }
        return s;
    }
    std::size_t count(rec::kind_t k) const {
        std::size_t n = 0;
        for (const auto& e : events) {
            n += e.kind == k;
        }
        return n;
    }

  private:
    void record(const event& ev) {
        rec x;
        if (const auto* d = std::get_if<data_event>(&ev)) {
            x.kind = rec::data;
            x.type = d->type;
            x.first = d->first;
            x.fin = d->fin;
            x.rsv1 = d->rsv1;
            x.bytes.assign(reinterpret_cast<const char*>(d->data.data()), d->data.size());
        } else if (const auto* p = std::get_if<ping_event>(&ev)) {
            x.kind = rec::ping;
            x.bytes = p->payload;
        } else if (const auto* q = std::get_if<pong_event>(&ev)) {
            x.kind = rec::pong;
            x.bytes = q->payload;
        } else if (const auto* cl = std::get_if<close_event>(&ev)) {
            x.kind = rec::close;
            x.code = cl->code;
            x.bytes = cl->reason;
        }
        events.push_back(std::move(x));
        if (on_event) {
            on_event(*this, events.back());
        }
    }
};

/// Checks that `ep` failed with `e`: receive() returned it, error() keeps
/// it, the codec is closed, refuses more input with the same error, and its
/// output ends with one close frame carrying close_code_for(e) (masked when
/// we are the client) after which nothing follows. Drains the output.
inline ::testing::AssertionResult failed_with(endpoint& ep, websocket_errc e) {
    const auto want = make_error_code(e);
    if (ep.ec != want) {
        return ::testing::AssertionFailure()
               << "receive() gave '" << ep.ec.message() << "', expected '" << want.message() << "'";
    }
    if (ep.c.error() != want) {
        return ::testing::AssertionFailure() << "error() is '" << ep.c.error().message() << "'";
    }
    if (!ep.c.closed()) {
        return ::testing::AssertionFailure() << "the codec is not closed";
    }
    std::vector<std::uint8_t> more{0x81, 0x00};
    std::error_code again;
    if (ep.c.receive(more, again) != 0 || again != want) {
        return ::testing::AssertionFailure() << "the failed codec took more input";
    }
    auto frames = ep.drain_frames();
    std::size_t closes = 0;
    for (const auto& f : frames) {
        closes += f.op == op_close;
    }
    if (frames.empty() || frames.back().op != op_close || closes != 1) {
        return ::testing::AssertionFailure()
               << "the output does not end with exactly one close frame (" << frames.size()
               << " frames, " << closes << " closes)";
    }
    const auto& f = frames.back();
    const std::string want_body = close_body(close_code_for(e));
    if (!f.fin || f.rsv != 0 || f.payload != want_body) {
        return ::testing::AssertionFailure() << "close frame payload of " << f.payload.size()
                                             << " bytes, expected code " << close_code_for(e);
    }
    if (f.masked != (ep.get_role() == role::client)) {
        return ::testing::AssertionFailure() << "close frame masking wrong for the role";
    }
    return ::testing::AssertionSuccess();
}

/// The close code a failed endpoint put on the wire, read from its output
/// (0 if none). Drains the output.
inline std::uint16_t close_code_sent(endpoint& ep) {
    auto frames = ep.drain_frames();
    for (const auto& f : frames) {
        if (f.op == op_close && f.payload.size() >= 2) {
            return static_cast<std::uint16_t>((static_cast<std::uint8_t>(f.payload[0]) << 8) |
                                              static_cast<std::uint8_t>(f.payload[1]));
        }
    }
    return 0;
}

/// A test parameterised over the role of the codec under test.
class role_test : public ::testing::TestWithParam<role> {
  protected:
    role me() const { return GetParam(); }
    role peer() const { return peer_of(GetParam()); }
    /// A frame as our peer sends it to us.
    std::string in(int op, std::string_view payload, bool fin = true, int rsv = 0,
                   len_form form = len_form::minimal) const {
        return frame(me(), op, payload, fin, rsv, form);
    }
};

}  // namespace corvid::ws::conformance
