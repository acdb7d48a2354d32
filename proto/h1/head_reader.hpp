#pragma once

// Finding and splitting an HTTP/1.1 head (start line + field section), shared
// by the request and response parsers.
//
// head_reader locates the empty line that ends a head in input that may
// arrive split at any byte. When the whole head is in one input it is parsed
// in place; otherwise only the head's bytes are copied into an internal
// buffer bounded by the caller's max_bytes (never body bytes: the buffer stops
// exactly at the end of the head). Empty lines before the start line are
// skipped (RFC 9112 2.2) but count toward max_bytes.
//
// Line ends: a line is terminated by LF; the parser decides, per head,
// whether a CR before it is required (strict, requests) or optional (lenient,
// responses, as browsers read them). A CR anywhere else is a bare CR and is
// always refused, by the start-line and field checks.
//
// Errors: http1_errc::header_too_large from feed(); from split_head(),
// `start_line_error` for a bad start-line terminator, and obs_fold,
// bad_header, too_many_headers for the field section.
//
// @par Thread Safety
// Distinct objects: safe. Shared objects: unsafe.

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

#include "corvid/headers.hpp"

namespace corvid::h1::detail {

class head_reader {
  public:
    struct result {
        bool complete = false;
        std::size_t consumed = 0;  ///< bytes taken from the front of `in`
    };

    /// Forgets any partial head; keeps the buffer's capacity.
    void reset() noexcept;

    /// Takes bytes from `in` until the end of the head. When incomplete, all
    /// of `in` was taken (buffered). When complete, head() is valid until the
    /// next call to feed() or reset(), and may point into `in`.
    result feed(std::string_view in, std::size_t max_bytes, std::error_code& ec);

    /// The complete head, from the start line through the final line end.
    std::string_view head() const noexcept { return head_; }

    /// True while nothing but empty lines has been fed since reset().
    bool idle() const noexcept { return idle_; }

  private:
    // Scans data[line_start_...) for line ends; returns the end of the head
    // (one past its final LF) or npos.
    std::size_t scan(std::string_view data) noexcept;

    std::string buf_;
    std::string_view head_;
    std::size_t line_start_ = 0;  // start of the first unterminated line
    std::size_t head_start_ = 0;  // start of the start line
    bool seen_start_line_ = false;
    bool idle_ = true;
};

/// Splits a complete head into its start line and fields. `allow_bare_lf`
/// accepts LF without CR as a line end. Fields are appended to `fields`.
std::error_code split_head(std::string_view head, bool allow_bare_lf, std::size_t max_fields,
                           std::error_code start_line_error, std::string_view& start_line,
                           headers& fields);

/// Whether `line` contains a control byte other than HTAB (CR, NUL, DEL...).
bool has_ctl(std::string_view line) noexcept;

}  // namespace corvid::h1::detail
