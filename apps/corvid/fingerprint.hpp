#pragma once

// `corvid fingerprint`: shows what corvid's client looks like on the wire.
//
//   corvid fingerprint [--impersonate NAME|FILE] [--kind navigation|fetch|websocket]
//                      [--http1.1] [--compare REF.bin [--compare-h2 FRAMES.txt]]
//
// It starts a capture endpoint on 127.0.0.1 (a TLS server with a throwaway
// CA that keeps the first TLS record before handshaking, and decodes the
// client's HTTP/2 frames or HTTP/1.1 head), has the client fetch
// https://localhost:PORT/ from it, and prints JA3, JA3N, JA4, the Akamai
// HTTP/2 string, the HEADERS priority and the header order, all computed by
// corvid's own code (proto/tls, tls/fingerprint, proto/h2/frame_log).
//
// With --compare it prints a field-by-field table against a reference
// capture: REF.bin is a raw ClientHello record as hello_capture.py saves it;
// the HTTP/2 reference is an `nghttpd -v` log, FRAMES.txt, by default the
// file next to REF.bin named <stem>-h2-frames.txt when it exists. Each row
// is `match`, `differs` or `cannot` (an item the TLS library cannot produce,
// as the profile's gaps record); the exit status is 0 when no row differs
// and 1 otherwise (2 for usage errors, 1 when the capture itself fails).

#include <span>
#include <string>
#include <string_view>

namespace corvid::cli {

/// Runs the subcommand with the arguments after "fingerprint".
int run_fingerprint(std::span<const std::string_view> args);

}  // namespace corvid::cli
