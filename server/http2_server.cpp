// The HTTP/2 side of http1_server: one connection, many concurrent streams.
// A reader feeds the sans-I/O h2::server_session, each complete request runs
// the handler in its own coroutine, and a writer sends whatever the session
// has queued. Everything runs on the connection's executor.

#include <array>
#include <cstring>
#include <map>
#include <type_traits>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "proto/h2/session.hpp"
#include "server/http1_server.hpp"

namespace corvid::server {

namespace {

// The receiving side of an extended CONNECT stream: DATA waits here until the
// upgrade handler reads it, and the stream's window reopens only then.
struct h2_tunnel {
    explicit h2_tunnel(asio::any_io_executor ex) : readable(ex) {
        readable.expires_at(asio::steady_timer::time_point::max());
    }
    std::string inbound;  // received, [pos, size) not yet read
    std::size_t pos = 0;
    bool eof = false;     // END_STREAM received
    bool closed = false;  // the stream is gone (reset, or the connection ended)
    bool upgraded = false;
    std::error_code error;
    asio::steady_timer readable;  // cancel() wakes the reader; never re-armed

    void wake() { readable.cancel(); }
};

struct h2_connection_state {
    explicit h2_connection_state(asio::any_io_executor ex, h2::server_session s)
        : session(std::move(s)), write_signal(ex), executor(ex) {}

    h2::server_session session;
    asio::steady_timer write_signal;
    asio::any_io_executor executor;
    std::map<std::int32_t, incoming_request> requests;                    // bodies being received
    std::map<std::int32_t, std::shared_ptr<asio::steady_timer>> blocked;  // full send buffers
    std::map<std::int32_t, std::shared_ptr<h2_tunnel>> tunnels;           // CONNECT streams
    bool closed = false;
    bool writer_exited = false;
    bool draining = false;  // GOAWAY sent: the writer closes once no stream is open
    std::shared_ptr<asio::steady_timer> writer_exit;  // cancelled when the writer ends
    std::chrono::steady_clock::time_point last_read = std::chrono::steady_clock::now();
    asio::steady_timer idle_timer{executor};  // the idle_timeout watch

    void wake_writer() { write_signal.cancel(); }
    // GOAWAY (NO_ERROR): open streams finish, new ones are refused, and the
    // connection closes once none is open.
    void drain() {
        if (closed || draining) {
            return;
        }
        draining = true;
        (void)session.goaway(h2::wire_error::no_error);
        wake_writer();
    }
};

// Queues `bytes` on a stream, waiting while its send buffer is full.
asio::awaitable<bool> send_data(std::shared_ptr<h2_connection_state> st, std::int32_t id,
                                std::string_view bytes, bool end_stream) {
    for (;;) {
        if (st->closed) {
            co_return false;
        }
        auto taken = st->session.submit_data(id, bytes, end_stream);
        if (!taken) {
            co_return false;
        }
        st->wake_writer();
        if (*taken == bytes.size()) {
            co_return true;
        }
        bytes.remove_prefix(*taken);
        auto waiter = std::make_shared<asio::steady_timer>(st->executor);
        waiter->expires_at(asio::steady_timer::time_point::max());
        st->blocked[id] = waiter;
        std::error_code ignored;
        co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) {
            co_return false;  // the caller's operation was cancelled
        }
    }
}

// What both HTTP/2 byte streams share: the stream, its tunnel (the closed
// state, the error and the wake-up), and the abort.
class h2_stream_base : public byte_stream {
  public:
    h2_stream_base(std::shared_ptr<h2_connection_state> st, std::int32_t id,
                   std::shared_ptr<h2_tunnel> tunnel)
        : st_(std::move(st)), id_(id), tunnel_(std::move(tunnel)) {}

    void close() noexcept override {
        if (aborted_) {
            return;
        }
        aborted_ = true;
        if (!st_->closed && !tunnel_->closed) {
            (void)st_->session.reset_stream(id_, h2::wire_error::cancel);
            st_->wake_writer();
        }
        tunnel_->wake();
        if (auto it = st_->blocked.find(id_); it != st_->blocked.end()) {
            it->second->cancel();
        }
    }

    int http_version() const noexcept override { return 20; }
    bool aborted() const noexcept { return aborted_; }

  protected:
    // The stream's error, or connection_aborted.
    std::error_code gone() const {
        return tunnel_->error ? tunnel_->error
                              : std::make_error_code(std::errc::connection_aborted);
    }

    std::shared_ptr<h2_connection_state> st_;
    std::int32_t id_;
    std::shared_ptr<h2_tunnel> tunnel_;
    bool aborted_ = false;
};

// An extended CONNECT stream as a byte_stream (see http1_server.hpp).
class h2_byte_stream final : public h2_stream_base {
  public:
    using h2_stream_base::h2_stream_base;

    asio::awaitable<result<std::size_t>> read_some(std::span<char> buffer) override {
        for (;;) {
            auto& t = *tunnel_;
            if (t.pos < t.inbound.size()) {
                std::size_t n = std::min(buffer.size(), t.inbound.size() - t.pos);
                std::memcpy(buffer.data(), t.inbound.data() + t.pos, n);
                t.pos += n;
                if (t.pos == t.inbound.size()) {
                    t.inbound.clear();
                    t.pos = 0;
                }
                if (!st_->closed) {
                    // Reopens the window: the client may send this much more.
                    st_->session.consume(id_, n);
                    st_->wake_writer();
                }
                co_return n;
            }
            if (t.eof) {
                co_return std::size_t{0};
            }
            if (t.closed || st_->closed || aborted_) {
                co_return gone();
            }
            std::error_code ignored;
            co_await t.readable.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
    }

    asio::awaitable<result<void>> write(std::span<const asio::const_buffer> buffers) override {
        for (const auto& b : buffers) {
            if (aborted_ || tunnel_->closed) {
                co_return gone();
            }
            std::string_view bytes(static_cast<const char*>(b.data()), b.size());
            if (!co_await send_data(st_, id_, bytes, false)) {
                co_return gone();
            }
        }
        co_return result<void>{};
    }
};

// A streamed response body (outgoing_response::stream_body): write() sends
// DATA; read_some() only waits for the stream's end (RST_STREAM from the
// client, or the connection's end). `tunnel` carries no data here, only the
// closed state and the wake-up.
class h2_body_stream final : public h2_stream_base {
  public:
    using h2_stream_base::h2_stream_base;

    asio::awaitable<result<std::size_t>> read_some(std::span<char> /*buffer*/) override {
        for (;;) {
            if (tunnel_->closed || st_->closed || aborted_) {
                co_return gone();
            }
            std::error_code ignored;
            co_await tunnel_->readable.async_wait(
                asio::redirect_error(asio::use_awaitable, ignored));
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none) {
                co_return make_error_code(asio::error::operation_aborted);
            }
        }
    }

    asio::awaitable<result<void>> write(std::span<const asio::const_buffer> buffers) override {
        for (const auto& b : buffers) {
            if (aborted_ || tunnel_->closed || st_->closed) {
                co_return gone();
            }
            std::string_view bytes(static_cast<const char*>(b.data()), b.size());
            if (bytes.empty()) {
                continue;
            }
            if (!co_await send_data(st_, id_, bytes, false)) {
                co_return gone();
            }
        }
        co_return result<void>{};
    }
};

// Forgets a CONNECT stream's tunnel, giving back the window of bytes nobody
// will read.
void drop_tunnel(h2_connection_state& st, std::int32_t id) {
    auto it = st.tunnels.find(id);
    if (it == st.tunnels.end()) {
        return;
    }
    auto& t = *it->second;
    if (!st.closed && t.inbound.size() > t.pos) {
        st.session.consume(id, t.inbound.size() - t.pos);
        st.wake_writer();
    }
    t.inbound.clear();
    t.pos = 0;
    st.tunnels.erase(it);
}

asio::awaitable<void> respond(std::shared_ptr<h2_connection_state> st, std::int32_t id,
                              incoming_request req, handler h) {
    auto res = co_await h(req);
    if (st->closed) {
        co_return;
    }
    std::error_code ignored;
    if (res.delay.count() > 0) {
        asio::steady_timer t(st->executor, res.delay);
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    if (req.method == "CONNECT") {
        auto it = st->tunnels.find(id);
        if (res.upgrade && res.status >= 200 && res.status < 300 && it != st->tunnels.end()) {
            auto tunnel = it->second;
            tunnel->upgraded = true;
            if (st->session.submit_response(id, res.status, res.fields, false)) {
                drop_tunnel(*st, id);
                co_return;
            }
            st->wake_writer();
            h2_byte_stream upgraded(st, id, tunnel);
            co_await res.upgrade(upgraded);
            if (!upgraded.aborted() && !tunnel->closed && !st->closed) {
                (void)co_await send_data(st, id, {}, true);
            }
            if (auto again = st->tunnels.find(id);
                again != st->tunnels.end() && again->second == tunnel) {
                drop_tunnel(*st, id);
            }
            co_return;
        }
        drop_tunnel(*st, id);  // an ordinary answer: the tunnel's bytes are discarded
    }
    const bool head_method = req.method == "HEAD";
    if (streams_body(res, req.method)) {
        // A streamed body (see http1_server.hpp): HEADERS now, DATA as the
        // handler writes, END_STREAM when it returns.
        res.fields.erase("content-length");
        if (head_method) {
            (void)st->session.submit_response(id, res.status, res.fields, true);
            st->wake_writer();
            co_return;
        }
        auto watch = std::make_shared<h2_tunnel>(st->executor);
        watch->upgraded = true;  // kept until we drop it below
        st->tunnels[id] = watch;
        if (st->session.submit_response(id, res.status, res.fields, false)) {
            st->tunnels.erase(id);
            co_return;  // the stream is gone (reset by the client)
        }
        st->wake_writer();
        h2_body_stream body(st, id, watch);
        co_await res.stream_body(body);
        if (!body.aborted() && !watch->closed && !st->closed) {
            (void)co_await send_data(st, id, {}, true);
        }
        if (auto again = st->tunnels.find(id);
            again != st->tunnels.end() && again->second == watch) {
            st->tunnels.erase(again);
        }
        co_return;
    }
    const bool chunked = !res.chunks.empty();
    if (!chunked && !res.fields.contains("Content-Length") && res.status != 204 &&
        res.status != 304) {
        res.fields.add("content-length", std::to_string(res.body.size()));
    }
    const bool no_body = head_method || (!chunked && res.body.empty() && res.trailers.empty());
    if (st->session.submit_response(id, res.status, res.fields, no_body)) {
        co_return;  // the stream is gone (reset by the client)
    }
    st->wake_writer();
    if (no_body) {
        co_return;
    }
    if (!chunked) {
        if (!co_await send_data(st, id, res.body, res.trailers.empty())) {
            co_return;
        }
    } else {
        auto next_at = std::chrono::steady_clock::now();
        for (const auto& chunk : res.chunks) {
            if (res.chunk_interval.count() > 0) {
                next_at += res.chunk_interval;  // absolute deadlines: no drift
                asio::steady_timer t(st->executor, next_at);
                co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
            }
            if (!co_await send_data(st, id, chunk, false)) {
                co_return;
            }
        }
        if (res.trailers.empty()) {
            // Not `a && co_await b`: g++ 12 may evaluate the co_await
            // regardless of `a`.
            if (!co_await send_data(st, id, {}, true)) {
                co_return;
            }
        }
    }
    if (!res.trailers.empty()) {
        (void)st->session.submit_trailers(id, res.trailers);
        st->wake_writer();
    }
}

}  // namespace

asio::awaitable<void> http1_server::serve_h2(net::stream& stream, std::string received,
                                             live_connection& conn, std::string remote) {
    h2::server_options opts;
    opts.limits.max_concurrent_streams = options_.max_concurrent_streams;
    opts.enable_connect_protocol = options_.enable_connect_protocol;
    // The request head limits of HTTP/1.1, advertised and enforced.
    const auto max_list = static_cast<std::uint32_t>(
        std::min<std::size_t>(options_.limits.max_header_bytes, 0xffffffffu));
    opts.limits.max_header_list_size = max_list;
    opts.limits.max_header_fields = options_.limits.max_fields;
    for (auto& setting : opts.settings) {
        if (setting.id == h2::setting_id::max_header_list_size) {
            setting.value = max_list;
        }
    }
    auto created = h2::server_session::create(opts);
    if (!created) {
        stream.close();
        co_return;
    }
    auto st = std::make_shared<h2_connection_state>(executor_, std::move(*created));
    std::error_code ignored;
    const bool is_tls = tls_ != nullptr;
    auto self = shared_from_this();
    // stop_accepting() drains the connection; so does idle_timeout.
    conn.drain = [st] { st->drain(); };
    struct forget_drain {
        live_connection& c;
        ~forget_drain() { c.drain = nullptr; }
    } forget{conn};
    if (draining_) {
        st->drain();
    }
    asio::co_spawn(
        executor_,
        [st, timeout = options_.idle_timeout]() -> asio::awaitable<void> {
            using clock = std::chrono::steady_clock;
            for (;;) {
                const auto deadline = st->last_read + timeout;
                if (clock::now() < deadline) {
                    st->idle_timer.expires_at(deadline);
                } else {
                    st->idle_timer.expires_after(timeout);  // streams open: look again later
                }
                std::error_code e;
                co_await st->idle_timer.async_wait(asio::redirect_error(asio::use_awaitable, e));
                if (st->closed || st->draining) {
                    co_return;
                }
                if (clock::now() - st->last_read >= timeout && st->session.open_streams() == 0) {
                    st->drain();
                    co_return;
                }
            }
        },
        asio::detached);

    // The writer: sends queued frames, wakes handlers whose buffers drained.
    // It uses `stream`, so serve_h2 returns only after it has ended.
    st->writer_exit = std::make_shared<asio::steady_timer>(executor_);
    st->writer_exit->expires_at(asio::steady_timer::time_point::max());
    asio::co_spawn(
        executor_,
        [st, &stream]() -> asio::awaitable<void> {
            struct on_exit {
                h2_connection_state& s;
                ~on_exit() {
                    s.writer_exited = true;
                    s.writer_exit->cancel();
                }
            } guard{*st};
            for (;;) {
                auto out = st->session.pending_output();
                while (auto e = st->session.next_event()) {
                    if (auto* w = std::get_if<h2::stream_writable_event>(&*e)) {
                        if (auto it = st->blocked.find(w->stream_id); it != st->blocked.end()) {
                            it->second->cancel();
                            st->blocked.erase(it);
                        }
                    }
                }
                if (!out.empty() && !st->closed) {
                    std::array<asio::const_buffer, 1> b{asio::buffer(out.data(), out.size())};
                    if (!co_await stream.write(b)) {
                        st->closed = true;
                        stream.close();
                        co_return;
                    }
                    st->session.consume_output(out.size());
                    continue;
                }
                if (st->closed) {
                    co_return;
                }
                if (st->draining && st->session.open_streams() == 0) {
                    // GOAWAY written and nothing left open: end the
                    // connection (the reader's read fails and it cleans up).
                    st->closed = true;
                    stream.close();
                    co_return;
                }
                st->write_signal.expires_at(asio::steady_timer::time_point::max());
                std::error_code e;
                co_await st->write_signal.async_wait(asio::redirect_error(asio::use_awaitable, e));
            }
        },
        asio::detached);

    auto dispatch = [&](std::int32_t id) {
        auto it = st->requests.find(id);
        if (it == st->requests.end()) {
            return;
        }
        auto req = std::move(it->second);
        st->requests.erase(it);
        ++served_;
        asio::co_spawn(executor_, respond(st, id, std::move(req), handler_), asio::detached);
    };

    std::unique_ptr<char[]> buffer(new char[64 * 1024]);
    std::string_view pending = received;
    for (;;) {
        std::string_view input = pending;
        if (input.empty()) {
            auto n = co_await stream.read_some(std::span(buffer.get(), 64 * 1024));
            if (!n || *n == 0) {
                break;
            }
            input = std::string_view(buffer.get(), *n);
            st->last_read = std::chrono::steady_clock::now();
        }
        pending = {};
        auto ec = st->session.receive(input);
        while (auto e = st->session.next_event()) {
            std::visit(
                [&](auto& ev) {
                    using T = std::decay_t<decltype(ev)>;
                    if constexpr (std::is_same_v<T, h2::request_event>) {
                        incoming_request req;
                        req.method = ev.head.method;
                        req.target = ev.head.path;
                        req.version = 20;
                        req.fields = std::move(ev.head.fields);
                        if (!ev.head.authority.empty() && !req.fields.contains("host")) {
                            req.fields.add("host", ev.head.authority);
                        }
                        req.remote_address = remote;
                        req.tls = is_tls;
                        const bool is_connect = req.method == "CONNECT";
                        req.protocol = ev.head.protocol;
                        st->requests[ev.stream_id] = std::move(req);
                        if (is_connect) {
                            // A tunnel: the handler sees the head now; DATA
                            // waits in the tunnel for an upgrade handler.
                            auto t = std::make_shared<h2_tunnel>(executor_);
                            t->eof = ev.end_stream;
                            st->tunnels[ev.stream_id] = std::move(t);
                            dispatch(ev.stream_id);
                        } else if (ev.end_stream) {
                            dispatch(ev.stream_id);
                        }
                    } else if constexpr (std::is_same_v<T, h2::data_event>) {
                        if (auto t = st->tunnels.find(ev.stream_id); t != st->tunnels.end()) {
                            // Bounded by the stream window: consumed as read.
                            auto& tunnel = *t->second;
                            if (tunnel.pos > 64 * 1024) {
                                tunnel.inbound.erase(0, tunnel.pos);
                                tunnel.pos = 0;
                            }
                            tunnel.inbound.append(ev.data);
                            tunnel.eof = tunnel.eof || ev.end_stream;
                            tunnel.wake();
                            return;
                        }
                        st->session.consume(ev.stream_id, ev.data.size());
                        auto it = st->requests.find(ev.stream_id);
                        if (it != st->requests.end()) {
                            if (it->second.body.size() + ev.data.size() >
                                options_.max_request_body) {
                                (void)st->session.reset_stream(ev.stream_id,
                                                               h2::wire_error::refused_stream);
                                st->requests.erase(it);
                                return;
                            }
                            it->second.body.append(ev.data);
                        }
                        if (ev.end_stream) {
                            dispatch(ev.stream_id);
                        }
                    } else if constexpr (std::is_same_v<T, h2::trailers_event>) {
                        if (auto t = st->tunnels.find(ev.stream_id); t != st->tunnels.end()) {
                            t->second->eof = true;
                            t->second->wake();
                        }
                        if (auto it = st->requests.find(ev.stream_id); it != st->requests.end()) {
                            it->second.trailers = std::move(ev.fields);
                        }
                        dispatch(ev.stream_id);
                    } else if constexpr (std::is_same_v<T, h2::stream_closed_event>) {
                        st->requests.erase(ev.stream_id);
                        if (auto t = st->tunnels.find(ev.stream_id); t != st->tunnels.end()) {
                            auto& tunnel = *t->second;
                            tunnel.closed = true;
                            if (ev.error) {
                                tunnel.error = ev.error;
                            }
                            tunnel.wake();
                            if (!tunnel.upgraded) {
                                drop_tunnel(*st, ev.stream_id);
                            }
                        }
                        if (auto it = st->blocked.find(ev.stream_id); it != st->blocked.end()) {
                            it->second->cancel();
                            st->blocked.erase(it);
                        }
                    }
                },
                *e);
        }
        st->wake_writer();
        if (ec || (!st->session.want_read() && !st->session.want_write())) {
            break;
        }
    }
    // Let the writer flush a final GOAWAY (briefly), then close and wait for
    // it to end: it uses `stream`, which the caller destroys after us.
    asio::steady_timer grace(executor_, std::chrono::milliseconds(20));
    co_await grace.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    st->closed = true;
    st->idle_timer.cancel();
    for (auto& [id, w] : st->blocked) {
        w->cancel();
    }
    for (auto& [id, t] : st->tunnels) {
        t->closed = true;
        t->wake();
    }
    stream.close();
    st->wake_writer();
    while (!st->writer_exited) {
        co_await st->writer_exit->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
}

}  // namespace corvid::server
