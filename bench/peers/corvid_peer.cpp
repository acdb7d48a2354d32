// bench-peer-corvid: corvid's HTTP client (BoringSSL) driven by corvid-bench.
//
// One corvid::client (and so one pool and one TLS context) lives for the whole
// run, so connections are kept alive across samples like libcurl's reused
// easy handle. With --fresh-connection the pool is emptied after each sample
// (close_idle), outside the timed region, so every sample opens a new
// connection; TLS session resumption stays on, as libcurl's session cache does.
//
// The request is built once to look like libcurl's on the wire (Host, then
// Accept: */*; no User-Agent, no cookies, no Accept-Encoding) and copied before
// each sample, outside the timed region.

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include "bench/peers/peer_protocol.hpp"
#include "corvid/client.hpp"

namespace {

namespace peer = corvid::bench::peer;

// One timed GET; prints its line. The response is destroyed on return, so
// its connection is back in the pool (or closed) before the next sample.
asio::awaitable<void> sample(corvid::client& client, const corvid::request& prototype) {
    corvid::request req = prototype;
    std::uint64_t bytes = 0;
    std::int64_t first_ns = 0;
    std::int64_t last_ns = 0;
    const std::int64_t cpu_start = peer::cpu_ns();
    const std::int64_t start = peer::now_ns();
    auto res = co_await client.send(std::move(req));
    if (!res) {
        peer::print_error(res.error().message());
        co_return;
    }
    for (;;) {
        auto piece = co_await res->read_some();
        const std::int64_t now = peer::now_ns();
        if (!piece) {
            peer::print_error(piece.error().message());
            co_return;
        }
        if (piece->empty()) {
            break;  // the connection is back in the pool
        }
        if (bytes == 0) {
            first_ns = now;
        }
        last_ns = now;
        bytes += piece->size();
    }
    const std::int64_t cpu = peer::cpu_ns() - cpu_start;
    if (res->status != 200) {
        peer::print_error("HTTP status " + std::to_string(res->status));
    } else if (bytes == 0) {
        peer::print_error("empty body");
    } else {
        peer::print_sample(first_ns - start, last_ns - start, bytes, cpu);
    }
}

// Blocking on stdin inside the coroutine is deliberate: between samples there
// is nothing for the event loop to do that could affect the next one.
asio::awaitable<void> serve(corvid::client& client, const corvid::request& prototype,
                            bool fresh_connection) {
    while (peer::next_run()) {
        co_await sample(client, prototype);
        if (fresh_connection) {
            client.close_idle();
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    const peer::options opts = peer::parse_options(argc, argv);
    if (opts.version) {
        std::printf("corvid/%s (BoringSSL)\n", CORVID_VERSION);
        return 0;
    }
    corvid::client_options co;
    co.tls.ca_file = opts.cacert;
    co.enable_cookies = false;
    co.decompress = false;
    co.follow_redirects = false;
    co.user_agent.clear();

    corvid::request prototype;
    prototype.url = opts.url;
    prototype.headers.add("Accept", "*/*");

    asio::io_context io;
    corvid::client client(io.get_executor(), co);
    int status = 0;
    asio::co_spawn(io, serve(client, prototype, opts.fresh_connection), [&](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                peer::print_error(ex.what());
            }
            status = 1;
        }
        // The pool may hold timers; the run is over.
        io.stop();
    });
    io.run();
    return status;
}
