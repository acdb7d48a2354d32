#pragma once

// corvid::sse::parser: a sans-I/O parser for a server-sent events stream
// (text/event-stream), following the HTML Living Standard, section 9.2
// "Server-sent events" ("Parsing an event stream" and "Interpreting an event
// stream").
//
// What it does, step by step as the standard says:
// - Decodes the bytes as UTF-8 the way the Encoding Standard's "UTF-8 decode"
//   does: one leading byte order mark (EF BB BF) is dropped, once per stream;
//   every maximal ill-formed subsequence becomes one U+FFFD. All sizes below
//   count decoded bytes (a replaced byte counts 3, the size of U+FFFD).
// - Splits lines at CRLF, LF or CR. A line ending in CR is processed as soon
//   as the CR arrives; an LF right after it, in the same or a later chunk, is
//   then skipped. So "\r" | "\n" in two chunks is one line end.
// - An empty line dispatches the event. A line starting with ':' is a
//   comment, ignored (and not buffered). Otherwise the field name is the
//   text before the first ':' and the value the text after it, less one
//   leading space; a line without ':' is a field name with an empty value.
// - Fields: "event" sets the event type buffer; "data" appends the value and
//   an LF to the data buffer; "id" sets the last event ID buffer unless the
//   value contains U+0000 (then the line is ignored); "retry" with a value
//   of ASCII digits only sets the reconnection time, reported at once as an
//   output_kind::retry (an empty value, any other character, or a number
//   above UINT64_MAX: ignored). Any other field name is ignored.
// - Dispatch: the last event ID (last_event_id()) becomes the last event ID
//   buffer, which itself is kept across events. Then, if the data buffer is
//   empty, the event type buffer is cleared and nothing is dispatched.
//   Otherwise one trailing LF is removed from the data and an
//   output_kind::event is returned with type (the event type buffer, or
//   "message" when empty), data and id (the last event ID); the data and
//   event type buffers are cleared.
// - end_of_stream(): whatever has not been dispatched (an incomplete line, a
//   partial event without its blank line) is discarded, as the standard says.
//
// Limits (each a peer-controlled size):
// - limits::max_line_bytes (default 64 KiB): a line longer than this, not
//   counting its line end, is sse_errc::line_too_long, reported as soon as
//   the byte over the limit arrives. Comment lines count too.
// - limits::max_event_bytes (default 1 MiB): data of one event larger than
//   this (the joined data as it would be dispatched, LFs between lines
//   included) is sse_errc::event_too_large.
// The event type and ID are single field values, bounded by max_line_bytes.
// Memory held: at most about max_line_bytes + max_event_bytes + 2 *
// max_line_bytes (line, data, type and ID buffers; the data buffer is the
// last event's data, so a dispatch copies nothing) plus the last event's
// type and ID.
//
// Errors are sticky: after one, feed() returns it again until
// end_of_stream() or reset().
//
// @par Ownership
// The parser copies what it keeps; the input is not referenced after feed()
// returns. current_event() refers to storage inside the parser, valid until
// the next feed(), take_event(), end_of_stream() or reset().
//
// @par Thread Safety
// Distinct objects: safe. Shared objects: unsafe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace corvid::sse {

/// One dispatched event.
struct event {
    std::string type;  ///< the "event" field, or "message" when none was given
    std::string data;  ///< the "data" values joined with LF (empty for one bare "data" line)
    std::string id;    ///< the last event ID at dispatch (may be empty)

    friend bool operator==(const event&, const event&) = default;
};

class parser {
  public:
    struct limits {
        std::size_t max_line_bytes = 64 * 1024;
        std::size_t max_event_bytes = 1024 * 1024;
    };

    enum class output_kind {
        need_more,  ///< all of the input was used; call again with more
        event,      ///< an event was dispatched: current_event() / take_event()
        retry,      ///< a valid "retry" field: retry_ms() is the new reconnection time
    };
    struct output {
        output_kind kind = output_kind::need_more;
        std::size_t consumed = 0;  ///< bytes used from the front of the input
    };

    parser() = default;
    explicit parser(limits l) : limits_(l) {}

    /// Parses from the front of `in`, any chunking. Returns as soon as one
    /// line produced an output (`consumed` then counts up to and including
    /// that line's end; call again with the rest), or `need_more` once every
    /// byte of `in` is used. On error (sse_errc::line_too_long,
    /// sse_errc::event_too_large) `ec` is set and the output must be ignored.
    output feed(std::string_view in, std::error_code& ec);

    /// The stream ended (connection closed): discards the incomplete line
    /// and the undispatched event, and readies the parser for a new stream
    /// (BOM allowed again, event type, data and last event ID buffers empty,
    /// as the standard initialises them per stream), clears a sticky error.
    /// Keeps last_event_id() and retry_ms(), which belong to the event
    /// source, and the limits.
    void end_of_stream() noexcept;

    /// Back to the state of a new parser (keeps the limits), errors cleared.
    void reset() noexcept;

    /// The event of the last output_kind::event.
    const sse::event& current_event() const noexcept { return event_; }
    /// The same, for moving single fields out (what take_event() does to the
    /// whole event, without an intermediate event object).
    sse::event& current_event() noexcept { return event_; }
    /// Moves the event of the last output_kind::event out.
    sse::event take_event() noexcept { return std::move(event_); }

    /// The event source's last event ID string: the last event ID buffer as
    /// it was at the last dispatch (blank line), empty before any. This is
    /// what a client sends as Last-Event-ID when it reconnects.
    const std::string& last_event_id() const noexcept { return last_event_id_; }
    /// Sets the last event ID string and the last event ID buffer to `id`
    /// (the caller checks it holds no NUL, CR or LF). The standard starts
    /// each stream's buffer empty, so after a reconnection an event without
    /// an "id" field reports an empty ID; Chromium instead starts the new
    /// stream's buffer with the event source's last event ID. Calling this
    /// after end_of_stream() with last_event_id() does as Chromium does; it
    /// also lets a client resume from an ID it stored elsewhere.
    void set_last_event_id(std::string_view id) {
        last_event_id_.assign(id);
        id_buf_.assign(id);
    }
    /// The reconnection time from the last valid "retry" field, in
    /// milliseconds; 0 if none was seen (the default is the client's).
    std::uint64_t retry_ms() const noexcept { return retry_ms_; }
    /// True once a valid "retry" field was seen.
    bool has_retry() const noexcept { return has_retry_; }

    void set_limits(limits l) noexcept { limits_ = l; }
    const limits& get_limits() const noexcept { return limits_; }

  private:
    enum class line_result { none, event, retry };

    // Handles one decoded code point; may complete a line.
    line_result code_point(char32_t cp, std::error_code& ec);
    // Ends the current line, whose decoded text is `line` (line_ or, on the
    // fast path, a view of the input); clears the line state.
    line_result end_line(std::string_view line, std::error_code& ec);
    // How many bytes from the front of `in` are well-formed UTF-8 without
    // CR or LF that the current line still has room for.
    std::size_t text_run(std::string_view in) const noexcept;
    line_result process_field(std::string_view name, std::string_view value, std::error_code& ec);
    line_result dispatch();
    void append_utf8(char32_t cp);

    limits limits_{};

    // UTF-8 decoder state (Encoding Standard).
    char32_t utf8_cp_ = 0;
    std::uint8_t utf8_needed_ = 0;
    std::uint8_t utf8_seen_ = 0;
    std::uint8_t utf8_lower_ = 0x80;
    std::uint8_t utf8_upper_ = 0xBF;
    bool stream_start_ = true;  // the next code point is the first: a BOM is dropped

    // Line state.
    std::string line_;
    std::size_t line_bytes_ = 0;  // decoded bytes of the current line
    bool comment_ = false;        // the current line started with ':'
    bool skip_lf_ = false;        // the last line ended in CR

    // Per-stream buffers.
    std::string type_buf_;
    std::string id_buf_;

    // The event source's state.
    std::string last_event_id_;
    std::uint64_t retry_ms_ = 0;
    bool has_retry_ = false;

    // The last event; its data is also the data buffer (the event is
    // dispatched without a copy), cleared by the feed() after a dispatch.
    sse::event event_;
    bool event_out_ = false;  // event_ holds a dispatched event
    std::error_code error_;
};

}  // namespace corvid::sse
