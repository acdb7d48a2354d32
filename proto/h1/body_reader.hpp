#pragma once

// The body half of an HTTP/1.1 message, shared by both parsers: passes body
// bytes through as views of the caller's input according to the framing the
// head chose (Content-Length, chunked, or until the connection closes), and
// enforces parser_limits::max_body_bytes (http1_errc::body_too_large).
// Chunked errors are those of chunked_decoder.
//
// @par Thread Safety
// Distinct objects: safe. Shared objects: unsafe.

#include <cstdint>
#include <string_view>
#include <system_error>

#include "proto/h1/chunked_decoder.hpp"
#include "proto/h1/parser_types.hpp"

namespace corvid::h1::detail {

class body_reader {
  public:
    /// Prepares for a body of kind `kind`; `length` is used for
    /// body_kind::length. Keeps the chunked decoder's buffer capacity.
    void start(body_kind kind, std::uint64_t length, const parser_limits& limits);

    /// Reads from the front of `in`: body, done, or need_more (all used).
    event read(std::string_view in, std::error_code& ec);

    /// The peer closed the connection: true when that ends this body.
    bool ends_at_eof() const noexcept { return kind_ == body_kind::until_close; }

    /// True when the body needs no more bytes (none, or all of a length).
    bool complete() const noexcept {
        return kind_ == body_kind::none || (kind_ == body_kind::length && remaining_ == 0) ||
               (kind_ == body_kind::chunked && chunked_.done());
    }

    const headers& trailers() const noexcept { return chunked_.trailers(); }

  private:
    body_kind kind_ = body_kind::none;
    std::uint64_t remaining_ = 0;  // length: bytes left
    std::uint64_t received_ = 0;   // until_close: bytes so far
    std::uint64_t max_body_ = UINT64_MAX;
    chunked_decoder chunked_;
};

}  // namespace corvid::h1::detail
