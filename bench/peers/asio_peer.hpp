#pragma once

// The main loop of the peers built on Asio (corvid's): runs the peer's
// serving coroutine on `io` until it returns, then stops the io_context (a
// client's pool may hold timers that would keep it running). An exception
// that escapes the coroutine becomes the peer's error line. Returns the
// process exit status: 0, or 1 after an escaped exception.
//
// Asio is header-only here; this header is for peers that link corvid (the
// libcurl peer does not include it).

#include <exception>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "bench/peers/peer_protocol.hpp"

namespace corvid::bench::peer {

inline int run_until_done(asio::io_context& io, asio::awaitable<void> serving) {
    int status = 0;
    asio::co_spawn(io, std::move(serving), [&](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                print_error(ex.what());
            }
            status = 1;
        }
        io.stop();
    });
    io.run();
    return status;
}

}  // namespace corvid::bench::peer
