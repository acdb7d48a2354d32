#include "core/base64.hpp"

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
