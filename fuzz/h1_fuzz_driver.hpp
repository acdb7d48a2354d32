#pragma once

// Shared by the HTTP/1.1 parser fuzz targets: feeds one byte stream to a
// parser in pieces, checks the event API's invariants on every call, and
// records a transcript that must not depend on where the stream was split.
// Any violated invariant aborts, which libFuzzer reports as a crash.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "proto/h1/parser_types.hpp"

namespace corvid::h1::fuzz {

inline void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

/// Limits small enough for a fuzzer to hit them, or the defaults.
inline parser_limits pick_limits(std::uint8_t selector) {
    parser_limits l;
    if (selector & 1) {
        l.max_header_bytes = 200;
        l.max_fields = 6;
        l.max_body_bytes = 300;
        l.max_chunk_ext_bytes = 12;
    }
    return l;
}

/// Splits `s` into pieces: all of it at once (piece == 0), at one point, or
/// into runs of `piece` bytes.
inline std::vector<std::string_view> pieces(std::string_view s, std::size_t split,
                                            std::size_t piece) {
    std::vector<std::string_view> v;
    if (piece == 0) {
        split %= s.size() + 1;
        v.push_back(s.substr(0, split));
        v.push_back(s.substr(split));
        return v;
    }
    for (std::size_t i = 0; i < s.size(); i += piece) {
        v.push_back(s.substr(i, piece));
    }
    return v;
}

/// Feeds `input` to `p` (after `reset(p)`), message after message (up to
/// `max_messages`), calling finish_eof() at the end. `describe(p, log)`
/// appends what a head event exposed; `stop_after(p)` says whether the bytes
/// after this message are no longer HTTP (101).
template <typename Parser, typename Reset, typename Describe, typename Stop>
std::string run(Parser& p, const std::vector<std::string_view>& input, Reset reset,
                Describe describe, Stop stop_after, int max_messages = 8) {
    std::string log;
    std::string body;  // the current message's body, logged at its end
    int messages = 1;
    reset(p);
    bool stopped = false;
    for (std::size_t i = 0; i < input.size() && !stopped; ++i) {
        std::string_view in = input[i];
        // Each call consumes bytes, returns need_more, or ends a message, so
        // this bound is only hit by a bug.
        for (std::size_t guard = 0;; ++guard) {
            check(guard <= 2 * input[i].size() + 4 * static_cast<std::size_t>(max_messages) + 8);
            std::error_code ec;
            auto ev = p.parse(in, ec);
            if (ec) {
                // Body bytes delivered before an error may depend on the split
                // (a limit can be crossed in one piece or in two): not logged.
                log += "E" + std::to_string(ec.value()) + ";";
                return log;
            }
            check(ev.consumed <= in.size());
            switch (ev.kind) {
                case event_kind::need_more:
                    check(ev.consumed == in.size());
                    break;
                case event_kind::head:
                    check(ev.consumed > 0);
                    log += "H{";
                    describe(p, log);
                    log += "}";
                    break;
                case event_kind::body:
                    check(!ev.body.empty());
                    check(ev.body.data() >= in.data() &&
                          ev.body.data() + ev.body.size() <= in.data() + ev.consumed);
                    body.append(ev.body);
                    break;
                case event_kind::done:
                    break;
            }
            in.remove_prefix(ev.consumed);
            if (ev.kind == event_kind::need_more) {
                break;
            }
            if (ev.kind == event_kind::done) {
                log += "B" + std::to_string(body.size()) + ":" + body + ";T{";
                for (const auto& f : p.trailers()) {
                    log += f.name + ":" + f.value + "\n";
                }
                log += "}D;";
                body.clear();
                if (stop_after(p) || ++messages > max_messages) {
                    stopped = true;
                    break;
                }
                reset(p);
            }
        }
    }
    if (!stopped) {
        std::error_code ec;
        auto ev = p.finish_eof(ec);
        if (ec) {
            log += "EOF-E" + std::to_string(ec.value()) + ";";
        } else if (ev.kind == event_kind::done) {
            log += "B" + std::to_string(body.size()) + ":" + body + ";EOF-D;";
        } else {
            check(body.empty() && p.idle());
            log += "EOF-idle;";
        }
    }
    return log;
}

}  // namespace corvid::h1::fuzz
