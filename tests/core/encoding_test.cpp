#include "core/encoding.hpp"

#include <gtest/gtest.h>

TEST(Base64, Rfc4648Vectors) {
    EXPECT_EQ(corvid::base64_encode(""), "");
    EXPECT_EQ(corvid::base64_encode("f"), "Zg==");
    EXPECT_EQ(corvid::base64_encode("fo"), "Zm8=");
    EXPECT_EQ(corvid::base64_encode("foo"), "Zm9v");
    EXPECT_EQ(corvid::base64_encode("foob"), "Zm9vYg==");
    EXPECT_EQ(corvid::base64_encode("fooba"), "Zm9vYmE=");
    EXPECT_EQ(corvid::base64_encode("foobar"), "Zm9vYmFy");
}

TEST(PercentEncoding, DecodeKeepsMalformedEscapes) {
    EXPECT_EQ(corvid::percent_decode("a%20b%zz%4"), "a b%zz%4");
    EXPECT_EQ(corvid::percent_decode("%41%6a%"), "Aj%");
    EXPECT_EQ(corvid::percent_decode(""), "");
}

TEST(PercentEncoding, EncodeKeepsOnlyUnreserved) {
    EXPECT_EQ(corvid::percent_encode("aZ09-._~ /"), "aZ09-._~%20%2F");
    EXPECT_EQ(corvid::percent_encode("\xff"), "%FF");
    EXPECT_EQ(corvid::percent_decode(corvid::percent_encode("any \x01 bytes%")), "any \x01 bytes%");
}
