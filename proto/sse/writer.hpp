#pragma once

// The server side of server-sent events: formatting events and comments into
// text/event-stream bytes, appended to a string the caller owns (and sends,
// or gathers with other buffers). Sans-I/O; nothing is kept between calls.
//
// The output follows the HTML Living Standard's event stream format, with LF
// line ends, and parses back (sse::parser, a browser's EventSource) to the
// same event, with these normalisations:
// - data is split into lines at CRLF, CR and LF, each written as its own
//   "data:" line; the receiver joins them with LF, so a CR or CRLF in data
//   arrives as LF. Empty data is written as one "data:" line, which a
//   receiver dispatches as an event with empty data.
// - every value is written after "field: ", so a value's own leading space
//   survives (the receiver removes only the one the writer put there).
// - text should be UTF-8; a receiver replaces invalid bytes with U+FFFD.
//
// @par Thread Safety
// The functions are reentrant; distinct output strings may be written from
// distinct threads.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corvid::sse {

/// What append_event() writes. The views need only outlive the call.
struct outgoing_event {
    /// The "event" field; empty: none written (the receiver's type is
    /// "message"). Must not contain CR or LF.
    std::string_view type;
    /// The data; may contain any line ends (see above) and NUL.
    std::string_view data;
    /// The "id" field; nullopt: none written (the receiver keeps its last
    /// event ID); an empty string resets the receiver's last event ID. Must
    /// not contain CR, LF or NUL (a receiver ignores an id with NUL).
    std::optional<std::string_view> id;
    /// The "retry" field: the receiver's reconnection time in milliseconds.
    std::optional<std::uint64_t> retry_ms;
};

/// True when `type` can be written as an event type (no CR or LF).
bool valid_event_type(std::string_view type) noexcept;
/// True when `id` can be written as an event ID (no CR, LF or NUL).
bool valid_event_id(std::string_view id) noexcept;

/// Appends `ev` to `out`: the "event", "id" and "retry" lines (when given),
/// one "data:" line per line of data, and the blank line that dispatches it.
/// Returns false, with `out` unchanged, when the type or the id is not valid
/// (see valid_event_type(), valid_event_id()): such a value would be cut or
/// ignored by the receiver, so it is refused rather than altered.
bool append_event(std::string& out, const outgoing_event& ev);

/// Appends a comment: one ":" line per line of `text` (split at CRLF, CR and
/// LF; empty text gives one ":" line). Receivers ignore comments; they keep
/// a connection and its proxies from timing out (see keepalive_comment).
void append_comment(std::string& out, std::string_view text);

/// The keepalive comment ": ping" with its line end.
inline constexpr std::string_view keepalive_comment = ": ping\n";

/// Appends "retry: N" and a blank line: sets the receiver's reconnection
/// time without dispatching an event.
void append_retry(std::string& out, std::uint64_t ms);

}  // namespace corvid::sse
