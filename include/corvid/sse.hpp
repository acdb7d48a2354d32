#pragma once

// corvid's server-sent events client: an event source, as the HTML Living
// Standard (section 9.2) describes the browser's EventSource, on top of
// corvid::client (HTTP/1.1 or HTTP/2, TLS, browser profiles).
//
//     corvid::client http(io.get_executor());
//     corvid::event_source es(http, "https://example.com/events");
//     for (;;) {
//         auto ev = co_await es.next_event();
//         if (!ev) { /* ev.error(): why the source gave up */ break; }
//         use(ev->type, ev->data, ev->id);
//     }
//
// What it does:
// - Sends GET with `Accept: text/event-stream` and `Cache-Control: no-cache`
//   (plus `Last-Event-ID` once an ID is known, and the caller's headers).
// - Accepts only status 200 with Content-Type text/event-stream (parameters
//   such as charset allowed). Anything else "fails the connection", as the
//   standard says: no reconnection, next_event() returns sse_errc::bad_status,
//   sse_errc::no_content (204, the server's way to say "stop") or
//   sse_errc::bad_content_type; status() and content_type() tell what came.
// - Parses the body with proto/sse (UTF-8 with U+FFFD, CR/LF/CRLF lines,
//   event/data/id/retry fields, limits).
// - When the body ends, or the connection drops, or a connection attempt
//   fails with a network error, waits and reconnects, sending the last event
//   ID as Last-Event-ID, so a server that keeps history resumes where the
//   stream stopped. The wait is the reconnection time: the server's last
//   valid "retry" field, else options.default_retry; it grows by
//   options.backoff for each consecutive attempt that fails (up to
//   options.max_retry_delay, or the server's retry if larger), and is back to
//   the reconnection time once a stream opens again.
// - Like Chromium (and unlike the letter of the standard, which starts each
//   stream's last event ID buffer empty), an event without an "id" field
//   after a reconnection keeps the ID carried over, so a second reconnection
//   still resumes from the last ID the server gave.
//
// @par Errors
// next_event() returns an event or an error; after an error the source is
// closed and every later call returns the same error. The errors:
// - sse_errc::bad_status, sse_errc::no_content, sse_errc::bad_content_type:
//   the server refused the stream (not retried, as the standard says);
// - sse_errc::line_too_long, sse_errc::event_too_large: the stream broke a
//   limit of options.limits (not retried: the same stream would break it
//   again);
// - sse_errc::stream_ended: the body ended and reconnection is off or used up
//   (options.max_reconnects);
// - sse_errc::closed: close() was called;
// - errors of the client that make retrying futile, returned at once: a bad
//   URL or scheme (client_errc), TLS verification and handshake failures
//   (tls_errc), a request corvid refuses to send (bad header);
// - any other client error (net_errc, http1_errc, http2_errc, ...) is a
//   network error: retried; it is returned only once options.max_reconnects
//   consecutive attempts have failed.
//
// @par Ownership
// The event source refers to the client it is given, which must outlive it.
// Events are returned by value. At most one response (one connection's
// stream) is held at a time; destroying the source, or close(), ends it.
//
// @par Threading
// Like the client: use the event source only from coroutines running on the
// client's executor. One next_event() at a time; close() may be called from
// another coroutine on the same executor while next_event() waits (it then
// returns sse_errc::closed).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>

#include "corvid/client.hpp"
#include "corvid/headers.hpp"
#include "corvid/profile.hpp"
#include "corvid/result.hpp"

namespace corvid {

/// One server-sent event.
struct sse_event {
    std::string type;  ///< the "event" field, or "message" when the event had none
    std::string data;  ///< the "data" lines joined with LF
    std::string id;    ///< the last event ID when it was dispatched (may be empty)
    /// The reconnection time in force when the event was dispatched: the
    /// server's last valid "retry" field, or options.default_retry.
    std::chrono::milliseconds retry{0};

    friend bool operator==(const sse_event&, const sse_event&) = default;
};

struct event_source_options {
    /// Extra request headers, sent after Accept, Cache-Control and
    /// Last-Event-ID (a field of the same name replaces corvid's).
    corvid::headers headers;
    /// Which of a browser profile's header sets goes out (without a profile,
    /// ignored). A page's EventSource is a script-initiated request: fetch.
    request_kind kind = request_kind::fetch;
    /// The first Last-Event-ID, to resume from an ID kept elsewhere (no CR,
    /// LF or NUL; empty: none).
    std::string last_event_id;

    /// Reconnection time until the server sends a "retry" field.
    std::chrono::milliseconds default_retry{3'000};
    /// Each consecutive failed attempt multiplies the wait by this (>= 1).
    double backoff = 2.0;
    /// The wait never grows beyond this by backoff (a server's larger
    /// "retry" is still honoured).
    std::chrono::milliseconds max_retry_delay{60'000};
    /// Consecutive reconnections without a stream opening before the
    /// source gives up; -1: never give up (the browser's behaviour), 0: never
    /// reconnect.
    int max_reconnects = -1;

    /// Peer-controlled sizes: the longest line and the largest event data,
    /// in decoded bytes (see proto/sse/parser.hpp).
    std::size_t max_line_bytes = 64 * 1024;
    std::size_t max_event_bytes = 1024 * 1024;

    /// Called with each response head received, before it is checked (so
    /// also for a 204 or a wrong Content-Type), e.g. for `corvid sse -v`.
    /// The response must not be read from.
    std::function<void(const response&)> on_response;
    /// Called before each wait for a reconnection: why (an error, or
    /// sse_errc::stream_ended for a body that ended), and how long the wait.
    std::function<void(std::error_code why, std::chrono::milliseconds delay)> on_reconnect;
};

/// A server-sent events stream that reconnects (see the top of this file).
class event_source {
  public:
    /// Does not connect: the first next_event() does. `http` must outlive
    /// the event source.
    event_source(client& http, std::string url, event_source_options options = {});
    ~event_source();
    event_source(const event_source&) = delete;
    event_source& operator=(const event_source&) = delete;

    /// The next event, connecting and reconnecting as needed. Errors: see
    /// the top of this file; after one the source is closed.
    asio::awaitable<result<sse_event>> next_event();

    /// The next event if it is already in the bytes read, without I/O,
    /// suspension or a coroutine frame: returns true with the event moved
    /// into `out` (all four fields set). Returns false when it would need
    /// more: a read, a connection or reconnection, the end of the stream, or
    /// an error; then call next_event(), which does that and returns the
    /// event or the error (a parse error found here has already closed the
    /// source, and next_event() returns it). Also false before the first
    /// next_event(), while one is in progress, and once closed.
    ///
    /// A loop that drains with it saves next_event()'s frame and the moves
    /// of its result for every event that arrived in the same read:
    ///
    ///     corvid::sse_event ev;
    ///     for (;;) {
    ///         if (!es.try_next_event(ev)) {
    ///             auto next = co_await es.next_event();
    ///             if (!next) { break; }
    ///             ev = std::move(*next);
    ///         }
    ///         use(ev);
    ///     }
    bool try_next_event(sse_event& out);

    /// Closes the source: a pending next_event() and all later ones return
    /// sse_errc::closed (unless an error closed it first); an open stream's
    /// connection is closed. Safe to call more than once.
    void close();
    bool closed() const noexcept;

    const std::string& url() const noexcept;
    /// The last event ID: what the next reconnection sends as Last-Event-ID.
    const std::string& last_event_id() const noexcept;
    /// The reconnection time now (the server's "retry" or the default).
    std::chrono::milliseconds retry() const noexcept;
    /// The status of the last response head received (0 before any).
    int status() const noexcept;
    /// The Content-Type of the last response head received.
    const std::string& content_type() const noexcept;
    /// Streams opened (200 with text/event-stream) so far.
    std::size_t connections_opened() const noexcept;

  private:
    struct state;
    std::unique_ptr<state> state_;
};

}  // namespace corvid
