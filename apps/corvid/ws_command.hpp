#pragma once

// `corvid ws`: a WebSocket from the command line.
//
//   corvid ws [options] URL          (ws://, wss://; http(s):// taken as ws(s)://)
//
// Interactive (the default): each line read from stdin is sent as a text
// message (without its newline; --binary sends binary messages), and each
// message received is written to stdout followed by a newline. After the
// end of stdin the close handshake starts (code 1000) once the server has
// been quiet for --linger seconds (default 1: replies to the last lines are
// still on their way, and a close sent at once would make the server drop
// them); --listen keeps printing until the server closes or -m runs out.
//
// Load (-n N): sends N binary messages of --size bytes (default 1024) as fast
// as the connection takes them while reading the replies, and prints on
// stderr how long N replies took (an echo server answers each message):
// messages per second and MiB per second each way.
//
// Options of its own: --subprotocol P (repeatable, in order of preference),
// --no-deflate (do not offer permessage-deflate), --binary, -n/--count N,
// --size B, --ping-interval S (keepalive pings; 0 turns them off; default
// 30), --linger S, --listen, --http1.1 / --http2 (force the HTTP version carrying the WebSocket;
// by default an origin's pooled HTTP/2 connection is used when it allows
// extended CONNECT, as Chrome does, else HTTP/1.1). Common options: -H, -A,
// -k, --cacert, --impersonate, -x, -v, -s, -S, -m, --connect-timeout.
//
// Exit status: 0 after a normal close (1000, or 1001 from the server), 22
// when the server refuses the handshake with an HTTP response (its status is
// printed), 56 when the server closes with another code (printed) or breaks
// the protocol, 28 at --max-time, else curl's code for the network error.

#include <span>
#include <string_view>

namespace corvid::cli {

/// Runs the subcommand with the arguments after "ws".
int run_ws(std::span<const std::string_view> args);

}  // namespace corvid::cli
