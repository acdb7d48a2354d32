#pragma once

// A sans-I/O WebSocket framing codec (RFC 6455), one class for both roles:
// role::client masks every frame it sends with a fresh random key and
// requires unmasked frames from the server; role::server the reverse. It
// never touches a socket, a clock, a thread or the OS's random source: the
// masking key comes from a random_fill callback the caller passes in
// (production code: BoringSSL's RAND_bytes; tests: something deterministic).
//
// Driving loop:
//
//     std::span<std::uint8_t> in = bytes_from_peer;    // mutable: unmasked in place
//     while (!in.empty()) {
//         std::error_code ec;
//         std::size_t n = c.receive(in, ec);           // stops after one event
//         while (auto e = c.next_event()) handle(*e);
//         if (ec) break;                               // connection failed
//         if (n == 0) break;                           // closing: input refused
//         in = in.subspan(n);
//     }
//     write(c.pending_output()); c.consume_output(bytes written);
//     if (c.closed() && c.pending_output().empty()) close the TCP connection
//
// Input: receive() parses at most up to and including the next event, then
// returns the number of bytes it used. While an event is waiting it takes
// nothing (returns 0); pull it with next_event() first. Payload bytes of
// masked frames are unmasked in place in the caller's buffer, 8 bytes at a
// time, and data events view them there: nothing is copied. Frame headers
// (at most 14 bytes) and control payloads (at most 125 bytes) are the only
// input the codec buffers, so its memory is bounded whatever the peer sends.
//
// Events (next_event()):
// - data_event: a chunk of a text or binary message, as it arrives. A frame
//   split over several receive() calls gives several chunks; an empty frame
//   gives one empty chunk. `first` marks the message's first chunk, `fin`
//   its last one; `rsv1` is RSV1 of the message's first frame (for
//   permessage-deflate: the caller inflates). message_collector assembles
//   whole messages from these.
// - ping_event: the payload of a ping. The pong is queued automatically (if
//   several pings arrive before the output is pulled, only the last one is
//   answered, as RFC 6455 5.5.3 allows).
// - pong_event: the payload of a pong.
// - close_event: the peer's close code (1005 if it sent none) and reason.
//   If no close was sent yet, a close echoing the code (or an empty close
//   for 1005) is queued automatically. After a close the codec takes no
//   more input (receive() returns 0).
//
// Lifetimes: data_event::data views the buffer passed to the receive() call
// that produced it and is valid as long as the caller keeps that buffer.
// The other events own their bytes. pending_output()'s view is valid until
// the next pending_output() or consume_output(); receive(), next_event() and
// the send_*() calls leave it alone (new frames wait in a second buffer
// that the next pending_output() hands out once the current view is fully
// consumed), so a write of that view may be in flight while input is fed and
// more is sent.
//
// Limits (codec_limits; every size the peer controls):
// - max_frame_payload: a frame whose length field says more fails with
//   frame_too_large (close 1009), as soon as the header is read.
// - max_message_size: a message whose frames add up to more fails with
//   message_too_large (close 1009), at the header of the frame that crosses it.
// - control frames: payload at most 125 bytes (control_frame_too_long).
// - output: pongs are coalesced into one slot and the close goes out once,
//   so a peer cannot grow the output; what the caller sends is its own to
//   bound (buffered_output() says how much is waiting).
//
// Errors on input (std::error_code with corvid::websocket_errc, close code
// from close_code_for()): reserved_bits, reserved_opcode,
// unmasked_client_frame, masked_server_frame, control_frame_too_long,
// fragmented_control_frame, unexpected_continuation, expected_continuation,
// non_minimal_length, length_too_large, bad_close_payload,
// invalid_close_code, invalid_utf8 (1007; a text chunk is checked before it
// is reported, so invalid text is never delivered), frame_too_large,
// message_too_large (1009); with rsv1 allowed also compressed_control_frame
// and rsv1_on_continuation. Every one of them is fatal: receive() returns
// it, error() keeps it, a close frame with close_code_for(err) is queued
// (unless a close was already sent), and every later receive() returns the
// same error and takes nothing. Text of a message with RSV1 set is not
// checked (it is compressed); the caller checks it after inflating.
//
// Errors on sending (the call is refused, the codec is unchanged):
// - closed: a close was sent, or the codec failed.
// - expected_continuation: begin_message()/send_message() while a
//   fragmented message is unfinished (control frames may be sent any time).
// - unexpected_continuation: continue_message()/end_message() with no
//   message begun.
// - reserved_bits: rsv1 requested while rsv1_allowed is false.
// - control_frame_too_long: a ping or pong payload over 125 bytes, a close
//   reason over 123 bytes.
// - invalid_close_code: a close code that may not be sent (below 1000,
//   1004-1006, 1015, 1016-2999, 5000 and above).
// - invalid_utf8: a close reason that is not UTF-8.
// The payload of outgoing text messages is not validated: it is the
// caller's (it may be compressed).
//
// @par Thread Safety
// Distinct objects: safe. Shared objects: unsafe. A codec is used by one
// thread at a time.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "corvid/error.hpp"
#include "proto/ws/utf8.hpp"

namespace corvid::ws {

enum class role { client, server };

/// Frame opcodes (RFC 6455 5.2). Other values are reserved.
enum class opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

/// The two kinds of data message.
enum class message_type : std::uint8_t {
    text = 0x1,
    binary = 0x2,
};

/// Close codes with a name (RFC 6455 7.4.1).
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t no_status = 1005;  ///< never on the wire: "no code"
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
}  // namespace close_code

/// True if `code` may appear in a close frame: 1000-1003, 1007-1014 and
/// 3000-4999.
bool is_valid_close_code(std::uint16_t code) noexcept;

struct codec_limits {
    std::uint64_t max_frame_payload = 16u << 20;  ///< 16 MiB per frame
    std::uint64_t max_message_size = 64u << 20;   ///< 64 MiB per message
};

/// Fills the span with cryptographically random bytes (masking keys).
using random_fill = std::function<void(std::span<std::uint8_t>)>;

struct data_event {
    message_type type = message_type::binary;
    bool first = false;                  ///< the first chunk of the message
    bool fin = false;                    ///< the last chunk of the message
    bool rsv1 = false;                   ///< RSV1 of the message's first frame (compressed)
    std::span<const std::uint8_t> data;  ///< views the receive() buffer
    /// Payload bytes of this chunk's frame still to come after it (a hint
    /// for sizing the message's buffer; later frames may add more).
    std::uint64_t frame_rest = 0;
};
struct ping_event {
    std::string payload;
};
struct pong_event {
    std::string payload;
};
struct close_event {
    std::uint16_t code = close_code::no_status;  ///< 1005 if the frame had no code
    std::string reason;                          ///< valid UTF-8, at most 123 bytes
};
using event = std::variant<data_event, ping_event, pong_event, close_event>;

class codec {
  public:
    /// `fill` must not be empty for role::client (std::abort() otherwise);
    /// role::server never calls it. `rsv1_allowed`: accept and send RSV1 on
    /// the first frame of a data message (set when permessage-deflate is
    /// negotiated).
    codec(role r, random_fill fill, codec_limits limits = {}, bool rsv1_allowed = false);

    codec(codec&&) = default;
    codec& operator=(codec&&) = default;

    role get_role() const noexcept { return role_; }
    void set_rsv1_allowed(bool allowed) noexcept { rsv1_allowed_ = allowed; }
    bool rsv1_allowed() const noexcept { return rsv1_allowed_; }
    const codec_limits& limits() const noexcept { return limits_; }

    // ------------------------------------------------------------- input

    /// Parses bytes from the peer up to and including the next event (see
    /// the header comment). Returns the bytes used; unmasks them in place.
    /// Sets `ec` (and returns the bytes used before the fault) on a protocol
    /// error. Returns 0 while an event waits, after a close was received,
    /// and after an error (then `ec` is that error again).
    std::size_t receive(std::span<std::uint8_t> in, std::error_code& ec);

    /// The waiting event, if any (at most one waits at a time).
    std::optional<event> next_event();
    /// The waiting event in place, without moving it out (nullptr when
    /// none): valid until drop_event(), next_event() or receive(). For a
    /// caller that only reads it (a data chunk): drop_event() then clears it.
    event* peek_event() noexcept { return event_ ? &*event_ : nullptr; }
    void drop_event() noexcept { event_.reset(); }

    /// The protocol error that failed the codec, if any.
    std::error_code error() const noexcept { return error_; }

    // ------------------------------------------------------------- output

    /// A whole message in one frame.
    std::error_code send_message(message_type type, std::span<const std::uint8_t> payload,
                                 bool rsv1 = false);
    std::error_code send_text(std::string_view text) {
        return send_message(message_type::text, as_bytes(text));
    }
    std::error_code send_binary(std::span<const std::uint8_t> data) {
        return send_message(message_type::binary, data);
    }
    /// A fragmented message: begin_message() sends the first frame (FIN
    /// clear), continue_message() more frames, end_message() the last one.
    /// Control frames may be sent in between.
    std::error_code begin_message(message_type type, std::span<const std::uint8_t> payload,
                                  bool rsv1 = false);
    std::error_code continue_message(std::span<const std::uint8_t> payload);
    std::error_code end_message(std::span<const std::uint8_t> payload);

    std::error_code send_ping(std::span<const std::uint8_t> payload = {});
    std::error_code send_pong(std::span<const std::uint8_t> payload = {});
    /// Starts the close handshake; code close_code::no_status sends a close
    /// without a code (and `reason` must be empty). Afterwards nothing more
    /// can be sent; input is still parsed until the peer's close.
    std::error_code send_close(std::uint16_t code = close_code::normal,
                               std::string_view reason = {});

    /// Bytes ready to go, whole frames only: the unconsumed rest of the
    /// batch returned last, or (once that is consumed) every frame queued
    /// since (an owed pong after them). Loop until it is empty. See Lifetimes.
    std::span<const std::uint8_t> pending_output();
    /// Marks the first `n` bytes of pending_output() as written.
    void consume_output(std::size_t n) noexcept;
    /// Copies as much output as fits into `buf` and consumes it; returns
    /// the bytes copied.
    std::size_t write_output(std::span<std::uint8_t> buf);
    /// Bytes queued and not yet consumed.
    std::size_t buffered_output() const noexcept;

    // ------------------------------------------------------------- state

    bool close_sent() const noexcept { return close_sent_; }
    bool close_received() const noexcept { return close_received_; }
    /// Both closes exchanged, or the codec failed: once the output is
    /// written, the connection can be closed.
    bool closed() const noexcept { return (close_sent_ && close_received_) || error_; }

    static std::span<const std::uint8_t> as_bytes(std::string_view s) noexcept {
        return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
    }

  private:
    std::size_t fail(websocket_errc e, std::size_t used, std::error_code& ec);
    std::error_code check_first_two() const;
    std::uint64_t header_length() const noexcept;
    std::error_code check_length() const;
    void finish_header();
    std::error_code finish_control();
    std::error_code emit_data(std::span<std::uint8_t> chunk);
    std::error_code send_data_frame(opcode op, bool fin, bool rsv1,
                                    std::span<const std::uint8_t> payload);
    void append_frame(opcode op, bool fin, bool rsv1, std::span<const std::uint8_t> payload);
    void queue_close(std::uint16_t code, std::string_view reason);
    void flush_pong();

    role role_;
    random_fill random_;
    codec_limits limits_;
    bool rsv1_allowed_ = false;

    // Parser.
    std::uint8_t hdr_[14] = {};
    std::size_t hdr_len_ = 0;
    std::size_t hdr_need_ = 2;     // header bytes this frame needs
    std::size_t hdr_len_end_ = 0;  // header bytes up to the end of the length
    bool in_payload_ = false;
    bool frame_fin_ = false;
    opcode frame_op_ = opcode::continuation;
    bool frame_masked_ = false;
    std::uint8_t key_[4] = {};
    std::uint64_t frame_remaining_ = 0;
    std::uint64_t frame_offset_ = 0;
    bool in_message_ = false;  // a fragmented message is being received
    bool msg_first_pending_ = false;
    message_type msg_type_ = message_type::binary;
    bool msg_rsv1_ = false;
    std::uint64_t msg_size_ = 0;
    utf8_validator utf8_;
    std::string control_;  // payload of the control frame being received
    std::optional<event> event_;
    std::error_code error_;

    // Serializer.
    bool sending_message_ = false;
    bool close_sent_ = false;
    bool close_received_ = false;
    std::optional<std::string> pong_;  // latest unanswered ping
    std::vector<std::uint8_t> out_;    // the view pending_output() returned
    std::size_t out_pos_ = 0;
    std::vector<std::uint8_t> staging_;  // frames queued since
};

/// Unmasks (or masks) `data` in place with `key`, starting at byte `offset`
/// of the payload (key index offset % 4). Works 8 bytes at a time.
void apply_mask(std::span<std::uint8_t> data, const std::uint8_t (&key)[4],
                std::uint64_t offset) noexcept;

/// Assembles whole messages from data_events, up to a size limit (the
/// codec's max_message_size already bounds it; this is for callers who set
/// a smaller one). add() returns true when the message is complete.
class message_collector {
  public:
    explicit message_collector(std::uint64_t max_size = 64u << 20) : max_size_(max_size) {}
    /// Adds a chunk; returns true if it ended the message (then message(),
    /// type() and rsv1() describe it until the next add()). Sets `ec` to
    /// message_too_large if the message outgrows max_size.
    bool add(const data_event& e, std::error_code& ec);
    const std::string& message() const noexcept { return data_; }
    std::string take() noexcept { return std::move(data_); }
    message_type type() const noexcept { return type_; }
    bool rsv1() const noexcept { return rsv1_; }

  private:
    std::uint64_t max_size_;
    std::string data_;
    message_type type_ = message_type::binary;
    bool rsv1_ = false;
    bool done_ = false;
};

}  // namespace corvid::ws
