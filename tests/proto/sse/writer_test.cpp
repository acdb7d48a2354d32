#include "proto/sse/writer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto/sse/parser.hpp"

namespace corvid::sse {
namespace {

struct parsed {
    std::vector<event> events;
    std::vector<std::uint64_t> retries;
};

// Parses `stream` in one piece, and in 1-byte pieces (which must agree).
parsed parse(std::string_view stream) {
    parsed results[2];
    for (int mode = 0; mode < 2; ++mode) {
        parser p;
        std::size_t pos = 0;
        while (pos < stream.size()) {
            std::string_view chunk = stream.substr(pos, mode == 0 ? std::string_view::npos : 1);
            std::error_code ec;
            auto out = p.feed(chunk, ec);
            EXPECT_FALSE(ec) << ec.message();
            if (ec) {
                break;
            }
            pos += out.consumed;
            if (out.kind == parser::output_kind::event) {
                results[mode].events.push_back(p.take_event());
            } else if (out.kind == parser::output_kind::retry) {
                results[mode].retries.push_back(p.retry_ms());
            }
        }
    }
    EXPECT_EQ(results[0].events, results[1].events);
    EXPECT_EQ(results[0].retries, results[1].retries);
    return results[0];
}

TEST(SseWriter, Format) {
    std::string out;
    ASSERT_TRUE(append_event(out, {.type = "add", .data = "73857293", .id = "1", .retry_ms = 500}));
    EXPECT_EQ(out, "event: add\nid: 1\nretry: 500\ndata: 73857293\n\n");
    out.clear();
    ASSERT_TRUE(append_event(out, {.data = "a\nb\r\nc\rd"}));
    EXPECT_EQ(out, "data: a\ndata: b\ndata: c\ndata: d\n\n");
    out.clear();
    ASSERT_TRUE(append_event(out, {.data = ""}));
    EXPECT_EQ(out, "data:\n\n");
    out.clear();
    ASSERT_TRUE(append_event(out, {.data = "x\n", .id = ""}));
    EXPECT_EQ(out, "id:\ndata: x\ndata:\n\n");
}

TEST(SseWriter, CommentsAndRetry) {
    std::string out;
    out += keepalive_comment;
    append_comment(out, "two\r\nlines");
    append_comment(out, "");
    append_retry(out, 3000);
    EXPECT_EQ(out, ": ping\n: two\n: lines\n:\nretry: 3000\n\n");
    auto p = parse(out);
    EXPECT_TRUE(p.events.empty());
    EXPECT_EQ(p.retries, (std::vector<std::uint64_t>{3000}));
}

TEST(SseWriter, RefusesBadTypeAndId) {
    std::string out = "keep";
    EXPECT_FALSE(append_event(out, {.type = "a\nb", .data = "x"}));
    EXPECT_FALSE(append_event(out, {.type = "a\rb", .data = "x"}));
    EXPECT_FALSE(append_event(out, {.data = "x", .id = "1\n"}));
    EXPECT_FALSE(append_event(out, {.data = "x", .id = "1\r"}));
    EXPECT_FALSE(append_event(out, {.data = "x", .id = std::string_view("1\0", 2)}));
    EXPECT_EQ(out, "keep");
    EXPECT_TRUE(valid_event_id("a:b c"));
    EXPECT_TRUE(valid_event_type("a:b c"));
    EXPECT_FALSE(valid_event_id(std::string_view("\0", 1)));
}

TEST(SseWriter, RoundTrip) {
    struct item {
        std::string type;
        std::string data;
        std::optional<std::string> id;
    };
    const std::vector<item> items{
        {"", "hello", std::nullopt},
        {"update", "  leading spaces", "42"},
        {"x:y", "multi\nline\n\ndata\n", " spaced id"},
        {" t", "", std::nullopt},
        {"", std::string("nul\0inside", 10), ""},
        {"", "\xE2\x82\xAC unicode \xF0\x9F\x98\x80", "\xC3\xA9"},
        {"", "\n", std::nullopt},
        {"", ":not a comment", std::nullopt},
    };
    std::string out = "\xEF\xBB\xBF";
    out += keepalive_comment;
    for (const auto& it : items) {
        outgoing_event e;
        e.type = it.type;
        e.data = it.data;
        if (it.id) {
            e.id = *it.id;
        }
        ASSERT_TRUE(append_event(out, e));
        out += keepalive_comment;
    }
    auto p = parse(out);
    ASSERT_EQ(p.events.size(), items.size());
    std::string last_id;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].id) {
            last_id = *items[i].id;
        }
        EXPECT_EQ(p.events[i].type, items[i].type.empty() ? "message" : items[i].type) << i;
        EXPECT_EQ(p.events[i].data, items[i].data) << i;
        EXPECT_EQ(p.events[i].id, last_id) << i;
    }
}

TEST(SseWriter, RoundTripNormalisesCr) {
    std::string out;
    ASSERT_TRUE(append_event(out, {.data = "a\r\nb\rc\r"}));
    auto p = parse(out);
    ASSERT_EQ(p.events.size(), 1u);
    EXPECT_EQ(p.events[0].data, "a\nb\nc\n");
}

}  // namespace
}  // namespace corvid::sse
