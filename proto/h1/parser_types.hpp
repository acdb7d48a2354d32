#pragma once

// Types shared by corvid::h1::response_parser and corvid::h1::request_parser.
//
// Both parsers are pull-style and zero-copy: the caller owns the input bytes,
// calls parse() with whatever it has, and gets back one event saying how many
// bytes of the front of the input it used. Body data is a view into the
// caller's input, valid as long as the caller keeps those bytes.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace corvid::h1 {

/// Bounds on everything a peer controls. Exceeding one is a fatal parse
/// error; the error named next to each limit is what parse() reports.
struct parser_limits {
    /// Bytes of the head (start line, fields, final empty line, plus any
    /// empty lines before the start line); also bounds the trailer section.
    /// http1_errc::header_too_large.
    std::size_t max_header_bytes = 64 * 1024;
    /// Field lines in the head; also bounds the trailer field count.
    /// http1_errc::too_many_headers.
    std::size_t max_fields = 256;
    /// Body bytes after removing chunked framing. A Content-Length above it is
    /// refused as soon as the head is parsed. http1_errc::body_too_large.
    std::uint64_t max_body_bytes = std::numeric_limits<std::uint64_t>::max();
    /// Bytes after the hex size on one chunk-size line (extensions and
    /// whitespace). http1_errc::bad_chunk.
    std::size_t max_chunk_ext_bytes = 4096;
};

/// What one call to parse() produced.
enum class event_kind {
    need_more,  ///< every input byte was used (or buffered); call again with more
    head,       ///< a complete head was parsed; status()/fields()... are valid
    body,       ///< `event::body` holds the next piece of body data
    done,       ///< the message is complete; call reset() before the next one
};

struct event {
    event_kind kind = event_kind::need_more;
    /// Bytes used from the front of the input passed to this call. The caller
    /// drops exactly these and passes the rest (plus new bytes) next time.
    std::size_t consumed = 0;
    /// For event_kind::body: a view into the input passed to this call.
    std::string_view body;
};

/// How the body of the current message is delimited.
enum class body_kind {
    none,         ///< no body (HEAD response, 1xx, 204, 304, request without one)
    length,       ///< Content-Length bytes
    chunked,      ///< chunked transfer coding, possibly with trailers
    until_close,  ///< everything until the connection closes (responses only)
};

}  // namespace corvid::h1
