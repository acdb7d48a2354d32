// bench-peer-corvid-ws: corvid's WebSocket client (include/corvid/websocket.hpp)
// driven by corvid-bench's ws-echo workload with the line protocol of
// peer_protocol.hpp (--ws-echo).
//
// The ping-pong is the API's plain form: co_await send_binary() of the whole
// message, then co_await receive() of the whole echo, on one thread (one
// io_context, run by main). The WebSocket is opened over HTTP/1.1 (ws://)
// through a corvid::client with its defaults (TCP_NODELAY included), with
// permessage-deflate not offered and keepalive pings off, so the wire
// carries the same frames as the other peers'.

#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include <asio/io_context.hpp>

#include "bench/peers/asio_peer.hpp"
#include "bench/peers/peer_protocol.hpp"
#include "corvid/client.hpp"
#include "corvid/websocket.hpp"

namespace {

namespace peer = corvid::bench::peer;

asio::awaitable<void> serve(corvid::client& http, const peer::options& o) {
    corvid::websocket_options wo;
    wo.deflate.enabled = false;
    wo.ping_interval = std::chrono::milliseconds(0);
    wo.transport = corvid::websocket_transport::http1_1;
    wo.max_frame_size = peer::ws_max_size;
    wo.max_message_size = peer::ws_max_size;

    peer::ws_echo_payload payload(o.ws_size);
    std::optional<corvid::websocket> ws;
    std::string broken;  // why the connection is unusable; every later sample fails
    std::uint64_t seq = 0;
    // Blocking on stdin inside the coroutine is deliberate: between samples
    // there is nothing for the event loop to do (no keepalive pings).
    while (peer::next_run()) {
        co_await peer::open_websocket_once(http, o.url, wo, ws, broken);
        if (!broken.empty()) {
            peer::print_error(broken);
            continue;
        }
        const std::int64_t cpu_start = peer::cpu_ns();
        const std::int64_t start = peer::now_ns();
        std::int64_t first = 0;
        std::uint64_t bytes = 0;
        for (std::uint64_t i = 0; i < o.ws_messages && broken.empty(); ++i) {
            const std::string& msg = payload.next(seq++);
            auto sent = co_await ws->send_binary(std::string_view(msg));
            if (!sent) {
                broken = "send: " + sent.error().message();
                break;
            }
            auto echo = co_await ws->receive();
            if (!echo) {
                broken = "receive: " + echo.error().message();
                break;
            }
            broken = payload.check(echo->data.data(), echo->data.size(),
                                   echo->type == corvid::websocket_message_type::binary);
            bytes += echo->data.size();
            if (i == 0) {
                first = peer::now_ns();
            }
        }
        const std::int64_t end = peer::now_ns();
        const std::int64_t cpu = peer::cpu_ns() - cpu_start;
        if (!broken.empty()) {
            peer::print_error(broken);
            continue;
        }
        peer::print_sample(first - start, end - start, bytes, cpu);
    }
    if (ws && broken.empty()) {
        co_await ws->close();
    }
}

}  // namespace

int main(int argc, char** argv) {
    const peer::options o = peer::parse_options(argc, argv);
    if (o.version) {
        std::printf("corvid/%s websocket\n", CORVID_VERSION);
        return 0;
    }
    if (!o.ws_echo) {
        std::fprintf(stderr, "%s: only --ws-echo is supported\n", argv[0]);
        return 2;
    }
    // One thread runs the io_context (Asio's concurrency hint 1: its
    // scheduler skips the wake-ups meant for other threads).
    asio::io_context io(1);
    corvid::client http(io.get_executor());
    return peer::run_until_done(io, serve(http, o));
}
