#include "proto/ws/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace corvid::ws {
namespace {

std::string encode(std::uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
        s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    return s;
}

TEST(ws_utf8, EveryScalarValueIsValidAndEverySurrogateIsNot) {
    for (std::uint32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0x20000 ? 1 : 97)) {
        const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
        EXPECT_EQ(is_valid_utf8(encode(cp)), !surrogate) << std::hex << cp;
    }
    EXPECT_TRUE(is_valid_utf8(encode(0x10FFFF)));
}

TEST(ws_utf8, BeyondTheLastCodePointIsInvalid) {
    EXPECT_FALSE(is_valid_utf8(std::string("\xf4\x90\x80\x80")));
    EXPECT_FALSE(is_valid_utf8(std::string("\xf7\xbf\xbf\xbf")));
}

TEST(ws_utf8, OverlongFormsAreInvalid) {
    EXPECT_FALSE(is_valid_utf8(std::string("\xc0\xaf")));
    EXPECT_FALSE(is_valid_utf8(std::string("\xc1\xbf")));
    EXPECT_FALSE(is_valid_utf8(std::string("\xe0\x80\xaf")));
    EXPECT_FALSE(is_valid_utf8(std::string("\xe0\x9f\xbf")));
    EXPECT_FALSE(is_valid_utf8(std::string("\xf0\x80\x80\xaf")));
    EXPECT_FALSE(is_valid_utf8(std::string("\xf0\x8f\xbf\xbf")));
}

TEST(ws_utf8, SplitAnywhereGivesTheSameAnswer) {
    const std::string text =
        "ascii run longer than eight bytes \xc2\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 end";
    for (std::size_t i = 0; i <= text.size(); ++i) {
        for (std::size_t j = i; j <= text.size(); ++j) {
            utf8_validator v;
            ASSERT_TRUE(v.feed(text.substr(0, i)));
            ASSERT_TRUE(v.feed(text.substr(i, j - i)));
            ASSERT_TRUE(v.feed(text.substr(j)));
            ASSERT_TRUE(v.complete());
        }
    }
}

TEST(ws_utf8, IncompleteIsNotCompleteButNotFailed) {
    utf8_validator v;
    EXPECT_TRUE(v.feed(std::string("a\xf0\x9f")));
    EXPECT_FALSE(v.complete());
    EXPECT_FALSE(v.failed());
    EXPECT_TRUE(v.feed(std::string("\x98\x80")));
    EXPECT_TRUE(v.complete());
}

TEST(ws_utf8, FailureIsStickyUntilReset) {
    utf8_validator v;
    EXPECT_FALSE(v.feed(std::string("\xff")));
    EXPECT_FALSE(v.feed(std::string("a")));
    EXPECT_TRUE(v.failed());
    v.reset();
    EXPECT_TRUE(v.feed(std::string("a")));
    EXPECT_TRUE(v.complete());
}

TEST(ws_utf8, FailsAtTheFirstImpossibleByteEvenMidSequence) {
    utf8_validator v;
    EXPECT_TRUE(v.feed(std::string("\xed")));
    EXPECT_FALSE(v.feed(std::string("\xa0")));  // surrogate known after two bytes
    utf8_validator w;
    EXPECT_TRUE(w.feed(std::string("\xf4")));
    EXPECT_FALSE(w.feed(std::string("\x90")));  // beyond U+10FFFF after two bytes
}

}  // namespace
}  // namespace corvid::ws
