// bench-peer-corvid-tokens: corvid's clients (BoringSSL) in the `tokens`
// workload, with the token mode of token_peer.hpp: server-sent events
// through corvid::event_source (include/corvid/sse.hpp), the public API an
// application would use, over HTTP/1.1 or HTTP/2, and WebSocket through
// corvid::websocket (include/corvid/websocket.hpp) over HTTP/1.1 (wss://).
//
// One corvid::client (one pool, one TLS context) lives for the whole run,
// configured like bench-peer-corvid's: verification against --cacert alone,
// no cookies, no decoding, no redirects, no User-Agent. SSE: a new
// event_source per sample on that client, read with try_next_event() while
// events are buffered and next_event() otherwise (reconnection off, so the end of
// the body ends the stream: sse_errc::stream_ended is the normal end after
// "done"); its streams share the connection the first warm-up sample
// opened, over both versions (corvid-fixture keeps an HTTP/1.1 connection
// after a streamed body, as an LLM API does), and a later sample that opens
// one is an error. WebSocket: one
// connection, opened by the first "run" before its clock starts, no
// permessage-deflate, no keepalive pings.

#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include <asio/io_context.hpp>

#include "bench/peers/asio_peer.hpp"
#include "bench/peers/token_peer.hpp"
#include "corvid/client.hpp"
#include "corvid/error.hpp"
#include "corvid/sse.hpp"
#include "corvid/websocket.hpp"

namespace {

namespace peer = corvid::bench::peer;
namespace tokens = corvid::bench::tokens;

// One SSE stream; prints its line.
asio::awaitable<void> sse_sample(corvid::client& client, const peer::token_options& o,
                                 const std::string& url, bool first_sample) {
    corvid::event_source_options eo;
    eo.max_reconnects = 0;
    std::string alpn;
    eo.on_response = [&alpn](const corvid::response& res) { alpn = res.connection.alpn; };
    tokens::stream_check check(o.tokens);
    peer::token_timing t;
    bool done = false;
    std::string error;
    const std::size_t connects_before = client.total_connects();
    corvid::event_source source(client, url, std::move(eo));
    const std::int64_t cpu_start = peer::cpu_ns();
    const std::int64_t start = peer::now_ns();
    // Events already buffered come from try_next_event() into one reused
    // event, without a suspension; next_event() waits for the rest (and
    // reports the end or an error).
    corvid::sse_event ev;
    for (;;) {
        if (!source.try_next_event(ev)) {
            auto next = co_await source.next_event();
            if (!next) {
                if (next.error() != corvid::sse_errc::stream_ended || !done) {
                    error = next.error().message();
                }
                break;
            }
            ev = std::move(*next);
        }
        const std::int64_t now = peer::now_ns();
        if (done) {
            error = "an event after \"done\"";
        } else if (ev.type == "message") {
            t.stamp(now, check.count() == 0);
            check.add(ev.data);
        } else if (ev.type == "done") {
            done = true;
            if (ev.data != std::to_string(o.tokens)) {
                error = "\"done\" carries " + ev.data;
            }
        } else {
            error = "an event of type " + ev.type;
        }
    }
    const std::int64_t cpu = peer::cpu_ns() - cpu_start;
    const std::size_t connects = client.total_connects() - connects_before;
    if (error.empty()) {
        error = check.finish();
    }
    if (error.empty() && (o.http2 ? alpn != "h2" : alpn == "h2")) {
        error = "the stream came over " + (alpn.empty() ? std::string("no ALPN") : alpn);
    }
    if (error.empty() && connects > (first_sample ? 1u : 0u)) {
        error = "the sample opened a connection; the connection was not kept";
    }
    if (!error.empty()) {
        peer::print_error(error);
    } else {
        peer::print_sample(t.first_ns - start, t.last_ns - start, check.chars(), cpu);
    }
}

// One WebSocket stream on `ws`; an empty string, or why the connection is
// unusable now.
asio::awaitable<std::string> ws_sample(corvid::websocket& ws, const peer::token_options& o,
                                       const std::string& start_message) {
    tokens::stream_check check(o.tokens);
    peer::token_timing t;
    const std::int64_t cpu_start = peer::cpu_ns();
    const std::int64_t start = peer::now_ns();
    auto sent = co_await ws.send_text(start_message);
    if (!sent) {
        co_return "send: " + sent.error().message();
    }
    // Messages already buffered come from try_receive() into one reused
    // message, without a coroutine frame each (a burst arrives hundreds to
    // a read); receive() waits for more. Either way every message is
    // checked below.
    corvid::websocket_message m;
    for (;;) {
        auto got = ws.try_receive(m);
        if (!got) {
            co_return "receive: " + got.error().message();
        }
        if (!*got) {
            auto next = co_await ws.receive();
            if (!next) {
                co_return "receive: " + next.error().message();
            }
            m = std::move(*next);
        }
        const std::int64_t now = peer::now_ns();
        if (m.type != corvid::websocket_message_type::text) {
            co_return "a binary message";
        }
        // A view, as the Beast peer compares: std::string == "done" calls
        // compare() (strlen, then memcmp whatever the sizes).
        const std::string_view text = m.data;
        if (text == "done") {
            break;
        }
        t.stamp(now, check.count() == 0);
        if (!check.add(text)) {
            break;
        }
    }
    const std::int64_t cpu = peer::cpu_ns() - cpu_start;
    if (std::string wrong = check.finish(); !wrong.empty()) {
        co_return wrong;
    }
    peer::print_sample(t.first_ns - start, t.last_ns - start, check.chars(), cpu);
    co_return std::string();
}

// Blocking on stdin inside the coroutine is deliberate: between samples
// there is nothing for the event loop to do (no keepalive pings).
asio::awaitable<void> serve(corvid::client& client, const peer::token_options& o) {
    if (!o.websocket) {
        const std::string url = o.sse_url();
        bool first_sample = true;
        while (peer::next_run()) {
            co_await sse_sample(client, o, url, first_sample);
            first_sample = false;
        }
        co_return;
    }
    corvid::websocket_options wo;
    wo.deflate.enabled = false;
    wo.ping_interval = std::chrono::milliseconds(0);
    wo.transport = corvid::websocket_transport::http1_1;
    const std::string start_message = o.ws_start();
    std::optional<corvid::websocket> ws;
    std::string broken;  // why the connection is unusable; every later sample fails
    while (peer::next_run()) {
        co_await peer::open_websocket_once(client, o.url, wo, ws, broken);
        if (broken.empty()) {
            broken = co_await ws_sample(*ws, o, start_message);
        }
        if (!broken.empty()) {
            peer::print_error(broken);
        }
    }
    if (ws && broken.empty()) {
        co_await ws->close();
    }
}

}  // namespace

int main(int argc, char** argv) {
    const peer::token_options o =
        peer::parse_token_options(argc, argv, /*sse=*/true, /*websocket=*/true);
    if (o.version) {
        std::printf("corvid/%s (BoringSSL) event_source and websocket\n", CORVID_VERSION);
        return 0;
    }
    corvid::client_options co;
    co.tls.ca_file = o.cacert;
    co.enable_cookies = false;
    co.decompress = false;
    co.follow_redirects = false;
    co.user_agent.clear();
    co.http_version =
        o.http2 ? corvid::http_version_policy::http2 : corvid::http_version_policy::http1_1;

    // One thread runs the io_context (Asio's concurrency hint 1).
    asio::io_context io(1);
    corvid::client client(io.get_executor(), co);
    return peer::run_until_done(io, serve(client, o));
}
