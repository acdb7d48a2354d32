#pragma once

// An observer of the CLIENT side of an HTTP/2 connection: it decodes the
// bytes a client sends (the 24-byte connection preface, then frames) into a
// log of what shapes the client's HTTP/2 fingerprint, for
// `corvid fingerprint`. Sans-I/O: feed() takes chunks of any size, as they
// come off a socket or out of a capture; nothing is sent back. It is not an
// HTTP/2 endpoint: it checks framing (lengths, CONTINUATION sequencing) and
// decodes HPACK, but keeps no stream states and does not enforce flow control.
//
// Recorded, in wire order:
//   - every frame's header (type, flags, stream id, payload length);
//   - the entries of the first SETTINGS frame that is not an ACK;
//   - WINDOW_UPDATE increments on stream 0 and on streams;
//   - PRIORITY frames, and the priority fields of HEADERS frames;
//   - each header block (HEADERS plus CONTINUATION frames), decoded with
//     nghttp2's HPACK inflater, fields in wire order, pseudo-headers included.
//
// akamai_string() turns the log into the Akamai HTTP/2 fingerprint (Shuster
// and Segal, "Passive Fingerprinting of HTTP/2 Clients", Black Hat EU 2017):
//
//     SETTINGS|WINDOW_UPDATE|PRIORITY|PSEUDO_HEADER_ORDER
//
//   SETTINGS       "id:value" of the first non-ACK SETTINGS frame, in order,
//                  joined by ';' (empty when no SETTINGS was seen);
//   WINDOW_UPDATE  the increment of the first WINDOW_UPDATE on stream 0, in
//                  decimal; "00" when there was none (the paper's marker);
//   PRIORITY       every PRIORITY frame as "stream:exclusive:dependency:weight"
//                  joined by ',', exclusive 0 or 1 and weight 1..256 (the wire
//                  value plus one, as the paper prints it); "0" when none.
//                  Priority fields inside HEADERS frames are not part of it;
//   PSEUDO_HEADER_ORDER  the pseudo-headers of the first header block, as
//                  their first letter after ':' (m, a, s, p), joined by ',';
//                  other pseudo-headers (:protocol, :status) are left out.
// Chromium 156 gives 1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p.
//
// Limits (frame_log_limits), every one over bytes the observed client controls:
//   - max_frames: frames recorded. When reached, the log is marked
//     `truncated` and decoding stops; later bytes are ignored (the
//     fingerprint lives in the first frames). Not an error.
//   - max_buffered_payload: the largest payload of a frame that is buffered
//     for decoding (SETTINGS, WINDOW_UPDATE, PRIORITY, HEADERS,
//     CONTINUATION); other frames are skipped without buffering whatever
//     their length. Larger: http2_errc::frame_size_error.
//   - max_header_block: compressed bytes of one header block over all its
//     frames; max_header_list: decoded bytes of one block (name + value + 32
//     per field, as SETTINGS_MAX_HEADER_LIST_SIZE counts). Larger:
//     http2_errc::header_list_too_large.
//   - header_table_size: the HPACK dynamic table size the decoder allows
//     (the observed server's SETTINGS_HEADER_TABLE_SIZE; 4096 by default).
//
// Errors from feed() (http2_errc; all final, later feed() calls return the
// same error and consume nothing):
//   bad_preface        the first 24 bytes are not the client preface;
//   frame_size_error   SETTINGS not a multiple of 6 (or an ACK with a
//                      payload), WINDOW_UPDATE not 4, PRIORITY not 5 bytes,
//                      padding or priority fields longer than the frame,
//                      or a frame over max_buffered_payload;
//   protocol_error     SETTINGS/WINDOW_UPDATE(connection) on a stream, HEADERS,
//                      PRIORITY or CONTINUATION on stream 0, a frame other
//                      than CONTINUATION (or a CONTINUATION on another
//                      stream) inside a header block, a CONTINUATION outside
//                      one, a zero WINDOW_UPDATE increment;
//   compression_error  HPACK data nghttp2 cannot decode;
//   header_list_too_large  max_header_block or max_header_list exceeded;
//   internal_error     the inflater could not be allocated.
//
// @par Thread Safety
// Distinct objects: safe. Shared objects: unsafe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "corvid/error.hpp"

struct nghttp2_hd_inflater;

namespace corvid::h2 {

/// Frame type codes (RFC 9113 section 6).
namespace frame_type {
inline constexpr std::uint8_t data = 0x0;
inline constexpr std::uint8_t headers = 0x1;
inline constexpr std::uint8_t priority = 0x2;
inline constexpr std::uint8_t rst_stream = 0x3;
inline constexpr std::uint8_t settings = 0x4;
inline constexpr std::uint8_t push_promise = 0x5;
inline constexpr std::uint8_t ping = 0x6;
inline constexpr std::uint8_t goaway = 0x7;
inline constexpr std::uint8_t window_update = 0x8;
inline constexpr std::uint8_t continuation = 0x9;
}  // namespace frame_type

struct frame_record {
    std::uint8_t type = 0;
    std::uint8_t flags = 0;
    std::uint32_t stream_id = 0;
    std::uint32_t length = 0;  ///< payload length from the frame header
};

struct setting_entry {
    std::uint16_t id = 0;
    std::uint32_t value = 0;
};

/// RFC 7540 priority fields, with the weight as 1..256 (wire value + 1).
struct priority_fields {
    bool exclusive = false;
    std::uint32_t dependency = 0;
    std::uint16_t weight = 16;
};

struct priority_record {
    std::uint32_t stream_id = 0;
    priority_fields priority;
};

struct window_update_record {
    std::uint32_t stream_id = 0;
    std::uint32_t increment = 0;
};

/// One header block: a HEADERS frame and its CONTINUATION frames.
struct header_block_record {
    std::uint32_t stream_id = 0;
    bool end_stream = false;
    std::optional<priority_fields> priority;  ///< when HEADERS had the PRIORITY flag
    std::vector<std::pair<std::string, std::string>> fields;  ///< wire order
};

struct frame_log {
    bool preface_seen = false;
    std::vector<frame_record> frames;
    /// The first non-ACK SETTINGS frame's entries; nullopt if none yet.
    std::optional<std::vector<setting_entry>> settings;
    std::vector<std::uint32_t> connection_window_updates;     ///< stream 0 increments
    std::vector<window_update_record> stream_window_updates;  ///< per-stream increments
    std::vector<priority_record> priority_frames;
    std::vector<header_block_record> header_blocks;
    /// max_frames was reached: later frames were not decoded.
    bool truncated = false;
};

struct frame_log_limits {
    std::size_t max_frames = 1000;
    std::size_t max_buffered_payload = 16384;
    std::size_t max_header_block = 64 * 1024;
    std::size_t max_header_list = 256 * 1024;
    std::size_t header_table_size = 4096;
};

/// The decoder. Movable, not copyable (it owns an HPACK inflater).
class frame_log_decoder {
  public:
    explicit frame_log_decoder(const frame_log_limits& limits = {});
    ~frame_log_decoder();
    frame_log_decoder(frame_log_decoder&&) noexcept;
    frame_log_decoder& operator=(frame_log_decoder&&) noexcept;
    frame_log_decoder(const frame_log_decoder&) = delete;
    frame_log_decoder& operator=(const frame_log_decoder&) = delete;

    /// Decode the next bytes the client sent. Returns the error that ended
    /// decoding (see the file comment), now or earlier; success otherwise,
    /// including after truncation (the bytes are then ignored).
    std::error_code feed(std::span<const std::uint8_t> bytes);
    std::error_code feed(std::string_view bytes);

    /// What was decoded so far (also after an error: the frames before it).
    const frame_log& log() const noexcept { return log_; }
    /// True while a frame or header block is incomplete (the input so far
    /// ended inside it).
    bool mid_frame() const noexcept;
    std::error_code error() const noexcept { return error_; }

  private:
    std::error_code on_frame();
    std::error_code decode_header_fragment(std::span<const std::uint8_t> fragment, bool last);
    void reset_inflater();

    struct inflater_deleter {
        void operator()(nghttp2_hd_inflater* p) const noexcept;
    };

    frame_log_limits limits_;
    frame_log log_;
    std::error_code error_;
    std::unique_ptr<nghttp2_hd_inflater, inflater_deleter> inflater_;

    std::size_t preface_matched_ = 0;
    // The frame being read: header bytes, then payload (buffered or skipped).
    std::uint8_t header_[9] = {};
    std::size_t header_have_ = 0;
    frame_record current_;
    bool buffer_payload_ = false;
    std::vector<std::uint8_t> payload_;
    std::size_t payload_left_ = 0;
    // The header block being assembled: HEADERS seen, END_HEADERS not yet.
    bool in_header_block_ = false;
    std::size_t header_block_bytes_ = 0;
    std::size_t header_list_bytes_ = 0;
};

/// The Akamai HTTP/2 fingerprint of the log (see the file comment).
std::string akamai_string(const frame_log& log);

}  // namespace corvid::h2
