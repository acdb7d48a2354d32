#pragma once

// `corvid sse`: follows a server-sent events stream and prints its events.
//
//   corvid sse [OPTIONS] URL
//
// Each event is printed to stdout as soon as it arrives, in the event stream
// format itself, so the output reads easily and parses back as the same
// events:
//
//   event: TYPE        (always; "message" when the server gave none)
//   id: ID             (when the event has a last event ID)
//   data: LINE         (one line per line of data; "data:" for an empty one)
//   <blank line>
//
// The stream is followed across reconnections (the server's "retry", or
// --retry-delay, with backoff), resuming with Last-Event-ID. It ends when the
// server answers 204 (exit 0), when the stream cannot be used (a status other
// than 200: 22; not text/event-stream: 8; a line or event over the limit:
// 63), at --max-time (28), after --max-reconnects failed reconnections (the
// network error's code), or when the very first connection fails (as curl
// would: its error's code; once a stream has opened, network errors are
// retried). Details in docs/cli.md.
//
// Options: the general ones that make sense for a stream (-H, -A, -e, -u,
// --oauth2-bearer, -b STRING, -k, --cacert, --http1.1, --http2,
// --http2-prior-knowledge, --impersonate, -x, --connect-timeout, -m, -v, -s,
// -S), and:
//   --last-event-id ID    resume from ID (sent as Last-Event-ID)
//   --max-reconnects N    give up after N consecutive failed reconnections
//                         (default: never; 0: do not reconnect)
//   --retry-delay MS      reconnection time until the server sends "retry"
//                         (default 3000)
//   --max-event-size N    largest event data in bytes (default 1 MiB)

#include <span>
#include <string_view>

namespace corvid::cli {

/// Runs the subcommand with the arguments after "sse"; returns the exit code.
int run_sse(std::span<const std::string_view> args);

/// `corvid sse --help`.
std::string_view sse_help_text();

}  // namespace corvid::cli
