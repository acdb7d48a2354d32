#include "proto/h1/chunked_decoder.hpp"

#include <algorithm>

#include "corvid/error.hpp"
#include "proto/h1/fields.hpp"

namespace corvid::h1 {

namespace {

// Generous for leading zeros, far below anything that wastes time.
constexpr std::size_t max_size_digits = 32;

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// qdtext (RFC 9110 5.6.4): HTAB, SP, %x21, %x23-5B, %x5D-7E, obs-text.
bool is_qdtext(char c) noexcept {
    auto u = static_cast<unsigned char>(c);
    return u == '\t' || u == ' ' || u == 0x21 || (u >= 0x23 && u <= 0x5b) ||
           (u >= 0x5d && u <= 0x7e) || u >= 0x80;
}

// The byte after a backslash in a quoted-pair: HTAB, SP, VCHAR, obs-text.
bool is_quoted_pair_char(char c) noexcept {
    auto u = static_cast<unsigned char>(c);
    return u == '\t' || u == ' ' || (u >= 0x21 && u <= 0x7e) || u >= 0x80;
}

}  // namespace

void chunked_decoder::reset() noexcept {
    state_ = state::size;
    error_.clear();
    size_ = 0;
    remaining_ = 0;
    total_ = 0;
    digits_ = 0;
    ext_bytes_ = 0;
    trailer_bytes_ = 0;
    line_.clear();
    trailers_.clear();
}

std::error_code chunked_decoder::fail(std::error_code ec) noexcept {
    state_ = state::failed;
    error_ = ec;
    return ec;
}

std::error_code chunked_decoder::end_size_line() noexcept {
    std::uint64_t size = size_;
    size_ = 0;
    digits_ = 0;
    ext_bytes_ = 0;
    if (size == 0) {
        state_ = state::trailer;
        return {};
    }
    if (size > limits_.max_body_bytes - std::min(total_, limits_.max_body_bytes)) {
        return http1_errc::body_too_large;
    }
    remaining_ = size;
    state_ = state::data;
    return {};
}

std::error_code chunked_decoder::size_line_byte(char c) noexcept {
    using detail::is_ows;
    using detail::is_tchar;
    const std::error_code bad_ext = http1_errc::bad_chunk;

    if (state_ == state::size) {
        int v = hex_value(c);
        if (v >= 0) {
            auto limit = std::min(limits_.max_chunk_size, (std::uint64_t{1} << 63) - 1);
            auto digit = static_cast<std::uint64_t>(v);
            if (++digits_ > max_size_digits || size_ > limit / 16 || digit > limit - size_ * 16) {
                return http1_errc::bad_chunk_size;
            }
            size_ = size_ * 16 + digit;
            return {};
        }
        if (digits_ == 0) {
            return http1_errc::bad_chunk_size;
        }
    }
    if (state_ == state::size_lf) {
        if (c != '\n') {
            return http1_errc::bad_chunk_size;  // a bare CR
        }
        return end_size_line();
    }
    if (c == '\r' && state_ != state::ext_quoted && state_ != state::ext_quoted_pair &&
        state_ != state::ext_before_name && state_ != state::ext_before_value) {
        state_ = state::size_lf;
        return {};
    }
    // Everything after the digits but the final CRLF counts as extension.
    if (++ext_bytes_ > limits_.max_chunk_ext_bytes) {
        return bad_ext;
    }
    switch (state_) {
        case state::size:
        case state::size_bws:
            if (is_ows(c)) {
                state_ = state::size_bws;
            } else if (c == ';') {
                state_ = state::ext_before_name;
            } else {
                return http1_errc::bad_chunk_size;  // junk after the size
            }
            return {};
        case state::ext_before_name:
            if (is_tchar(c)) {
                state_ = state::ext_name;
            } else if (!is_ows(c)) {
                return bad_ext;
            }
            return {};
        case state::ext_name:
        case state::ext_after_name:
            if (c == '=') {
                state_ = state::ext_before_value;
            } else if (c == ';') {
                state_ = state::ext_before_name;
            } else if (is_ows(c)) {
                state_ = state::ext_after_name;
            } else if (!(state_ == state::ext_name && is_tchar(c))) {
                return bad_ext;
            }
            return {};
        case state::ext_before_value:
            if (c == '"') {
                state_ = state::ext_quoted;
            } else if (is_tchar(c)) {
                state_ = state::ext_token_value;
            } else if (!is_ows(c)) {
                return bad_ext;
            }
            return {};
        case state::ext_token_value:
        case state::ext_after_value:
            if (c == ';') {
                state_ = state::ext_before_name;
            } else if (is_ows(c)) {
                state_ = state::ext_after_value;
            } else if (!(state_ == state::ext_token_value && is_tchar(c))) {
                return bad_ext;
            }
            return {};
        case state::ext_quoted:
            if (c == '"') {
                state_ = state::ext_after_value;
            } else if (c == '\\') {
                state_ = state::ext_quoted_pair;
            } else if (!is_qdtext(c)) {
                return bad_ext;
            }
            return {};
        case state::ext_quoted_pair:
            if (!is_quoted_pair_char(c)) {
                return bad_ext;
            }
            state_ = state::ext_quoted;
            return {};
        default:
            return bad_ext;  // unreachable: decode() only calls this on size lines
    }
}

std::error_code chunked_decoder::trailer_line(std::string_view line) {
    if (line.empty() || line.back() != '\r') {
        return http1_errc::bad_header;  // trailer lines end in CRLF only
    }
    line.remove_suffix(1);
    if (line.empty()) {
        state_ = state::done;
        return {};
    }
    if (trailers_.size() >= limits_.max_trailer_fields) {
        return http1_errc::too_many_headers;
    }
    return detail::parse_field_line(line, trailers_);
}

std::size_t chunked_decoder::trailer_lines(std::string_view in, std::error_code& ec) {
    std::size_t pos = 0;
    while (pos < in.size()) {
        auto lf = in.find('\n', pos);
        std::size_t end = lf == std::string_view::npos ? in.size() : lf + 1;
        if (end - pos > limits_.max_trailer_bytes - trailer_bytes_) {
            ec = http1_errc::header_too_large;
            return pos;
        }
        trailer_bytes_ += end - pos;
        if (lf == std::string_view::npos) {
            line_.append(in.substr(pos));
            return in.size();
        }
        std::string_view line = in.substr(pos, lf - pos);
        if (!line_.empty()) {
            line_.append(line);
            line = line_;
        }
        pos = end;
        ec = trailer_line(line);
        line_.clear();
        if (ec || state_ == state::done) {
            return pos;
        }
    }
    return pos;
}

chunked_decoder::event chunked_decoder::decode(std::string_view in, std::error_code& ec) {
    ec.clear();
    std::size_t pos = 0;
    while (true) {
        switch (state_) {
            case state::failed:
                ec = error_;
                return {event_kind::need_more, pos, {}};
            case state::done:
                return {event_kind::done, pos, {}};
            case state::data: {
                std::size_t avail = in.size() - pos;
                if (avail == 0) {
                    return {event_kind::need_more, pos, {}};
                }
                auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, avail));
                auto data = in.substr(pos, n);
                pos += n;
                remaining_ -= n;
                total_ += n;
                if (remaining_ == 0) {
                    state_ = state::data_cr;
                }
                return {event_kind::data, pos, data};
            }
            case state::trailer: {
                pos += trailer_lines(in.substr(pos), ec);
                if (ec) {
                    fail(ec);
                    return {event_kind::need_more, pos, {}};
                }
                if (state_ == state::done) {
                    return {event_kind::done, pos, {}};
                }
                return {event_kind::need_more, pos, {}};
            }
            case state::data_cr:
            case state::data_lf: {
                if (pos == in.size()) {
                    return {event_kind::need_more, pos, {}};
                }
                char c = in[pos++];
                if (state_ == state::data_cr && c == '\r') {
                    state_ = state::data_lf;
                } else if (state_ == state::data_lf && c == '\n') {
                    state_ = state::size;
                } else {
                    ec = fail(http1_errc::bad_chunk);
                    return {event_kind::need_more, pos, {}};
                }
                break;
            }
            default: {
                // A chunk-size line, byte by byte: lines are short and this
                // keeps partial lines out of any buffer.
                while (pos < in.size() && state_ != state::data && state_ != state::trailer) {
                    if (auto e = size_line_byte(in[pos++])) {
                        ec = fail(e);
                        return {event_kind::need_more, pos, {}};
                    }
                }
                if (state_ != state::data && state_ != state::trailer) {
                    return {event_kind::need_more, pos, {}};
                }
                break;
            }
        }
    }
}

}  // namespace corvid::h1
