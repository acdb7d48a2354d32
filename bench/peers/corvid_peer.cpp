// bench-peer-corvid: corvid's HTTP client (BoringSSL) driven by corvid-bench.
//
// One corvid::client (and so one pool and one TLS context) lives for the whole
// run, so connections are kept alive across samples like libcurl's reused
// easy handle. With --fresh-connection the pool is emptied after each sample
// (close_idle), outside the timed region, so every sample opens a new
// connection; TLS session resumption stays on, as libcurl's session cache does.
// The connections a sample opens are counted (client::total_connects): with
// --fresh-connection each sample must open exactly one, without it only the
// first sample may open one, so a figure never mixes handshakes into
// keep-alive samples or the reverse.
//
// The request is built once to look like libcurl's on the wire (Host, then
// Accept: */*; no User-Agent, no cookies, no Accept-Encoding; uploads add
// Content-Type: application/octet-stream) and copied before each sample,
// outside the timed region. With --impersonate NAME the client sends that
// browser profile instead (client_options::profile): its ClientHello, its
// HTTP/2 SETTINGS, windows and priorities (which replace the 32 MiB windows
// set below) and its navigation headers in its order, Accept included, so
// the request carries no Accept of its own.
//
// An upload is a body_stream handing out one piece of --upload-chunk bytes
// per call; --concurrent N co_spawns N requests on the client's executor at
// once and waits for all of them.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "bench/peers/asio_peer.hpp"
#include "bench/peers/peer_protocol.hpp"
#include "corvid/client.hpp"
#include "corvid/profile.hpp"

namespace {

namespace peer = corvid::bench::peer;

// corvid::http_version_policy gains `http2` (require h2) with corvid's HTTP/2
// client (issue 3). Detected rather than named so this peer builds before
// and after it lands: until then --http2 answers every sample with
// "error HTTP/2 not available in this build". Once the value exists this is
// always true and can be replaced by plain `http_version_policy::http2`.
template <typename Policy>
constexpr bool has_http2_policy = requires {
    Policy::http2;
};

template <typename Policy>
std::optional<Policy> http2_policy() {
    if constexpr (has_http2_policy<Policy>) {
        return Policy::http2;
    } else {
        return std::nullopt;
    }
}

// What the caller saw of the response bodies of one sample.
struct transfer {
    std::int64_t first_ns = 0;
    std::int64_t last_ns = 0;
    std::uint64_t bytes = 0;
    std::string error;  ///< the first failure, if any
};

// Sets the request's body source: `size` bytes, one `piece` per call.
void attach_upload(corvid::request& req, const std::string& piece, std::uint64_t size) {
    auto left = std::make_shared<std::uint64_t>(size);
    req.body_stream = [&piece, left]() -> asio::awaitable<corvid::result<std::string_view>> {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(*left, piece.size()));
        *left -= n;
        co_return std::string_view(piece.data(), n);
    };
}

// One request: sends it and reads its body to the end, stamping `t`. The
// response is destroyed on return, so its stream (or connection) is finished
// with before the caller stops the clock.
asio::awaitable<void> exchange(corvid::client& client, corvid::request req, bool http2,
                               transfer& t) {
    auto res = co_await client.send(std::move(req));
    if (!res) {
        if (t.error.empty()) {
            t.error = res.error().message();
        }
        co_return;
    }
    for (;;) {
        auto piece = co_await res->read_some();
        const std::int64_t now = peer::now_ns();
        if (!piece) {
            if (t.error.empty()) {
                t.error = piece.error().message();
            }
            co_return;
        }
        if (piece->empty()) {
            break;  // the connection is back in the pool
        }
        if (t.bytes == 0) {
            t.first_ns = now;
        }
        t.last_ns = now;
        t.bytes += piece->size();
    }
    if (t.error.empty()) {
        if (res->status != 200) {
            t.error = "HTTP status " + std::to_string(res->status);
        } else if (http2 && res->connection.alpn != "h2") {
            t.error = "the response did not come over HTTP/2 (the server did not select h2)";
        }
    }
}

struct settings {
    corvid::request prototype;
    std::string piece;  ///< one upload piece
    std::uint64_t upload_size = 0;
    std::size_t concurrent = 1;
    bool http2 = false;
    bool fresh_connection = false;
};

// Checks the connections one single-request sample opened against what the
// run asked for; an empty string when they match.
std::string connection_check(const settings& s, std::size_t opened, bool first_sample) {
    if (s.fresh_connection && opened != 1) {
        return "the sample opened " + std::to_string(opened) +
               " connections; --fresh-connection needs exactly one";
    }
    if (!s.fresh_connection && opened > (first_sample ? 1u : 0u)) {
        return "the sample opened a connection; the previous one was not kept alive";
    }
    return {};
}

corvid::request make_request(const settings& s) {
    corvid::request req = s.prototype;
    if (s.upload_size != 0) {
        attach_upload(req, s.piece, s.upload_size);
    }
    return req;
}

// One timed sample; prints its line.
asio::awaitable<void> sample(corvid::client& client, const settings& s, bool first_sample) {
    transfer t;
    if (s.concurrent == 1) {
        corvid::request req = make_request(s);
        const std::size_t connects_before = client.total_connects();
        const std::int64_t cpu_start = peer::cpu_ns();
        const std::int64_t start = peer::now_ns();
        co_await exchange(client, std::move(req), s.http2, t);
        const std::int64_t cpu = peer::cpu_ns() - cpu_start;
        const std::string connections =
            connection_check(s, client.total_connects() - connects_before, first_sample);
        if (!t.error.empty()) {
            peer::print_error(t.error);
        } else if (!connections.empty()) {
            peer::print_error(connections);
        } else if (t.bytes == 0) {
            peer::print_error("empty body");
        } else {
            peer::print_sample(t.first_ns - start, t.last_ns - start, t.bytes, cpu);
        }
        co_return;
    }

    // N requests at once: each runs as its own coroutine on the client's
    // executor; the last to finish cancels the timer this one waits on.
    const auto executor = co_await asio::this_coro::executor;
    std::vector<corvid::request> reqs;
    reqs.reserve(s.concurrent);
    for (std::size_t i = 0; i < s.concurrent; ++i) {
        reqs.push_back(make_request(s));
    }
    asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
    std::size_t pending = s.concurrent;
    const std::size_t connects_before = client.total_connects();
    const std::int64_t cpu_start = peer::cpu_ns();
    const std::int64_t start = peer::now_ns();
    for (auto& req : reqs) {
        asio::co_spawn(
            executor,
            [&client, &t, &pending, &all_done, http2 = s.http2,
             r = std::move(req)]() mutable -> asio::awaitable<void> {
                co_await exchange(client, std::move(r), http2, t);
                if (--pending == 0) {
                    all_done.cancel();
                }
            },
            asio::detached);
    }
    asio::error_code ignored;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    const std::int64_t cpu = peer::cpu_ns() - cpu_start;
    const std::size_t connects = client.total_connects() - connects_before;
    if (!t.error.empty()) {
        peer::print_error(t.error);
    } else if (connects > 1) {
        peer::print_error("the batch opened " + std::to_string(connects) + " connections, not one");
    } else {
        peer::print_sample(t.first_ns - start, t.last_ns - start, t.bytes, cpu);
    }
}

// Blocking on stdin inside the coroutine is deliberate: between samples there
// is nothing for the event loop to do that could affect the next one.
asio::awaitable<void> serve(corvid::client& client, const settings& s) {
    // After close_idle() the closed connection's reader and writer
    // coroutines still have to see their cancellation; they would do so at
    // the start of the next sample, inside its clock, were the event loop
    // not given this pause first (the next "run" is read by blocking).
    constexpr auto settle = std::chrono::milliseconds(1);
    asio::steady_timer pause(co_await asio::this_coro::executor);
    bool first_sample = true;
    while (peer::next_run()) {
        if (s.http2 && !http2_policy<corvid::http_version_policy>()) {
            peer::print_error("HTTP/2 not available in this build");
            continue;
        }
        co_await sample(client, s, first_sample);
        first_sample = false;
        if (s.fresh_connection) {
            client.close_idle();
            pause.expires_after(settle);
            asio::error_code ignored;
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    const peer::options opts = peer::parse_options(argc, argv, /*accepts_impersonate=*/true);
    // A profile that does not load fails the run at start (a usage error,
    // like an unknown option), not sample by sample.
    std::shared_ptr<const corvid::profile> profile;
    if (!opts.impersonate.empty() && opts.impersonate != "none") {
        std::string detail;
        auto loaded = corvid::profile::load(opts.impersonate, &detail);
        if (!loaded) {
            std::fprintf(stderr, "%s: --impersonate %s: %s%s%s%s\n", argv[0],
                         opts.impersonate.c_str(), loaded.error().message().c_str(),
                         detail.empty() ? "" : " (", detail.c_str(), detail.empty() ? "" : ")");
            return 2;
        }
        profile = std::move(*loaded);
    }
    if (opts.version) {
        if (profile) {
            std::printf("corvid/%s (BoringSSL), profile %s: %s\n", CORVID_VERSION,
                        profile->name.c_str(), profile->description.c_str());
        } else {
            std::printf("corvid/%s (BoringSSL)\n", CORVID_VERSION);
        }
        return 0;
    }
    corvid::client_options co;
    co.tls.ca_file = opts.cacert;
    co.enable_cookies = false;
    co.decompress = false;
    co.follow_redirects = false;
    co.user_agent.clear();
    // HTTP/2 receive windows as libcurl 7.88 sets them (32 MiB for each
    // stream and for the connection), so both clients give nghttpd the same
    // room to send; corvid's defaults are Chrome's smaller 6 and 15 MiB.
    co.http2.stream_window = 32u << 20;
    co.http2.connection_window = 32u << 20;
    co.profile = profile;
    if (opts.http2) {
        if (const auto policy = http2_policy<corvid::http_version_policy>()) {
            co.http_version = *policy;
        }
    }

    settings s;
    s.prototype.url = opts.url;
    if (!profile) {
        s.prototype.headers.add("Accept", "*/*");
    }
    if (opts.upload_size != 0) {
        s.prototype.method = "POST";
        s.prototype.headers.add("Content-Type", "application/octet-stream");
    }
    s.piece = peer::upload_piece(opts.upload_chunk);
    s.upload_size = opts.upload_size;
    s.concurrent = opts.concurrent;
    s.http2 = opts.http2;
    s.fresh_connection = opts.fresh_connection;

    asio::io_context io;
    corvid::client client(io.get_executor(), co);
    return peer::run_until_done(io, serve(client, s));
}
