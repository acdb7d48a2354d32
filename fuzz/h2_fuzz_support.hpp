#pragma once

// Helpers shared by the HTTP/2 session fuzz targets (client and server role).

#include <cstdlib>
#include <string_view>

#include "proto/h2/session.hpp"

namespace corvid::h2::fuzz {

/// A broken invariant is a finding: abort so libFuzzer keeps the input.
inline void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

/// Pulls and discards the session's output, as a writer would, a bounded
/// number of times so a session that keeps producing cannot hang the run.
inline void drain_output(session& s) {
    for (int i = 0; i < 64; ++i) {
        const std::string_view out = s.pending_output();
        if (out.empty()) {
            return;
        }
        s.consume_output(out.size());
    }
}

}  // namespace corvid::h2::fuzz
