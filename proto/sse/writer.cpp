#include "proto/sse/writer.hpp"

#include <charconv>

namespace corvid::sse {

namespace {

// Calls f(line) for each line of `text` split at CRLF, CR and LF; a text
// ending in a line end has an empty last line; empty text is one empty line.
template <class F>
void for_each_line(std::string_view text, F&& f) {
    std::size_t start = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == '\r' || c == '\n') {
            f(text.substr(start, i - start));
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
                ++i;
            }
            start = i + 1;
        }
        ++i;
    }
    f(text.substr(start));
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.push_back(':');
    if (!value.empty()) {
        out.push_back(' ');
        out.append(value);
    }
    out.push_back('\n');
}

void append_retry_line(std::string& out, std::uint64_t ms) {
    char digits[24];
    const auto res = std::to_chars(digits, digits + sizeof digits, ms);
    append_field(out, "retry",
                 std::string_view(digits, static_cast<std::size_t>(res.ptr - digits)));
}

}  // namespace

bool valid_event_type(std::string_view type) noexcept {
    return type.find_first_of("\r\n") == std::string_view::npos;
}

bool valid_event_id(std::string_view id) noexcept {
    return id.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool append_event(std::string& out, const outgoing_event& ev) {
    if (!valid_event_type(ev.type) || (ev.id && !valid_event_id(*ev.id))) {
        return false;
    }
    if (!ev.type.empty()) {
        append_field(out, "event", ev.type);
    }
    if (ev.id) {
        append_field(out, "id", *ev.id);
    }
    if (ev.retry_ms) {
        append_retry_line(out, *ev.retry_ms);
    }
    for_each_line(ev.data, [&out](std::string_view line) { append_field(out, "data", line); });
    out.push_back('\n');
    return true;
}

void append_comment(std::string& out, std::string_view text) {
    for_each_line(text, [&out](std::string_view line) { append_field(out, "", line); });
}

void append_retry(std::string& out, std::uint64_t ms) {
    append_retry_line(out, ms);
    out.push_back('\n');
}

}  // namespace corvid::sse
