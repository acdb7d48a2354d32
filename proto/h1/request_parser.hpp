#pragma once

// corvid::h1::request_parser: a sans-I/O, zero-copy HTTP/1.1 request parser
// for the server side (RFC 9112), the twin of response_parser with the same
// event API (see parser_types.hpp) and the same field rules (fields.hpp).
//
// Use: reset() before each request, then call parse() with the bytes received
// so far; drop `event::consumed` bytes from the front and call again until
// `done`. Pipelined requests in one buffer are parsed back to back: parse()
// never consumes past the end of the current request.
//
// What is accepted (stricter than the response parser, since a server is the
// side that request smuggling targets):
// - request line `method SP request-target SP HTTP/1.0|HTTP/1.1`, single
//   spaces, no control bytes (bad_request_line); the method is a token
//   (bad_method); the target is printable ASCII without spaces or '#' in
//   origin-form ("/..."), absolute-form ("scheme:..."), authority-form (only
//   with CONNECT) or "*" (only with OPTIONS), else bad_target; another HTTP
//   version is bad_version.
// - Line ends in the head: CRLF only. A bare LF or bare CR is refused
//   (bad_request_line, bad_header). Empty lines (CRLF or LF) before the
//   request line are skipped (RFC 9112 2.2) and count toward
//   max_header_bytes.
// - Fields per fields.hpp; more than one Host field is bad_header.
// - Body: Transfer-Encoding must be exactly chunked (a final other coding,
//   or any Transfer-Encoding in HTTP/1.0, is bad_transfer_encoding);
//   Content-Length otherwise; else no body. Transfer-Encoding with
//   Content-Length is chunked_with_content_length.
// - A missing Host in HTTP/1.1 is not a parse error: the server decides.
//
// Limits: see parser_limits. Errors (http1_errc) are fatal for the
// connection and sticky.
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

class request_parser {
  public:
    using parser_limits = h1::parser_limits;
    using event_kind = h1::event_kind;
    using event = h1::event;
    using body_kind = h1::body_kind;

    explicit request_parser(parser_limits limits = {}) : limits_(limits) {}

    /// Prepares for the next request.
    void reset();

    /// Parses from the front of `in` and returns one event. `need_more` means
    /// all of `in` was used. On error `ec` is set and the event is to be
    /// ignored. After `done` it returns `done` with consumed 0 until reset().
    event parse(std::string_view in, std::error_code& ec);

    /// The peer closed the connection: `done` if the request was already
    /// complete, `need_more` with no error when idle(), else
    /// http1_errc::partial_message.
    event finish_eof(std::error_code& ec);

    /// True when no byte of a request has been seen since reset() (empty
    /// lines aside).
    bool idle() const noexcept { return state_ == state::head && head_.idle(); }

    // Valid after the `head` event, until reset().
    std::string_view method() const noexcept { return method_; }
    std::string_view target() const noexcept { return target_; }
    int version() const noexcept { return version_; }  ///< 10 or 11
    const headers& fields() const noexcept { return fields_; }
    const headers& trailers() const noexcept { return body_reader_.trailers(); }
    /// HTTP/1.1 without Connection: close, or HTTP/1.0 with keep-alive.
    bool keep_alive() const noexcept { return keep_alive_; }
    /// HTTP/1.1 with `Expect: 100-continue` (RFC 9110 10.1.1 says to ignore
    /// it in HTTP/1.0).
    bool expects_continue() const noexcept { return expects_continue_; }
    body_kind body() const noexcept { return body_kind_; }
    std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }

    const parser_limits& limits() const noexcept { return limits_; }

  private:
    enum class state : std::uint8_t { head, body, done, failed };

    std::error_code on_head(std::string_view head);
    event fail(std::error_code& ec, std::error_code e);

    parser_limits limits_;
    state state_ = state::head;
    std::error_code error_;
    int version_ = 11;
    bool keep_alive_ = false;
    bool expects_continue_ = false;
    body_kind body_kind_ = body_kind::none;
    std::optional<std::uint64_t> content_length_;
    std::string method_;
    std::string target_;
    headers fields_;
    detail::head_reader head_;
    detail::body_reader body_reader_;
};

}  // namespace corvid::h1
