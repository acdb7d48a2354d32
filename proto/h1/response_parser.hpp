#pragma once

// corvid::h1::response_parser: a sans-I/O, zero-copy HTTP/1.1 response
// parser for the client side (RFC 9112).
//
// Use: reset(head_request) before each response, then call parse() with the
// bytes received so far; drop `event::consumed` bytes from the front and call
// again (with more bytes after need_more) until `done`. On connection close
// call finish_eof(). Body data is never copied: `event::body` views the input.
// Only the head is buffered, and only when it arrives split across inputs.
// Several responses in one buffer (pipelining) are parsed back to back:
// parse() never consumes past the end of the current message.
//
// What is accepted:
// - status line `HTTP/1.0|HTTP/1.1 SP 3DIGIT [SP reason]`, status 100-999;
//   reason without control bytes other than HTAB. Else bad_status_line,
//   bad_version for another HTTP version.
// - Line ends in the head: CRLF or a bare LF (as browsers accept from
//   servers); a CR not followed by LF is refused (bad_status_line,
//   bad_header). Empty lines before the status line are skipped.
// - Fields per fields.hpp: obs-fold, whitespace before the colon, non-token
//   names, CR/LF/NUL in values are refused.
// - Framing (RFC 9112 6.3): HEAD responses, 1xx, 204 and 304 have no body;
//   101 ends the message (the bytes after it belong to the new protocol);
//   Transfer-Encoding ending in chunked is chunked; another final coding
//   (e.g. gzip) means the body runs until close; Content-Length otherwise;
//   else until close. Transfer-Encoding with Content-Length, and
//   Transfer-Encoding in an HTTP/1.0 response, are refused.
// - 1xx other than 101: a `head` event (status() is 1xx, fields() its
//   fields), then the parser reads the next head of the same response.
//
// Limits: see parser_limits. Errors (std::error_code, http1_errc): every one
// is fatal for the connection and sticky: later calls return it again.
//
// @par Thread Safety
// Distinct objects: safe. Shared objects: unsafe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "corvid/headers.hpp"
#include "proto/h1/body_reader.hpp"
#include "proto/h1/head_reader.hpp"
#include "proto/h1/parser_types.hpp"

namespace corvid::h1 {

class response_parser {
  public:
    using parser_limits = h1::parser_limits;
    using event_kind = h1::event_kind;
    using event = h1::event;
    using body_kind = h1::body_kind;

    explicit response_parser(parser_limits limits = {}) : limits_(limits) {}

    /// Prepares for the next response. `head_request`: the request was HEAD,
    /// so the response has no body whatever its fields say.
    void reset(bool head_request = false);

    /// Parses from the front of `in` and returns one event (see
    /// parser_types.hpp). `need_more` means all of `in` was used. On error
    /// `ec` is set (http1_errc) and the event is to be ignored. After `done`
    /// it returns `done` with consumed 0 until reset().
    event parse(std::string_view in, std::error_code& ec);

    /// The peer closed the connection. Returns `done` when that completes the
    /// message (a body delimited by close, or a message already complete);
    /// `need_more` with no error when idle() (closed between responses);
    /// otherwise fails with http1_errc::partial_message.
    event finish_eof(std::error_code& ec);

    /// True when no byte of a response has been seen since reset() (empty
    /// lines aside).
    bool idle() const noexcept;

    // Valid after a `head` event, until the next head or reset().
    int status() const noexcept { return status_; }
    std::string_view reason() const noexcept { return reason_; }
    int version() const noexcept { return version_; }  ///< 10 or 11
    const headers& fields() const noexcept { return fields_; }
    /// Trailer fields of a chunked body, complete at `done`.
    const headers& trailers() const noexcept { return body_reader_.trailers(); }
    /// Whether the connection can carry another request after this response:
    /// HTTP/1.1 without Connection: close, or HTTP/1.0 with keep-alive; never
    /// for a body delimited by close or a 101 upgrade.
    bool keep_alive() const noexcept { return keep_alive_; }
    body_kind body() const noexcept { return body_kind_; }
    /// The Content-Length field's value, if present (also for HEAD, 204, 304).
    std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }

    const parser_limits& limits() const noexcept { return limits_; }

  private:
    enum class state : std::uint8_t { head, body, done, failed };

    std::error_code on_head(std::string_view head);
    event fail(std::error_code& ec, std::error_code e);

    parser_limits limits_;
    state state_ = state::head;
    std::error_code error_;
    bool head_request_ = false;
    bool saw_interim_ = false;  // a 1xx head was parsed
    int status_ = 0;
    int version_ = 11;
    bool keep_alive_ = false;
    body_kind body_kind_ = body_kind::none;
    std::optional<std::uint64_t> content_length_;
    std::string reason_;
    headers fields_;
    detail::head_reader head_;
    detail::body_reader body_reader_;
};

}  // namespace corvid::h1
