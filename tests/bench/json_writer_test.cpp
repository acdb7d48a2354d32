#include "bench/harness/json_writer.hpp"

#include <cstdint>
#include <limits>
#include <sstream>

#include <gtest/gtest.h>

namespace corvid::bench {
namespace {

TEST(BenchJsonWriter, NestsAndSeparates) {
    std::ostringstream out;
    json_writer w(out);
    w.begin_object().field("a", 1).key("b").begin_array();
    w.value(std::int64_t{-2}).value(std::uint64_t{18446744073709551615ull}).value(true);
    w.begin_object().end_object().begin_array().end_array();
    w.end_array().field("c", "x").end_object();
    EXPECT_EQ(out.str(), R"({"a":1,"b":[-2,18446744073709551615,true,{},[]],"c":"x"})");
}

TEST(BenchJsonWriter, EscapesStrings) {
    std::ostringstream out;
    json_writer w(out);
    w.value(std::string_view("q\"b\\n\nt\tc\x01 µ"));
    EXPECT_EQ(out.str(), "\"q\\\"b\\\\n\\nt\\tc\\u0001 µ\"");
}

TEST(BenchJsonWriter, NonFiniteDoublesAreNull) {
    std::ostringstream out;
    json_writer w(out);
    w.begin_array()
        .value(0.25)
        .value(std::numeric_limits<double>::quiet_NaN())
        .value(std::numeric_limits<double>::infinity())
        .end_array();
    EXPECT_EQ(out.str(), "[0.25,null,null]");
}

TEST(BenchJsonWriter, LineBreaksGoAfterTheComma) {
    std::ostringstream out;
    json_writer w(out);
    w.begin_object();
    w.newline().field("a", 1);
    w.newline().field("b", 2);
    w.newline().end_object();
    EXPECT_EQ(out.str(), "{\n\"a\":1,\n\"b\":2\n}");
}

}  // namespace
}  // namespace corvid::bench
