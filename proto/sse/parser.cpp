#include "proto/sse/parser.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "corvid/error.hpp"

namespace corvid::sse {

namespace {

constexpr char32_t replacement_character = 0xFFFD;
constexpr char32_t byte_order_mark = 0xFEFF;

std::size_t utf8_length(char32_t cp) noexcept {
    if (cp < 0x80) {
        return 1;
    }
    if (cp < 0x800) {
        return 2;
    }
    if (cp < 0x10000) {
        return 3;
    }
    return 4;
}

// A field name against a literal: with the size a constant the comparison
// is inlined (a memcmp call per line showed in profiles of short events).
template <std::size_t N>
bool is_name(std::string_view name, const char (&literal)[N]) noexcept {
    return name.size() == N - 1 && std::memcmp(name.data(), literal, N - 1) == 0;
}

}  // namespace

std::size_t parser::text_run(std::string_view in) const noexcept {
    // Bytes the line may still take before line_too_long: the slow path
    // reports that error at the exact byte.
    const std::size_t room =
        limits_.max_line_bytes > line_bytes_ ? limits_.max_line_bytes - line_bytes_ : 0;
    const std::size_t end = std::min(in.size(), room);
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    auto cont = [p](std::size_t at, unsigned lo = 0x80, unsigned hi = 0xBF) {
        return p[at] >= lo && p[at] <= hi;
    };
    std::size_t j = 0;
    while (j < end) {
        const unsigned b = p[j];
        if (b < 0x80) {
            if (b == '\n' || b == '\r') {
                break;
            }
            ++j;
            continue;
        }
        // A multi-byte sequence is taken only when whole, well formed
        // (Unicode Table 3-7, the ranges the Encoding Standard's decoder
        // accepts) and within `end`; anything else is left to the decoder.
        if (b >= 0xC2 && b <= 0xDF) {
            if (j + 2 > end || !cont(j + 1)) {
                break;
            }
            j += 2;
        } else if (b >= 0xE0 && b <= 0xEF) {
            const unsigned lo = b == 0xE0 ? 0xA0 : 0x80;
            const unsigned hi = b == 0xED ? 0x9F : 0xBF;
            if (j + 3 > end || !cont(j + 1, lo, hi) || !cont(j + 2)) {
                break;
            }
            j += 3;
        } else if (b >= 0xF0 && b <= 0xF4) {
            const unsigned lo = b == 0xF0 ? 0x90 : 0x80;
            const unsigned hi = b == 0xF4 ? 0x8F : 0xBF;
            if (j + 4 > end || !cont(j + 1, lo, hi) || !cont(j + 2) || !cont(j + 3)) {
                break;
            }
            j += 4;
        } else {
            break;
        }
    }
    return j;
}

parser::output parser::feed(std::string_view in, std::error_code& ec) {
    ec.clear();
    if (error_) {
        ec = error_;
        return {};
    }
    if (event_out_) {
        // The data buffer held the dispatched event, which this call ends.
        event_.data.clear();
        event_out_ = false;
    }
    std::size_t i = 0;
    while (i < in.size()) {
        // Fast path: with the decoder idle and the stream start behind, a
        // run of well-formed UTF-8 without CR or LF decodes to its own bytes,
        // so it is taken with one append (or none, for a line that lies
        // whole in `in`). The byte that stops the run goes the slow way.
        if (utf8_needed_ == 0 && !stream_start_) {
            const std::size_t run = text_run(in.substr(i));
            if (run != 0) {
                const std::string_view text = in.substr(i, run);
                const bool line_start = line_bytes_ == 0;
                if (line_start && text.front() == ':') {
                    comment_ = true;
                }
                line_bytes_ += run;
                skip_lf_ = false;
                i += run;
                if (i < in.size() && (in[i] == '\n' || in[i] == '\r')) {
                    skip_lf_ = in[i] == '\r';
                    ++i;
                    line_result r = line_result::none;
                    if (comment_) {
                        r = end_line({}, ec);
                    } else if (line_start) {
                        r = end_line(text, ec);  // the whole line is in `in`: no copy
                    } else {
                        line_.append(text);
                        r = end_line(line_, ec);
                    }
                    if (ec) {
                        error_ = ec;
                        return {output_kind::need_more, i};
                    }
                    if (r == line_result::event) {
                        return {output_kind::event, i};
                    }
                    if (r == line_result::retry) {
                        return {output_kind::retry, i};
                    }
                } else if (!comment_) {
                    line_.append(text);
                }
                continue;
            }
        }
        const auto b = static_cast<std::uint8_t>(in[i]);
        line_result r = line_result::none;
        // UTF-8 decoder of the Encoding Standard, one byte at a time. A byte
        // outside the expected continuation range ends the sequence with
        // U+FFFD and is then decoded again on its own.
        if (utf8_needed_ == 0) {
            if (b < 0x80) {
                r = code_point(b, ec);
            } else if (b >= 0xC2 && b <= 0xDF) {
                utf8_needed_ = 1;
                utf8_cp_ = b & 0x1F;
            } else if (b >= 0xE0 && b <= 0xEF) {
                if (b == 0xE0) {
                    utf8_lower_ = 0xA0;
                } else if (b == 0xED) {
                    utf8_upper_ = 0x9F;
                }
                utf8_needed_ = 2;
                utf8_cp_ = b & 0x0F;
            } else if (b >= 0xF0 && b <= 0xF4) {
                if (b == 0xF0) {
                    utf8_lower_ = 0x90;
                } else if (b == 0xF4) {
                    utf8_upper_ = 0x8F;
                }
                utf8_needed_ = 3;
                utf8_cp_ = b & 0x07;
            } else {
                r = code_point(replacement_character, ec);
            }
        } else if (b < utf8_lower_ || b > utf8_upper_) {
            utf8_needed_ = 0;
            utf8_seen_ = 0;
            utf8_cp_ = 0;
            utf8_lower_ = 0x80;
            utf8_upper_ = 0xBF;
            // U+FFFD never ends a line, so only the byte decoded again below
            // can produce an output.
            (void)code_point(replacement_character, ec);
            if (!ec) {
                continue;  // decode this byte again from the initial state
            }
        } else {
            utf8_lower_ = 0x80;
            utf8_upper_ = 0xBF;
            utf8_cp_ = (utf8_cp_ << 6) | (b & 0x3F);
            if (++utf8_seen_ == utf8_needed_) {
                const char32_t cp = utf8_cp_;
                utf8_needed_ = 0;
                utf8_seen_ = 0;
                utf8_cp_ = 0;
                r = code_point(cp, ec);
            }
        }
        ++i;
        if (ec) {
            error_ = ec;
            return {output_kind::need_more, i};
        }
        if (r == line_result::event) {
            return {output_kind::event, i};
        }
        if (r == line_result::retry) {
            return {output_kind::retry, i};
        }
    }
    return {output_kind::need_more, in.size()};
}

parser::line_result parser::code_point(char32_t cp, std::error_code& ec) {
    if (stream_start_) {
        // "UTF-8 decode" skips a leading BOM once; U+FEFF decodes only from
        // EF BB BF, so dropping the first code point if it is U+FEFF is the
        // same thing and needs no look-ahead across chunks.
        stream_start_ = false;
        if (cp == byte_order_mark) {
            return line_result::none;
        }
    }
    if (cp == U'\n') {
        if (skip_lf_) {
            skip_lf_ = false;
            return line_result::none;
        }
        return end_line(line_, ec);
    }
    if (cp == U'\r') {
        skip_lf_ = true;
        return end_line(line_, ec);
    }
    skip_lf_ = false;
    if (line_bytes_ == 0 && cp == U':') {
        comment_ = true;
    }
    line_bytes_ += utf8_length(cp);
    if (line_bytes_ > limits_.max_line_bytes) {
        ec = sse_errc::line_too_long;
        return line_result::none;
    }
    if (!comment_) {
        append_utf8(cp);
    }
    return line_result::none;
}

void parser::append_utf8(char32_t cp) {
    if (cp < 0x80) {
        line_.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        line_.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        line_.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        line_.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        line_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        line_.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        line_.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        line_.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        line_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        line_.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

parser::line_result parser::end_line(std::string_view line, std::error_code& ec) {
    line_result r = line_result::none;
    if (comment_) {
        r = line_result::none;
    } else if (line.empty()) {
        r = dispatch();
    } else {
        // std::find, not memchr: lines are mostly short.
        const auto colon =
            static_cast<std::size_t>(std::find(line.begin(), line.end(), ':') - line.begin());
        if (colon == line.size()) {
            r = process_field(line, {}, ec);
        } else {
            std::string_view value = line.substr(colon + 1);
            if (!value.empty() && value.front() == ' ') {
                value.remove_prefix(1);
            }
            r = process_field(line.substr(0, colon), value, ec);
        }
    }
    line_.clear();
    line_bytes_ = 0;
    comment_ = false;
    return r;
}

parser::line_result parser::process_field(std::string_view name, std::string_view value,
                                          std::error_code& ec) {
    if (is_name(name, "event")) {
        type_buf_.assign(value);
    } else if (is_name(name, "data")) {
        // The buffer holds one LF per line; the dispatched data drops the
        // last one, so its size would be the buffer's plus this value.
        if (event_.data.size() + value.size() > limits_.max_event_bytes) {
            ec = sse_errc::event_too_large;
            return line_result::none;
        }
        event_.data.append(value);
        event_.data.push_back('\n');
    } else if (is_name(name, "id")) {
        if (value.find('\0') == std::string_view::npos) {
            id_buf_.assign(value);
        }
    } else if (is_name(name, "retry")) {
        if (value.empty()) {
            return line_result::none;
        }
        std::uint64_t ms = 0;
        constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
        for (const char c : value) {
            if (c < '0' || c > '9') {
                return line_result::none;
            }
            const auto digit = static_cast<std::uint64_t>(c - '0');
            if (ms > (max - digit) / 10) {
                return line_result::none;  // too large to represent: ignored
            }
            ms = ms * 10 + digit;
        }
        retry_ms_ = ms;
        has_retry_ = true;
        return line_result::retry;
    }
    return line_result::none;
}

parser::line_result parser::dispatch() {
    last_event_id_ = id_buf_;
    if (event_.data.empty()) {
        type_buf_.clear();
        return line_result::none;
    }
    event_.data.pop_back();  // every data line appended an LF
    if (type_buf_.empty()) {
        event_.type = "message";
    } else {
        event_.type.swap(type_buf_);
        type_buf_.clear();
    }
    event_out_ = true;
    event_.id = last_event_id_;
    return line_result::event;
}

void parser::end_of_stream() noexcept {
    utf8_cp_ = 0;
    utf8_needed_ = 0;
    utf8_seen_ = 0;
    utf8_lower_ = 0x80;
    utf8_upper_ = 0xBF;
    stream_start_ = true;
    line_.clear();
    line_bytes_ = 0;
    comment_ = false;
    skip_lf_ = false;
    type_buf_.clear();
    event_.data.clear();
    event_out_ = false;
    id_buf_.clear();
    error_.clear();
}

void parser::reset() noexcept {
    end_of_stream();
    last_event_id_.clear();
    retry_ms_ = 0;
    has_retry_ = false;
    event_ = sse::event{};
}

}  // namespace corvid::sse
