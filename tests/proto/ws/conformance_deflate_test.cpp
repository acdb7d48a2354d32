// Conformance, Autobahn groups 12 and 13 (permessage-deflate, RFC 7692),
// both roles. The negotiation is checked against a model of RFC 7692 7.1
// over the whole parameter matrix (context takeover both ways, window bits
// 8..15 or absent both ways, server configurations), and invalid values and
// duplicates are refused. Messages then go through the frame codec with the
// negotiated deflater and inflater (`pmd_end` below is the layer a
// connection puts over the codec): many sizes and kinds, single-frame and
// fragmented, for every window size 8..15 with and without context
// takeover, in both directions; what we deflate inflates under a strict
// zlib inflater holding exactly the negotiated window, and we inflate what
// zlib deflates with exactly that window and any strategy. Faults: RSV1 on
// a continuation or control frame (1002), corrupt data (1007), an inflate
// bomb (1009, before the rest of the message arrives), text that inflates
// to invalid UTF-8 (1007).

#include <gtest/gtest.h>
#include <zlib.h>

#include <optional>
#include <string>
#include <vector>

#include "proto/ws/deflate.hpp"
#include "proto/ws/utf8.hpp"
#include "tests/proto/ws/conformance_support.hpp"

namespace corvid::ws::conformance {
namespace {

class ws_conf_deflate : public role_test {};
INSTANTIATE_TEST_SUITE_P(roles, ws_conf_deflate, ::testing::Values(role::client, role::server),
                         role_name);

deflate_side side_of(role r) {
    return r == role::client ? deflate_side::client : deflate_side::server;
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return codec::as_bytes(s);
}

// One end of a connection with permessage-deflate: the frame codec (RSV1
// allowed), a deflater for what it sends and an inflater for what it
// receives, configured from the agreement for its side. Received messages
// are inflated chunk by chunk as the codec delivers them; an inflate error
// or inflated text that is not UTF-8 fails the connection with
// close_code_for() of the error, as a connection layer does.
struct pmd_end {
    pmd_end(role r, const deflate_agreement& a, const deflater_options& dbase = {},
            const inflater_options& ibase = {}, codec_limits limits = {})
        : ep(r, limits, true) {
        auto d = deflater::create(sending_options(a, side_of(r), dbase));
        auto i = inflater::create(receiving_options(a, side_of(r), ibase));
        EXPECT_TRUE(d && i);
        if (d && i) {
            out.emplace(std::move(*d));
            in.emplace(std::move(*i));
        }
    }

    endpoint ep;
    std::optional<deflater> out;
    std::optional<inflater> in;
    std::vector<message> received;  // inflated
    std::error_code failure;        // an error above the codec (inflating, UTF-8)
    std::size_t chunks = 0;         // data events seen

    /// Sends one message, compressed when the deflater says so, in frames
    /// of `frame_size` payload bytes (0: one frame). Returns whether it was
    /// compressed.
    bool send(message_type type, std::string_view data, std::size_t frame_size = 0) {
        std::vector<std::uint8_t> payload;
        const bool compress = out->should_compress(data.size());
        if (compress) {
            EXPECT_TRUE(out->compress(bytes_of(data), true, payload));
        } else {
            payload.assign(data.begin(), data.end());
        }
        send_frames(type, payload, compress, frame_size);
        return compress;
    }

    void send_frames(message_type type, std::span<const std::uint8_t> payload, bool rsv,
                     std::size_t frame_size) {
        if (frame_size == 0 || payload.size() <= frame_size) {
            EXPECT_FALSE(ep.c.send_message(type, payload, rsv));
            return;
        }
        EXPECT_FALSE(ep.c.begin_message(type, payload.first(frame_size), rsv));
        std::size_t pos = frame_size;
        while (payload.size() - pos > frame_size) {
            EXPECT_FALSE(ep.c.continue_message(payload.subspan(pos, frame_size)));
            pos += frame_size;
        }
        EXPECT_FALSE(ep.c.end_message(payload.subspan(pos)));
    }

    void receive(std::string_view wire, const std::vector<std::size_t>& pieces) {
        ep.on_event = [this](endpoint&, const rec& r) { on_event(r); };
        ep.feed(wire, pieces);
    }
    void receive(std::string_view wire, std::size_t piece = 0) {
        receive(wire, fixed_pieces(wire.size(), piece));
    }

  private:
    std::vector<std::uint8_t> cur_;

    void fail(std::error_code e) {
        failure = e;
        ep.halted = true;
        EXPECT_FALSE(ep.c.send_close(close_code_for(static_cast<websocket_errc>(e.value()))));
    }

    void on_event(const rec& r) {
        if (r.kind != rec::data || failure) {
            return;
        }
        ++chunks;
        if (r.rsv1) {
            auto res = in->inflate(bytes_of(r.bytes), r.fin, cur_);
            if (!res) {
                fail(res.error());
                return;
            }
        } else {
            cur_.insert(cur_.end(), r.bytes.begin(), r.bytes.end());
        }
        if (!r.fin) {
            return;
        }
        std::string data(cur_.begin(), cur_.end());
        cur_.clear();
        if (r.type == message_type::text && r.rsv1 && !is_valid_utf8(data)) {
            fail(make_error_code(websocket_errc::invalid_utf8));
            return;
        }
        received.push_back({r.type, r.rsv1, std::move(data)});
    }
};

// Messages of many sizes and kinds (after Autobahn 12.x): compressible
// text, random bytes, one byte repeated; sizes around the default
// threshold and up to 128 KiB.
std::vector<message> corpus(unsigned seed, bool big = true) {
    std::vector<message> v;
    const char* words[] = {"alpha ", "beta ", "gamma ", "\xce\xb4\xce\xad\xce\xbb\xcf\x84\xce\xb1 ",
                           "{\"op\":\"msg\"} "};
    std::mt19937 rng(seed);
    std::vector<std::size_t> sizes = {0, 1, 2, 16, 64, 127, 128, 129, 256, 1000, 4096};
    if (big) {
        sizes.insert(sizes.end(), {16384, 65536, 131072});
    }
    for (std::size_t size : sizes) {
        std::string text;
        while (text.size() < size) {
            text += words[rng() % 5];
        }
        // Cut at a code point boundary at or below `size`.
        std::size_t cut = std::min(size, text.size());
        while (cut > 0 && (static_cast<std::uint8_t>(text[cut]) & 0xC0) == 0x80) {
            --cut;
        }
        text.resize(cut);
        v.push_back({message_type::text, false, text});
        v.push_back({message_type::binary, false, pattern(size, rng())});
        v.push_back({message_type::binary, false, std::string(size, 'z')});
    }
    return v;
}

// ---------------------------------------------------------------------------
// Negotiation (13.x parameter sets)

struct offer_params {
    bool snct = false;
    bool cnct = false;
    std::optional<int> smwb;  // server_max_window_bits=N
    int cmwb = -1;            // -1: absent, 0: bare, 8..15: value
};

std::string offer_text(const offer_params& o) {
    std::string s = "permessage-deflate";
    if (o.snct) {
        s += "; server_no_context_takeover";
    }
    if (o.cnct) {
        s += "; client_no_context_takeover";
    }
    if (o.smwb) {
        s += "; server_max_window_bits=" + std::to_string(*o.smwb);
    }
    if (o.cmwb == 0) {
        s += "; client_max_window_bits";
    } else if (o.cmwb > 0) {
        s += "; client_max_window_bits=" + std::to_string(o.cmwb);
    }
    return s;
}

// RFC 7692 7.1 as a server applies it to an acceptable offer.
deflate_agreement model(const offer_params& o, const deflate_server_config& c) {
    deflate_agreement a;
    a.server_no_context_takeover = o.snct || c.server_no_context_takeover;
    a.client_no_context_takeover = o.cnct || c.client_no_context_takeover;
    a.server_max_window_bits = std::min(c.server_max_window_bits, o.smwb.value_or(15));
    a.echo_server_max_window_bits = o.smwb.has_value() || a.server_max_window_bits < 15;
    // The server may only limit the client's window if the client offered
    // client_max_window_bits (7.1.2.2).
    a.client_max_window_bits =
        o.cmwb < 0 ? 15 : std::min(c.client_max_window_bits, o.cmwb == 0 ? 15 : o.cmwb);
    return a;
}

// Every offer (context takeover both ways x server_max_window_bits absent
// or 8..15 x client_max_window_bits absent, bare or 8..15) against a set of
// server configurations: the server's agreement matches the model, its
// response names what RFC 7692 requires and nothing the client did not
// offer, and the client's validation of the response gives the same
// agreement.
TEST(ws_conf_deflate_negotiation, FullParameterMatrix) {
    std::vector<deflate_server_config> configs;
    for (int flags = 0; flags < 4; ++flags) {
        for (int sb : {8, 11, 15}) {
            for (int cb : {8, 12, 15}) {
                deflate_server_config c;
                c.server_no_context_takeover = (flags & 1) != 0;
                c.client_no_context_takeover = (flags & 2) != 0;
                c.server_max_window_bits = sb;
                c.client_max_window_bits = cb;
                configs.push_back(c);
            }
        }
    }
    std::size_t checked = 0;
    for (int flags = 0; flags < 4; ++flags) {
        for (int smwb = 7; smwb <= 15; ++smwb) {
            for (int cmwb = -1; cmwb <= 15; ++cmwb) {
                if (cmwb >= 1 && cmwb <= 7) {
                    continue;
                }
                offer_params o;
                o.snct = (flags & 1) != 0;
                o.cnct = (flags & 2) != 0;
                if (smwb >= 8) {
                    o.smwb = smwb;
                }
                o.cmwb = cmwb;
                const std::string text = offer_text(o);
                // The client's own formatting of such an offer is the same.
                deflate_offer mine;
                mine.server_no_context_takeover = o.snct;
                mine.client_no_context_takeover = o.cnct;
                mine.server_max_window_bits = o.smwb;
                mine.offer_client_max_window_bits = o.cmwb >= 0;
                if (o.cmwb > 0) {
                    mine.client_max_window_bits = o.cmwb;
                }
                ASSERT_EQ(format_offer(mine), text);
                auto parsed = parse_extensions(text);
                ASSERT_TRUE(parsed) << text;
                for (const auto& c : configs) {
                    auto a = accept(*parsed, c);
                    ASSERT_TRUE(a) << text;
                    const deflate_agreement want = model(o, c);
                    ASSERT_EQ(*a, want) << text;
                    const std::string resp = format_response(*a);
                    EXPECT_EQ(resp.find("client_max_window_bits") != std::string::npos,
                              want.client_max_window_bits < 15)
                        << resp;
                    EXPECT_EQ(resp.find("server_max_window_bits") != std::string::npos,
                              want.echo_server_max_window_bits)
                        << resp;
                    auto v = validate_response(resp, mine);
                    ASSERT_TRUE(v) << text << " -> " << resp << ": " << v.error().message();
                    ASSERT_TRUE(v->has_value());
                    ASSERT_EQ(**v, want) << text << " -> " << resp;
                    // Both ends pick matching deflate/inflate parameters.
                    for (role r : {role::client, role::server}) {
                        const auto send = sending_options(want, side_of(r));
                        const auto recv = receiving_options(want, side_of(peer_of(r)));
                        EXPECT_EQ(send.window_bits, recv.window_bits);
                        EXPECT_EQ(send.no_context_takeover, recv.no_context_takeover);
                    }
                    ++checked;
                }
            }
        }
    }
    EXPECT_EQ(checked, 4u * 9u * 10u * 36u);
}

// Invalid values, values where none is allowed, duplicates and unknown
// parameters: the server declines the offer (and takes a valid one listed
// after it); the client refuses such a response.
TEST(ws_conf_deflate_negotiation, InvalidParametersAreRefused) {
    const auto bad = make_error_code(websocket_errc::bad_extension_offer);
    const auto refused = make_error_code(websocket_errc::handshake_extension);
    std::vector<std::pair<std::string, std::error_code>> params;  // with the client's error
    for (const char* name : {"server_max_window_bits", "client_max_window_bits"}) {
        for (const char* value : {"0", "1", "7", "16", "99", "08", "015", "+9", "-9", "9a", "a",
                                  "1e1", "9.0", "0x9", "99999999999999999999", "\"16\"", "\"7\""}) {
            params.push_back({std::string(name) + "=" + value, bad});
        }
    }
    params.push_back({"server_max_window_bits", bad});  // needs a value
    for (const char* name : {"server_no_context_takeover", "client_no_context_takeover"}) {
        for (const char* value : {"1", "true", "0", "\"x\""}) {
            params.push_back({std::string(name) + "=" + value, bad});
        }
        params.push_back({std::string(name) + "; " + name, bad});
    }
    params.push_back({"server_max_window_bits=10; server_max_window_bits=10", bad});
    params.push_back({"server_max_window_bits=10; server_max_window_bits=12", bad});
    params.push_back({"client_max_window_bits=10; client_max_window_bits=10", bad});
    params.push_back({"client_max_window_bits; client_max_window_bits", bad});
    params.push_back({"unknown_parameter", refused});
    params.push_back({"x-webkit-deflate-frame", refused});
    params.push_back({"server_max_window_bits=10; mystery=1", refused});
    deflate_offer offered;  // the client offered everything a response may name
    offered.client_max_window_bits = 15;
    for (const auto& [param, client_error] : params) {
        const std::string element = "permessage-deflate; " + param;
        auto parsed = parse_extensions(element);
        ASSERT_TRUE(parsed) << element;
        EXPECT_FALSE(accept(*parsed)) << element;
        // Declined, the next offer in the list is taken.
        auto two = parse_extensions(element + ", permessage-deflate; client_no_context_takeover");
        ASSERT_TRUE(two);
        auto a = accept(*two);
        ASSERT_TRUE(a) << element;
        EXPECT_TRUE(a->client_no_context_takeover);
        // A client refuses it in a response.
        auto v = validate_response(element, offered);
        ASSERT_FALSE(v) << element;
        EXPECT_EQ(v.error(), client_error) << element;
    }
}

// ---------------------------------------------------------------------------
// Round trips (12.x, 13.x)

struct agreement_case {
    deflate_agreement a;
    std::size_t threshold = 128;
};

std::vector<agreement_case> agreement_cases() {
    std::vector<agreement_case> v;
    for (int w = 8; w <= 15; ++w) {
        for (int flags = 0; flags < 4; ++flags) {
            agreement_case c;
            c.a.server_max_window_bits = w;
            c.a.client_max_window_bits = 23 - w;  // the other direction differs
            c.a.server_no_context_takeover = (flags & 1) != 0;
            c.a.client_no_context_takeover = (flags & 2) != 0;
            c.threshold = (w + flags) % 2 == 0 ? 0 : 128;
            v.push_back(c);
        }
    }
    return v;
}

// Every window size 8..15 in each direction, with and without context
// takeover each way; messages of the corpus both ways, single frames and
// fragmented (RSV1 on the first frame only), fed in random pieces.
TEST_P(ws_conf_deflate, RoundTripsForEveryWindowAndTakeover) {
    const auto msgs = corpus(12);
    const std::size_t frame_sizes[] = {0, 1, 7, 100, 4096};
    std::size_t n = 0;
    for (const auto& ac : agreement_cases()) {
        deflater_options dbase;
        dbase.compression_threshold = ac.threshold;
        pmd_end a(me(), ac.a, dbase);
        pmd_end b(peer(), ac.a, dbase);
        std::vector<message> expected;
        std::size_t compressed = 0;
        for (const auto& m : msgs) {
            const std::size_t fs = frame_sizes[n++ % 5];
            // A small frame size for a big compressed message would make
            // 100k frames: only for the smaller ones.
            const std::size_t frame_size = m.data.size() > 5000 && fs < 100 ? 100 : fs;
            const bool c1 = a.send(m.type, m.data, frame_size);
            const bool c2 = b.send(m.type, m.data, frame_size);
            EXPECT_EQ(c1, m.data.size() >= ac.threshold);
            EXPECT_EQ(c2, c1);
            compressed += c1;
            expected.push_back({m.type, c1, m.data});
        }
        const std::string ab = a.ep.drain();
        const std::string ba = b.ep.drain();
        // RSV1 only on first frames, and only on compressed messages.
        bool in_message = false;
        for (const auto& f : parse_wire(ab)) {
            if (f.op == op_cont) {
                EXPECT_EQ(f.rsv, 0);
            }
            if (f.op == op_text || f.op == op_binary) {
                EXPECT_FALSE(in_message);
            }
            in_message = !f.fin;
        }
        b.receive(ab, random_pieces(ab.size(), static_cast<unsigned>(n), 5000));
        a.receive(ba, random_pieces(ba.size(), static_cast<unsigned>(n) + 1, 5000));
        ASSERT_FALSE(a.failure || a.ep.ec || b.failure || b.ep.ec)
            << format_response(ac.a) << ": " << a.failure.message() << a.ep.ec.message()
            << b.failure.message() << b.ep.ec.message();
        ASSERT_EQ(b.received, expected) << format_response(ac.a);
        ASSERT_EQ(a.received, expected) << format_response(ac.a);
        EXPECT_GT(compressed, msgs.size() / 2);
    }
}

// Context takeover is visible on the wire: the same compressible message
// sent twice shrinks the second time when the sender keeps its context,
// and compresses to the same bytes when the agreement says it resets.
TEST_P(ws_conf_deflate, ContextTakeoverAsNegotiated) {
    // 200 bytes without inner repeats, so that the second copy compresses
    // only by referring to the first, within even an 8-bit window.
    std::string text = pattern(200, 31);
    for (auto& ch : text) {
        ch = static_cast<char>('a' + static_cast<std::uint8_t>(ch) % 26);
    }
    for (const auto& ac : agreement_cases()) {
        pmd_end a(me(), ac.a);
        pmd_end b(peer(), ac.a);
        ASSERT_TRUE(a.send(message_type::text, text));
        ASSERT_TRUE(a.send(message_type::text, text));
        const std::string wire = a.ep.drain();
        const auto frames = parse_wire(wire);
        ASSERT_EQ(frames.size(), 2u);
        const bool resets = me() == role::client ? ac.a.client_no_context_takeover
                                                 : ac.a.server_no_context_takeover;
        if (resets) {
            EXPECT_EQ(frames[0].payload, frames[1].payload) << format_response(ac.a);
        } else {
            EXPECT_LT(frames[1].payload.size(), frames[0].payload.size() / 4)
                << format_response(ac.a);
        }
        b.receive(wire, 3);
        ASSERT_EQ(b.received.size(), 2u);
        EXPECT_EQ(b.received[1].data, text);
    }
}

// A raw inflater holding exactly `bits` of window (zlib accepts 8 for
// inflating), fed with a 1-byte output buffer so that no distance can reach
// into output not yet moved to the window: a match farther back than the
// window fails ("invalid distance too far back").
class strict_inflater {
  public:
    strict_inflater(int bits, bool reset) : reset_(reset) {
        ok_ = inflateInit2(&z_, -bits) == Z_OK;
    }
    ~strict_inflater() { inflateEnd(&z_); }
    strict_inflater(const strict_inflater&) = delete;
    strict_inflater& operator=(const strict_inflater&) = delete;

    std::optional<std::string> message(std::string payload) {
        if (!ok_) {
            return std::nullopt;
        }
        payload += std::string("\x00\x00\xff\xff", 4);
        std::string out;
        z_.next_in = reinterpret_cast<Bytef*>(payload.data());
        z_.avail_in = static_cast<uInt>(payload.size());
        while (z_.avail_in > 0) {
            unsigned char b = 0;
            z_.next_out = &b;
            z_.avail_out = 1;
            const int rc = ::inflate(&z_, Z_SYNC_FLUSH);
            if (z_.avail_out == 0) {
                out.push_back(static_cast<char>(b));
            }
            if (rc == Z_BUF_ERROR && z_.avail_out == 1) {
                break;
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                ok_ = false;
                return std::nullopt;
            }
        }
        // Output still pending inside zlib.
        for (;;) {
            unsigned char b = 0;
            z_.next_out = &b;
            z_.avail_out = 1;
            const int rc = ::inflate(&z_, Z_SYNC_FLUSH);
            if (z_.avail_out == 0) {
                out.push_back(static_cast<char>(b));
                continue;
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                ok_ = false;
                return std::nullopt;
            }
            break;
        }
        if (reset_) {
            inflateReset(&z_);
        }
        return out;
    }

  private:
    z_stream z_{};
    bool ok_ = false;
    bool reset_ = false;
};

// A message whose second half repeats its first at a distance just beyond
// a `bits` window: a deflater using a larger window than agreed would
// refer back to it.
std::string far_repeat(int bits) {
    const std::size_t distance = (std::size_t{1} << bits) + 300;
    std::string block = pattern(distance, static_cast<unsigned>(bits));
    return block + block.substr(0, 2000);
}

// 13.x window bits, strictly: for every window size, what our end deflates
// inflates under an inflater with exactly the agreed window (8 included:
// zlib deflates "8" with 9, never reaching past 250 bytes), over several
// messages with and without context takeover.
TEST_P(ws_conf_deflate, DeflatedDataFitsTheAgreedWindowExactly) {
    // The strict inflater is strict: zlib with a 15-bit window does refer
    // beyond a 14-bit one for this message.
    {
        deflater_options wide;
        wide.window_bits = 15;
        auto d = deflater::create(wide);
        ASSERT_TRUE(d);
        std::vector<std::uint8_t> c;
        ASSERT_TRUE(d->compress(bytes_of(far_repeat(14)), true, c));
        strict_inflater strict(14, true);
        EXPECT_FALSE(strict.message(std::string(c.begin(), c.end())));
        strict_inflater roomy(15, true);
        EXPECT_EQ(roomy.message(std::string(c.begin(), c.end())), far_repeat(14));
    }
    for (int bits = 8; bits <= 15; ++bits) {
        for (bool nct : {false, true}) {
            deflate_agreement a;
            a.server_max_window_bits = bits;
            a.client_max_window_bits = bits;
            a.server_no_context_takeover = nct;
            a.client_no_context_takeover = nct;
            pmd_end sender(me(), a);
            endpoint receiver(peer(), {}, true);
            std::vector<std::string> sent;
            for (int i = 0; i < 4; ++i) {
                sent.push_back(far_repeat(bits));
                sent.push_back(far_repeat(std::max(8, bits - 1 - i)));
                sent.push_back(pattern(3000, static_cast<unsigned>(i)) + sent.front());
            }
            for (const auto& m : sent) {
                ASSERT_TRUE(sender.send(message_type::binary, m, 1000));
            }
            receiver.feed(sender.ep.drain());
            ASSERT_FALSE(receiver.ec);
            const auto msgs = receiver.messages();
            ASSERT_EQ(msgs.size(), sent.size());
            strict_inflater strict(bits, nct);
            for (std::size_t i = 0; i < msgs.size(); ++i) {
                ASSERT_TRUE(msgs[i].rsv1);
                auto back = strict.message(msgs[i].data);
                ASSERT_TRUE(back) << "bits " << bits << " nct " << nct << " message " << i;
                ASSERT_TRUE(*back == sent[i]) << "bits " << bits << " message " << i;
            }
        }
    }
}

// zlib deflating with exactly the agreed window, every strategy and a few
// levels, as a peer: our end inflates every message, fragmented; a message
// may also end with an extra empty stored block (a second sync flush).
TEST_P(ws_conf_deflate, WeInflateAnyPeerDeflateWithinTheWindow) {
    for (int bits = 9; bits <= 15; ++bits) {
        for (int strategy : {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED}) {
            for (int level : {0, 1, 9}) {
                for (bool nct : {false, true}) {
                    deflate_agreement a;
                    a.server_max_window_bits = bits;
                    a.client_max_window_bits = bits;
                    a.server_no_context_takeover = nct;
                    a.client_no_context_takeover = nct;
                    pmd_end ours(me(), a);
                    z_stream z{};
                    ASSERT_EQ(deflateInit2(&z, level, Z_DEFLATED, -bits, 8, strategy), Z_OK);
                    std::string wire;
                    std::vector<message> expected;
                    const auto msgs = corpus(static_cast<unsigned>(bits * 10 + level), false);
                    for (std::size_t i = 0; i < msgs.size(); ++i) {
                        const auto& m = msgs[i];
                        std::string c(deflateBound(&z, m.data.size()) + 64, '\0');
                        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(m.data.data()));
                        z.avail_in = static_cast<uInt>(m.data.size());
                        z.next_out = reinterpret_cast<Bytef*>(c.data());
                        z.avail_out = static_cast<uInt>(c.size());
                        ASSERT_NE(deflate(&z, Z_SYNC_FLUSH), Z_STREAM_ERROR);
                        ASSERT_EQ(z.avail_in, 0u);
                        c.resize(c.size() - z.avail_out);
                        if (c.empty()) {
                            // zlib skips a sync flush right after another
                            // with no input: the stream is byte-aligned, an
                            // empty stored block's header byte does.
                            c = std::string(1, '\0');
                        } else {
                            ASSERT_GE(c.size(), 4u);
                            ASSERT_EQ(c.substr(c.size() - 4), std::string("\x00\x00\xff\xff", 4));
                            c.resize(c.size() - 4);
                        }
                        if (i % 3 == 1) {
                            // A second, explicit empty stored block before
                            // the stripped tail: still one valid message.
                            c += std::string("\x00\x00\xff\xff\x00", 5);
                        }
                        if (nct) {
                            deflateReset(&z);
                        }
                        std::string frames;
                        const std::size_t fs = i % 4 == 0 ? 1 + i % 9 : 200 + 97 * i;
                        for (std::size_t pos = 0; pos == 0 || pos < c.size(); pos += fs) {
                            const bool first = pos == 0;
                            const bool last = pos + fs >= c.size();
                            frames += frame(me(), first ? static_cast<int>(m.type) : op_cont,
                                            c.substr(pos, fs), last, first ? rsv1 : 0);
                        }
                        wire += frames;
                        expected.push_back({m.type, true, m.data});
                    }
                    deflateEnd(&z);
                    ours.receive(wire, random_pieces(wire.size(), bits + level, 300));
                    ASSERT_FALSE(ours.failure || ours.ep.ec)
                        << bits << " strategy " << strategy << " level " << level << ": "
                        << ours.failure.message() << ours.ep.ec.message();
                    ASSERT_EQ(ours.received, expected)
                        << bits << " strategy " << strategy << " level " << level;
                }
            }
        }
    }
}

// 12.x with control frames: a compressed message in fragments with pings
// and pongs between them, fed byte by byte: RSV1 is reported on every
// chunk of the message, the pings are answered, the message inflates.
TEST_P(ws_conf_deflate, CompressedFragmentsWithControlFramesBetween) {
    deflate_agreement a;
    auto d = deflater::create(sending_options(a, side_of(peer())));
    ASSERT_TRUE(d);
    std::string text;
    while (text.size() < 4096) {
        text += "compressible text, " + std::to_string(text.size() % 13) + " ";
    }
    std::vector<std::uint8_t> c;
    ASSERT_TRUE(d->compress(bytes_of(text), true, c));
    const std::string payload(c.begin(), c.end());
    const std::size_t third = payload.size() / 3;
    const std::string wire = in(op_text, payload.substr(0, third), false, rsv1) +
                             in(op_ping, "one") + in(op_cont, payload.substr(third, third), false) +
                             in(op_pong, "two") + in(op_cont, "", false) + in(op_ping, "three") +
                             in(op_cont, payload.substr(2 * third));
    pmd_end ours(me(), a);
    std::string sent;
    ours.receive(wire, 1);
    sent = ours.ep.drain();
    ASSERT_FALSE(ours.failure || ours.ep.ec);
    ASSERT_EQ(ours.received, (std::vector<message>{{message_type::text, true, text}}));
    for (const auto& e : ours.ep.events) {
        if (e.kind == rec::data) {
            EXPECT_TRUE(e.rsv1);
        }
    }
    const auto out = parse_wire(sent);
    ASSERT_EQ(out.size(), 1u);  // coalesced: the output was pulled once
    EXPECT_EQ(out[0].payload, "three");
}

// RFC 7692 6.1: RSV1 on the continuation of a compressed message (or of an
// uncompressed one) fails with 1002 before the frame's payload.
TEST_P(ws_conf_deflate, Rsv1OnAContinuationFrameFails) {
    deflate_agreement a;
    for (int first_rsv : {rsv1, 0}) {
        pmd_end ours(me(), a);
        // An empty first fragment: nothing for the inflater to refuse.
        const std::string prefix = in(op_binary, first_rsv != 0 ? "" : "ab", false, first_rsv);
        ours.receive(prefix + in(op_cont, "\x02\x00", true, rsv1), 1);
        EXPECT_EQ(ours.ep.error_at, prefix.size() + 2);
        EXPECT_TRUE(failed_with(ours.ep, websocket_errc::rsv1_on_continuation));
    }
    pmd_end ours(me(), a);
    ours.receive(in(op_ping, "x", true, rsv1));
    EXPECT_TRUE(failed_with(ours.ep, websocket_errc::compressed_control_frame));
}

// Without the extension negotiated, a compressed message fails with 1002.
TEST_P(ws_conf_deflate, CompressedMessageWithoutTheExtensionFails) {
    deflate_agreement a;
    pmd_end peer_end(peer(), a);
    ASSERT_TRUE(peer_end.send(message_type::text, std::string(500, 'c')));
    endpoint plain(me());
    plain.feed(peer_end.ep.drain());
    EXPECT_TRUE(failed_with(plain, websocket_errc::reserved_bits));
}

// An inflate bomb: 16 MiB of zeros compress to about 16 KiB, sent in 512-byte
// frames. With a 1 MiB inflate limit the receiver fails with 1009 while
// inflating, before the rest of the message arrives, and holds no more than
// the limit. A message inflating to exactly the limit passes.
TEST_P(ws_conf_deflate, InflateBombFailsWith1009) {
    deflate_agreement a;
    const std::string zeros(16u << 20, '\0');
    inflater_options small;
    small.max_message_size = 1u << 20;
    pmd_end sender(peer(), a);
    ASSERT_TRUE(sender.send(message_type::binary, zeros, 512));
    const std::string wire = sender.ep.drain();
    const auto frames = parse_wire(wire);
    ASSERT_LT(wire.size(), 40000u);
    pmd_end ours(me(), a, {}, small);
    ours.receive(wire, 1000);
    EXPECT_EQ(ours.failure, make_error_code(websocket_errc::inflated_too_large));
    EXPECT_LT(ours.chunks, frames.size());
    EXPECT_LT(ours.ep.used, wire.size());
    EXPECT_TRUE(ours.received.empty());
    const auto out = ours.ep.drain_frames();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].op, op_close);
    EXPECT_EQ(out[0].payload, close_body(close_code::message_too_big));

    // Exactly at the limit, twice (the count restarts per message).
    pmd_end at_limit(me(), a, {}, small);
    pmd_end sender2(peer(), a);
    const std::string exact(1u << 20, '\0');
    ASSERT_TRUE(sender2.send(message_type::binary, exact, 512));
    ASSERT_TRUE(sender2.send(message_type::binary, exact));
    at_limit.receive(sender2.ep.drain());
    ASSERT_FALSE(at_limit.failure);
    ASSERT_EQ(at_limit.received.size(), 2u);
    EXPECT_EQ(at_limit.received[1].data.size(), exact.size());
    // One byte more fails.
    pmd_end over(me(), a, {}, small);
    pmd_end sender3(peer(), a);
    ASSERT_TRUE(sender3.send(message_type::binary, exact + "!"));
    over.receive(sender3.ep.drain());
    EXPECT_EQ(over.failure, make_error_code(websocket_errc::inflated_too_large));
}

// The codec's limits bound the compressed payload, independently of the
// inflate limit.
TEST_P(ws_conf_deflate, CodecLimitsApplyToTheCompressedPayload) {
    deflate_agreement a;
    codec_limits l;
    l.max_message_size = 1000;
    pmd_end sender(peer(), a);
    const std::string incompressible = pattern(2000, 3);
    ASSERT_TRUE(
        sender.send(message_type::binary, std::string(100000, 'a')));  // small once deflated
    ASSERT_TRUE(sender.send(message_type::binary, incompressible));
    pmd_end ours(me(), a, {}, {}, l);
    ours.receive(sender.ep.drain());
    ASSERT_EQ(ours.received.size(), 1u);
    EXPECT_EQ(ours.received[0].data.size(), 100000u);
    EXPECT_TRUE(failed_with(ours.ep, websocket_errc::message_too_large));
}

// Corrupt compressed data fails with 1007; so does compressed text that
// inflates to invalid UTF-8 (the codec leaves that check to the layer that
// inflates).
TEST_P(ws_conf_deflate, CorruptDataAndInvalidInflatedText) {
    deflate_agreement a;
    {
        pmd_end ours(me(), a);
        // BTYPE 11 is reserved.
        ours.receive(in(op_binary, "\xff\xff\xff", true, rsv1) + in(op_text, "never"));
        EXPECT_EQ(ours.failure, make_error_code(websocket_errc::inflate_failed));
        EXPECT_EQ(close_code_sent(ours.ep), close_code::invalid_payload);
    }
    {
        deflater_options all;
        all.compression_threshold = 0;
        pmd_end sender_all(peer(), a, all);
        ASSERT_TRUE(sender_all.send(message_type::text, "valid \xe2\x82\xac"));
        ASSERT_TRUE(sender_all.send(message_type::text, "invalid \xed\xa0\x80"));
        pmd_end ours(me(), a);
        ours.receive(sender_all.ep.drain());
        ASSERT_EQ(ours.received.size(), 1u);
        EXPECT_EQ(ours.failure, make_error_code(websocket_errc::invalid_utf8));
        EXPECT_EQ(close_code_sent(ours.ep), close_code::invalid_payload);
    }
}

// A compressed message cut short (its payload stops inside a block) fails
// with 1007 at its end instead of reading the next message's bytes as the
// rest of its block and delivering them as data.
TEST_P(ws_conf_deflate, TruncatedCompressedMessageFails) {
    deflate_agreement a;
    // zlib level 0: a stored block, LEN bytes announced, then cut in half.
    z_stream z{};
    ASSERT_EQ(deflateInit2(&z, 0, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string m = pattern(100, 4);
    std::string c(400, '\0');
    z.next_in = reinterpret_cast<Bytef*>(m.data());
    z.avail_in = static_cast<uInt>(m.size());
    z.next_out = reinterpret_cast<Bytef*>(c.data());
    z.avail_out = static_cast<uInt>(c.size());
    ASSERT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
    c.resize(c.size() - z.avail_out - 4);
    deflateEnd(&z);
    const std::string cut = c.substr(0, c.size() / 2);
    for (std::size_t piece : {std::size_t{0}, std::size_t{1}}) {
        pmd_end ours(me(), a);
        ours.receive(in(op_binary, c, true, rsv1) + in(op_binary, cut, true, rsv1) +
                         in(op_binary, std::string(1, '\0'), true, rsv1) + in(op_text, "plain"),
                     piece);
        ASSERT_EQ(ours.received.size(), 1u);
        EXPECT_EQ(ours.received[0].data, m);
        EXPECT_EQ(ours.failure, make_error_code(websocket_errc::inflate_failed));
        EXPECT_EQ(close_code_sent(ours.ep), close_code::invalid_payload);
    }
}

// The threshold: messages below it go uncompressed (RSV1 clear), at and
// above it compressed; mixing both keeps the two ends' contexts in step;
// an empty message compresses to the single byte 00 (RFC 7692 7.2.3.6), and
// an empty compressed payload is taken as an empty message.
TEST_P(ws_conf_deflate, ThresholdAndEmptyMessages) {
    deflate_agreement a;
    for (std::size_t threshold : {0, 1, 64, 128, 1000}) {
        deflater_options o;
        o.compression_threshold = threshold;
        pmd_end sender(peer(), a, o);
        pmd_end ours(me(), a);
        std::vector<message> expected;
        for (std::size_t size : {0, 1, 63, 64, 127, 128, 999, 1000, 5000, 10, 3000}) {
            const std::string m = std::string(size, 'q');
            const bool c = sender.send(message_type::binary, m);
            EXPECT_EQ(c, size >= threshold) << threshold << " " << size;
            expected.push_back({message_type::binary, c, m});
        }
        const std::string wire = sender.ep.drain();
        const auto frames = parse_wire(wire);
        ASSERT_EQ(frames.size(), expected.size());
        for (std::size_t i = 0; i < frames.size(); ++i) {
            EXPECT_EQ(frames[i].rsv == rsv1, expected[i].rsv1);
            if (expected[i].rsv1 && expected[i].data.empty()) {
                EXPECT_EQ(frames[i].payload, std::string(1, '\0'));
            }
        }
        ours.receive(wire, 17);
        ASSERT_FALSE(ours.failure || ours.ep.ec);
        EXPECT_EQ(ours.received, expected);
    }
    // An empty compressed payload (not DEFLATE once the tail is appended,
    // but a deflater asked to flush twice produces it) is an empty message
    // and leaves the stream in step: the messages around it inflate, the
    // second one referring back to the first.
    pmd_end sender(peer(), a);
    const std::string k(300, 'k');
    ASSERT_TRUE(sender.send(message_type::binary, k));
    const std::string before = sender.ep.drain();
    ASSERT_TRUE(sender.send(message_type::binary, k));
    const std::string after = sender.ep.drain();
    pmd_end ours(me(), a);
    ours.receive(before + in(op_text, "", true, rsv1) +
                 in(op_binary, std::string(1, '\0'), true, rsv1) + after);
    ASSERT_FALSE(ours.failure || ours.ep.ec) << ours.failure.message();
    EXPECT_EQ(ours.received, (std::vector<message>{{message_type::binary, true, k},
                                                   {message_type::text, true, ""},
                                                   {message_type::binary, true, ""},
                                                   {message_type::binary, true, k}}));
}

}  // namespace
}  // namespace corvid::ws::conformance
