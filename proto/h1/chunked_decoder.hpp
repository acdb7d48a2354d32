#pragma once

// corvid::h1::chunked_decoder: a sans-I/O decoder for the chunked transfer
// coding (RFC 9112 section 7.1), used by both HTTP/1.1 parsers and usable on
// its own.
//
// Accepted grammar, byte-exact:
//   chunk-size-line = 1*HEXDIG [ BWS ] [ chunk-ext ] CRLF
//   chunk-ext       = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) BWS
//   chunk           = chunk-size-line chunk-data CRLF
//   last-chunk      = 1*"0" [ BWS ] [ chunk-ext ] CRLF
//   trailer-section = *( field-line CRLF ) CRLF
// - The size is hex without sign, prefix or leading whitespace: "0x5", "-1",
//   " 5" and an empty size are http1_errc::bad_chunk_size, as is a size
//   above limits::max_chunk_size (at most 2^63 - 1) or more than 32 digits.
// - Every line end is CRLF. On a size line a CR not followed by LF is
//   bad_chunk_size, and so is junk (a bare LF included) right after the size;
//   inside the extensions it is bad_chunk. Anything but CRLF right after
//   chunk data is bad_chunk. Being strict here is deliberate: disagreement
//   about chunk line ends is a known smuggling vector.
// - Extensions are checked against the grammar above and then ignored; their
//   bytes (everything after the size, per line) are bounded by
//   limits::max_chunk_ext_bytes (bad_chunk).
// - Trailer fields follow the head's field rules (see fields.hpp: bad_header,
//   obs_fold), with CRLF line ends, at most limits::max_trailer_fields
//   (too_many_headers) and limits::max_trailer_bytes for the whole section
//   including its final CRLF (header_too_large). They are not merged with,
//   or filtered against, the head's fields.
// - The decoded total is bounded by limits::max_body_bytes (body_too_large),
//   checked on each size line before any of that chunk is delivered.
//
// Zero-copy: data events are views into the caller's input; only trailer
// lines that arrive split are copied (into a buffer bounded as above). No
// allocation per chunk. Never reads past the input, never consumes past the
// final CRLF of the trailer section (bytes after it belong to the next
// message).
//
// Errors are sticky: after one, decode() keeps returning it.
//
// @par Thread Safety
// Distinct objects: safe. Shared objects: unsafe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "corvid/headers.hpp"

namespace corvid::h1 {

class chunked_decoder {
  public:
    struct limits {
        std::uint64_t max_chunk_size = (std::uint64_t{1} << 63) - 1;
        std::size_t max_chunk_ext_bytes = 4096;
        std::uint64_t max_body_bytes = UINT64_MAX;
        std::size_t max_trailer_bytes = 64 * 1024;
        std::size_t max_trailer_fields = 256;
    };

    enum class event_kind {
        need_more,  ///< all of the input was used; call again with more
        data,       ///< `event::data` is the next piece of decoded body
        done,       ///< the trailer section ended; trailers() is complete
    };
    struct event {
        event_kind kind = event_kind::need_more;
        std::size_t consumed = 0;  ///< bytes used from the front of the input
        std::string_view data;     ///< for data: a view into the input
    };

    chunked_decoder() = default;
    explicit chunked_decoder(limits l) : limits_(l) {}

    /// Starts a new body; keeps the limits (and buffer capacity).
    void reset() noexcept;
    void set_limits(limits l) noexcept { limits_ = l; }

    /// Decodes from the front of `in`. Returns one event: `data` as soon as
    /// some chunk data is available (framing before it included in
    /// `consumed`), `done` at the end of the trailer section, or `need_more`
    /// once every byte of `in` is used. On error `ec` is set and the event
    /// should be ignored. After `done`, returns `done` with consumed 0.
    event decode(std::string_view in, std::error_code& ec);

    bool done() const noexcept { return state_ == state::done; }
    /// Decoded body bytes delivered so far.
    std::uint64_t body_bytes() const noexcept { return total_; }
    /// The trailer fields, complete once done().
    const headers& trailers() const noexcept { return trailers_; }

  private:
    enum class state : std::uint8_t {
        size,             // hex digits
        size_bws,         // whitespace after the digits
        ext_before_name,  // after ';'
        ext_name,
        ext_after_name,
        ext_before_value,  // after '='
        ext_token_value,
        ext_quoted,
        ext_quoted_pair,  // after '\' in a quoted-string
        ext_after_value,
        size_lf,  // CR seen at the end of the size line
        data,
        data_cr,  // CRLF after chunk data
        data_lf,
        trailer,
        done,
        failed,
    };

    std::error_code fail(std::error_code ec) noexcept;
    // Handles one byte of a chunk-size line (any state before `data`).
    std::error_code size_line_byte(char c) noexcept;
    std::error_code end_size_line() noexcept;
    // Consumes trailer lines from `in`; returns bytes used, sets done.
    std::size_t trailer_lines(std::string_view in, std::error_code& ec);
    std::error_code trailer_line(std::string_view line);

    limits limits_{};
    state state_ = state::size;
    std::error_code error_;
    std::uint64_t size_ = 0;       // chunk size being parsed
    std::uint64_t remaining_ = 0;  // data bytes left in the current chunk
    std::uint64_t total_ = 0;
    std::size_t digits_ = 0;
    std::size_t ext_bytes_ = 0;
    std::size_t trailer_bytes_ = 0;
    std::string line_;  // a trailer line split across inputs
    headers trailers_;
};

}  // namespace corvid::h1
