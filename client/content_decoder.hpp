#pragma once

// Streaming decoders for the HTTP content codings (RFC 9110 section 8.4):
// gzip, deflate, br and zstd, stacked as a Content-Encoding list says.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "corvid/result.hpp"

namespace corvid::detail {

/// Decodes a response body encoded with one or more content codings.
///
/// Bytes go in as they arrive off the wire, in any split; decoded bytes are
/// appended to a caller-owned string. Each library call produces at most
/// `content_decoder::step_size` bytes into a buffer the decoder reuses, and the
/// output limit is checked after every step, so a small compressed input never
/// makes the decoder allocate more than about `max_output` plus one step
/// (per stacked coding) before it stops with client_errc::decoded_too_large.
///
/// Choices where the specifications leave room (made to match curl and the
/// browsers, which is what servers are tested against):
/// - gzip: concatenated members (RFC 1952 section 2.2) are decoded one after
///   the other. Bytes after a member that do not start another member (the
///   1f 8b magic) are ignored, as zcat and browsers ignore trailing padding.
/// - deflate: RFC 9110 means the zlib format (RFC 1950), but some servers send
///   raw deflate (RFC 1951). The first two bytes decide: a valid zlib header
///   selects zlib, anything else raw deflate. A zlib stream that asks for a
///   preset dictionary is refused (decode_failed).
/// - gzip, deflate, br: bytes after the end of the compressed stream are
///   ignored. zstd: several frames (and skippable frames) are decoded in
///   sequence; anything else after a frame is decode_failed.
/// - zstd: windows larger than 8 MiB (window log 23) are refused with
///   decode_failed, as RFC 9659 requires of the "zstd" coding; this bounds the
///   decoder's memory whatever the peer sends. br windows are at most 16 MiB
///   by its format (large windows are not enabled).
/// - An empty body (no bytes at all before finish()) decodes to an empty body
///   for every coding: servers send Content-Encoding on empty 200s.
/// - At most `max_codings` codings other than identity may be stacked (5 by
///   default, as curl allows): each one holds a decompressor state.
/// - With stacked codings, the intermediate stages are limited too, to
///   `max_output` plus 1/8 plus 64 KiB (compressed data can be slightly larger
///   than what it compresses), so a stack cannot spin on an unbounded
///   intermediate stream that decodes to nothing.
///
/// After any error the decoder stays failed: every later call returns the
/// same error. The string passed to decode()/finish() may then hold partial
/// output.
///
/// @par Thread Safety
/// Not thread-safe; one decoder per response body.
class content_decoder {
  public:
    /// Bytes one library call may produce before the limit is checked.
    static constexpr std::size_t step_size = 64 * 1024;
    /// Default bound on the number of stacked codings.
    static constexpr std::size_t default_max_codings = 5;

    virtual ~content_decoder() = default;

    /// Builds the decoder chain for a Content-Encoding value: "gzip",
    /// "x-gzip", "deflate", "br", "zstd", "identity" (names compare
    /// case-insensitively), and comma-separated lists, applied in reverse
    /// order of listing as RFC 9110 says ("gzip, br" is decoded br first).
    /// Empty list elements are ignored; an empty value means identity.
    ///
    /// `max_output` bounds the total decoded bytes across all calls
    /// (decompression bomb guard).
    ///
    /// Errors: client_errc::unsupported_encoding for an unknown coding or more
    /// than `max_codings` stacked codings.
    static result<std::unique_ptr<content_decoder>> create(
        std::string_view content_encoding, std::uint64_t max_output,
        std::size_t max_codings = default_max_codings);

    /// Decodes `in` (any split of the body), appending output to `out`.
    /// Errors: client_errc::decode_failed for corrupt data,
    /// client_errc::decoded_too_large when the output would exceed the limit.
    virtual std::error_code decode(std::string_view in, std::string& out) = 0;

    /// Signals the end of the body and appends any remaining output.
    /// Errors: client_errc::decode_failed if the compressed stream is
    /// truncated; client_errc::decoded_too_large as for decode().
    virtual std::error_code finish(std::string& out) = 0;
};

}  // namespace corvid::detail
