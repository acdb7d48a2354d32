#include "proto/sse/parser.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "corvid/error.hpp"

namespace corvid::sse {
namespace {

using kind = parser::output_kind;

// What a stream produced, in order: events and retry values.
struct outcome {
    std::vector<event> events;
    std::vector<std::uint64_t> retries;
    std::vector<std::string> order;  // "e" or "r" per output
    std::error_code ec;
    std::string last_event_id;

    friend bool operator==(const outcome&, const outcome&) = default;
};

// Feeds one chunk completely, recording outputs.
bool feed_chunk(parser& p, std::string_view chunk, outcome& o) {
    while (true) {
        std::error_code ec;
        auto out = p.feed(chunk, ec);
        if (ec) {
            o.ec = ec;
            return false;
        }
        EXPECT_LE(out.consumed, chunk.size());
        chunk.remove_prefix(out.consumed);
        if (out.kind == kind::event) {
            o.events.push_back(p.take_event());
            o.order.emplace_back("e");
        } else if (out.kind == kind::retry) {
            o.retries.push_back(p.retry_ms());
            o.order.emplace_back("r");
        } else {
            EXPECT_TRUE(chunk.empty());
            return true;
        }
    }
}

// Feeds `stream` split at the given offsets (ascending), then ends it.
outcome parse_split(std::string_view stream, const std::vector<std::size_t>& cuts,
                    parser::limits l = {}) {
    parser p(l);
    outcome o;
    std::size_t pos = 0;
    for (std::size_t cut : cuts) {
        if (!feed_chunk(p, stream.substr(pos, cut - pos), o)) {
            return o;
        }
        pos = cut;
    }
    if (feed_chunk(p, stream.substr(pos), o)) {
        o.last_event_id = p.last_event_id();
        p.end_of_stream();
    }
    return o;
}

outcome parse(std::string_view stream, parser::limits l = {}) {
    return parse_split(stream, {}, l);
}

// Pieces of `step` bytes.
outcome parse_step(std::string_view stream, std::size_t step, parser::limits l = {}) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = step; i < stream.size(); i += step) {
        cuts.push_back(i);
    }
    return parse_split(stream, cuts, l);
}

// The same outcome in one piece, in 1-byte pieces, split in two at every
// offset, and in random splits.
outcome parse_all_ways(std::string_view stream, parser::limits l = {}) {
    const outcome whole = parse(stream, l);
    EXPECT_EQ(parse_step(stream, 1, l), whole) << "1-byte chunks";
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        EXPECT_EQ(parse_split(stream, {cut}, l), whole) << "split at " << cut;
    }
    std::mt19937 rng(12345);
    for (int round = 0; round < 50; ++round) {
        std::vector<std::size_t> cuts;
        std::size_t pos = 0;
        while (stream.size() > 0 && pos < stream.size()) {
            pos += 1 + rng() % 7;
            if (pos < stream.size()) {
                cuts.push_back(pos);
            }
        }
        EXPECT_EQ(parse_split(stream, cuts, l), whole) << "random round " << round;
    }
    return whole;
}

event ev(std::string type, std::string data, std::string id = "") {
    return event{std::move(type), std::move(data), std::move(id)};
}

TEST(SseParser, SpecExampleThreeMessages) {
    auto o = parse_all_ways(
        "data: This is the first message.\n\n"
        "data: This is the second message, it\n"
        "data: has two lines.\n\n"
        "data: This is the third message.\n\n");
    ASSERT_FALSE(o.ec);
    EXPECT_EQ(o.events, (std::vector<event>{
                            ev("message", "This is the first message."),
                            ev("message", "This is the second message, it\nhas two lines."),
                            ev("message", "This is the third message."),
                        }));
}

TEST(SseParser, SpecExampleEventTypes) {
    auto o = parse_all_ways(
        "event: add\ndata: 73857293\n\n"
        "event: remove\ndata: 2153\n\n"
        "event: add\ndata: 113411\n\n");
    EXPECT_EQ(o.events, (std::vector<event>{ev("add", "73857293"), ev("remove", "2153"),
                                            ev("add", "113411")}));
}

TEST(SseParser, SpecExampleStockTicker) {
    auto o = parse_all_ways("data: YHOO\ndata: +2\ndata: 10\n\n");
    EXPECT_EQ(o.events, (std::vector<event>{ev("message", "YHOO\n+2\n10")}));
}

TEST(SseParser, SpecExampleIdsAndIncompleteEvent) {
    auto o = parse_all_ways(
        ": test stream\n\n"
        "data: first event\nid: 1\n\n"
        "data:second event\nid\n\n"
        "data:  third event\n");
    EXPECT_EQ(o.events, (std::vector<event>{ev("message", "first event", "1"),
                                            ev("message", "second event", "")}));
    EXPECT_EQ(o.last_event_id, "");
}

TEST(SseParser, SpecExampleEmptyData) {
    auto o = parse_all_ways("data\n\ndata\ndata\n\ndata:");
    EXPECT_EQ(o.events, (std::vector<event>{ev("message", ""), ev("message", "\n")}));
}

TEST(SseParser, SpecExampleSpaceAfterColon) {
    auto o = parse_all_ways("data:test\n\ndata: test\n\n");
    EXPECT_EQ(o.events, (std::vector<event>{ev("message", "test"), ev("message", "test")}));
}

TEST(SseParser, EveryLineEnd) {
    const std::vector<event> want{ev("a", "x\ny", "7"), ev("message", "z", "7")};
    for (std::string eol : {"\n", "\r", "\r\n"}) {
        std::string s = "event: a" + eol + "id: 7" + eol + "data: x" + eol + "data: y" + eol + eol +
                        ":c" + eol + "data: z" + eol + eol;
        EXPECT_EQ(parse_all_ways(s).events, want) << "eol size " << eol.size();
    }
    // Mixed in one stream, CRLF included across every split point above.
    EXPECT_EQ(parse_all_ways("event: a\r\nid: 7\rdata: x\ndata: y\r\n\r:c\n\ndata: z\r\r\n").events,
              (std::vector<event>{ev("a", "x\ny", "7"), ev("message", "z", "7")}));
}

TEST(SseParser, CrThenLfIsOneLineEndButLfCrIsTwo) {
    // "\r\n" is one line end: data then one blank line (dispatch).
    EXPECT_EQ(parse_all_ways("data: a\r\n\r\n").events, (std::vector<event>{ev("message", "a")}));
    // "\n\r" is two: the second is the blank line.
    EXPECT_EQ(parse_all_ways("data: a\n\rdata: b\n\r").events,
              (std::vector<event>{ev("message", "a"), ev("message", "b")}));
    // CR CR: the second CR dispatches at once (no waiting for an LF).
    parser p;
    std::error_code ec;
    auto out = p.feed("data: a\r\r", ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(out.kind, kind::event);
    EXPECT_EQ(out.consumed, 9u);
    // An LF in the next chunk after a CR is swallowed, not a blank line.
    parser q;
    out = q.feed("data: a\r", ec);
    EXPECT_EQ(out.kind, kind::need_more);
    out = q.feed("\n", ec);
    EXPECT_EQ(out.kind, kind::need_more);
    out = q.feed("\n", ec);
    EXPECT_EQ(out.kind, kind::event);
}

TEST(SseParser, ByteOrderMarkStrippedOnce) {
    EXPECT_EQ(parse_all_ways("\xEF\xBB\xBF"
                             "data: a\n\n")
                  .events,
              (std::vector<event>{ev("message", "a")}));
    // A second BOM is part of the first line's field name: unknown field.
    EXPECT_EQ(parse_all_ways("\xEF\xBB\xBF\xEF\xBB\xBF"
                             "data: a\n\ndata: b\n\n")
                  .events,
              (std::vector<event>{ev("message", "b")}));
    // A BOM later in the stream is kept in data.
    EXPECT_EQ(parse_all_ways("data: a\xEF\xBB\xBF\n\n").events,
              (std::vector<event>{ev("message", "a\xEF\xBB\xBF")}));
    // After end_of_stream() a new stream may start with a BOM again.
    parser p;
    outcome o;
    ASSERT_TRUE(feed_chunk(p,
                           "\xEF\xBB\xBF"
                           "data: a\n\n",
                           o));
    p.end_of_stream();
    ASSERT_TRUE(feed_chunk(p,
                           "\xEF\xBB\xBF"
                           "data: b\n\n",
                           o));
    EXPECT_EQ(o.events, (std::vector<event>{ev("message", "a"), ev("message", "b")}));
}

TEST(SseParser, InvalidUtf8BecomesReplacementCharacter) {
    const std::string fffd = "\xEF\xBF\xBD";
    // A lone continuation byte, an overlong, a surrogate, a truncated
    // sequence before ASCII, and a truncated one before the line end.
    auto o = parse_all_ways(
        "data: a\x80"
        "b\n"
        "data: \xC0\xAF\n"
        "data: \xED\xA0\x80\n"
        "data: \xE2\x82"
        "c\n"
        "data: \xF0\x9F\x98\n\n"
        "data: \xE2\x82\xAC \xF0\x9F\x98\x80\n\n");
    ASSERT_FALSE(o.ec);
    EXPECT_EQ(o.events, (std::vector<event>{
                            ev("message", "a" + fffd + "b\n" + fffd + fffd + "\n" + fffd + fffd +
                                              fffd + "\n" + fffd + "c\n" + fffd),
                            ev("message", "\xE2\x82\xAC \xF0\x9F\x98\x80"),
                        }));
    // A leading invalid byte is not a BOM and is replaced.
    EXPECT_EQ(parse_all_ways("\xEF\xBB"
                             "data: x\n\ndata: y\n\n")
                  .events,
              (std::vector<event>{ev("message", "y")}));
}

TEST(SseParser, IdWithNulIsIgnored) {
    auto o = parse_all_ways(std::string("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n", 33));
    EXPECT_EQ(o.events, (std::vector<event>{ev("message", "a", "1"), ev("message", "b", "1")}));
    EXPECT_EQ(o.last_event_id, "1");
}

TEST(SseParser, IdPersistsAndUpdatesWithoutData) {
    auto o = parse_all_ways("id: 5\ndata: a\n\ndata: b\n\nid: 6\n\nid: 7\n");
    EXPECT_EQ(o.events, (std::vector<event>{ev("message", "a", "5"), ev("message", "b", "5")}));
    // The blank line after "id: 6" updates the last event ID though nothing
    // is dispatched; "id: 7" has no blank line and is not committed.
    EXPECT_EQ(o.last_event_id, "6");
    // An empty id resets it.
    o = parse_all_ways("id: 5\ndata: a\n\nid:\ndata: b\n\n");
    EXPECT_EQ(o.events, (std::vector<event>{ev("message", "a", "5"), ev("message", "b", "")}));
}

TEST(SseParser, EventTypeClearedAfterEmptyDispatch) {
    auto o = parse_all_ways("event: x\n\ndata: a\n\nevent: y\ndata: b\n\ndata: c\n\n");
    EXPECT_EQ(o.events, (std::vector<event>{ev("message", "a"), ev("y", "b"), ev("message", "c")}));
}

TEST(SseParser, Retry) {
    auto o = parse_all_ways(
        "retry: 1000\n"
        "retry: 12a\n"
        "retry: -5\n"
        "retry:  7\n"
        "retry:\n"
        "retry: 0x10\n"
        "retry: 99999999999999999999999\n"
        "retry: 18446744073709551615\n"
        "retry:250\ndata: a\n\n");
    ASSERT_FALSE(o.ec);
    EXPECT_EQ(o.retries, (std::vector<std::uint64_t>{1000, 18446744073709551615u, 250}));
    EXPECT_EQ(o.order, (std::vector<std::string>{"r", "r", "r", "e"}));
    EXPECT_EQ(o.events, (std::vector<event>{ev("message", "a")}));
    parser p;
    EXPECT_FALSE(p.has_retry());
    std::error_code ec;
    auto out = p.feed("retry: 3000\n", ec);
    EXPECT_EQ(out.kind, kind::retry);
    EXPECT_TRUE(p.has_retry());
    EXPECT_EQ(p.retry_ms(), 3000u);
    p.end_of_stream();  // belongs to the event source: kept
    EXPECT_EQ(p.retry_ms(), 3000u);
}

TEST(SseParser, FieldParsing) {
    auto o = parse_all_ways(
        "data\n"             // no colon: empty value
        "data:\n"            // empty value
        "data: a:b: c\n"     // split on the first colon only
        "data:  two\n"       // one space removed
        "Data: x\n"          // names are case-sensitive: unknown
        "dat: x\n"           // unknown
        "data : x\n"         // "data " is not "data"
        "foo\n"              // unknown, no colon
        ":data: comment\n"   // comment
        "event:\ttab\n\n");  // tab kept
    EXPECT_EQ(o.events, (std::vector<event>{ev("\ttab", "\n\na:b: c\n two")}));
}

TEST(SseParser, EndOfStreamDiscardsIncompleteEvent) {
    parser p;
    outcome o;
    ASSERT_TRUE(feed_chunk(p, "data: a\n\nid: 9\ndata: b\n", o));
    p.end_of_stream();
    ASSERT_TRUE(feed_chunk(p, "\ndata: c\n\n", o));
    EXPECT_EQ(o.events, (std::vector<event>{ev("message", "a"), ev("message", "c")}));
    // The new stream's last event ID buffer started empty.
    EXPECT_EQ(p.last_event_id(), "");
}

TEST(SseParser, SetLastEventIdCarriesAcrossStreams) {
    parser p;
    outcome o;
    ASSERT_TRUE(feed_chunk(p, "id: 4\ndata: a\n\n", o));
    p.end_of_stream();
    p.set_last_event_id(p.last_event_id());
    ASSERT_TRUE(feed_chunk(p, "data: b\n\n", o));
    EXPECT_EQ(o.events, (std::vector<event>{ev("message", "a", "4"), ev("message", "b", "4")}));
    EXPECT_EQ(p.last_event_id(), "4");
}

TEST(SseParser, LineTooLong) {
    parser::limits l;
    l.max_line_bytes = 10;
    EXPECT_EQ(parse_all_ways("data: 1234\n\n", l).events,
              (std::vector<event>{ev("message", "1234")}));
    auto o = parse_all_ways("data: a\n\ndata: 12345\n\n", l);
    EXPECT_EQ(o.ec, sse_errc::line_too_long);
    EXPECT_EQ(o.events, (std::vector<event>{ev("message", "a")}));
    // Comments count; line ends do not.
    EXPECT_EQ(parse_all_ways(":234567890\r\n", l).ec, std::error_code());
    EXPECT_EQ(parse_all_ways(":2345678901\r\n", l).ec, sse_errc::line_too_long);
    // A replaced byte counts as the 3 bytes of U+FFFD.
    EXPECT_EQ(parse_all_ways("data: \x80\x80\n", l).ec, sse_errc::line_too_long);
    // Reported as soon as the limit is passed, without a line end.
    parser p(l);
    std::error_code ec;
    auto out = p.feed("data: 12345 and more", ec);
    EXPECT_EQ(ec, sse_errc::line_too_long);
    EXPECT_EQ(out.consumed, 11u);
    // Sticky.
    p.feed("\n\n", ec);
    EXPECT_EQ(ec, sse_errc::line_too_long);
    p.reset();
    p.feed("data: x\n", ec);
    EXPECT_FALSE(ec);
}

TEST(SseParser, EventTooLarge) {
    parser::limits l;
    l.max_event_bytes = 5;
    // "ab\ncd" is 5 bytes: allowed.
    EXPECT_EQ(parse_all_ways("data: ab\ndata: cd\n\n", l).events,
              (std::vector<event>{ev("message", "ab\ncd")}));
    EXPECT_EQ(parse_all_ways("data: ab\ndata: cde\n\n", l).ec, sse_errc::event_too_large);
    EXPECT_EQ(parse_all_ways("data: 123456\n\n", l).ec, sse_errc::event_too_large);
    // Many empty lines count their LFs.
    EXPECT_EQ(parse_all_ways("data\ndata\ndata\ndata\ndata\ndata\n\n", l).events,
              (std::vector<event>{ev("message", "\n\n\n\n\n")}));
    EXPECT_EQ(parse_all_ways("data\ndata\ndata\ndata\ndata\ndata\ndata\n\n", l).ec,
              sse_errc::event_too_large);
    // The limit is per event.
    EXPECT_EQ(parse_all_ways("data: 12345\n\ndata: 12345\n\n", l).events.size(), 2u);
}

TEST(SseParser, DefaultLimits) {
    parser p;
    EXPECT_EQ(p.get_limits().max_line_bytes, 64u * 1024);
    EXPECT_EQ(p.get_limits().max_event_bytes, 1024u * 1024);
}

TEST(SseParser, LongStreamAllChunkings) {
    std::string s = "\xEF\xBB\xBF: hello\r\n";
    for (int i = 0; i < 20; ++i) {
        const char* eol = i % 3 == 0 ? "\r\n" : (i % 3 == 1 ? "\r" : "\n");
        s += "id: " + std::to_string(i) + eol;
        s += "event: e" + std::to_string(i % 4) + eol;
        s += "data: line \xC3\xA9" + std::to_string(i) + eol + "data" + eol;
        if (i % 5 == 0) {
            s += std::string("retry: ") + std::to_string(i * 10) + eol;
        }
        s += eol;
    }
    auto whole = parse_all_ways(s);
    EXPECT_EQ(whole.events.size(), 20u);
    EXPECT_EQ(whole.retries.size(), 4u);
    for (std::size_t step = 2; step < 16; ++step) {
        EXPECT_EQ(parse_step(s, step), whole) << step;
    }
}

}  // namespace
}  // namespace corvid::sse
