#include "proto/h1/head_reader.hpp"

#include <algorithm>
#include <cstring>

#include "corvid/error.hpp"
#include "proto/h1/fields.hpp"

namespace corvid::h1::detail {

namespace {

bool is_empty_line(std::string_view line) noexcept {
    return line.empty() || (line.size() == 1 && line[0] == '\r');
}

// Takes the next LF-terminated line off the front of `rest`; the line is
// returned without its terminator. Returns false on a bad line end.
bool next_line(std::string_view& rest, bool allow_bare_lf, std::string_view& line) noexcept {
    auto lf = rest.find('\n');
    // split_head only sees complete heads, so every line has its LF.
    line = rest.substr(0, lf);
    rest.remove_prefix(lf + 1);
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
        return true;
    }
    return allow_bare_lf;
}

bool only_line_ends(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; });
}

}  // namespace

void head_reader::reset() noexcept {
    buf_.clear();
    head_ = {};
    line_start_ = 0;
    head_start_ = 0;
    seen_start_line_ = false;
    idle_ = true;
}

std::size_t head_reader::scan(std::string_view data) noexcept {
    while (line_start_ < data.size()) {
        const void* hit = std::memchr(data.data() + line_start_, '\n', data.size() - line_start_);
        if (hit == nullptr) {
            return std::string_view::npos;
        }
        auto lf = static_cast<std::size_t>(static_cast<const char*>(hit) - data.data());
        bool empty = is_empty_line(data.substr(line_start_, lf - line_start_));
        std::size_t line_start = line_start_;
        line_start_ = lf + 1;
        if (!empty) {
            if (!seen_start_line_) {
                seen_start_line_ = true;
                head_start_ = line_start;
            }
        } else if (seen_start_line_) {
            return lf + 1;
        }
    }
    return std::string_view::npos;
}

head_reader::result head_reader::feed(std::string_view in, std::size_t max_bytes,
                                      std::error_code& ec) {
    if (buf_.empty()) {
        // Fast path: look for the whole head in the caller's bytes, no copy.
        // Never scan past max_bytes: a head longer than that fails anyway.
        auto window = in.substr(0, std::min(in.size(), max_bytes));
        auto end = scan(window);
        if (end != std::string_view::npos) {
            idle_ = false;
            head_ = in.substr(head_start_, end - head_start_);
            return {true, end};
        }
        if (in.size() > max_bytes) {
            ec = http1_errc::header_too_large;
            return {false, 0};
        }
        if (idle_ && !only_line_ends(in)) {
            idle_ = false;
        }
        buf_.assign(in);
        return {false, in.size()};
    }

    // Slow path: the head began in an earlier input. Append at most what the
    // limit still allows, then trim back to the end of the head so the
    // buffer never holds body bytes.
    std::size_t old = buf_.size();
    std::size_t take = std::min(in.size(), max_bytes - std::min(old, max_bytes));
    buf_.append(in.data(), take);
    auto end = scan(buf_);
    if (end != std::string_view::npos) {
        buf_.resize(end);
        idle_ = false;
        head_ = std::string_view(buf_).substr(head_start_);
        return {true, end - old};
    }
    if (take < in.size()) {
        ec = http1_errc::header_too_large;
        return {false, 0};
    }
    if (idle_ && !only_line_ends(in)) {
        idle_ = false;
    }
    return {false, in.size()};
}

std::error_code split_head(std::string_view head, bool allow_bare_lf, std::size_t max_fields,
                           std::error_code start_line_error, std::string_view& start_line,
                           headers& fields) {
    std::string_view rest = head;
    if (!next_line(rest, allow_bare_lf, start_line)) {
        return start_line_error;
    }
    std::size_t count = 0;
    while (true) {
        std::string_view line;
        if (!next_line(rest, allow_bare_lf, line)) {
            return http1_errc::bad_header;
        }
        if (line.empty()) {
            return {};  // the empty line that ends the head
        }
        if (++count > max_fields) {
            return http1_errc::too_many_headers;
        }
        if (auto ec = parse_field_line(line, fields)) {
            return ec;
        }
    }
}

bool has_ctl(std::string_view line) noexcept {
    for (char c : line) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && u != '\t') || u == 0x7f) {
            return true;
        }
    }
    return false;
}

}  // namespace corvid::h1::detail
