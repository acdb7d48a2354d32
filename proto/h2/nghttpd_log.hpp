#pragma once

// Reading the text log of `nghttpd -v` (Debian nghttp2-server) into a
// frame_log, so that a capture of a real browser made with nghttpd can be
// compared with what corvid's client sends (`corvid fingerprint --compare`).
// Sans-I/O text parsing: the caller reads the file and bounds its size.
//
// What is taken: the connection ("[id=N]") that carried the first request
// header line; its first non-ACK SETTINGS frame received (entries in
// order); its connection-level WINDOW_UPDATEs received; the first request's
// header list in logged order (pseudo-header fields included) and its
// HEADERS frame's priority fields (dep_stream_id, weight as logged, 1..256,
// exclusive). Lines of other connections, frames sent by nghttpd and
// anything unrecognised are skipped.

#include <optional>
#include <string_view>

#include "proto/h2/frame_log.hpp"

namespace corvid::h2 {

/// nullopt when the log holds no request header line.
std::optional<frame_log> parse_nghttpd_log(std::string_view log);

}  // namespace corvid::h2
