#include "client/content_decoder.hpp"

#include <brotli/encode.h>
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace corvid::detail {
namespace {

constexpr std::uint64_t no_limit = std::uint64_t{1} << 40;

// Text with enough repetition to compress, and enough variety that the
// compressors emit real Huffman blocks; larger than one output step.
std::string sample_text(std::size_t size) {
    static const char* words[] = {"corvid ", "stream ", "header ", "cookie ",  "gzip ",
                                  "brotli ", "zstd ",   "token ",  "latency ", "\n"};
    std::string s;
    std::uint32_t x = 12345;
    while (s.size() < size) {
        x = x * 1103515245 + 12345;
        s += words[(x >> 16) % 10];
    }
    s.resize(size);
    return s;
}

// Bytes that do not compress.
std::string random_bytes(std::size_t size) {
    std::string s(size, '\0');
    std::uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (auto& c : s) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = static_cast<char>(x & 0xff);
    }
    return s;
}

// Streams `total` bytes produced by `source` (called with a 1 MiB buffer) into
// zlib's deflate. window_bits: 15 zlib, 31 gzip, -15 raw.
std::string zlib_compress_stream(std::size_t total, int window_bits, int level = 6) {
    z_stream zs{};
    EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string input(1 << 20, '\0');
    std::string out;
    std::string buf(64 * 1024, '\0');
    std::size_t left = total;
    for (;;) {
        std::size_t n = std::min(left, input.size());
        left -= n;
        zs.next_in = reinterpret_cast<Bytef*>(input.data());
        zs.avail_in = static_cast<uInt>(n);
        int flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
        int rc;
        do {
            zs.next_out = reinterpret_cast<Bytef*>(buf.data());
            zs.avail_out = static_cast<uInt>(buf.size());
            rc = deflate(&zs, flush);
            out.append(buf.data(), buf.size() - zs.avail_out);
        } while (zs.avail_out == 0);
        if (flush == Z_FINISH) {
            EXPECT_EQ(rc, Z_STREAM_END);
            break;
        }
    }
    deflateEnd(&zs);
    return out;
}

std::string zlib_compress(std::string_view data, int window_bits) {
    z_stream zs{};
    EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(deflateBound(&zs, data.size()) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

std::string gzip(std::string_view d) {
    return zlib_compress(d, 16 + MAX_WBITS);
}
std::string zlib_deflate(std::string_view d) {
    return zlib_compress(d, MAX_WBITS);
}
std::string raw_deflate(std::string_view d) {
    return zlib_compress(d, -MAX_WBITS);
}

std::string brotli(std::string_view data) {
    std::size_t size = BrotliEncoderMaxCompressedSize(data.size());
    std::string out(size == 0 ? data.size() + 1024 : size, '\0');
    size = out.size();
    EXPECT_TRUE(BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, data.size(),
                                      reinterpret_cast<const std::uint8_t*>(data.data()), &size,
                                      reinterpret_cast<std::uint8_t*>(out.data())));
    out.resize(size);
    return out;
}

std::string brotli_stream_zeros(std::size_t total) {
    BrotliEncoderState* st = BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
    BrotliEncoderSetParameter(st, BROTLI_PARAM_QUALITY, 1);
    std::string input(1 << 20, '\0');
    std::string out;
    std::string buf(64 * 1024, '\0');
    std::size_t left = total;
    for (;;) {
        std::size_t n = std::min(left, input.size());
        left -= n;
        auto op = left == 0 ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_PROCESS;
        const auto* next_in = reinterpret_cast<const std::uint8_t*>(input.data());
        std::size_t avail_in = n;
        do {
            auto* next_out = reinterpret_cast<std::uint8_t*>(buf.data());
            std::size_t avail_out = buf.size();
            EXPECT_TRUE(BrotliEncoderCompressStream(st, op, &avail_in, &next_in, &avail_out,
                                                    &next_out, nullptr));
            out.append(buf.data(), buf.size() - avail_out);
        } while (avail_in != 0 || BrotliEncoderHasMoreOutput(st));
        if (op == BROTLI_OPERATION_FINISH) {
            EXPECT_TRUE(BrotliEncoderIsFinished(st));
            break;
        }
    }
    BrotliEncoderDestroyInstance(st);
    return out;
}

std::string zstd(std::string_view data, int level = 3) {
    std::string out(ZSTD_compressBound(data.size()), '\0');
    std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
    EXPECT_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

std::string zstd_stream_zeros(std::size_t total, int window_log = 0) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
    if (window_log != 0) {
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, window_log);
    }
    std::string input(1 << 20, '\0');
    std::string out;
    std::string buf(ZSTD_CStreamOutSize(), '\0');
    std::size_t left = total;
    for (;;) {
        std::size_t n = std::min(left, input.size());
        left -= n;
        auto mode = left == 0 ? ZSTD_e_end : ZSTD_e_continue;
        ZSTD_inBuffer in{input.data(), n, 0};
        std::size_t remaining;
        do {
            ZSTD_outBuffer o{buf.data(), buf.size(), 0};
            remaining = ZSTD_compressStream2(cctx, &o, &in, mode);
            EXPECT_FALSE(ZSTD_isError(remaining));
            out.append(buf.data(), o.pos);
        } while (mode == ZSTD_e_end ? remaining != 0 : in.pos != in.size);
        if (mode == ZSTD_e_end) {
            break;
        }
    }
    ZSTD_freeCCtx(cctx);
    return out;
}

std::unique_ptr<content_decoder> make(std::string_view coding, std::uint64_t limit = no_limit) {
    auto d = content_decoder::create(coding, limit);
    EXPECT_TRUE(d.has_value()) << coding << ": " << d.error().message();
    return d.has_value() ? std::move(d).value() : nullptr;
}

// Decodes `encoded` fed in pieces of `piece` bytes; returns the first error.
std::error_code decode_all(content_decoder& d, std::string_view encoded, std::size_t piece,
                           std::string& out) {
    for (std::size_t pos = 0; pos < encoded.size(); pos += piece) {
        if (auto ec = d.decode(encoded.substr(pos, piece), out)) {
            return ec;
        }
    }
    return d.finish(out);
}

struct coding_case {
    const char* name;
    std::function<std::string(std::string_view)> encode;
};

void PrintTo(const coding_case& c, std::ostream* os) {
    *os << c.name;
}

class round_trip : public ::testing::TestWithParam<coding_case> {};

TEST_P(round_trip, one_piece_and_byte_by_byte) {
    const auto& c = GetParam();
    for (const std::string& plain :
         {sample_text(300 * 1024), random_bytes(100 * 1024), std::string("x"), std::string()}) {
        std::string encoded = c.encode(plain);
        for (std::size_t piece : {encoded.size() + 1, std::size_t{1}, std::size_t{7}}) {
            auto d = make(c.name);
            ASSERT_TRUE(d);
            std::string out;
            ASSERT_FALSE(decode_all(*d, encoded, piece, out))
                << c.name << " piece " << piece << " size " << plain.size();
            EXPECT_EQ(out.size(), plain.size());
            EXPECT_TRUE(out == plain) << c.name << " piece " << piece;
        }
    }
}

TEST_P(round_trip, truncated_stream_fails_at_finish) {
    const auto& c = GetParam();
    std::string encoded = c.encode(sample_text(100 * 1024));
    for (std::size_t cut : {std::size_t{1}, std::size_t{4}, encoded.size() / 2}) {
        auto d = make(c.name);
        std::string out;
        EXPECT_FALSE(d->decode(std::string_view(encoded).substr(0, encoded.size() - cut), out))
            << c.name << " cut " << cut;
        EXPECT_EQ(d->finish(out), client_errc::decode_failed) << c.name << " cut " << cut;
    }
}

TEST_P(round_trip, bomb_stops_at_the_limit) {
    const auto& c = GetParam();
    std::string encoded;
    std::string_view name = c.name;
    constexpr std::size_t bomb = 100 << 20;
    if (name == "gzip") {
        encoded = zlib_compress_stream(bomb, 16 + MAX_WBITS, 9);
    } else if (name == "deflate") {
        encoded = zlib_compress_stream(bomb, MAX_WBITS, 9);
    } else if (name == "br") {
        encoded = brotli_stream_zeros(bomb);
    } else {
        encoded = zstd_stream_zeros(bomb);
    }
    ASSERT_LT(encoded.size(), std::size_t{1} << 20) << "the bomb should be small";

    constexpr std::uint64_t limit = 1 << 20;
    auto d = make(c.name, limit);
    std::string out;
    EXPECT_EQ(d->decode(encoded, out), client_errc::decoded_too_large) << c.name;
    EXPECT_LE(out.size(), limit);
    // The decoder stopped within a step of the limit instead of inflating 100 MiB.
    EXPECT_LT(out.capacity(), std::size_t{4} << 20);
    // The error is sticky.
    EXPECT_EQ(d->decode("x", out), client_errc::decoded_too_large);
    EXPECT_EQ(d->finish(out), client_errc::decoded_too_large);
}

TEST_P(round_trip, output_limit_is_exact) {
    const auto& c = GetParam();
    std::string plain = sample_text(200 * 1024);
    std::string encoded = c.encode(plain);
    {
        auto d = make(c.name, plain.size());
        std::string out;
        EXPECT_FALSE(decode_all(*d, encoded, 1000, out));
        EXPECT_EQ(out, plain);
    }
    {
        auto d = make(c.name, plain.size() - 1);
        std::string out;
        EXPECT_EQ(decode_all(*d, encoded, 1000, out), client_errc::decoded_too_large);
    }
}

TEST_P(round_trip, output_of_exact_multiples_of_the_step) {
    // The last library call fills the output buffer exactly; the decoder must
    // still see the end of the stream.
    const auto& c = GetParam();
    for (std::size_t size : {content_decoder::step_size, 3 * content_decoder::step_size}) {
        std::string plain(size, 'a');
        std::string encoded = c.encode(plain);
        for (std::size_t piece : {encoded.size(), std::size_t{1}}) {
            auto d = make(c.name);
            std::string out;
            EXPECT_FALSE(decode_all(*d, encoded, piece, out)) << c.name << " " << size;
            EXPECT_EQ(out.size(), size);
        }
    }
}

TEST_P(round_trip, empty_body_decodes_to_nothing) {
    auto d = make(GetParam().name);
    std::string out;
    EXPECT_FALSE(d->decode("", out));
    EXPECT_FALSE(d->finish(out));
    EXPECT_TRUE(out.empty());
}

TEST_P(round_trip, garbage_fails) {
    const auto& c = GetParam();
    // No valid stream of any of these codings starts with 0xff 0xff ...
    std::string garbage(4096, '\xff');
    auto d = make(c.name);
    std::string out;
    EXPECT_EQ(decode_all(*d, garbage, garbage.size(), out), client_errc::decode_failed) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    codings, round_trip,
    ::testing::Values(coding_case{"gzip", gzip}, coding_case{"deflate", zlib_deflate},
                      coding_case{"br", brotli},
                      coding_case{"zstd", [](std::string_view d) { return zstd(d); }}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(content_decoder, names_are_case_insensitive_and_x_gzip_is_gzip) {
    std::string plain = sample_text(5000);
    for (const char* name : {"x-gzip", "GZIP", " gzip ", "Gzip"}) {
        auto d = make(name);
        std::string out;
        EXPECT_FALSE(decode_all(*d, gzip(plain), 100, out)) << name;
        EXPECT_EQ(out, plain) << name;
    }
}

TEST(content_decoder, stacked_codings_are_undone_last_first) {
    std::string plain = sample_text(150 * 1024);
    // "gzip, br": gzip was applied first, then br.
    std::string encoded = brotli(gzip(plain));
    for (std::size_t piece : {encoded.size(), std::size_t{1}}) {
        auto d = make("gzip, br");
        std::string out;
        EXPECT_FALSE(decode_all(*d, encoded, piece, out));
        EXPECT_EQ(out, plain);
    }
    // The wrong order is corrupt data.
    auto wrong = make("br, gzip");
    std::string out;
    EXPECT_EQ(decode_all(*wrong, encoded, encoded.size(), out), client_errc::decode_failed);
}

TEST(content_decoder, three_stacked_codings_with_identity_ignored) {
    std::string plain = sample_text(70 * 1024);
    std::string encoded = gzip(zstd(raw_deflate(plain)));
    auto d = make("deflate, identity, zstd,, gzip");
    std::string out;
    EXPECT_FALSE(decode_all(*d, encoded, 333, out));
    EXPECT_EQ(out, plain);
}

TEST(content_decoder, stacked_limit_applies_to_final_output) {
    std::string plain = sample_text(100 * 1024);
    std::string encoded = brotli(gzip(plain));
    auto d = make("gzip, br", 50 * 1024);
    std::string out;
    EXPECT_EQ(decode_all(*d, encoded, encoded.size(), out), client_errc::decoded_too_large);
    EXPECT_LE(out.size(), 50u * 1024);
}

TEST(content_decoder, raw_deflate_is_accepted) {
    std::string plain = sample_text(100 * 1024);
    std::string encoded = raw_deflate(plain);
    for (std::size_t piece : {encoded.size(), std::size_t{1}}) {
        auto d = make("deflate");
        std::string out;
        EXPECT_FALSE(decode_all(*d, encoded, piece, out));
        EXPECT_EQ(out, plain);
    }
    // A truncated raw stream is still caught.
    auto d = make("deflate");
    std::string out;
    EXPECT_EQ(decode_all(*d, std::string_view(encoded).substr(0, encoded.size() / 2), 100, out),
              client_errc::decode_failed);
    // So is a lone byte, which is no complete stream of either kind.
    auto one = make("deflate");
    out.clear();
    EXPECT_EQ(decode_all(*one, "\x78", 1, out), client_errc::decode_failed);
}

TEST(content_decoder, zlib_checksum_mismatch_fails) {
    std::string plain = sample_text(10 * 1024);
    std::string encoded = zlib_deflate(plain);
    encoded.back() = static_cast<char>(encoded.back() ^ 0x01);  // Adler-32 trailer
    auto d = make("deflate");
    std::string out;
    EXPECT_EQ(decode_all(*d, encoded, encoded.size(), out), client_errc::decode_failed);
}

TEST(content_decoder, gzip_crc_mismatch_fails) {
    std::string plain = sample_text(10 * 1024);
    std::string encoded = gzip(plain);
    encoded[encoded.size() - 8] = static_cast<char>(encoded[encoded.size() - 8] ^ 0x01);  // CRC-32
    auto d = make("gzip");
    std::string out;
    EXPECT_EQ(decode_all(*d, encoded, 100, out), client_errc::decode_failed);
}

TEST(content_decoder, corrupt_body_fails) {
    std::string plain = sample_text(50 * 1024);
    struct {
        const char* name;
        std::string encoded;
    } cases[] = {{"gzip", gzip(plain)},
                 {"deflate", zlib_deflate(plain)},
                 {"br", brotli(plain)},
                 {"zstd", zstd(plain)}};
    for (auto& c : cases) {
        // Overwrite a run in the middle of the compressed data.
        for (std::size_t i = c.encoded.size() / 3; i < c.encoded.size() / 3 + 64; ++i) {
            c.encoded[i] = '\xa5';
        }
        auto d = make(c.name);
        std::string out;
        auto ec = decode_all(*d, c.encoded, 512, out);
        EXPECT_EQ(ec, client_errc::decode_failed) << c.name;
    }
}

TEST(content_decoder, concatenated_gzip_members_are_decoded) {
    std::string a = sample_text(70 * 1024);
    std::string b = random_bytes(3000);
    std::string encoded = gzip(a) + gzip(b) + gzip("");
    for (std::size_t piece : {encoded.size(), std::size_t{1}, std::size_t{2}}) {
        auto d = make("gzip");
        std::string out;
        EXPECT_FALSE(decode_all(*d, encoded, piece, out)) << piece;
        EXPECT_TRUE(out == a + b) << piece;
    }
    // A second member cut short is truncation.
    std::string cut = gzip(a) + gzip(b).substr(0, 20);
    auto d = make("gzip");
    std::string out;
    EXPECT_EQ(decode_all(*d, cut, 1000, out), client_errc::decode_failed);
}

TEST(content_decoder, trailing_bytes_after_the_stream_are_ignored) {
    std::string plain = sample_text(10 * 1024);
    struct {
        const char* name;
        std::string encoded;
    } cases[] = {
        {"gzip", gzip(plain) + std::string(8, '\0')}, {"gzip", gzip(plain) + "\x1f"},
        {"gzip", gzip(plain) + "\x1f junk"},          {"deflate", zlib_deflate(plain) + "junk"},
        {"deflate", raw_deflate(plain) + "junk"},     {"br", brotli(plain) + "junk"}};
    for (const auto& c : cases) {
        for (std::size_t piece : {c.encoded.size(), std::size_t{1}}) {
            auto d = make(c.name);
            std::string out;
            EXPECT_FALSE(decode_all(*d, c.encoded, piece, out)) << c.name;
            EXPECT_EQ(out, plain) << c.name;
        }
    }
}

TEST(content_decoder, zstd_frames_in_sequence_and_junk_after_a_frame) {
    std::string a = sample_text(20 * 1024);
    std::string b = sample_text(1000);
    std::string two = zstd(a) + zstd(b);
    auto d = make("zstd");
    std::string out;
    EXPECT_FALSE(decode_all(*d, two, 1, out));
    EXPECT_EQ(out, a + b);

    auto junk = make("zstd");
    out.clear();
    EXPECT_EQ(decode_all(*junk, zstd(a) + "junk", 100, out), client_errc::decode_failed);
}

TEST(content_decoder, zstd_window_over_8_mib_is_refused) {
    // 9 MiB of zeros with a 16 MiB window: the frame asks for more than 8 MiB.
    std::string big_window = zstd_stream_zeros(9 << 20, 24);
    auto d = make("zstd");
    std::string out;
    EXPECT_EQ(decode_all(*d, big_window, big_window.size(), out), client_errc::decode_failed);

    // The same data with the default window decodes.
    std::string ok = zstd_stream_zeros(9 << 20, 0);
    auto d2 = make("zstd");
    out.clear();
    EXPECT_FALSE(decode_all(*d2, ok, ok.size(), out));
    EXPECT_EQ(out.size(), std::size_t{9} << 20);
}

TEST(content_decoder, identity_passes_bytes_through_under_the_limit) {
    for (const char* name : {"identity", "", " , identity"}) {
        auto d = make(name, 10);
        std::string out;
        EXPECT_FALSE(d->decode("hello", out));
        EXPECT_FALSE(d->decode("world", out));
        EXPECT_EQ(out, "helloworld");
        EXPECT_EQ(d->decode("!", out), client_errc::decoded_too_large);
        EXPECT_EQ(out, "helloworld");
    }
}

TEST(content_decoder, unknown_coding_is_refused) {
    for (const char* name : {"compress", "x-compress", "gzip, snappy", "bro", "gzip;q=1"}) {
        auto d = content_decoder::create(name, no_limit);
        ASSERT_FALSE(d.has_value()) << name;
        EXPECT_EQ(d.error(), client_errc::unsupported_encoding) << name;
    }
}

TEST(content_decoder, stack_depth_is_bounded) {
    EXPECT_TRUE(content_decoder::create("gzip, gzip, gzip, gzip, gzip", no_limit).has_value());
    auto deep = content_decoder::create("gzip, gzip, gzip, gzip, gzip, gzip", no_limit);
    ASSERT_FALSE(deep.has_value());
    EXPECT_EQ(deep.error(), client_errc::unsupported_encoding);
    EXPECT_TRUE(content_decoder::create("gzip, gzip, gzip", no_limit, 3).has_value());
    EXPECT_FALSE(content_decoder::create("gzip, gzip, gzip", no_limit, 2).has_value());

    // Five stacked gzips round-trip.
    std::string plain = sample_text(30 * 1024);
    std::string encoded = plain;
    for (int i = 0; i < 5; ++i) {
        encoded = gzip(encoded);
    }
    auto d = make("gzip, gzip, gzip, gzip, gzip");
    std::string out;
    EXPECT_FALSE(decode_all(*d, encoded, 10, out));
    EXPECT_EQ(out, plain);
}

}  // namespace
}  // namespace corvid::detail
