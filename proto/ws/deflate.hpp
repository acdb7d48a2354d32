#pragma once

// corvid::ws permessage-deflate (RFC 7692), sans-I/O: the extension's
// negotiation (Sec-WebSocket-Extensions, both roles) and its per-message
// compressor and decompressor on zlib raw deflate.
//
// The frame codec (proto/ws/frame.hpp) owns RSV1: it tells the caller whether
// a message's first frame had RSV1 set and hands over the payload in chunks.
// A message with RSV1 set goes through an `inflater`; a message to send goes
// through a `deflater` when `deflater::should_compress` says so, and its first
// frame then carries RSV1. `check_rsv1` holds the frame-level rules.
//
// zlib and the 8-bit window. zlib (since 1.2.9; Debian's is 1.2.13) refuses
// deflateInit2 with a raw window of 8 bits (Z_STREAM_ERROR); before 1.2.9 it
// silently used 9. A deflater asked for 8 bits initialises zlib with 9, as
// Node.js and Bun do: zlib never emits a distance above 2^bits - 262
// (MIN_LOOKAHEAD), so a 9-bit zlib stream refers back at most 250 bytes and
// is valid for a peer whose inflater has a 256-byte window (tested against
// Python's zlib inflating with wbits=-8). An inflater asked for 8 bits uses 9
// as well (zlib inflates with a larger window than the sender's without
// harm; 9 also takes streams from peers whose zlib turned 8 into 9).
//
// Thread safety: every type here is a plain value or a single-owner object;
// distinct objects may be used on distinct threads, one object on one thread
// at a time.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "corvid/result.hpp"

namespace corvid::ws {

// ---------------------------------------------------------------------------
// Sec-WebSocket-Extensions (RFC 6455 section 9.1)

/// One `name[=value]` parameter of an extension; a quoted-string value is
/// stored unquoted and unescaped (it must then be a token, RFC 6455 9.1).
struct extension_param {
    std::string name;
    std::optional<std::string> value;
    friend bool operator==(const extension_param&, const extension_param&) = default;
};

/// One comma-separated element of the header: an extension token and its
/// parameters in order (duplicates kept; the extension decides).
struct extension_offer {
    std::string name;
    std::vector<extension_param> params;
    friend bool operator==(const extension_offer&, const extension_offer&) = default;
};

/// Limits on a header value a peer sends (each refusal: bad_extension_offer).
struct extension_header_limits {
    std::size_t max_bytes = 4096;     ///< the whole header value
    std::size_t max_extensions = 16;  ///< comma-separated elements
    std::size_t max_params = 16;      ///< parameters of one element
};

/// Parses a Sec-WebSocket-Extensions value (several header lines joined with
/// ", " by the caller) into its elements, in order:
///   extension-list = 1#( token *( OWS ";" OWS token [ "=" (token / quoted-string) ] ) )
/// Names are tokens (RFC 9110), compared case-insensitively by the functions
/// below but stored as received. Empty list elements (", ,") are skipped as
/// RFC 9110 section 5.6.1 allows; an all-empty value gives an empty vector.
/// BWS around "=" is accepted.
/// Errors: websocket_errc::bad_extension_offer for anything outside the
/// grammar or over `limits`.
result<std::vector<extension_offer>> parse_extensions(std::string_view header,
                                                      const extension_header_limits& limits = {});

// ---------------------------------------------------------------------------
// permessage-deflate negotiation (RFC 7692 section 7)

/// Which end of the connection we are.
enum class deflate_side { client, server };

/// What a client offers (and later holds the response against).
struct deflate_offer {
    bool server_no_context_takeover = false;  ///< ask the server to reset per message
    bool client_no_context_takeover = false;  ///< announce that we reset per message
    /// Ask the server to deflate with at most this many bits (8..15).
    std::optional<int> server_max_window_bits;
    /// Send client_max_window_bits: we can deflate with a window the server
    /// chooses. With `client_max_window_bits` set, the parameter carries that
    /// value (8..15) and we will use at most it even if the server says less.
    bool offer_client_max_window_bits = true;
    std::optional<int> client_max_window_bits;
};

/// The configuration both ends use once negotiated. Window bits are 8..15.
struct deflate_agreement {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    int server_max_window_bits = 15;
    int client_max_window_bits = 15;
    /// The response names server_max_window_bits: always below 15, and at 15
    /// when the offer named it (RFC 7692 section 7.1.2.1 requires the echo).
    bool echo_server_max_window_bits = false;
    friend bool operator==(const deflate_agreement&, const deflate_agreement&) = default;
};

/// What a server accepts.
struct deflate_server_config {
    /// Reset our compressor after each message even if the client did not ask.
    bool server_no_context_takeover = false;
    /// Ask the client to reset its compressor after each message.
    bool client_no_context_takeover = false;
    /// The largest window we deflate with (8..15); below the client's ask wins.
    int server_max_window_bits = 15;
    /// The largest window we ask the client to deflate with (8..15), applied
    /// only when the client offered client_max_window_bits (RFC 7692 7.1.2.2).
    int client_max_window_bits = 15;
};

/// The client's header value, e.g. `permessage-deflate; client_max_window_bits`.
/// Preconditions: window bits, when set, are in 8..15.
std::string format_offer(const deflate_offer& offer);

/// Server side: the first permessage-deflate element of `offers` that is
/// valid (RFC 7692 section 7.1: known parameters, each at most once, valid
/// values) and acceptable under `config`; nullopt when there is none (the
/// server then answers without the extension). Elements of other extensions
/// are skipped.
std::optional<deflate_agreement> accept(const std::vector<extension_offer>& offers,
                                        const deflate_server_config& config = {});

/// Server side: the response header value for `agreement`
/// (e.g. `permessage-deflate; server_max_window_bits=10`). It names
/// client_max_window_bits only below 15, which `accept` only agrees to when
/// the client offered it.
std::string format_response(const deflate_agreement& agreement);

/// Client side: checks the server's Sec-WebSocket-Extensions value against
/// what we offered. An empty (or all-blank) value gives nullopt: the server
/// declined and messages go uncompressed.
/// Errors:
/// - bad_extension_offer: the value does not parse, or a parameter is
///   duplicated or has an invalid value (window bits not a decimal 8..15
///   without leading zeros; a value on a *_no_context_takeover).
/// - handshake_extension: the response names an extension other than
///   permessage-deflate or names it twice, has a parameter unknown to
///   RFC 7692, client_max_window_bits when we did not offer it (or above the
///   value we offered, or without a value), server_max_window_bits missing or
///   above what we asked, or lacks server_no_context_takeover when we asked
///   for it.
result<std::optional<deflate_agreement>> validate_response(std::string_view header,
                                                           const deflate_offer& offered);

// ---------------------------------------------------------------------------
// RSV1 rules for the frame codec (RFC 7692 section 6)

/// std::error_code{} when a frame may carry `rsv1`, else
/// compressed_control_frame (RSV1 on a control frame), rsv1_on_continuation
/// (RSV1 on a continuation frame) or reserved_bits (RSV1 without the
/// extension negotiated).
std::error_code check_rsv1(bool rsv1, bool is_control, bool is_continuation,
                           bool deflate_negotiated) noexcept;

// ---------------------------------------------------------------------------
// Codec

/// One direction's compressor settings.
struct deflater_options {
    int window_bits = 15;              ///< 8..15 (8 deflates with zlib's 9, see above)
    bool no_context_takeover = false;  ///< reset after each message
    int level = 6;                     ///< zlib level 0..9 (or -1, zlib's default)
    int mem_level = 8;                 ///< zlib memLevel 1..9
    /// Messages smaller than this many bytes are sent uncompressed (RSV1 clear).
    std::size_t compression_threshold = 128;
};

/// One direction's decompressor settings.
struct inflater_options {
    int window_bits = 15;              ///< 8..15 (8 inflates with 9, see above)
    bool no_context_takeover = false;  ///< reset after each message
    /// The largest inflated message accepted (> 0); inflated_too_large beyond.
    std::size_t max_message_size = 16 * 1024 * 1024;
};

/// The compressor options for the direction we send in, per `agreement`
/// (window bits and context takeover of our side); level, memLevel and
/// threshold are taken from `base`.
deflater_options sending_options(const deflate_agreement& agreement, deflate_side we_are,
                                 const deflater_options& base = {});
/// The decompressor options for the direction we receive in, per `agreement`;
/// max_message_size is taken from `base`.
inflater_options receiving_options(const deflate_agreement& agreement, deflate_side we_are,
                                   const inflater_options& base = {});

/// Compresses messages to send. Owns a zlib stream (a few hundred KiB at
/// window 15, memLevel 8). Movable, not copyable.
class deflater {
  public:
    /// Errors: std::errc::invalid_argument for options out of range,
    /// std::errc::not_enough_memory when zlib cannot allocate.
    static result<deflater> create(const deflater_options& options);

    deflater(deflater&&) noexcept;
    deflater& operator=(deflater&&) noexcept;
    ~deflater();

    /// Whether a message of `size` bytes should be compressed (size reaches
    /// the compression threshold).
    bool should_compress(std::size_t size) const noexcept;

    /// Compresses one piece of a message and appends the output to `out`.
    /// Pass `fin` with the last piece (possibly empty): the output is then
    /// flushed (Z_SYNC_FLUSH) and its trailing 00 00 ff ff removed, so the
    /// concatenated output is the message's payload (an empty message gives
    /// the single byte 00). With no_context_takeover the stream is reset
    /// after the last piece. Errors: std::errc::io_error if zlib fails (the
    /// deflater is then unusable).
    result<void> compress(std::span<const std::uint8_t> input, bool fin,
                          std::vector<std::uint8_t>& out);

  private:
    struct impl;
    explicit deflater(std::unique_ptr<impl> p) noexcept;
    std::unique_ptr<impl> impl_;
};

/// Decompresses received messages, in chunks as the frame codec delivers
/// them. Movable, not copyable.
class inflater {
  public:
    /// Errors: std::errc::invalid_argument for options out of range (window
    /// bits, a zero max_message_size), std::errc::not_enough_memory.
    static result<inflater> create(const inflater_options& options);

    inflater(inflater&&) noexcept;
    inflater& operator=(inflater&&) noexcept;
    ~inflater();

    /// Inflates one chunk of a compressed message's payload and appends the
    /// output to `out`; `fin` marks the message's last chunk (possibly empty),
    /// after which the 00 00 ff ff tail is supplied and the next call starts
    /// a new message. The message's inflated size is checked while inflating:
    /// `out` never grows by more than max_message_size over a message, and
    /// its capacity only up to what that needs.
    /// Errors (the inflater is then unusable and returns the same error):
    /// - inflate_failed: invalid deflate data, a dictionary request, data
    ///   after a final (BFINAL) block, or a message whose data (with the
    ///   tail) does not end at a block boundary (cut short).
    /// An empty payload (not valid DEFLATE once the tail is appended; RFC
    /// 7692 7.2.3.6 has senders send 00) is taken as an empty message and
    /// leaves the stream as it was.
    /// - inflated_too_large: the message inflates past max_message_size.
    result<void> inflate(std::span<const std::uint8_t> chunk, bool fin,
                         std::vector<std::uint8_t>& out);

    /// Inflated bytes of the current message so far.
    std::size_t message_size() const noexcept;

  private:
    struct impl;
    explicit inflater(std::unique_ptr<impl> p) noexcept;
    std::unique_ptr<impl> impl_;
};

}  // namespace corvid::ws
