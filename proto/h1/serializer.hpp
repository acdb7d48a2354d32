#pragma once

// HTTP/1.1 message heads and chunked framing, written into a caller-owned
// std::string (appended, never cleared: the caller can gather a head and a
// first body piece in one buffer).
//
// The serialize_* functions write exactly what they are given: the method,
// target, reason and fields in the given order and spelling, without adding
// or reordering anything (no Host, no Content-Length). They do not validate;
// bytes that come from untrusted input must first pass validate_*(), or use
// the try_* variants which validate and append nothing on error. Validation
// applies the parsers' own rules (fields.hpp), so a caller cannot inject a
// header line or a second message:
// - method: a token (http1_errc::bad_method);
// - target: printable ASCII without spaces (bad_target);
// - status 100-999 and a reason without CR, LF or other controls but HTAB
//   (bad_status_line);
// - field names are tokens, values have no CR, LF or NUL and no leading or
//   trailing whitespace, which would not survive a round trip (bad_header).
//
// All functions are thread-safe (no shared state).

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

#include "corvid/headers.hpp"

namespace corvid::h1 {

/// Appends `METHOD target HTTP/1.1\r\n`, `Name: value\r\n` per field, `\r\n`.
void serialize_request_head(std::string& out, std::string_view method, std::string_view target,
                            const headers& fields);

/// Appends `HTTP/1.1 status reason\r\n`, the fields, `\r\n`. `status` must be
/// 100-999 (three digits are written).
void serialize_response_head(std::string& out, int status, std::string_view reason,
                             const headers& fields);

/// Errors: bad_method, bad_target, bad_header.
std::error_code validate_request_head(std::string_view method, std::string_view target,
                                      const headers& fields);
/// Errors: bad_status_line, bad_header.
std::error_code validate_response_head(int status, std::string_view reason, const headers& fields);
/// Errors: bad_header.
std::error_code validate_fields(const headers& fields);

/// validate_request_head(), then serialize_request_head() when valid.
std::error_code try_serialize_request_head(std::string& out, std::string_view method,
                                           std::string_view target, const headers& fields);
/// validate_response_head(), then serialize_response_head() when valid.
std::error_code try_serialize_response_head(std::string& out, int status, std::string_view reason,
                                            const headers& fields);

/// Appends the size line of a data chunk: lowercase hex, no leading zeros,
/// CRLF ("1f\r\n"). `size` must be non-zero: a zero size is the last chunk,
/// which append_last_chunk() writes.
void append_chunk_header(std::string& out, std::size_t size);

/// Appends the CRLF that follows a chunk's data.
void append_chunk_end(std::string& out);

/// Appends `0\r\n`, the trailer fields if `trailers` is non-null, and the
/// final `\r\n`. Trailers are written as given; check them with
/// validate_fields() if they come from untrusted input.
void append_last_chunk(std::string& out, const headers* trailers = nullptr);

}  // namespace corvid::h1
