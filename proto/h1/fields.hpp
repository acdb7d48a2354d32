#pragma once

// HTTP/1.1 field syntax shared by the parsers, the chunked decoder (trailers)
// and the serializer's validation: one implementation of the rules, so what
// corvid refuses to parse it also refuses to send.
//
// Field line (RFC 9112 section 5, RFC 9110 section 5):
//   field-name ":" OWS field-value OWS
// - the name is a non-empty token; whitespace before the colon is refused
//   (http1_errc::bad_header), as RFC 9112 5.1 requires;
// - a line starting with SP/HTAB is obsolete line folding
//   (http1_errc::obs_fold);
// - the value is trimmed of SP/HTAB and must not contain CR, LF or NUL
//   (http1_errc::bad_header). Other control bytes are kept, as RFC 9110 5.5
//   allows, since real servers send them and they cannot change framing.
//
// Framing fields (RFC 9112 section 6):
// - Content-Length: a comma-separated list of decimal numbers that fit in 64
//   bits, all equal ("5, 5" or two identical fields are one value);
//   otherwise bad_content_length or conflicting_content_length.
// - Transfer-Encoding: a list of registered codings without parameters
//   (chunked, gzip, x-gzip, deflate, compress, x-compress) in which chunked,
//   if present, is last and appears once; anything else is
//   bad_transfer_encoding. Whether a final non-chunked coding is allowed is
//   the caller's decision (responses read until close, requests are refused).
// - Transfer-Encoding together with Content-Length is refused
//   (chunked_with_content_length): a classic request smuggling shape.
//
// All functions are pure and thread-safe.

#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

#include "corvid/headers.hpp"

namespace corvid::h1::detail {

/// Whether `c` is a tchar (RFC 9110 5.6.2).
bool is_tchar(char c) noexcept;
/// Non-empty and all tchar: a method or field name.
bool is_token(std::string_view s) noexcept;
/// No CR, LF or NUL: a value that cannot break a line or end a string.
bool is_field_value(std::string_view s) noexcept;
/// Printable ASCII without SP: an origin-, absolute-, authority- or
/// asterisk-form request target, not checked further.
bool is_target_chars(std::string_view s) noexcept;

inline bool is_ows(char c) noexcept {
    return c == ' ' || c == '\t';
}

using corvid::trim_ows;  // headers.hpp

/// Parses one field line (without its line terminator) and appends it to
/// `out`. Errors: obs_fold, bad_header.
std::error_code parse_field_line(std::string_view line, headers& out);

/// What the framing fields of a head say, after validation.
struct framing {
    std::optional<std::uint64_t> content_length;
    bool has_transfer_encoding = false;
    bool chunked = false;  ///< Transfer-Encoding ends with chunked
    bool connection_close = false;
    bool connection_keep_alive = false;
};

/// Reads Content-Length, Transfer-Encoding and Connection from `fields`.
/// Errors: bad_content_length, conflicting_content_length,
/// bad_transfer_encoding, chunked_with_content_length.
std::error_code analyze_framing(const headers& fields, framing& out);

}  // namespace corvid::h1::detail
