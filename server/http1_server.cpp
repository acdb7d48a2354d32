#include "server/http1_server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "net/stream.hpp"
#include "proto/h1/request_parser.hpp"
#include "proto/h1/serializer.hpp"
#include "proto/h2/session.hpp"

namespace corvid::server {

namespace {

// The connection after a 101: bytes read past the request head first, then
// the transport.
class h1_byte_stream final : public byte_stream {
  public:
    h1_byte_stream(net::stream& stream, std::string_view already_read)
        : stream_(stream), leftover_(already_read) {}

    asio::awaitable<result<std::size_t>> read_some(std::span<char> buffer) override {
        if (pos_ < leftover_.size()) {
            std::size_t n = std::min(buffer.size(), leftover_.size() - pos_);
            std::memcpy(buffer.data(), leftover_.data() + pos_, n);
            pos_ += n;
            if (pos_ == leftover_.size()) {
                leftover_ = std::string();
                pos_ = 0;
            }
            co_return n;
        }
        if (!stream_.is_open()) {
            co_return std::make_error_code(std::errc::connection_aborted);
        }
        co_return co_await stream_.read_some(buffer);
    }
    asio::awaitable<result<void>> write(std::span<const asio::const_buffer> buffers) override {
        if (!stream_.is_open()) {
            co_return std::make_error_code(std::errc::connection_aborted);
        }
        co_return co_await stream_.write(buffers);
    }
    void close() noexcept override { stream_.close(); }
    int http_version() const noexcept override { return 11; }

  private:
    net::stream& stream_;
    std::string leftover_;
    std::size_t pos_ = 0;
};

// A streamed response body (outgoing_response::stream_body): writes are
// chunks (or raw bytes for an HTTP/1.0 client); reads only watch for the
// client going away. Bytes the client sends meanwhile (a pipelined request)
// are kept in the connection's read buffer, from `end` on, for the next
// request once the body is over; more than the buffer holds are discarded
// and the connection is not reused.
class h1_body_stream final : public byte_stream {
  public:
    h1_body_stream(net::stream& stream, bool chunked, std::span<char> spare, std::size_t& end)
        : stream_(stream), chunked_(chunked), spare_(spare), end_(end) {}

    asio::awaitable<result<std::size_t>> read_some(std::span<char> /*buffer*/) override {
        reading_ = true;
        for (;;) {
            if (aborted_ || !stream_.is_open()) {
                reading_ = false;
                co_return std::make_error_code(std::errc::connection_aborted);
            }
            std::span<char> into = end_ < spare_.size()
                                       ? spare_.subspan(end_)
                                       : std::span<char>(discard_.data(), discard_.size());
            auto n = co_await stream_.read_some(into);
            if (!n || *n == 0) {
                reading_ = false;
                gone_ = true;  // also for operation_aborted: the read may have taken bytes
                if (!n && n.error() == std::errc::operation_canceled) {
                    gone_ = false;  // cancelled before it completed: nothing was read
                }
                co_return n;
            }
            if (into.data() == discard_.data()) {
                overflowed_ = true;
            } else {
                end_ += *n;
            }
        }
    }

    asio::awaitable<result<void>> write(std::span<const asio::const_buffer> buffers) override {
        if (aborted_ || !stream_.is_open()) {
            co_return std::make_error_code(std::errc::connection_aborted);
        }
        std::size_t total = 0;
        for (const auto& b : buffers) {
            total += b.size();
        }
        if (total == 0) {
            co_return result<void>{};  // an empty chunk would end the body
        }
        if (!chunked_) {
            co_return co_await stream_.write(buffers);
        }
        std::string framing;
        h1::append_chunk_header(framing, total);
        std::vector<asio::const_buffer> pieces;
        pieces.reserve(buffers.size() + 2);
        pieces.push_back(asio::buffer(framing));
        pieces.insert(pieces.end(), buffers.begin(), buffers.end());
        pieces.push_back(asio::buffer("\r\n", 2));
        co_return co_await stream_.write(pieces);
    }

    /// Ends the body properly (the last chunk); false if it could not.
    asio::awaitable<bool> finish() {
        if (aborted_ || !stream_.is_open()) {
            co_return false;
        }
        if (!chunked_) {
            co_return true;
        }
        static constexpr std::string_view last = "0\r\n\r\n";
        std::array<asio::const_buffer, 1> b{asio::buffer(last.data(), last.size())};
        auto r = co_await stream_.write(b);
        co_return r.has_value();
    }

    /// Whether the connection can carry another request after finish():
    /// chunked, not aborted, the client still there, nothing discarded and
    /// no read left running by the handler.
    bool reusable() const noexcept {
        return chunked_ && !aborted_ && !gone_ && !overflowed_ && !reading_ && stream_.is_open();
    }

    void close() noexcept override {
        aborted_ = true;
        stream_.close();
    }
    int http_version() const noexcept override { return 11; }

  private:
    net::stream& stream_;
    bool chunked_;
    std::span<char> spare_;  // the connection's read buffer
    std::size_t& end_;       // where its bytes end
    bool aborted_ = false;
    bool gone_ = false;        // read_some saw the end or an error
    bool overflowed_ = false;  // bytes were discarded
    bool reading_ = false;     // a read_some is running
    std::array<char, 4096> discard_{};
};

// A connection's read buffer, left uninitialised.
class read_buffer {
  public:
    explicit read_buffer(std::size_t size) : data_(new char[size]), size_(size) {}
    char* data() noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }
    void release() noexcept {
        data_.reset();
        size_ = 0;
    }

  private:
    std::unique_ptr<char[]> data_;
    std::size_t size_;
};

}  // namespace

bool streams_body(const outgoing_response& res, std::string_view method) noexcept {
    return res.stream_body && res.status >= 200 && res.status < 300 && res.status != 204 &&
           method != "CONNECT";
}

const char* reason_phrase(int status) noexcept {
    switch (status) {
        case 100:
            return "Continue";
        case 101:
            return "Switching Protocols";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 204:
            return "No Content";
        case 206:
            return "Partial Content";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 303:
            return "See Other";
        case 304:
            return "Not Modified";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 413:
            return "Content Too Large";
        case 417:
            return "Expectation Failed";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        default:
            return "Unknown";
    }
}

std::shared_ptr<http1_server> http1_server::create(asio::any_io_executor executor, handler h,
                                                   std::shared_ptr<tls::server_context> tls,
                                                   server_options options) {
    return std::shared_ptr<http1_server>(
        new http1_server(std::move(executor), std::move(h), std::move(tls), options));
}

http1_server::http1_server(asio::any_io_executor executor, handler h,
                           std::shared_ptr<tls::server_context> tls, server_options options)
    : executor_(executor),
      handler_(std::move(h)),
      tls_(std::move(tls)),
      options_(options),
      acceptor_(executor) {}

result<void> http1_server::listen(const std::string& address, std::uint16_t port) {
    std::error_code ec;
    auto addr = asio::ip::make_address(address, ec);
    if (ec) {
        return ec;
    }
    asio::ip::tcp::endpoint ep(addr, port);
    // Opened by hand for SOCK_CLOEXEC (Asio opens sockets without it, and a
    // child process would keep the port).
    int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
        return std::error_code(errno, std::system_category());
    }
    acceptor_.assign(ep.protocol(), fd, ec);
    if (ec) {
        ::close(fd);
        return ec;
    }
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && options_.reuse_port) {
        acceptor_.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true),
                             ec);
    }
    if (!ec) {
        acceptor_.bind(ep, ec);
    }
    if (!ec) {
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (!ec) {
        acceptor_.non_blocking(true, ec);  // accept4() below must not block
    }
    if (ec) {
        std::error_code ignored;
        acceptor_.close(ignored);
        return ec;
    }
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(
        executor_, [self = shared_from_this()] { return self->accept_loop(); }, asio::detached);
    return {};
}

void http1_server::stop() {
    stopped_ = true;
    std::error_code ignored;
    acceptor_.close(ignored);
    for (auto& [s, conn] : std::map<net::stream*, live_connection*>(live_)) {
        s->close();
    }
}

void http1_server::stop_accepting() {
    draining_ = true;
    std::error_code ignored;
    acceptor_.close(ignored);
    for (auto& [s, conn] : std::map<net::stream*, live_connection*>(live_)) {
        if (live_.count(s) == 0) {
            continue;  // ended meanwhile
        }
        if (conn->idle) {
            s->close();
        } else if (conn->drain) {
            conn->drain();
        }
    }
}

asio::awaitable<void> http1_server::accept_loop() {
    const auto protocol = acceptor_.local_endpoint().protocol();
    while (!stopped_ && acceptor_.is_open()) {
        std::error_code ec;
        co_await acceptor_.async_wait(asio::socket_base::wait_read,
                                      asio::redirect_error(asio::use_awaitable, ec));
        if (stopped_ || !acceptor_.is_open() || ec == asio::error::operation_aborted) {
            co_return;
        }
        bool back_off = static_cast<bool>(ec);
        // accept4() rather than Asio's accept(): the socket is close-on-exec
        // from the start. One per wake-up: the next accept is queued behind
        // the new connection's first steps, so a burst of connections gets
        // ready in order instead of all near its end. Measured with 100
        // connects at once (corvid-bench engine-connect, median time to
        // ready): 64 per wake-up 3.8-4.7 ms, 8 3.4-4.0 ms, 1 2.8-3.2 ms; the
        // extra wake-up is a scheduler hop (the wait completes at once while
        // connections are pending), not a syscall.
        for (int i = 0; i < 1 && !back_off; ++i) {
            int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr,
                               SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd < 0) {
                const int e = errno;
                if (e == EINTR || e == ECONNABORTED || e == EPROTO) {
                    continue;
                }
                // EAGAIN: none left (or another server on the port took
                // it). EMFILE, ENFILE, ENOBUFS, ENOMEM: keep serving the
                // connections we have and try again a little later.
                back_off = e != EAGAIN && e != EWOULDBLOCK;
                break;
            }
            asio::ip::tcp::socket socket(executor_);
            socket.assign(protocol, fd, ec);
            if (ec) {
                ::close(fd);
                continue;
            }
            on_accepted(std::move(socket));
        }
        if (back_off) {
            asio::steady_timer pause(executor_, std::chrono::milliseconds(50));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }
}

void http1_server::on_accepted(asio::ip::tcp::socket socket) {
    ++accepted_;
    std::error_code ec;
    auto peer = socket.remote_endpoint(ec).address();
    if (peer.is_v6() && peer.to_v6().is_v4_mapped()) {
        peer = asio::ip::make_address_v4(asio::ip::v4_mapped, peer.to_v6());
    }
    std::string remote = ec ? std::string() : peer.to_string();
    connection_permit permit;
    if (options_.limiter) {
        permit = options_.limiter->acquire(remote);
        if (!permit) {
            ++refused_;
            if (!tls_) {
                // Best effort, never blocking: one send into the empty
                // socket buffer; nothing is read.
                static constexpr std::string_view busy =
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    "Retry-After: 1\r\nConnection: close\r\n\r\n";
                (void)::send(socket.native_handle(), busy.data(), busy.size(),
                             MSG_DONTWAIT | MSG_NOSIGNAL);
            }
            socket.close(ec);
            return;
        }
    }
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    asio::co_spawn(
        executor_,
        [self = shared_from_this(), s = std::move(socket), r = std::move(remote),
         p = std::move(permit)]() mutable {
            return self->serve(std::move(s), std::move(r), std::move(p));
        },
        asio::detached);
}

asio::awaitable<void> http1_server::serve(asio::ip::tcp::socket socket, std::string remote,
                                          [[maybe_unused]] connection_permit permit) {
    // `permit` (if any) holds this connection's place in the limiter until
    // we return, upgraded or streaming connections included.
    std::error_code ignored;
    std::unique_ptr<net::stream> stream;
    tls::tls_stream* tls = nullptr;
    if (tls_) {
        auto owned = std::make_unique<tls::tls_stream>(std::move(socket), tls_->native());
        tls = owned.get();
        stream = std::move(owned);
    } else {
        stream = std::make_unique<net::tcp_stream>(std::move(socket),
                                                   net::tcp_stream::write_mode::queued);
    }
    auto* raw = stream.get();
    live_connection conn;
    live_.emplace(raw, &conn);
    struct unregister {
        std::map<net::stream*, live_connection*>& live;
        net::stream* s;
        ~unregister() { live.erase(s); }
    } guard{live_, raw};
    if (stopped_) {
        co_return;
    }

    // Idle connections are closed after idle_timeout: from accept (the TLS
    // handshake and the first request head included) and between requests.
    asio::steady_timer idle(executor_);
    auto arm_idle = [&] {
        idle.expires_after(options_.idle_timeout);
        idle.async_wait([raw](std::error_code ec) {
            if (!ec) {
                raw->close();
            }
        });
    };
    arm_idle();
    if (tls) {
        if (auto hs = co_await tls->handshake_server(); !hs) {
            stream->close();
            co_return;
        }
    }

    // Uninitialised: zero-filling 64 KiB touched every page of it, and the
    // kernel faulted them in (and zeroed them) again for each connection;
    // a WebSocket handshake only touches the first.
    read_buffer buffer(64 * 1024);
    std::size_t begin = 0;
    std::size_t end = 0;
    if (options_.http2 && tls != nullptr && tls->info().alpn == "h2") {
        idle.cancel();
        co_await serve_h2(*stream, {}, conn, remote);
        co_return;
    }
    if (options_.http2 && tls == nullptr) {
        // h2c with prior knowledge: the connection opens with the preface.
        static constexpr std::string_view preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        conn.idle = true;
        if (draining_) {
            stream->close();
            co_return;
        }
        while (end < preface.size() &&
               std::string_view(buffer.data(), end) == preface.substr(0, end)) {
            auto n =
                co_await stream->read_some(std::span(buffer.data() + end, buffer.size() - end));
            conn.idle = false;
            if (!n || *n == 0) {
                stream->close();
                co_return;
            }
            end += *n;
        }
        if (std::string_view(buffer.data(), std::min(end, preface.size())) == preface) {
            idle.cancel();
            co_await serve_h2(*stream, std::string(buffer.data(), end), conn, remote);
            co_return;
        }
    }
    h1::parser_limits limits = options_.limits;
    limits.max_body_bytes = options_.max_request_body;
    h1::request_parser parser(limits);

    for (;;) {
        parser.reset();
        incoming_request req;
        req.remote_address = remote;
        req.tls = tls_ != nullptr;
        bool have_head = false;
        bool done = false;
        bool sent_continue = false;
        bool started = begin < end;  // a byte of this request is here
        if (!started && draining_) {
            // Between requests: stop_accepting() closes the connection here.
            stream->close();
            co_return;
        }
        arm_idle();
        while (!done) {
            // Parse even with no new bytes: after the head, a body-less
            // request is complete without more input.
            if (begin < end || have_head) {
                std::error_code ec;
                auto ev = parser.parse(std::string_view(buffer.data() + begin, end - begin), ec);
                if (ec) {
                    std::string out;
                    corvid::headers f{{"Content-Length", "0"}, {"Connection", "close"}};
                    int status = ec == http1_errc::header_too_large ? 431
                                 : ec == http1_errc::body_too_large ? 413
                                                                    : 400;
                    h1::serialize_response_head(out, status, reason_phrase(status), f);
                    std::array<asio::const_buffer, 1> b{asio::buffer(out)};
                    (void)co_await stream->write(b);
                    stream->close();
                    co_return;
                }
                begin += ev.consumed;
                if (begin == end) {
                    begin = end = 0;
                }
                switch (ev.kind) {
                    case h1::event_kind::head:
                        have_head = true;
                        idle.cancel();
                        req.method = std::string(parser.method());
                        req.target = std::string(parser.target());
                        req.version = parser.version();
                        req.fields = parser.fields();
                        if (parser.expects_continue() && !sent_continue) {
                            sent_continue = true;
                            static constexpr std::string_view cont =
                                "HTTP/1.1 100 Continue\r\n\r\n";
                            std::array<asio::const_buffer, 1> b{
                                asio::buffer(cont.data(), cont.size())};
                            if (!co_await stream->write(b)) {
                                co_return;
                            }
                        }
                        continue;
                    case h1::event_kind::body:
                        req.body.append(ev.body);
                        continue;
                    case h1::event_kind::done:
                        req.trailers = parser.trailers();
                        done = true;
                        continue;
                    case h1::event_kind::need_more:
                        break;
                }
            }
            if (end == buffer.size()) {
                if (begin == 0) {
                    stream->close();  // cannot happen within the parser's limits
                    co_return;
                }
                std::memmove(buffer.data(), buffer.data() + begin, end - begin);
                end -= begin;
                begin = 0;
            }
            conn.idle = !started;
            auto n =
                co_await stream->read_some(std::span(buffer.data() + end, buffer.size() - end));
            conn.idle = false;
            if (!n || *n == 0) {
                idle.cancel();
                stream->close();
                co_return;
            }
            started = true;
            end += *n;
        }
        (void)have_head;

        auto res = co_await handler_(req);
        ++served_;
        if (res.delay.count() > 0) {
            asio::steady_timer t(executor_, res.delay);
            co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
        if (res.upgrade && res.status == 101) {
            std::string head;
            h1::serialize_response_head(
                head, 101, res.reason.empty() ? reason_phrase(101) : res.reason, res.fields);
            std::array<asio::const_buffer, 1> b{asio::buffer(head)};
            if (!co_await stream->write(b)) {
                stream->close();
                co_return;
            }
            h1_byte_stream upgraded(*stream, std::string_view(buffer.data() + begin, end - begin));
            buffer.release();  // the upgraded stream keeps what it needs
            co_await res.upgrade(upgraded);
            stream->close();
            co_return;
        }
        if (streams_body(res, req.method)) {
            // A streamed body (see http1_server.hpp): chunked; the
            // connection carries the next request if the body ended
            // properly, else it closes.
            const bool chunked = req.version >= 11;
            const auto connection = res.fields.get("Connection");
            const bool may_keep_alive = chunked && parser.keep_alive() && !res.close &&
                                        req.method != "HEAD" &&
                                        !(connection && iequals(*connection, "close"));
            res.fields.erase("Content-Length");
            res.fields.erase("Transfer-Encoding");
            if (chunked) {
                res.fields.add("Transfer-Encoding", "chunked");
            }
            if (!may_keep_alive || draining_) {
                res.fields.set("Connection", "close");
            }
            std::string head;
            h1::serialize_response_head(head, res.status,
                                        res.reason.empty() ? reason_phrase(res.status) : res.reason,
                                        res.fields);
            std::array<asio::const_buffer, 1> b{asio::buffer(head)};
            auto wrote = co_await stream->write(b);
            if (!wrote || req.method == "HEAD") {
                stream->close();
                co_return;
            }
            h1_body_stream body(*stream, chunked, std::span(buffer.data(), buffer.size()), end);
            co_await res.stream_body(body);
            const bool finished = co_await body.finish();
            if (!finished || !may_keep_alive || !body.reusable() || draining_) {
                stream->close();
                co_return;
            }
            continue;  // the next request, maybe already in the buffer
        }
        const bool keep_alive = parser.keep_alive() && !res.close && !res.until_close && !draining_;
        if (!keep_alive && !res.until_close && !res.fields.contains("Connection")) {
            res.fields.add("Connection", "close");
        }
        const bool chunked = !res.chunks.empty();
        const bool head_method = req.method == "HEAD";
        if (chunked) {
            res.fields.set("Transfer-Encoding", "chunked");
        } else if (!res.until_close && !res.fields.contains("Content-Length") &&
                   res.status != 204 && res.status != 304) {
            res.fields.add("Content-Length", std::to_string(res.body.size()));
        }
        std::string head;
        h1::serialize_response_head(head, res.status,
                                    res.reason.empty() ? reason_phrase(res.status) : res.reason,
                                    res.fields);
        if (!chunked) {
            std::array<asio::const_buffer, 2> b{asio::buffer(head), asio::buffer(res.body)};
            std::size_t count = head_method || res.body.empty() ? 1 : 2;
            if (!co_await stream->write(std::span(b.data(), count))) {
                co_return;
            }
        } else {
            std::array<asio::const_buffer, 1> b{asio::buffer(head)};
            if (!co_await stream->write(b)) {
                co_return;
            }
            auto next_at = std::chrono::steady_clock::now();
            for (const auto& chunk : res.chunks) {
                if (res.chunk_interval.count() > 0) {
                    // Absolute deadlines, so pacing does not drift.
                    next_at += res.chunk_interval;
                    asio::steady_timer t(executor_, next_at);
                    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
                }
                std::string framing;
                h1::append_chunk_header(framing, chunk.size());
                std::array<asio::const_buffer, 3> pieces{asio::buffer(framing), asio::buffer(chunk),
                                                         asio::buffer("\r\n", 2)};
                if (!co_await stream->write(pieces)) {
                    co_return;
                }
            }
            std::string last;
            h1::append_last_chunk(last, res.trailers.empty() ? nullptr : &res.trailers);
            std::array<asio::const_buffer, 1> lb{asio::buffer(last)};
            if (!co_await stream->write(lb)) {
                co_return;
            }
        }
        if (!keep_alive) {
            stream->close();
            co_return;
        }
    }
}

}  // namespace corvid::server
