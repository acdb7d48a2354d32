#pragma once

// A sans-I/O HTTP/2 codec on nghttp2 1.52, for both roles: client_session
// sends requests and receives responses, server_session receives requests and
// sends responses. Neither touches a socket, a clock or a thread; the caller
// moves bytes, and nghttp2's own rate limiter for RST_STREAM is the only thing
// inside that reads a (monotonic) clock.
//
// Driving loop (the same for both roles):
//
//     s.receive(bytes_from_peer)        -> std::error_code (fatal: connection over)
//     while (auto e = s.next_event())  -> handle; for data events call
//                                         s.consume(id, n) once the bytes are used
//     write(s.pending_output()); s.consume_output(bytes written);
//     if (!s.want_read() && !s.want_write()) close the connection
//
// Output is pulled: pending_output() serialises every frame nghttp2 has queued
// (HEADERS, DATA within flow control, SETTINGS/PING ACKs, WINDOW_UPDATE,
// RST_STREAM, GOAWAY) into one contiguous buffer, up to
// session_limits::output_buffer_limit, and returns all unsent bytes, so one
// write carries many frames. DATA is written from the stream's send buffer
// straight into that buffer (nghttp2's NGHTTP2_DATA_FLAG_NO_COPY), so a body
// byte is copied once by submit_data(std::string_view) and once into the
// output, and never by nghttp2.
//
// Events are pulled too and are plain values; no user code ever runs inside
// an nghttp2 callback, and no exception crosses one (an allocation failure in
// a callback becomes http2_errc::internal_error).
//
// Lifetimes:
// - data_event::data views the bytes passed to the receive() call that
//   produced it, and is valid until the caller releases those bytes. Pull
//   every event before the next receive(): receive() refuses to run while
//   a data_event of an earlier call is still queued
//   (http2_errc::events_pending), so a view can never outlive the call that
//   filled the queue without the caller noticing. Other events are values
//   and may wait.
// - pending_output()'s view is valid until the next pending_output() or
//   consume_output(). receive(), next_event() and every submit_*() leave it
//   alone, so a reader may feed input while a write of that view is in flight.
//
// Flow control: the session never sends WINDOW_UPDATE on its own
// (nghttp2_option_set_no_auto_window_update). consume(id, n) tells it that the
// application has used n bytes of DATA on stream `id`; only then are the
// stream and connection windows reopened (nghttp2 sends WINDOW_UPDATE once
// half a window has been consumed). A reader that stops consuming stops the
// peer at the window; consume every byte of every data_event, even after the
// stream was reset or closed, or the connection window shrinks for good.
//
// Errors (std::error_code, enum corvid::http2_errc in corvid/error.hpp):
// - Connection errors (is_connection_error() is true) end the session:
//   receive() returns one, error() keeps it, a GOAWAY with the matching HTTP/2
//   code is queued for pending_output(), and every later submit fails with
//   session_closing. No stream_closed_event follows for the streams that were
//   open: the caller fails them all with the connection error.
//   In one corner case the error is found one call later: when the caller has
//   left more than output_buffer_limit bytes of control frames unpulled,
//   nghttp2's GOAWAY can only be seen when pending_output() serialises it;
//   error() and the next receive() report it then.
// - Stream errors arrive as stream_closed_event::error and leave the other
//   streams alone: stream_refused and goaway mean the peer did not process
//   the request (is_retryable()), stream_reset carries the peer's or our
//   RST_STREAM code in stream_closed_event::code.
// - Calls that submit something return errors about the call itself
//   (stream_closed, invalid_header, connect_protocol_not_enabled, ...); they
//   do not end the session.
//
// @par Thread Safety
// Distinct objects: safe. Shared objects: unsafe. A session is used by one
// thread at a time.

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "corvid/error.hpp"
#include "corvid/headers.hpp"
#include "corvid/result.hpp"

namespace corvid::h2 {

/// HTTP/2 error codes (RFC 9113 section 7) as they appear in RST_STREAM and
/// GOAWAY. Values outside this list are kept as received (cast the number).
enum class wire_error : std::uint32_t {
    no_error = 0x0,
    protocol_error = 0x1,
    internal_error = 0x2,
    flow_control_error = 0x3,
    settings_timeout = 0x4,
    stream_closed = 0x5,
    frame_size_error = 0x6,
    refused_stream = 0x7,
    cancel = 0x8,
    compression_error = 0x9,
    connect_error = 0xa,
    enhance_your_calm = 0xb,
    inadequate_security = 0xc,
    http_1_1_required = 0xd,
};

/// SETTINGS identifiers (RFC 9113 section 6.5.2, RFC 8441, RFC 9218). Any
/// other 16-bit id may be sent too (e.g. a GREASE value a profile asks for).
namespace setting_id {
inline constexpr std::uint16_t header_table_size = 0x1;
inline constexpr std::uint16_t enable_push = 0x2;
inline constexpr std::uint16_t max_concurrent_streams = 0x3;
inline constexpr std::uint16_t initial_window_size = 0x4;
inline constexpr std::uint16_t max_frame_size = 0x5;
inline constexpr std::uint16_t max_header_list_size = 0x6;
inline constexpr std::uint16_t enable_connect_protocol = 0x8;
inline constexpr std::uint16_t no_rfc7540_priorities = 0x9;
}  // namespace setting_id

/// One SETTINGS entry.
struct setting {
    std::uint16_t id = 0;
    std::uint32_t value = 0;
    friend bool operator==(const setting&, const setting&) = default;
};

/// The RFC 7540 priority carried in a request's HEADERS frame (PRIORITY flag).
///
/// nghttp2 1.52 omits the PRIORITY flag (and these 5 bytes) when the spec
/// equals the RFC default (depends_on 0, weight 16, not exclusive), and when
/// the peer has sent SETTINGS_NO_RFC7540_PRIORITIES = 1 before the request is
/// submitted. Both are what a browser does too; there is no way around it in
/// 1.52 short of building HEADERS frames by hand.
struct priority_spec {
    std::int32_t depends_on = 0;  ///< stream id this one depends on (0: the root)
    std::uint16_t weight = 16;    ///< 1..256, as in nghttp2 (on the wire: weight - 1)
    bool exclusive = false;
    friend bool operator==(const priority_spec&, const priority_spec&) = default;
};

/// Request pseudo-header fields, to order them.
enum class pseudo_header : std::uint8_t { method, scheme, authority, path, protocol };

/// The order in which a request's pseudo-header fields go on the wire. Must be
/// a permutation of the five values; fields a request does not carry (e.g.
/// :protocol, or :scheme and :path on a plain CONNECT) are skipped.
using pseudo_header_order = std::array<pseudo_header, 5>;

/// Everything about a client connection that a browser profile pins down,
/// as data. The caller (client/profile code) fills it; the session sends it
/// exactly.
struct connection_profile {
    /// The entries of the first SETTINGS frame, exactly in this order (empty:
    /// an empty SETTINGS frame). Values take effect locally as nghttp2
    /// applies them: INITIAL_WINDOW_SIZE is the receive window of each
    /// stream, HEADER_TABLE_SIZE the HPACK decoder's table, ENABLE_PUSH should
    /// be 0 (pushed streams are refused either way).
    /// session_limits::max_header_list_size is enforced whatever
    /// MAX_HEADER_LIST_SIZE says here.
    std::vector<setting> settings;
    /// The increment of the connection-level WINDOW_UPDATE sent right after
    /// that SETTINGS frame (one frame, stream 0). 0: no WINDOW_UPDATE, the
    /// connection window stays 65535.
    std::uint32_t connection_window_increment = 0;
    /// The increment of a WINDOW_UPDATE sent on each request stream right
    /// after its HEADERS frame (Firefox raises every stream's window this
    /// way); 0: none. At most 2^31-1 minus the stream's initial window.
    std::uint32_t stream_window_increment = 0;
    /// Put on every request's HEADERS frame (PRIORITY flag) unless a request
    /// says otherwise; nullopt: no PRIORITY flag. See priority_spec for what
    /// nghttp2 1.52 does with the default values.
    std::optional<priority_spec> headers_priority;
    /// Pseudo-header order of every request.
    pseudo_header_order pseudo_order{pseudo_header::method, pseudo_header::scheme,
                                     pseudo_header::authority, pseudo_header::path,
                                     pseudo_header::protocol};

    /// corvid's own profile ("none"): a plain, fast client.
    /// SETTINGS ENABLE_PUSH=0, INITIAL_WINDOW_SIZE=6 MiB,
    /// MAX_HEADER_LIST_SIZE=64 KiB (in that order); connection window
    /// increased to 15 MiB (increment 15 MiB - 65535): Chrome's windows, see
    /// corvid::http2_options; no HEADERS priority;
    /// pseudo order :method :scheme :authority :path :protocol.
    static connection_profile corvid_default();
};

/// Bounds on everything the peer controls, and on what the session buffers.
/// Each is enforced as described; the error named is what the caller sees.
struct session_limits {
    /// Largest received header list (field block after HPACK decoding,
    /// counted as RFC 9113 does: name + value + 32 per field, pseudo-header
    /// fields included; trailers too). A larger one resets that stream with
    /// INTERNAL_ERROR (nghttp2's way of refusing a field block mid-decode);
    /// its stream_closed_event has error header_list_too_large. Not
    /// advertised by itself: put MAX_HEADER_LIST_SIZE in the SETTINGS to
    /// tell the peer. Independently, nghttp2 1.52's HPACK decoder refuses any
    /// single field over 64 KiB as a connection error (compression_error).
    std::uint32_t max_header_list_size = 64 * 1024;
    /// Most regular (non-pseudo) fields in one received header list or
    /// trailer section. More resets that stream with INTERNAL_ERROR, as
    /// max_header_list_size does; its stream_closed_event has error
    /// too_many_headers.
    std::size_t max_header_fields = 256;
    /// Largest header block this side sends (nghttp2's estimate,
    /// nghttp2_hd_deflate_bound). submit_request/submit_response/
    /// submit_trailers fail with header_list_too_large beyond it.
    std::size_t max_send_header_block_length = 64 * 1024;
    /// Server: most peer-initiated streams open at once. Advertised as
    /// SETTINGS_MAX_CONCURRENT_STREAMS when the server's settings do not
    /// name it; nghttp2 refuses streams beyond it (REFUSED_STREAM).
    /// Client: ignored (push is disabled; pushed streams are refused).
    std::uint32_t max_concurrent_streams = 100;
    /// nghttp2_option_set_max_outbound_ack: SETTINGS ACK and PING ACK frames
    /// the peer may make us queue while we are not writing. Beyond it:
    /// fatal http2_errc::flooded.
    std::size_t max_outbound_ack = 1000;
    /// nghttp2_option_set_max_settings: entries in one received SETTINGS
    /// frame. Beyond it: fatal http2_errc::flooded (GOAWAY ENHANCE_YOUR_CALM).
    std::size_t max_settings = 32;
    /// nghttp2_option_set_stream_reset_rate_limit (rapid reset,
    /// CVE-2023-44487; server side only in nghttp2): a token bucket of
    /// `stream_reset_burst` tokens refilled at `stream_reset_rate` per second;
    /// each received RST_STREAM takes one; when empty nghttp2 sends GOAWAY
    /// (INTERNAL_ERROR, its choice) and the session reports fatal
    /// http2_errc::flooded. nghttp2 reads CLOCK_MONOTONIC for the refill
    /// itself: the one clock inside the codec.
    std::uint64_t stream_reset_burst = 1000;
    std::uint64_t stream_reset_rate = 33;
    /// nghttp2_option_set_max_continuations: CONTINUATION frames after one
    /// HEADERS (CVE-2024-28182). Beyond it: fatal, flooded.
    std::size_t max_continuations = 8;
    /// HPACK encoder dynamic table (nghttp2_option_set_max_deflate_dynamic_table_size):
    /// the most memory the peer's HEADER_TABLE_SIZE can make us spend.
    std::size_t max_deflate_dynamic_table_size = 4096;
    /// Bytes submit_data(std::string_view) accepts into one stream's send
    /// buffer; a longer submit takes only what fits and returns that count.
    /// submit_data(std::string&&) ignores it (the caller owns that memory
    /// decision) but the bytes count toward queued().
    std::size_t stream_send_buffer = 256 * 1024;
    /// pending_output() stops serialising frames once this many unsent bytes
    /// are buffered (it may exceed it by one frame). Also bounds the control
    /// frames receive() serialises ahead (see the header comment).
    std::size_t output_buffer_limit = 256 * 1024;
};

/// The peer's settings that matter to the caller (RFC 9113 defaults until
/// the peer's SETTINGS arrive).
struct peer_settings {
    std::uint32_t header_table_size = 4096;
    bool enable_push = true;
    std::uint32_t max_concurrent_streams = std::numeric_limits<std::uint32_t>::max();
    std::uint32_t initial_window_size = 65535;
    std::uint32_t max_frame_size = 16384;
    std::uint32_t max_header_list_size = std::numeric_limits<std::uint32_t>::max();
    bool enable_connect_protocol = false;
    bool no_rfc7540_priorities = false;
    friend bool operator==(const peer_settings&, const peer_settings&) = default;
};

/// A request head: the pseudo-header values and the regular fields, in order.
/// Used to submit requests (client) and to report received ones (server).
///
/// Submitting: `fields` go on the wire in their order after the pseudo-header
/// fields. Names are lower-cased (HTTP/2 requires it). Fields HTTP/2 forbids
/// are dropped silently, so an HTTP/1.1-style header list can be reused:
/// connection, keep-alive, proxy-connection, transfer-encoding, upgrade, and
/// host (replaced by :authority; kept only when authority is empty). `te` is
/// kept only as "trailers". Any other invalid name or value (nghttp2's
/// nghttp2_check_header_name/value: no uppercase after lowering, no CR, LF or
/// NUL...) fails the submit with invalid_header.
struct request_head {
    std::string method;     ///< required
    std::string scheme;     ///< required unless plain CONNECT
    std::string authority;  ///< required for CONNECT; otherwise optional
    std::string path;       ///< required unless plain CONNECT
    /// :protocol (RFC 8441 extended CONNECT, e.g. "websocket"); empty: none.
    /// Only with method CONNECT, and only once the peer has enabled it.
    std::string protocol;
    headers fields;
};

// --- events -----------------------------------------------------------------

/// Client: a response head. Informational (1xx) heads come as their own
/// events before the final one (status < 200, end_stream false).
struct response_event {
    std::int32_t stream_id = 0;
    int status = 0;
    headers fields;           ///< received order, pseudo-header fields removed
    bool end_stream = false;  ///< no body follows
};

/// Server: a request head (nghttp2 has checked it per RFC 9113 section 8).
struct request_event {
    std::int32_t stream_id = 0;
    request_head head;
    bool end_stream = false;  ///< no body follows
};

/// Body bytes of one stream (zero-copy: a view into receive()'s input; see
/// the header comment). Call consume(stream_id, data.size()) once used.
/// A stream's last event has end_stream set; its data may be empty.
struct data_event {
    std::int32_t stream_id = 0;
    std::string_view data;
    bool end_stream = false;
};

/// Trailer fields; they end the peer's side of the stream.
struct trailers_event {
    std::int32_t stream_id = 0;
    headers fields;
};

/// The stream is closed in both directions and forgotten by the session.
/// A stream that ended normally has code no_error and an empty error.
struct stream_closed_event {
    std::int32_t stream_id = 0;
    /// RST_STREAM code (sent or received), no_error after a normal end.
    wire_error code = wire_error::no_error;
    /// Classification: empty (normal end, or a reset with NO_ERROR),
    /// stream_refused, goaway (stream above a received GOAWAY's
    /// last_stream_id), header_list_too_large or too_many_headers (our
    /// limits), or stream_reset.
    std::error_code error;
    /// True when the peer reset the stream (RST_STREAM received), false
    /// after a normal end or a reset this side sent.
    bool reset_by_peer = false;
};

/// The peer sent GOAWAY. Streams above last_stream_id were not processed and
/// each gets a stream_closed_event with http2_errc::goaway right after.
struct goaway_event {
    std::int32_t last_stream_id = 0;
    wire_error code = wire_error::no_error;
    std::string debug_data;
};

/// The peer's SETTINGS frame was applied; `settings` is the full new state.
struct settings_event {
    peer_settings settings;
};

/// The peer acknowledged a ping() (its 8 opaque bytes, big-endian).
struct ping_ack_event {
    std::uint64_t opaque = 0;
};

/// A stream whose send buffer was full (a submit_data took less than it was
/// given) has drained to half of session_limits::stream_send_buffer or less:
/// submit more. Emitted once per full-to-drained transition, while
/// pending_output() serialises.
struct stream_writable_event {
    std::int32_t stream_id = 0;
    std::size_t queued = 0;  ///< bytes still buffered for the stream
};

using event =
    std::variant<response_event, request_event, data_event, trailers_event, stream_closed_event,
                 goaway_event, settings_event, ping_ack_event, stream_writable_event>;

/// Connection errors end the session; everything else is about one stream
/// or one call.
bool is_connection_error(std::error_code ec) noexcept;
/// The peer did not process the request (REFUSED_STREAM, or above GOAWAY's
/// last_stream_id): it may be sent again on another connection.
bool is_retryable(std::error_code ec) noexcept;

namespace detail {
class session_impl;
}

// --- the session (common to both roles) -------------------------------------

/// What client_session and server_session share. Not created directly.
/// Movable (the nghttp2 session lives behind a stable pointer), not copyable;
/// a moved-from session may only be destroyed or assigned to.
class session {
  public:
    session(session&&) noexcept;
    session& operator=(session&&) noexcept;
    session(const session&) = delete;
    session& operator=(const session&) = delete;
    ~session();

    /// Feeds bytes from the peer (all of them are consumed). Returns a
    /// connection error, or the sticky one when the session has already
    /// failed; then the caller still writes pending_output() (it holds a
    /// GOAWAY) and closes. Returns http2_errc::events_pending, consuming
    /// nothing, when data events of an earlier call have not been pulled.
    /// The events one call queues are bounded by its input: pass reads of a
    /// bounded size (heads are also bounded by max_header_list_size each).
    std::error_code receive(std::string_view bytes);
    std::error_code receive(std::span<const std::uint8_t> bytes);

    /// The next event produced by receive() (or, for stream_writable_event
    /// and some stream_closed_event, by pending_output() and submits), in
    /// the order the frames arrived; nullopt when none is left.
    std::optional<event> next_event();

    /// Serialises queued frames (see the header comment) and returns every
    /// byte not yet consumed; empty when there is nothing to send. Valid
    /// until the next pending_output() or consume_output().
    std::string_view pending_output();

    /// Marks the first `n` bytes of the last pending_output() as written
    /// (n <= its size).
    void consume_output(std::size_t n) noexcept;

    /// nghttp2_session_want_read: false once the session is done (GOAWAY
    /// exchanged and no stream open, or failed).
    bool want_read() const noexcept;
    /// Frames queued in nghttp2 or bytes not yet consumed from the output.
    bool want_write() const noexcept;
    /// A GOAWAY was sent or received, or the session failed: no new streams.
    bool is_closing() const noexcept;
    /// The connection error, if the session failed.
    std::error_code error() const noexcept;

    /// The application has used `n` bytes of DATA received on `stream_id`
    /// (also after that stream closed: the connection window still counts
    /// them). WINDOW_UPDATE follows per nghttp2's half-window rule.
    void consume(std::int32_t stream_id, std::size_t n) noexcept;

    /// Queues body bytes on a stream this side may send on (a client's
    /// request, a server's response after submit_response). Copies at most
    /// limits.stream_send_buffer - queued(stream_id) bytes and returns how
    /// many it took; end_stream takes effect only if it took them all (then
    /// no more data may follow; `bytes` may be empty). Errors: stream_closed
    /// (unknown stream, closed, or its end already queued), session_closing.
    result<std::size_t> submit_data(std::int32_t stream_id, std::string_view bytes,
                                    bool end_stream);
    /// The same, taking ownership of `bytes` (no copy, no size check; the
    /// bytes count toward queued()).
    std::error_code submit_data(std::int32_t stream_id, std::string&& bytes, bool end_stream);

    /// Ends the stream with trailer fields after the queued data (lower-cased,
    /// validated as in request_head; no pseudo-header fields). Errors as
    /// submit_data, plus invalid_header and header_list_too_large.
    std::error_code submit_trailers(std::int32_t stream_id, const headers& fields);

    /// Body bytes buffered for `stream_id` and not yet serialised (0 for
    /// unknown streams).
    std::size_t queued(std::int32_t stream_id) const noexcept;

    /// Sends RST_STREAM with `code` and drops the stream's buffers; a
    /// stream_closed_event (reset_by_peer false) follows. stream_closed when
    /// the stream is not open.
    std::error_code reset_stream(std::int32_t stream_id, wire_error code = wire_error::cancel);

    /// Sends PING with `opaque`; a ping_ack_event with the same value follows
    /// when the peer answers. Time it with the caller's clock.
    std::error_code ping(std::uint64_t opaque = 0);

    /// Sends GOAWAY (last_stream_id: the last peer stream this side
    /// processed). With no_error, streams already open finish; new ones are
    /// refused. session_closing if a GOAWAY was already queued by failure.
    std::error_code goaway(wire_error code = wire_error::no_error,
                           std::string_view debug_data = {});

    /// The peer's settings (RFC defaults until its SETTINGS arrive).
    const peer_settings& peer() const noexcept;
    /// Whether the peer's first SETTINGS frame has been received.
    bool peer_settings_received() const noexcept;

    /// Streams this session knows that have not closed yet.
    std::size_t open_streams() const noexcept;

    /// Debug text of the connection error: nghttp2's reason, if any.
    std::string_view error_detail() const noexcept;

  protected:
    explicit session(std::unique_ptr<detail::session_impl> impl) noexcept;
    std::unique_ptr<detail::session_impl> impl_;
};

// --- client -------------------------------------------------------------------

struct client_options {
    connection_profile profile = connection_profile::corvid_default();
    session_limits limits;
};

/// The client side: queues the connection preface, the profile's SETTINGS
/// and WINDOW_UPDATE at creation (the first pending_output() holds them).
class client_session : public session {
  public:
    /// Errors: invalid_settings (a SETTINGS value nghttp2 refuses, or a
    /// pseudo order that is not a permutation), internal_error (no memory).
    static result<client_session> create(const client_options& options = {});

    /// Opens a stream and queues its HEADERS (pseudo-header fields in the
    /// profile's order, then head.fields in their order; the profile's
    /// HEADERS priority). end_stream: no body follows (GET); otherwise send
    /// it with submit_data / submit_trailers. Returns the stream id.
    /// Requests above the peer's MAX_CONCURRENT_STREAMS wait inside nghttp2
    /// until a stream closes (check open_streams() against
    /// peer().max_concurrent_streams to open another connection instead).
    /// Errors: invalid_header (missing or bad pseudo value, bad field),
    /// connect_protocol_not_enabled (:protocol before the peer's SETTINGS
    /// enabled it: wait for settings_event), header_list_too_large,
    /// session_closing (GOAWAY sent/received or failed),
    /// stream_ids_exhausted (open a new connection).
    result<std::int32_t> submit_request(const request_head& head, bool end_stream);
    /// The same with an explicit HEADERS priority (nullopt: no PRIORITY flag)
    /// instead of the profile's.
    result<std::int32_t> submit_request(const request_head& head, bool end_stream,
                                        std::optional<priority_spec> priority);

    /// Sends a PRIORITY frame for `stream_id` (only when asked: the session
    /// never sends one on its own). nghttp2 drops it when the peer sent
    /// SETTINGS_NO_RFC7540_PRIORITIES = 1. Errors: invalid_argument
    /// (stream_id <= 0 or depending on itself), session_closing.
    std::error_code submit_priority(std::int32_t stream_id, const priority_spec& priority);

  private:
    using session::session;
};

// --- server -------------------------------------------------------------------

struct server_options {
    /// The server's first SETTINGS frame, in order. MAX_CONCURRENT_STREAMS
    /// (limits.max_concurrent_streams) and ENABLE_CONNECT_PROTOCOL (when
    /// enable_connect_protocol) are appended when not present.
    /// Default: INITIAL_WINDOW_SIZE=1 MiB, MAX_HEADER_LIST_SIZE=64 KiB.
    std::vector<setting> settings{{setting_id::initial_window_size, 1024 * 1024},
                                  {setting_id::max_header_list_size, 64 * 1024}};
    /// Connection WINDOW_UPDATE increment right after SETTINGS (0: none).
    /// Default: the window becomes 15 MiB.
    std::uint32_t connection_window_increment = 15 * 1024 * 1024 - 65535;
    /// Advertise SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 and accept extended
    /// CONNECT (RFC 8441) requests; without it nghttp2 rejects :protocol.
    bool enable_connect_protocol = false;
    session_limits limits;
};

/// The server side: expects the client preface first (a peer that is not
/// HTTP/2 gives http2_errc::bad_preface), queues its SETTINGS at creation.
class server_session : public session {
  public:
    /// Errors: invalid_settings, internal_error.
    static result<server_session> create(const server_options& options = {});

    /// Queues the response head for a request stream: `status` (100..599),
    /// then `fields` in order (validated and filtered as in request_head).
    /// A 1xx status sends an informational head (end_stream must be false)
    /// and a final one must follow. end_stream: no body. Errors:
    /// stream_closed, invalid_header, header_list_too_large, session_closing.
    std::error_code submit_response(std::int32_t stream_id, int status, const headers& fields,
                                    bool end_stream);

    /// Tells the client a GOAWAY is coming (nghttp2_submit_shutdown_notice:
    /// GOAWAY with last_stream_id 2^31-1); follow with goaway() after a
    /// round trip (e.g. after a ping_ack_event) for a graceful shutdown.
    std::error_code shutdown_notice();

  private:
    using session::session;
};

}  // namespace corvid::h2
