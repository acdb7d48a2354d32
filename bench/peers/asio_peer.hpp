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
#include <optional>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "bench/peers/peer_protocol.hpp"
#include "corvid/client.hpp"
#include "corvid/websocket.hpp"

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

/// Opens the peer's one WebSocket connection the first time a sample needs
/// it: unless `ws` is open already or the connection is `broken` (why it is
/// unusable: every later sample fails with it), connects to `url` and sets
/// one of the two. A server that negotiates an extension breaks it: the
/// peers measure plain frames.
inline asio::awaitable<void> open_websocket_once(corvid::client& client, const std::string& url,
                                                 const corvid::websocket_options& options,
                                                 std::optional<corvid::websocket>& ws,
                                                 std::string& broken) {
    if (!broken.empty() || ws) {
        co_return;
    }
    auto opened = co_await corvid::websocket::connect(client, url, options);
    if (!opened) {
        broken = "cannot open " + url + ": " + opened.error().message();
    } else if (!opened->extensions().empty()) {
        broken = "the server negotiated extensions: " + opened->extensions();
    } else {
        ws.emplace(std::move(*opened));
    }
}

}  // namespace corvid::bench::peer
