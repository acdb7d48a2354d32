#include "corvid/headers.hpp"

#include <gtest/gtest.h>

namespace corvid {
namespace {

TEST(Headers, KeepsInsertionOrderAndSpelling) {
    headers h;
    h.add("X-B", "2");
    h.add("x-a", "1");
    h.add("Accept", "*/*");
    std::vector<std::string> names;
    for (const auto& f : h) {
        names.push_back(f.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"X-B", "x-a", "Accept"}));
}

TEST(Headers, LookupIsCaseInsensitive) {
    headers h{{"Content-Type", "text/plain"}};
    EXPECT_EQ(h.get("content-type"), "text/plain");
    EXPECT_EQ(h.get("CONTENT-TYPE"), "text/plain");
    EXPECT_FALSE(h.get("content-length"));
}

TEST(Headers, SetReplacesInPlaceAndDropsDuplicates) {
    headers h{{"A", "1"}, {"B", "2"}, {"a", "3"}, {"C", "4"}};
    h.set("A", "9");
    ASSERT_EQ(h.size(), 3u);
    auto it = h.begin();
    EXPECT_EQ(it->name, "A");
    EXPECT_EQ(it->value, "9");
    EXPECT_EQ((++it)->name, "B");
    EXPECT_EQ((++it)->name, "C");
    h.set("D", "5");
    EXPECT_EQ(h.size(), 4u);
}

TEST(Headers, EraseAndGetAll) {
    headers h{{"Set-Cookie", "a=1"}, {"X", "y"}, {"set-cookie", "b=2"}};
    auto all = h.get_all("SET-COOKIE");
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[1], "b=2");
    EXPECT_EQ(h.erase("Set-Cookie"), 2u);
    EXPECT_EQ(h.size(), 1u);
}

TEST(Headers, HasToken) {
    headers h{{"Connection", "keep-alive, Upgrade"}, {"Transfer-Encoding", "gzip,  chunked "}};
    EXPECT_TRUE(h.has_token("connection", "upgrade"));
    EXPECT_TRUE(h.has_token("transfer-encoding", "chunked"));
    EXPECT_FALSE(h.has_token("connection", "close"));
    EXPECT_FALSE(h.has_token("connection", "keep"));
}

}  // namespace
}  // namespace corvid
