#include "proto/ws/deflate.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "corvid/error.hpp"

namespace corvid::ws {
namespace {

using bytes = std::vector<std::uint8_t>;

bytes to_bytes(std::string_view s) {
    return bytes(s.begin(), s.end());
}

// ---------------------------------------------------------------------------
// Header parsing

TEST(WsExtensionHeader, ParsesListsParamsAndQuotedValues) {
    auto r = parse_extensions(
        "permessage-deflate; client_max_window_bits, permessage-deflate ;"
        " server_max_window_bits = \"10\" ; x=\"a\\b\" ,, foo");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].name, "permessage-deflate");
    ASSERT_EQ((*r)[0].params.size(), 1u);
    EXPECT_EQ((*r)[0].params[0].name, "client_max_window_bits");
    EXPECT_FALSE((*r)[0].params[0].value);
    ASSERT_EQ((*r)[1].params.size(), 2u);
    EXPECT_EQ((*r)[1].params[0].value, "10");
    EXPECT_EQ((*r)[1].params[1].value, "ab");
    EXPECT_EQ((*r)[2].name, "foo");
    EXPECT_TRUE((*r)[2].params.empty());

    auto empty = parse_extensions("  , ");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
}

TEST(WsExtensionHeader, RefusesMalformed) {
    for (std::string_view bad : {
             "permessage-deflate;",              // empty parameter
             "permessage-deflate; =1",           // no name
             "permessage-deflate; a=",           // no value
             "permessage-deflate; a=\"1",        // unterminated quote
             "permessage-deflate; a=\"\\",       // escape at end
             "permessage-deflate a",             // junk after the name
             "permessage-deflate; a=1 2",        // junk after a value
             ";a",                               // no extension name
             "perm\x01essage",                   // control character
             "permessage-deflate; a=(1)",        // separator in a token
             "permessage-deflate; a=\"\x7f\"",   // DEL in a quoted string
             "permessage-deflate; a=\"a b\"",    // quoted value not a token
             "permessage-deflate; a=\"\"",       // empty quoted value
             "permessage-deflate; a=\"a\\\"\"",  // escaped quote: not a token
         }) {
        auto r = parse_extensions(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) {
            EXPECT_EQ(r.error(), websocket_errc::bad_extension_offer) << bad;
        }
    }
}

TEST(WsExtensionHeader, Limits) {
    extension_header_limits l;
    l.max_extensions = 2;
    l.max_params = 2;
    l.max_bytes = 64;
    EXPECT_TRUE(parse_extensions("a, b", l));
    EXPECT_FALSE(parse_extensions("a, b, c", l));
    EXPECT_TRUE(parse_extensions("a; x; y", l));
    EXPECT_FALSE(parse_extensions("a; x; y; z", l));
    EXPECT_FALSE(parse_extensions(std::string(65, 'a'), l));
}

// ---------------------------------------------------------------------------
// Negotiation

std::optional<deflate_agreement> accept_str(std::string_view h,
                                            const deflate_server_config& c = {}) {
    auto offers = parse_extensions(h);
    EXPECT_TRUE(offers) << h;
    if (!offers) {
        return std::nullopt;
    }
    return accept(*offers, c);
}

TEST(WsDeflateNegotiation, FormatOffer) {
    EXPECT_EQ(format_offer({}), "permessage-deflate; client_max_window_bits");
    deflate_offer o;
    o.server_no_context_takeover = true;
    o.client_no_context_takeover = true;
    o.server_max_window_bits = 10;
    o.client_max_window_bits = 9;
    EXPECT_EQ(format_offer(o),
              "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
              "server_max_window_bits=10; client_max_window_bits=9");
    deflate_offer bare;
    bare.offer_client_max_window_bits = false;
    EXPECT_EQ(format_offer(bare), "permessage-deflate");
}

TEST(WsDeflateNegotiation, ServerAcceptTable) {
    struct row {
        std::string_view offer;
        deflate_server_config config;
        std::optional<std::string_view> response;  // nullopt: declined
    };
    deflate_server_config small;
    small.server_max_window_bits = 10;
    small.client_max_window_bits = 9;
    deflate_server_config reset;
    reset.server_no_context_takeover = true;
    reset.client_no_context_takeover = true;
    const row rows[] = {
        {"permessage-deflate", {}, "permessage-deflate"},
        {"PerMessage-Deflate", {}, "permessage-deflate"},
        {"permessage-deflate; client_max_window_bits", {}, "permessage-deflate"},
        {"permessage-deflate; client_max_window_bits", small,
         "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9"},
        {"permessage-deflate", small, "permessage-deflate; server_max_window_bits=10"},
        {"permessage-deflate; client_max_window_bits=8", small,
         "permessage-deflate; server_max_window_bits=10; client_max_window_bits=8"},
        {"permessage-deflate; server_max_window_bits=8",
         {},
         "permessage-deflate; server_max_window_bits=8"},
        {"permessage-deflate; server_max_window_bits=15",
         {},
         "permessage-deflate; server_max_window_bits=15"},
        {"permessage-deflate; server_max_window_bits=\"12\"", small,
         "permessage-deflate; server_max_window_bits=10"},
        {"permessage-deflate; server_no_context_takeover",
         {},
         "permessage-deflate; server_no_context_takeover"},
        {"permessage-deflate; client_no_context_takeover",
         {},
         "permessage-deflate; client_no_context_takeover"},
        {"permessage-deflate", reset,
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
        // Invalid offers are declined; the next acceptable one wins.
        {"permessage-deflate; server_max_window_bits", {}, std::nullopt},
        {"permessage-deflate; server_max_window_bits=7", {}, std::nullopt},
        {"permessage-deflate; server_max_window_bits=16", {}, std::nullopt},
        {"permessage-deflate; server_max_window_bits=010", {}, std::nullopt},
        {"permessage-deflate; client_max_window_bits=0", {}, std::nullopt},
        {"permessage-deflate; server_no_context_takeover=1", {}, std::nullopt},
        {"permessage-deflate; client_no_context_takeover; client_no_context_takeover",
         {},
         std::nullopt},
        {"permessage-deflate; unknown", {}, std::nullopt},
        {"x-webkit-deflate-frame", {}, std::nullopt},
        {"foo, permessage-deflate; bogus, permessage-deflate; server_max_window_bits=9",
         {},
         "permessage-deflate; server_max_window_bits=9"},
    };
    for (const auto& r : rows) {
        auto a = accept_str(r.offer, r.config);
        ASSERT_EQ(a.has_value(), r.response.has_value()) << r.offer;
        if (a) {
            EXPECT_EQ(format_response(*a), *r.response) << r.offer;
        }
    }
}

TEST(WsDeflateNegotiation, ClientValidateTable) {
    deflate_offer dflt;  // "permessage-deflate; client_max_window_bits"
    deflate_offer bare;
    bare.offer_client_max_window_bits = false;
    deflate_offer ask;
    ask.server_no_context_takeover = true;
    ask.server_max_window_bits = 10;
    ask.client_max_window_bits = 11;
    struct row {
        std::string_view response;
        const deflate_offer* offered;
        std::error_code ec;                   // set: refused
        std::optional<deflate_agreement> ok;  // when accepted (nullopt: declined)
    };
    const auto bad = make_error_code(websocket_errc::bad_extension_offer);
    const auto refused = make_error_code(websocket_errc::handshake_extension);
    deflate_agreement a15;
    deflate_agreement a_cm9;
    a_cm9.client_max_window_bits = 9;
    deflate_agreement a_sm8;
    a_sm8.server_max_window_bits = 8;
    a_sm8.echo_server_max_window_bits = true;
    deflate_agreement a_ask;
    a_ask.server_no_context_takeover = true;
    a_ask.server_max_window_bits = 9;
    a_ask.echo_server_max_window_bits = true;
    a_ask.client_max_window_bits = 11;
    deflate_agreement a_nct;
    a_nct.client_no_context_takeover = true;
    const row rows[] = {
        {"", &dflt, {}, std::nullopt},
        {"permessage-deflate", &dflt, {}, a15},
        {"permessage-deflate; client_max_window_bits=9", &dflt, {}, a_cm9},
        {"permessage-deflate; server_max_window_bits=8", &dflt, {}, a_sm8},
        {"permessage-deflate; client_no_context_takeover", &dflt, {}, a_nct},
        {"permessage-deflate; server_no_context_takeover; server_max_window_bits=9",
         &ask,
         {},
         a_ask},
        // Refusals.
        {"permessage-deflate; client_max_window_bits=9", &bare, refused, std::nullopt},
        {"permessage-deflate; client_max_window_bits", &dflt, refused, std::nullopt},
        {"permessage-deflate; client_max_window_bits=12; server_no_context_takeover; "
         "server_max_window_bits=10",
         &ask, refused, std::nullopt},
        {"permessage-deflate; server_max_window_bits=10", &ask, refused, std::nullopt},
        {"permessage-deflate; server_no_context_takeover", &ask, refused, std::nullopt},
        {"permessage-deflate; server_no_context_takeover; server_max_window_bits=11", &ask, refused,
         std::nullopt},
        {"permessage-deflate; server_max_window_bits=7", &dflt, bad, std::nullopt},
        {"permessage-deflate; server_max_window_bits=16", &dflt, bad, std::nullopt},
        {"permessage-deflate; server_max_window_bits", &dflt, bad, std::nullopt},
        {"permessage-deflate; server_max_window_bits=09", &dflt, bad, std::nullopt},
        {"permessage-deflate; client_max_window_bits=+9", &dflt, bad, std::nullopt},
        {"permessage-deflate; server_no_context_takeover; server_no_context_takeover", &dflt, bad,
         std::nullopt},
        {"permessage-deflate; client_no_context_takeover=true", &dflt, bad, std::nullopt},
        {"permessage-deflate; mystery", &dflt, refused, std::nullopt},
        {"permessage-deflate, permessage-deflate", &dflt, refused, std::nullopt},
        {"x-other", &dflt, refused, std::nullopt},
        {"permessage-deflate; server_max_window_bits=\"1", &dflt, bad, std::nullopt},
    };
    for (const auto& r : rows) {
        auto v = validate_response(r.response, *r.offered);
        if (r.ec) {
            EXPECT_FALSE(v) << r.response;
            if (!v) {
                EXPECT_EQ(v.error(), r.ec) << r.response;
            }
            continue;
        }
        ASSERT_TRUE(v) << r.response << ": " << v.error().message();
        EXPECT_EQ(*v, r.ok) << r.response;
    }
}

TEST(WsDeflateNegotiation, ServerResponsePassesClientValidation) {
    // Every offer we format, accepted by our server under several configs,
    // validates on the client side with the same agreement.
    for (int sb : {0, 8, 12, 15}) {
        for (int cb : {-1, 0, 8, 13}) {
            for (int flags = 0; flags < 4; ++flags) {
                deflate_offer o;
                o.server_no_context_takeover = (flags & 1) != 0;
                o.client_no_context_takeover = (flags & 2) != 0;
                if (sb != 0) {
                    o.server_max_window_bits = sb;
                }
                o.offer_client_max_window_bits = cb >= 0;
                if (cb > 0) {
                    o.client_max_window_bits = cb;
                }
                for (int cfg_bits : {8, 11, 15}) {
                    deflate_server_config c;
                    c.server_max_window_bits = cfg_bits;
                    c.client_max_window_bits = cfg_bits;
                    auto a = accept_str(format_offer(o), c);
                    ASSERT_TRUE(a) << format_offer(o);
                    auto v = validate_response(format_response(*a), o);
                    ASSERT_TRUE(v) << format_offer(o) << " -> " << format_response(*a);
                    ASSERT_TRUE(v->has_value());
                    EXPECT_EQ(**v, *a) << format_offer(o) << " -> " << format_response(*a);
                }
            }
        }
    }
}

TEST(WsDeflateNegotiation, DirectionOptions) {
    deflate_agreement a;
    a.server_max_window_bits = 9;
    a.client_max_window_bits = 12;
    a.server_no_context_takeover = true;
    auto cs = sending_options(a, deflate_side::client);
    EXPECT_EQ(cs.window_bits, 12);
    EXPECT_FALSE(cs.no_context_takeover);
    auto ss = sending_options(a, deflate_side::server);
    EXPECT_EQ(ss.window_bits, 9);
    EXPECT_TRUE(ss.no_context_takeover);
    auto cr = receiving_options(a, deflate_side::client);
    EXPECT_EQ(cr.window_bits, 9);
    EXPECT_TRUE(cr.no_context_takeover);
    auto sr = receiving_options(a, deflate_side::server);
    EXPECT_EQ(sr.window_bits, 12);
    EXPECT_FALSE(sr.no_context_takeover);
}

TEST(WsDeflateNegotiation, Rsv1Rules) {
    EXPECT_FALSE(check_rsv1(false, true, false, false));
    EXPECT_FALSE(check_rsv1(true, false, false, true));
    EXPECT_EQ(check_rsv1(true, false, false, false), websocket_errc::reserved_bits);
    EXPECT_EQ(check_rsv1(true, true, false, true), websocket_errc::compressed_control_frame);
    EXPECT_EQ(check_rsv1(true, false, true, true), websocket_errc::rsv1_on_continuation);
}

// ---------------------------------------------------------------------------
// Codec

bytes compress_msg(deflater& d, const bytes& m) {
    bytes out;
    auto r = d.compress(m, true, out);
    EXPECT_TRUE(r);
    return out;
}

result<bytes> inflate_msg(inflater& i, const bytes& m, std::size_t chunk = 0) {
    bytes out;
    if (chunk == 0) {
        chunk = m.size() + 1;
    }
    std::size_t off = 0;
    do {
        std::size_t n = std::min(chunk, m.size() - off);
        bool fin = off + n == m.size();
        auto r = i.inflate(std::span<const std::uint8_t>(m.data() + off, n), fin, out);
        if (!r) {
            return r.error();
        }
        off += n;
    } while (off < m.size());
    return out;
}

// Messages of many sizes and kinds, Autobahn 12.x style: text-like, repeated,
// random (incompressible).
std::vector<bytes> corpus(unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<bytes> msgs;
    const std::string_view words[] = {"hello ", "world ", "corvid ", "deflate ", "{\"k\":1} "};
    for (std::size_t size :
         {0u, 1u, 16u, 64u, 200u, 256u, 257u, 511u, 1000u, 4096u, 16384u, 65536u, 131072u}) {
        bytes text;
        while (text.size() < size) {
            auto w = words[rng() % 5];
            text.insert(text.end(), w.begin(), w.end());
        }
        text.resize(size);
        msgs.push_back(text);
        bytes rnd(size);
        for (auto& b : rnd) {
            b = static_cast<std::uint8_t>(rng());
        }
        msgs.push_back(rnd);
    }
    return msgs;
}

TEST(WsDeflateCodec, RoundTripEveryWindowWithAndWithoutTakeover) {
    const auto msgs = corpus(7);
    for (int bits = 8; bits <= 15; ++bits) {
        for (bool nct : {false, true}) {
            deflater_options dop;
            dop.window_bits = bits;
            dop.no_context_takeover = nct;
            auto d = deflater::create(dop);
            ASSERT_TRUE(d) << bits;
            inflater_options iop;
            iop.window_bits = bits;
            iop.no_context_takeover = nct;
            auto in = inflater::create(iop);
            ASSERT_TRUE(in);
            for (std::size_t chunk :
                 {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
                for (const auto& m : msgs) {
                    auto c = compress_msg(*d, m);
                    auto back = inflate_msg(*in, c, chunk);
                    ASSERT_TRUE(back) << bits << " " << m.size() << " " << back.error().message();
                    ASSERT_EQ(*back, m) << bits << " nct=" << nct << " size " << m.size();
                }
            }
        }
    }
}

TEST(WsDeflateCodec, ContextTakeoverShrinksRepeats) {
    const bytes m = to_bytes(std::string(300, 'x') + "a message that repeats itself");
    auto keep = deflater::create({});
    deflater_options nct_opts;
    nct_opts.no_context_takeover = true;
    auto reset = deflater::create(nct_opts);
    ASSERT_TRUE(keep && reset);
    auto k1 = compress_msg(*keep, m);
    auto k2 = compress_msg(*keep, m);
    auto r1 = compress_msg(*reset, m);
    auto r2 = compress_msg(*reset, m);
    EXPECT_LT(k2.size(), k1.size());
    EXPECT_EQ(r1, r2);
    EXPECT_EQ(k1, r1);
}

TEST(WsDeflateCodec, EmptyMessageAndStreamingInput) {
    auto d = deflater::create({});
    ASSERT_TRUE(d);
    EXPECT_EQ(compress_msg(*d, {}), bytes{0x00});
    // Twice in a row too (zlib skips the second flush), then data: the
    // peer's inflater stays in step.
    EXPECT_EQ(compress_msg(*d, {}), bytes{0x00});
    {
        auto peer = inflater::create({});
        ASSERT_TRUE(peer);
        const bytes hello = to_bytes("hello hello hello");
        for (const auto& m : {bytes{}, bytes{}, hello, bytes{}, hello}) {
            auto back = inflate_msg(*peer, compress_msg(*d, m));
            ASSERT_TRUE(back);
            EXPECT_EQ(*back, m);
        }
    }
    // A message compressed in pieces inflates to the whole.
    const bytes m = corpus(3)[16];
    d = deflater::create({});
    ASSERT_TRUE(d);
    bytes out;
    for (std::size_t off = 0; off < m.size(); off += 333) {
        std::size_t n = std::min<std::size_t>(333, m.size() - off);
        ASSERT_TRUE(d->compress(std::span<const std::uint8_t>(m.data() + off, n), false, out));
    }
    ASSERT_TRUE(d->compress({}, true, out));
    auto in = inflater::create({});
    ASSERT_TRUE(in);
    auto e = inflate_msg(*in, bytes{0x00});
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->empty());
    auto back = inflate_msg(*in, out, 100);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, m);
}

TEST(WsDeflateCodec, Threshold) {
    deflater_options o;
    o.compression_threshold = 100;
    auto d = deflater::create(o);
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->should_compress(99));
    EXPECT_TRUE(d->should_compress(100));
}

TEST(WsDeflateCodec, InvalidOptions) {
    deflater_options d;
    d.window_bits = 7;
    EXPECT_EQ(deflater::create(d).error(), std::errc::invalid_argument);
    d.window_bits = 16;
    EXPECT_EQ(deflater::create(d).error(), std::errc::invalid_argument);
    inflater_options i;
    i.max_message_size = 0;
    EXPECT_EQ(inflater::create(i).error(), std::errc::invalid_argument);
}

TEST(WsDeflateCodec, BombLimit) {
    const bytes zeros(10 * 1024 * 1024, 0);
    auto d = deflater::create({});
    ASSERT_TRUE(d);
    auto c = compress_msg(*d, zeros);
    ASSERT_LT(c.size(), 20000u);
    for (std::size_t limit :
         {std::size_t{1}, std::size_t{1000}, std::size_t{65536}, zeros.size() - 1}) {
        inflater_options o;
        o.max_message_size = limit;
        auto in = inflater::create(o);
        ASSERT_TRUE(in);
        bytes out;
        auto r = in->inflate(c, true, out);
        ASSERT_FALSE(r) << limit;
        EXPECT_EQ(r.error(), websocket_errc::inflated_too_large);
        EXPECT_EQ(out.size(), limit);
        EXPECT_LE(out.capacity(), limit);
        // The inflater stays failed.
        EXPECT_EQ(in->inflate(bytes{0x00}, true, out).error(), websocket_errc::inflated_too_large);
    }
    // Exactly at the limit is fine, and the count restarts per message.
    inflater_options o;
    o.max_message_size = zeros.size();
    auto in = inflater::create(o);
    ASSERT_TRUE(in);
    for (int i = 0; i < 2; ++i) {
        auto back = inflate_msg(*in, c, 4096);
        ASSERT_TRUE(back);
        EXPECT_EQ(back->size(), zeros.size());
        auto again = compress_msg(*d, zeros);
        c = again;
    }
}

TEST(WsDeflateCodec, CorruptInput) {
    auto in = inflater::create({});
    ASSERT_TRUE(in);
    bytes out;
    // BTYPE 11 is reserved.
    auto r = in->inflate(bytes{0xff, 0xff, 0xff}, true, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), websocket_errc::inflate_failed);
    EXPECT_EQ(in->inflate(bytes{0x00}, true, out).error(), websocket_errc::inflate_failed);

    // Note: zlib does not refuse a distance beyond the agreed window while
    // the history is still in the output buffer of the same inflate call, so
    // "too far back" is not tested here; memory stays bounded regardless.
    auto d = deflater::create({});
    ASSERT_TRUE(d);

    // Every single-byte corruption either fails cleanly or inflates to
    // something (deflate has no checksum); never crashes or overruns.
    auto good = compress_msg(*d, corpus(5)[8]);
    for (std::size_t i = 0; i < good.size(); ++i) {
        auto bad = good;
        bad[i] ^= 0x5a;
        inflater_options o;
        o.max_message_size = 100000;
        auto fresh = inflater::create(o);
        ASSERT_TRUE(fresh);
        auto res = inflate_msg(*fresh, bad, 3);
        if (!res) {
            EXPECT_TRUE(res.error() == websocket_errc::inflate_failed ||
                        res.error() == websocket_errc::inflated_too_large);
        }
    }
}

TEST(WsDeflateCodec, FinalBlockFromPeer) {
    // A peer may end a message with BFINAL set (zlib's Z_FINISH); the next
    // message then starts a new stream.
    const bytes m = to_bytes("final block message final block message");
    z_stream z{};
    ASSERT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    bytes c(256);
    z.next_in = const_cast<Bytef*>(m.data());
    z.avail_in = static_cast<uInt>(m.size());
    z.next_out = c.data();
    z.avail_out = static_cast<uInt>(c.size());
    ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    c.resize(c.size() - z.avail_out);
    deflateEnd(&z);
    auto in = inflater::create({});
    ASSERT_TRUE(in);
    for (int i = 0; i < 2; ++i) {
        auto back = inflate_msg(*in, c, 5);
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, m);
    }
    // Bytes after the final block are an error.
    auto junk = c;
    junk.push_back(0x00);
    EXPECT_EQ(inflate_msg(*in, junk).error(), websocket_errc::inflate_failed);
}

// Autobahn 13.x style: each (offer, server config) pair is negotiated end to
// end (format_offer, accept, format_response, validate_response), both ends
// build their codecs from the agreement, and messages of many sizes go both
// ways, fragmented into chunks.
TEST(WsDeflateCodec, NegotiatedEndToEnd) {
    struct combo {
        deflate_offer offer;
        deflate_server_config config;
    };
    std::vector<combo> combos;
    for (int bits : {8, 9, 12, 15}) {
        combo c1;
        c1.offer.client_max_window_bits = bits;
        combos.push_back(c1);
        combo c2;
        c2.offer.server_max_window_bits = bits;
        c2.offer.client_no_context_takeover = true;
        combos.push_back(c2);
        combo c3;
        c3.config.server_max_window_bits = bits;
        c3.config.client_max_window_bits = bits;
        c3.config.server_no_context_takeover = true;
        combos.push_back(c3);
        combo c4;
        c4.offer.server_no_context_takeover = true;
        c4.offer.server_max_window_bits = bits;
        c4.config.client_no_context_takeover = true;
        c4.config.client_max_window_bits = bits;
        combos.push_back(c4);
    }
    const auto msgs = corpus(17);
    for (const auto& c : combos) {
        const auto offer_text = format_offer(c.offer);
        auto server_agreement = accept_str(offer_text, c.config);
        ASSERT_TRUE(server_agreement) << offer_text;
        auto client_agreement = validate_response(format_response(*server_agreement), c.offer);
        ASSERT_TRUE(client_agreement && client_agreement->has_value()) << offer_text;
        ASSERT_EQ(**client_agreement, *server_agreement) << offer_text;
        const auto& a = *server_agreement;
        auto client_out = deflater::create(sending_options(a, deflate_side::client));
        auto client_in = inflater::create(receiving_options(a, deflate_side::client));
        auto server_out = deflater::create(sending_options(a, deflate_side::server));
        auto server_in = inflater::create(receiving_options(a, deflate_side::server));
        ASSERT_TRUE(client_out && client_in && server_out && server_in);
        std::size_t chunk = 1;
        for (const auto& m : msgs) {
            chunk = chunk * 3 % 1021 + 1;
            auto up = inflate_msg(*server_in, compress_msg(*client_out, m), chunk);
            ASSERT_TRUE(up) << offer_text << " -> " << format_response(a);
            ASSERT_EQ(*up, m);
            auto down = inflate_msg(*client_in, compress_msg(*server_out, m), chunk);
            ASSERT_TRUE(down) << offer_text << " -> " << format_response(a);
            ASSERT_EQ(*down, m);
        }
    }
}

// ---------------------------------------------------------------------------
// Interop with Python's zlib (Debian's /usr/bin/python3, standard library)

const char* k_python = "/usr/bin/python3";

// Messages are exchanged as 4-byte big-endian lengths followed by the bytes.
void write_msgs(const std::filesystem::path& p, const std::vector<bytes>& msgs) {
    std::ofstream f(p, std::ios::binary);
    for (const auto& m : msgs) {
        const std::uint32_t n = static_cast<std::uint32_t>(m.size());
        const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                             static_cast<char>(n >> 8), static_cast<char>(n)};
        f.write(len, 4);
        f.write(reinterpret_cast<const char*>(m.data()), static_cast<std::streamsize>(m.size()));
    }
}

std::vector<bytes> read_msgs(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::vector<bytes> msgs;
    unsigned char len[4];
    while (f.read(reinterpret_cast<char*>(len), 4)) {
        const std::uint32_t n = (std::uint32_t{len[0]} << 24) | (std::uint32_t{len[1]} << 16) |
                                (std::uint32_t{len[2]} << 8) | len[3];
        bytes m(n);
        f.read(reinterpret_cast<char*>(m.data()), n);
        msgs.push_back(std::move(m));
    }
    return msgs;
}

// mode "deflate": Python compresses each message as a permessage-deflate
// sender would (raw, Z_SYNC_FLUSH, tail removed; it cannot compress with 8
// bits either and uses 9, as zlib requires). mode "inflate": Python inflates
// each message with exactly the agreed window (8 included), tail appended.
const char* k_script = R"PY(
import sys, zlib, struct
mode, bits, nct, src, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3] == '1', sys.argv[4], sys.argv[5]
data = open(src, 'rb').read()
msgs, i = [], 0
while i < len(data):
    n = struct.unpack('>I', data[i:i+4])[0]; msgs.append(data[i+4:i+4+n]); i += 4 + n
out = []
if mode == 'deflate':
    c = None
    for m in msgs:
        if c is None or nct:
            c = zlib.compressobj(6, zlib.DEFLATED, -max(bits, 9))
        z = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
        assert z.endswith(b'\x00\x00\xff\xff')
        out.append(z[:-4] or b'\x00')
else:
    d = None
    for m in msgs:
        if d is None or nct:
            d = zlib.decompressobj(-bits)
        out.append(d.decompress(m + b'\x00\x00\xff\xff'))
with open(dst, 'wb') as f:
    for m in out:
        f.write(struct.pack('>I', len(m)) + m)
)PY";

bool python_available() {
    return std::filesystem::exists(k_python);
}

std::vector<bytes> run_python(const std::string& mode, int bits, bool nct,
                              const std::vector<bytes>& msgs) {
    const auto dir = std::filesystem::temp_directory_path();
    const auto tag =
        std::to_string(::getpid()) + "-" + mode + std::to_string(bits) + (nct ? "n" : "t");
    const auto script = dir / ("corvid-pmd-" + tag + ".py");
    const auto src = dir / ("corvid-pmd-" + tag + ".in");
    const auto dst = dir / ("corvid-pmd-" + tag + ".out");
    {
        std::ofstream f(script);
        f << k_script;
    }
    write_msgs(src, msgs);
    const std::string cmd = std::string(k_python) + " " + script.string() + " " + mode + " " +
                            std::to_string(bits) + " " + (nct ? "1" : "0") + " " + src.string() +
                            " " + dst.string();
    const int rc = std::system(cmd.c_str());
    EXPECT_EQ(rc, 0) << cmd;
    auto out = read_msgs(dst);
    std::filesystem::remove(script);
    std::filesystem::remove(src);
    std::filesystem::remove(dst);
    return out;
}

TEST(WsDeflateInterop, PythonInflatesOurs) {
    if (!python_available()) {
        GTEST_SKIP() << "no /usr/bin/python3";
    }
    const auto msgs = corpus(11);
    for (int bits = 8; bits <= 15; ++bits) {
        for (bool nct : {false, true}) {
            deflater_options o;
            o.window_bits = bits;
            o.no_context_takeover = nct;
            auto d = deflater::create(o);
            ASSERT_TRUE(d);
            std::vector<bytes> compressed;
            for (const auto& m : msgs) {
                compressed.push_back(compress_msg(*d, m));
            }
            auto back = run_python("inflate", bits, nct, compressed);
            ASSERT_EQ(back.size(), msgs.size()) << bits;
            for (std::size_t i = 0; i < msgs.size(); ++i) {
                EXPECT_EQ(back[i], msgs[i]) << "bits " << bits << " nct " << nct << " msg " << i;
            }
        }
    }
}

TEST(WsDeflateInterop, WeInflatePythons) {
    if (!python_available()) {
        GTEST_SKIP() << "no /usr/bin/python3";
    }
    const auto msgs = corpus(13);
    for (int bits = 8; bits <= 15; ++bits) {
        for (bool nct : {false, true}) {
            auto compressed = run_python("deflate", bits, nct, msgs);
            ASSERT_EQ(compressed.size(), msgs.size());
            inflater_options o;
            o.window_bits = bits;
            o.no_context_takeover = nct;
            auto in = inflater::create(o);
            ASSERT_TRUE(in);
            for (std::size_t i = 0; i < msgs.size(); ++i) {
                auto back = inflate_msg(*in, compressed[i], 1 + i * 37);
                ASSERT_TRUE(back) << "bits " << bits << " msg " << i;
                EXPECT_EQ(*back, msgs[i]) << "bits " << bits << " nct " << nct << " msg " << i;
            }
        }
    }
}

TEST(WsDeflateInterop, ZlibRefusesRawEightBitDeflate) {
    // The fact the 8-to-9 decision rests on (zlib >= 1.2.9).
    z_stream z{};
    const int rc = deflateInit2(&z, 6, Z_DEFLATED, -8, 8, Z_DEFAULT_STRATEGY);
    if (rc == Z_OK) {
        deflateEnd(&z);
    }
    EXPECT_EQ(rc, Z_STREAM_ERROR) << zlibVersion();
}

}  // namespace
}  // namespace corvid::ws
