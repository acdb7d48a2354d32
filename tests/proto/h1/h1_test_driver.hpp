#pragma once

// Test helpers for the HTTP/1.1 parsers: feed a message in pieces, check the
// API's invariants on every event, and record what came out, so a message
// split anywhere can be compared with the same message in one piece.

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "corvid/headers.hpp"
#include "proto/h1/parser_types.hpp"

namespace corvid::h1::test {

inline std::string dump(const headers& h) {
    std::string s;
    for (const auto& f : h) {
        s += f.name + "=" + f.value + ";";
    }
    return s;
}

/// Everything a parser produced for one message.
struct transcript {
    std::vector<std::string> heads;  // one entry per head event
    std::string body;
    std::size_t body_events = 0;
    std::string trailers;
    bool done = false;
    std::error_code ec;
    std::string rest;  // input left over after done

    bool operator==(const transcript& o) const {
        return heads == o.heads && body == o.body && trailers == o.trailers && done == o.done &&
               ec == o.ec && rest == o.rest;
    }
};

inline std::ostream& operator<<(std::ostream& os, const transcript& t) {
    os << "{heads:";
    for (const auto& h : t.heads) {
        os << "[" << h << "]";
    }
    return os << " body:" << testing::PrintToString(t.body) << " trailers:" << t.trailers
              << " done:" << t.done << " ec:" << t.ec.message()
              << " rest:" << testing::PrintToString(t.rest) << "}";
}

/// Feeds `pieces` in order to `p` until `done` or an error, checking that
/// consumed never exceeds the input, need_more uses every byte and body views
/// point into the input. With `eof`, calls finish_eof() after the last piece.
/// `describe(p)` records each head.
template <typename Parser, typename Describe>
transcript drive(Parser& p, const std::vector<std::string_view>& pieces, bool eof,
                 Describe describe) {
    transcript t;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        std::string_view in = pieces[i];
        for (int guard = 0;; ++guard) {
            if (guard > 100000) {
                ADD_FAILURE() << "parser made no progress";
                return t;
            }
            std::error_code ec;
            auto ev = p.parse(in, ec);
            if (ec) {
                t.ec = ec;
                return t;
            }
            EXPECT_LE(ev.consumed, in.size());
            if (ev.kind == event_kind::body) {
                EXPECT_FALSE(ev.body.empty());
                // Zero-copy: the body is a view of the bytes just passed in.
                EXPECT_GE(ev.body.data(), in.data());
                EXPECT_LE(ev.body.data() + ev.body.size(), in.data() + ev.consumed);
                t.body.append(ev.body);
                ++t.body_events;
            }
            in.remove_prefix(ev.consumed);
            if (ev.kind == event_kind::need_more) {
                EXPECT_TRUE(in.empty()) << "need_more left input unconsumed";
                break;
            }
            if (ev.kind == event_kind::head) {
                t.heads.push_back(describe(p));
            }
            if (ev.kind == event_kind::done) {
                t.done = true;
                t.trailers = dump(p.trailers());
                t.rest.assign(in);
                for (std::size_t j = i + 1; j < pieces.size(); ++j) {
                    t.rest.append(pieces[j]);
                }
                return t;
            }
        }
    }
    if (eof) {
        std::error_code ec;
        auto ev = p.finish_eof(ec);
        t.ec = ec;
        if (!ec && ev.kind == event_kind::done) {
            t.done = true;
            t.trailers = dump(p.trailers());
        }
    }
    return t;
}

inline std::vector<std::string_view> whole(std::string_view s) {
    return {s};
}

inline std::vector<std::string_view> split_at(std::string_view s, std::size_t i) {
    return {s.substr(0, i), s.substr(i)};
}

inline std::vector<std::string_view> bytewise(std::string_view s) {
    std::vector<std::string_view> v;
    for (std::size_t i = 0; i < s.size(); ++i) {
        v.push_back(s.substr(i, 1));
    }
    return v;
}

}  // namespace corvid::h1::test
