#include "client/h2_connection.hpp"

#include <array>
#include <cstdio>
#include <iterator>
#include <type_traits>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

namespace corvid::detail {

namespace {

std::string describe(h2::wire_error code) {
    static constexpr const char* names[] = {"NO_ERROR",
                                            "PROTOCOL_ERROR",
                                            "INTERNAL_ERROR",
                                            "FLOW_CONTROL_ERROR",
                                            "SETTINGS_TIMEOUT",
                                            "STREAM_CLOSED",
                                            "FRAME_SIZE_ERROR",
                                            "REFUSED_STREAM",
                                            "CANCEL",
                                            "COMPRESSION_ERROR",
                                            "CONNECT_ERROR",
                                            "ENHANCE_YOUR_CALM",
                                            "INADEQUATE_SECURITY",
                                            "HTTP_1_1_REQUIRED"};
    const auto value = static_cast<std::uint32_t>(code);
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", value);
    if (value < std::size(names)) {
        return std::string(names[value]) + " (" + hex + ")";
    }
    return std::string("error code ") + hex;
}

}  // namespace

asio::awaitable<void> h2_stream::wait() {
    std::error_code ignored;
    // Setting the expiry cancels pending waits: a stream may have two
    // waiters (a WebSocket's reader and writer), which would wake each other
    // without end. notify() leaves the expiry at max.
    if (signal.expiry() != asio::steady_timer::time_point::max()) {
        signal.expires_at(asio::steady_timer::time_point::max());
    }
    co_await signal.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

h2_connection::h2_connection(asio::any_io_executor executor, std::unique_ptr<net::stream> stream,
                             h2::client_session session, std::string key, std::size_t number)
    : pool_key(std::move(key)),
      id(number),
      executor_(executor),
      stream_(std::move(stream)),
      session_(std::move(session)),
      write_signal_(executor),
      idle_timer_(executor),
      ping_timer_(executor),
      last_input_(std::chrono::steady_clock::now()) {}

h2_connection::~h2_connection() {
    if (stream_) {
        stream_->close();
    }
}

void h2_connection::start() {
    auto self = shared_from_this();
    asio::co_spawn(
        executor_, [self] { return self->reader(); }, asio::detached);
    asio::co_spawn(
        executor_, [self] { return self->writer(); }, asio::detached);
    if (idle_timeout.count() > 0) {
        asio::co_spawn(
            executor_, [self] { return self->idle_watch(); }, asio::detached);
    }
    if (ping_interval.count() > 0) {
        asio::co_spawn(
            executor_, [self] { return self->keepalive(); }, asio::detached);
    }
}

bool h2_connection::can_open_stream() const noexcept {
    return !closed_ && !dead() && session_.peer_settings_received() &&
           session_.open_streams() < session_.peer().max_concurrent_streams;
}

result<std::shared_ptr<h2_stream>> h2_connection::open(
    const h2::request_head& head, bool end_stream,
    std::optional<std::optional<h2::priority_spec>> priority) {
    if (closed_) {
        return error_ ? error_ : std::error_code(http2_errc::session_closing);
    }
    auto id_or_error = priority ? session_.submit_request(head, end_stream, *priority)
                                : session_.submit_request(head, end_stream);
    if (!id_or_error) {
        return id_or_error.error();
    }
    auto stream = std::make_shared<h2_stream>(executor_);
    stream->id = *id_or_error;
    streams_.emplace(stream->id, stream);
    ++opened_;
    wake_writer();
    return stream;
}

asio::awaitable<result<void>> h2_connection::send_body(std::shared_ptr<h2_stream> stream,
                                                       std::string_view bytes, bool end_stream) {
    for (;;) {
        if (stream->error) {
            co_return stream->error;
        }
        if (stream->closed) {
            co_return result<void>{};  // ended without error: no more body wanted
        }
        auto taken = session_.submit_data(stream->id, bytes, end_stream);
        if (!taken) {
            co_return taken.error();
        }
        wake_writer();
        if (*taken == bytes.size()) {
            co_return result<void>{};  // all queued (and the end, if asked)
        }
        bytes.remove_prefix(*taken);
        // The stream's send buffer is full: wait until the writer drains it.
        stream->writable = false;
        while (!stream->writable && !stream->error && !stream->closed) {
            co_await stream->wait();
        }
    }
}

result<void> h2_connection::send_body(const std::shared_ptr<h2_stream>& stream,
                                      std::string&& bytes) {
    if (auto ec = session_.submit_data(stream->id, std::move(bytes), true)) {
        return ec;
    }
    wake_writer();
    return {};
}

void h2_connection::consumed(const std::shared_ptr<h2_stream>& stream, std::size_t n) {
    session_.consume(stream->id, n);
    wake_writer();
}

void h2_connection::cancel(const std::shared_ptr<h2_stream>& stream) {
    // Give back the window of what was received but never taken.
    std::size_t unread = 0;
    for (const auto& c : stream->chunks) {
        unread += c.size();
    }
    stream->chunks.clear();
    if (unread > 0) {
        session_.consume(stream->id, unread);
    }
    if (!stream->closed && !closed_) {
        (void)session_.reset_stream(stream->id, h2::wire_error::cancel);
    }
    streams_.erase(stream->id);
    wake_writer();
}

void h2_connection::close(std::error_code ec) {
    if (closed_) {
        return;
    }
    closed_ = true;
    idle_timer_.cancel();
    ping_timer_.cancel();
    if (!error_) {
        error_ = ec;
    }
    for (auto& [sid, s] : streams_) {
        if (!s->ended && !s->error) {
            s->error = ec;
        }
        s->closed = true;  // a body still being sent stops too
        s->notify();
    }
    streams_.clear();
    stream_->close();
    wake_writer();
    if (on_closed) {
        auto cb = std::move(on_closed);
        on_closed = nullptr;
        cb(*this);
    }
}

void h2_connection::dispatch_events() {
    bool capacity = false;
    while (auto e = session_.next_event()) {
        std::visit(
            [this, &capacity](auto& ev) {
                using T = std::decay_t<decltype(ev)>;
                if constexpr (std::is_same_v<T, h2::response_event>) {
                    auto it = streams_.find(ev.stream_id);
                    if (it == streams_.end() || ev.status < 200) {
                        return;  // an abandoned stream, or an interim 1xx head
                    }
                    auto& s = *it->second;
                    s.head_received = true;
                    s.status = ev.status;
                    s.fields = std::move(ev.fields);
                    s.ended = ev.end_stream;
                    s.notify();
                } else if constexpr (std::is_same_v<T, h2::data_event>) {
                    auto it = streams_.find(ev.stream_id);
                    if (it == streams_.end()) {
                        session_.consume(ev.stream_id, ev.data.size());
                        return;
                    }
                    auto& s = *it->second;
                    if (!ev.data.empty()) {
                        s.chunks.emplace_back(ev.data);
                    }
                    if (ev.end_stream) {
                        s.ended = true;
                    }
                    s.notify();
                } else if constexpr (std::is_same_v<T, h2::trailers_event>) {
                    if (auto it = streams_.find(ev.stream_id); it != streams_.end()) {
                        it->second->trailers = std::move(ev.fields);
                        it->second->ended = true;
                        it->second->notify();
                    }
                } else if constexpr (std::is_same_v<T, h2::stream_closed_event>) {
                    capacity = true;
                    if (ev.reset_by_peer && trace) {
                        trace("HTTP/2 stream " + std::to_string(ev.stream_id) +
                              " reset by the server: " + describe(ev.code));
                    }
                    if (auto it = streams_.find(ev.stream_id); it != streams_.end()) {
                        auto& s = *it->second;
                        s.closed = true;
                        if (ev.error && !s.ended) {
                            s.error = ev.error;
                        } else if (!s.ended && !s.head_received) {
                            s.error = http2_errc::stream_reset;
                        } else if (!s.ended) {
                            s.ended = true;  // closed cleanly without END_STREAM seen
                        }
                        s.notify();
                        streams_.erase(it);
                    }
                } else if constexpr (std::is_same_v<T, h2::settings_event>) {
                    capacity = true;
                } else if constexpr (std::is_same_v<T, h2::goaway_event>) {
                    if (trace) {
                        trace("HTTP/2 GOAWAY from the server: last stream " +
                              std::to_string(ev.last_stream_id) + ", " + describe(ev.code) +
                              (ev.debug_data.empty() ? "" : ", \"" + ev.debug_data + "\""));
                    }
                } else if constexpr (std::is_same_v<T, h2::stream_writable_event>) {
                    if (auto it = streams_.find(ev.stream_id); it != streams_.end()) {
                        it->second->writable = true;
                        it->second->notify();
                    }
                }
                // PING ACKs: any input proves the peer alive (last_input_).
            },
            *e);
    }
    if (capacity && on_capacity) {
        on_capacity(*this);
    }
}

asio::awaitable<void> h2_connection::reader() {
    auto self = shared_from_this();
    std::unique_ptr<char[]> buffer(new char[64 * 1024]);
    while (!closed_) {
        auto n = co_await stream_->read_some(std::span(buffer.get(), 64 * 1024));
        if (closed_) {
            co_return;
        }
        if (!n || *n == 0) {
            close(n ? std::error_code(net_errc::connection_closed) : n.error());
            co_return;
        }
        if (ping_interval.count() > 0) {
            last_input_ = std::chrono::steady_clock::now();
            if (ping_outstanding_) {
                ping_outstanding_ = false;
                ping_timer_.cancel();  // keepalive() waits for the next interval
            }
        }
        dispatch_events();  // writability events queued by the writer
        auto ec = session_.receive(std::string_view(buffer.get(), *n));
        dispatch_events();
        wake_writer();
        if (ec) {
            // The session queued a GOAWAY: the writer sends it, then closes.
            if (trace) {
                auto detail = session_.error_detail();
                trace("HTTP/2 connection error: " + ec.message() +
                      (detail.empty() ? "" : " (" + std::string(detail) + ")"));
                if (!session_.peer_settings_received() &&
                    std::string_view(buffer.get(), *n).starts_with("HTTP/1.")) {
                    trace("The server answered in HTTP/1.x: it does not speak HTTP/2 here");
                }
            }
            error_ = ec;
            for (auto& [sid, s] : streams_) {
                if (!s->ended && !s->error) {
                    s->error = ec;
                }
                s->notify();
            }
            co_return;
        }
        if (!session_.want_read() && !session_.want_write()) {
            close(net_errc::connection_closed);
            co_return;
        }
        // Let the streams' readers (and the writer) run before the next
        // read. A read that finds bytes already in the socket completes
        // without suspending, so without this the reader would drain a
        // whole stream window (1 MiB by default) into the stream queues
        // before the application saw the first byte, and the WINDOW_UPDATEs
        // that follow its reads would go out that much later.
        co_await asio::post(executor_, asio::use_awaitable);
    }
}

asio::awaitable<void> h2_connection::writer() {
    auto self = shared_from_this();
    for (;;) {
        auto out = session_.pending_output();
        dispatch_events();
        if (!out.empty() && !closed_) {
            std::array<asio::const_buffer, 1> buffers{asio::buffer(out.data(), out.size())};
            auto written = co_await stream_->write(buffers);
            if (!written) {
                close(written.error());
                co_return;
            }
            session_.consume_output(out.size());
            continue;
        }
        if (closed_) {
            co_return;
        }
        if (error_) {
            close(error_);  // the GOAWAY is out
            co_return;
        }
        write_signal_.expires_at(asio::steady_timer::time_point::max());
        std::error_code ignored;
        co_await write_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
}

asio::awaitable<void> h2_connection::idle_watch() {
    auto self = shared_from_this();
    std::size_t seen = opened_;
    while (!closed_) {
        std::error_code ignored;
        idle_timer_.expires_after(idle_timeout);
        co_await idle_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        if (closed_) {
            co_return;
        }
        // Idle for a whole period: no stream open, none opened since.
        if (streams_.empty() && opened_ == seen) {
            close(net_errc::connection_closed);
            co_return;
        }
        seen = opened_;
    }
}

asio::awaitable<void> h2_connection::keepalive() {
    // Any input counts as a sign of life, not only the PING ACK: a server
    // busy sending a large response may queue the ACK behind DATA. The
    // reader clears ping_outstanding_ and wakes this loop when input arrives.
    auto self = shared_from_this();
    using clock = std::chrono::steady_clock;
    while (!closed_) {
        std::error_code ignored;
        ping_timer_.expires_at(ping_outstanding_ ? ping_sent_ + ping_timeout
                                                 : last_input_ + ping_interval);
        co_await ping_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        if (closed_ || error_) {
            co_return;  // closed, or failed and sending its GOAWAY
        }
        const auto now = clock::now();
        if (ping_outstanding_) {
            if (now - ping_sent_ >= ping_timeout) {
                if (trace) {
                    trace("HTTP/2 PING unanswered for " + std::to_string(ping_timeout.count()) +
                          " ms: closing connection #" + std::to_string(id));
                }
                close(http2_errc::ping_timeout);
                co_return;
            }
        } else if (now - last_input_ >= ping_interval) {
            if (session_.ping(++pings_sent_)) {
                co_return;  // the session has failed
            }
            ping_outstanding_ = true;
            ping_sent_ = now;
            wake_writer();
        }
    }
}

}  // namespace corvid::detail
