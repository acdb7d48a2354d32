#include "proto/h1/chunked_decoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "corvid/error.hpp"

namespace corvid::h1 {
namespace {

using kind = chunked_decoder::event_kind;

struct outcome {
    std::string data;
    std::string trailers;
    bool done = false;
    std::error_code ec;
    std::size_t used = 0;  // bytes consumed in total
};

// Feeds `input` in pieces of `step` bytes (0: all at once).
outcome decode(std::string_view input, std::size_t step = 0, chunked_decoder::limits l = {}) {
    chunked_decoder d(l);
    outcome o;
    std::size_t pos = 0;
    while (pos < input.size() || step == 0) {
        std::size_t n = step == 0 ? input.size() : std::min(step, input.size() - pos);
        std::string_view in = input.substr(pos, n);
        while (true) {
            std::error_code ec;
            auto ev = d.decode(in, ec);
            if (ec) {
                o.ec = ec;
                return o;
            }
            EXPECT_LE(ev.consumed, in.size());
            if (ev.kind == kind::data) {
                EXPECT_GE(ev.data.data(), in.data());
                EXPECT_LE(ev.data.data() + ev.data.size(), in.data() + ev.consumed);
                o.data.append(ev.data);
            }
            in.remove_prefix(ev.consumed);
            o.used += ev.consumed;
            if (ev.kind == kind::done) {
                o.done = true;
                for (const auto& f : d.trailers()) {
                    o.trailers += f.name + "=" + f.value + ";";
                }
                return o;
            }
            if (ev.kind == kind::need_more) {
                EXPECT_TRUE(in.empty());
                break;
            }
        }
        pos += n;
        if (step == 0) {
            break;
        }
    }
    return o;
}

TEST(ChunkedDecoder, Events) {
    const std::string in = "3\r\nabc\r\n0\r\n\r\nnext";
    chunked_decoder d;
    std::error_code ec;
    auto ev = d.decode(in, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(ev.kind, kind::data);
    EXPECT_EQ(ev.consumed, 6u);  // size line and data
    EXPECT_EQ(ev.data, "abc");
    EXPECT_EQ(ev.data.data(), in.data() + 3);
    ev = d.decode(std::string_view(in).substr(6), ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(ev.kind, kind::done);
    EXPECT_EQ(ev.consumed, 7u);  // stops before "next"
    EXPECT_TRUE(d.done());
    EXPECT_EQ(d.body_bytes(), 3u);
    ev = d.decode("more", ec);
    EXPECT_EQ(ev.kind, kind::done);
    EXPECT_EQ(ev.consumed, 0u);
}

TEST(ChunkedDecoder, PartialDataIsDeliveredAsItArrives) {
    chunked_decoder d;
    std::error_code ec;
    auto ev = d.decode("a\r\n01234", ec);
    EXPECT_EQ(ev.kind, kind::data);
    EXPECT_EQ(ev.data, "01234");
    ev = d.decode({}, ec);
    EXPECT_EQ(ev.kind, kind::need_more);
    ev = d.decode("56789\r", ec);
    EXPECT_EQ(ev.kind, kind::data);
    EXPECT_EQ(ev.data, "56789");
    EXPECT_EQ(ev.consumed, 5u);
    ev = d.decode("\r", ec);
    EXPECT_EQ(ev.kind, kind::need_more);
    EXPECT_EQ(ev.consumed, 1u);
    EXPECT_FALSE(ec);
}

const char* const valid[] = {
    "0\r\n\r\n",
    "5\r\nhello\r\n0\r\n\r\n",
    "A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n",
    "0000005\r\nhello\r\n000\r\n\r\n",
    "5 \t\r\nhello\r\n0\r\n\r\n",
    "5;a\r\nhello\r\n0;b=c\r\n\r\n",
    "5 ; a = b ; c=\"d;\\\"e\\\\\" ;f\r\nhello\r\n0\r\n\r\n",
    "5\r\nhello\r\n0\r\nA: 1\r\nB:2\r\n\r\n",
    "1\r\n\n\r\n1\r\n\r\r\n0\r\n\r\n",  // CR and LF as data are fine
};

TEST(ChunkedDecoder, ValidStreamsInAnyPieces) {
    for (std::string_view in : valid) {
        SCOPED_TRACE(testing::PrintToString(std::string(in)));
        auto whole = decode(in);
        ASSERT_FALSE(whole.ec) << whole.ec.message();
        EXPECT_TRUE(whole.done);
        EXPECT_EQ(whole.used, in.size());
        for (std::size_t step = 1; step < in.size(); ++step) {
            auto o = decode(in, step);
            EXPECT_FALSE(o.ec) << step;
            EXPECT_EQ(o.data, whole.data) << step;
            EXPECT_EQ(o.trailers, whole.trailers) << step;
            EXPECT_TRUE(o.done) << step;
        }
    }
    EXPECT_EQ(decode(valid[2]).data, "0123456789abcdefghijk");
    EXPECT_EQ(decode(valid[7]).trailers, "A=1;B=2;");
}

TEST(ChunkedDecoder, MaxChunkSize) {
    chunked_decoder::limits l;
    l.max_chunk_size = 16;
    EXPECT_FALSE(decode("10\r\n", 0, l).ec);
    EXPECT_EQ(decode("11\r\n", 0, l).ec, http1_errc::bad_chunk_size);
    EXPECT_FALSE(decode("7fffffffffffffff\r\n").ec);
    EXPECT_EQ(decode("8000000000000000\r\n").ec, http1_errc::bad_chunk_size);
    // Leading zeros are fine up to a bound.
    EXPECT_FALSE(decode(std::string(31, '0') + "1\r\n").ec);
    EXPECT_EQ(decode(std::string(32, '0') + "1\r\n").ec, http1_errc::bad_chunk_size);
}

TEST(ChunkedDecoder, BodyAndTrailerLimits) {
    chunked_decoder::limits l;
    l.max_body_bytes = 6;
    EXPECT_FALSE(decode("3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", 0, l).ec);
    // Refused at the size line, before any byte of the chunk is delivered.
    auto o = decode("3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n", 0, l);
    EXPECT_EQ(o.ec, http1_errc::body_too_large);
    EXPECT_EQ(o.data, "abc");

    l = {};
    l.max_trailer_fields = 1;
    EXPECT_FALSE(decode("0\r\nA: 1\r\n\r\n", 0, l).ec);
    EXPECT_EQ(decode("0\r\nA: 1\r\nB: 2\r\n\r\n", 0, l).ec, http1_errc::too_many_headers);

    l = {};
    l.max_trailer_bytes = 10;  // "A: 123\r\n" (8) + "\r\n" (2)
    EXPECT_FALSE(decode("0\r\nA: 123\r\n\r\n", 0, l).ec);
    EXPECT_FALSE(decode("0\r\nA: 123\r\n\r\n", 1, l).ec);
    EXPECT_EQ(decode("0\r\nA: 1234\r\n\r\n", 0, l).ec, http1_errc::header_too_large);
    EXPECT_EQ(decode("0\r\nA: 1234\r\n\r\n", 1, l).ec, http1_errc::header_too_large);

    l = {};
    l.max_chunk_ext_bytes = 4;
    EXPECT_FALSE(decode("1;a=b\r\nx\r\n0\r\n\r\n", 0, l).ec);
    EXPECT_EQ(decode("1;a=bc\r\nx\r\n0\r\n\r\n", 0, l).ec, http1_errc::bad_chunk);
}

struct bad_case {
    const char* name;
    const char* input;
    http1_errc expected;
};

const bad_case bad_cases[] = {
    {"empty_size", "\r\n", http1_errc::bad_chunk_size},
    {"hex_prefix", "0x5\r\nhello\r\n", http1_errc::bad_chunk_size},
    {"negative", "-1\r\n", http1_errc::bad_chunk_size},
    {"plus", "+1\r\n", http1_errc::bad_chunk_size},
    {"overflow", "fffffffffffffffffff\r\n", http1_errc::bad_chunk_size},
    {"leading_space", " 5\r\n", http1_errc::bad_chunk_size},
    {"space_inside", "5 5\r\n", http1_errc::bad_chunk_size},
    {"junk_after", "5g\r\n", http1_errc::bad_chunk_size},
    {"bare_lf", "5\nhello\r\n", http1_errc::bad_chunk_size},
    {"bare_cr", "5\rhello\r\n", http1_errc::bad_chunk_size},
    {"no_crlf_after_data", "5\r\nhelloX", http1_errc::bad_chunk},
    {"lf_after_data", "5\r\nhello\n0\r\n\r\n", http1_errc::bad_chunk},
    {"cr_cr_after_data", "5\r\nhello\r\r\n", http1_errc::bad_chunk},
    {"ext_empty_name", "5;=a\r\n", http1_errc::bad_chunk},
    {"ext_dangling", "5;\r\n", http1_errc::bad_chunk},
    {"ext_bad_name", "5;a@b\r\n", http1_errc::bad_chunk},
    {"ext_no_value", "5;a=\r\n", http1_errc::bad_chunk},
    {"ext_unterminated_quote", "5;a=\"b\r\n", http1_errc::bad_chunk},
    {"ext_two_values", "5;a=b c\r\n", http1_errc::bad_chunk},
    {"ext_bare_lf", "5;a\nhello\r\n", http1_errc::bad_chunk},
    {"ext_ctl_in_quote", "5;a=\"\x01\"\r\n", http1_errc::bad_chunk},
    {"trailer_bare_lf", "0\r\nA: b\n\r\n", http1_errc::bad_header},
    {"trailer_bare_lf_end", "0\r\n\n", http1_errc::bad_header},
    {"trailer_no_colon", "0\r\nA\r\n\r\n", http1_errc::bad_header},
    {"trailer_obs_fold", "0\r\nA: b\r\n\tc\r\n\r\n", http1_errc::obs_fold},
    {"trailer_bare_cr", "0\r\nA: b\rc\r\n\r\n", http1_errc::bad_header},
};

class ChunkedDecoderMalformed : public testing::TestWithParam<bad_case> {};

TEST_P(ChunkedDecoderMalformed, YieldsTheSpecificError) {
    const auto& c = GetParam();
    std::error_code expected = c.expected;
    EXPECT_EQ(decode(c.input).ec, expected);
    EXPECT_EQ(decode(c.input, 1).ec, expected) << "byte by byte";
}

INSTANTIATE_TEST_SUITE_P(Table, ChunkedDecoderMalformed, testing::ValuesIn(bad_cases),
                         [](const testing::TestParamInfo<bad_case>& tp) {
                             return std::string(tp.param.name);
                         });

TEST(ChunkedDecoder, ErrorsAreStickyAndResetClears) {
    chunked_decoder d;
    std::error_code ec;
    d.decode("z", ec);
    EXPECT_EQ(ec, http1_errc::bad_chunk_size);
    d.decode("0\r\n\r\n", ec);
    EXPECT_EQ(ec, http1_errc::bad_chunk_size);
    d.reset();
    auto ev = d.decode("0\r\n\r\n", ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(ev.kind, kind::done);
}

}  // namespace
}  // namespace corvid::h1
