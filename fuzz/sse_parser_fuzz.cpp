// Feeds arbitrary bytes to the server-sent events parser (sse::parser).
// Besides crashes and sanitizer reports, it checks:
// - chunking does not matter: the input parsed in one piece, in two pieces
//   split at the offset given by its first byte, and (for inputs up to 4 KiB)
//   in 1-byte pieces gives the same events, retries and error;
// - every event's type, data and id are valid UTF-8 (the decoder replaces
//   the rest), the type is never empty, type and id hold no CR or LF, the id
//   no NUL, and sizes respect the limits;
// - writing each event back with sse::append_event() and parsing that gives
//   the same event.
// Small limits are used so that both errors are reached.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "proto/sse/parser.hpp"
#include "proto/sse/writer.hpp"

namespace {

using corvid::sse::parser;

constexpr parser::limits fuzz_limits{512, 2048};

struct outcome {
    std::vector<corvid::sse::event> events;
    std::vector<std::uint64_t> retries;
    std::error_code ec;
    std::string last_event_id;

    bool operator==(const outcome&) const = default;
};

bool feed_chunk(parser& p, std::string_view chunk, outcome& o) {
    while (true) {
        std::error_code ec;
        const auto out = p.feed(chunk, ec);
        if (ec) {
            o.ec = ec;
            return false;
        }
        if (out.consumed > chunk.size()) {
            std::abort();
        }
        chunk.remove_prefix(out.consumed);
        if (out.kind == parser::output_kind::event) {
            o.events.push_back(p.take_event());
        } else if (out.kind == parser::output_kind::retry) {
            o.retries.push_back(p.retry_ms());
        } else {
            if (!chunk.empty()) {
                std::abort();
            }
            return true;
        }
    }
}

outcome parse(std::string_view in, std::size_t step, std::size_t split) {
    parser p(fuzz_limits);
    outcome o;
    std::vector<std::string_view> chunks;
    if (step != 0) {
        for (std::size_t i = 0; i < in.size(); i += step) {
            chunks.push_back(in.substr(i, step));
        }
    } else {
        chunks.push_back(in.substr(0, split));
        chunks.push_back(in.substr(split));
    }
    for (const auto chunk : chunks) {
        if (!feed_chunk(p, chunk, o)) {
            return o;
        }
    }
    o.last_event_id = p.last_event_id();
    p.end_of_stream();
    return o;
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        char32_t cp = 0;
        if (b < 0x80) {
            ++i;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF) {
            n = 1;
            cp = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
            n = 2;
            cp = b & 0x0F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            n = 3;
            cp = b & 0x07;
        } else {
            return false;
        }
        if (i + n >= s.size()) {
            return false;  // truncated
        }
        for (std::size_t k = 1; k <= n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (c & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

void check_event(const corvid::sse::event& e) {
    if (e.type.empty() || !valid_utf8(e.type) || !valid_utf8(e.data) || !valid_utf8(e.id)) {
        std::abort();
    }
    if (!corvid::sse::valid_event_type(e.type) || !corvid::sse::valid_event_id(e.id)) {
        std::abort();
    }
    if (e.data.find('\r') != std::string::npos || e.data.size() > fuzz_limits.max_event_bytes ||
        e.type.size() > fuzz_limits.max_line_bytes || e.id.size() > fuzz_limits.max_line_bytes) {
        std::abort();
    }
    // Round trip through the writer.
    std::string wire;
    corvid::sse::outgoing_event out;
    out.type = e.type;
    out.data = e.data;
    out.id = std::string_view(e.id);
    if (!corvid::sse::append_event(wire, out)) {
        std::abort();
    }
    parser p;  // default limits: the written lines are a few bytes longer
    outcome o;
    if (!feed_chunk(p, wire, o) || o.events.size() != 1 || !(o.events[0] == e)) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const outcome whole = parse(in, 0, in.size());
    const std::size_t split = size == 0 ? 0 : std::min<std::size_t>(data[0], size);
    if (!(parse(in, 0, split) == whole)) {
        std::abort();
    }
    if (size <= 4096 && !(parse(in, 1, 0) == whole)) {
        std::abort();
    }
    for (const auto& e : whole.events) {
        check_event(e);
    }
    return 0;
}
