// The WebSocket client: the handshake (client_impl::open_tunnel does the
// HTTP part), then the sans-I/O ws::codec driven over the tunnel's bytes.
//
// Reading happens in the caller's receive(): no background reader, so a
// message goes from the socket to the caller without a hop through a queue,
// and an application that stops reading stops the peer (backpressure).
// Writing is serialized by `writing`: one write in flight; frames queued
// meanwhile (by other senders, or a pong the reader owes) go out with the
// next one.

#include "corvid/websocket.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <utility>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "client/impl.hpp"
#include "core/encoding.hpp"
#include "proto/ws/codec.hpp"
#include "proto/ws/deflate.hpp"
#include "proto/ws/utf8.hpp"

namespace corvid {

namespace detail {

namespace {

using ws_clock = std::chrono::steady_clock;

constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Masking keys from BoringSSL's CSPRNG, drawn 256 bytes at a time (one
/// RAND_bytes call per 64 frames instead of one per frame).
struct mask_source {
    std::array<std::uint8_t, 256> pool{};
    std::size_t used = pool.size();
    void fill(std::span<std::uint8_t> out) {
        for (auto& b : out) {
            if (used == pool.size()) {
                RAND_bytes(pool.data(), pool.size());
                used = 0;
            }
            b = pool[used++];
        }
    }
};

std::string accept_for(std::string_view key) {
    std::string text(key);
    text += websocket_guid;
    std::uint8_t digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), digest);
    return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::span<std::uint8_t> as_bytes(std::span<char> s) {
    return {reinterpret_cast<std::uint8_t*>(s.data()), s.size()};
}

/// The tunnel's bytes, whichever HTTP version carries them.
class transport {
  public:
    virtual ~transport() = default;
    /// Received bytes not yet consumed (mutable: the codec unmasks in place).
    virtual std::span<std::uint8_t> buffered() = 0;
    virtual void consume(std::size_t n) = 0;
    /// Receives more; 0 when the peer ended its side.
    virtual asio::awaitable<result<std::size_t>> fill() = 0;
    virtual asio::awaitable<result<void>> write(std::span<const std::uint8_t> bytes) = 0;
    /// Writes what the socket takes now, without waiting; returns the bytes
    /// written (0 when this transport has no such path). Sets `ec` only for
    /// a failure (not for a full socket).
    virtual std::size_t try_write(std::span<const std::uint8_t> bytes, std::error_code& ec) {
        (void)bytes;
        (void)ec;
        return 0;
    }
    /// Ends our side after the close handshake (HTTP/2: END_STREAM).
    virtual asio::awaitable<void> finish() = 0;
    virtual void abort() noexcept = 0;
    /// Input has arrived that nobody has read yet.
    virtual bool input_waiting() = 0;
};

class h1_transport final : public transport {
  public:
    explicit h1_transport(std::unique_ptr<connection> conn)
        : conn_(std::move(conn)), plain_(!conn_->info.tls) {}
    ~h1_transport() override { conn_->stream->close(); }

    std::span<std::uint8_t> buffered() override { return as_bytes(conn_->pending_bytes()); }
    void consume(std::size_t n) override { conn_->consume(n); }
    asio::awaitable<result<std::size_t>> fill() override {
        if (plain_) {
            // Plain TCP: straight to the socket, one coroutine frame fewer
            // per message than through net::stream.
            std::error_code ec;
            const auto space = conn_->space();
            auto n = co_await conn_->stream->socket().async_read_some(
                asio::buffer(space.data(), space.size()),
                asio::redirect_error(asio::use_awaitable, ec));
            if (ec == asio::error::eof) {
                co_return std::size_t{0};
            }
            if (ec) {
                co_return ec;
            }
            conn_->commit(n);
            co_return n;
        }
        auto n = co_await conn_->stream->read_some(conn_->space());
        if (n) {
            conn_->commit(*n);
        }
        co_return n;
    }
    asio::awaitable<result<void>> write(std::span<const std::uint8_t> bytes) override {
        std::array<asio::const_buffer, 1> one{asio::buffer(bytes.data(), bytes.size())};
        co_return co_await conn_->stream->write(one);
    }
    // Plain TCP: a non-blocking send at once. A message then costs one
    // sendmsg and no trip through the event loop (an asynchronous write
    // completes through a posted handler: one more epoll_wait per message).
    // TLS goes through its stream's asynchronous write.
    std::size_t try_write(std::span<const std::uint8_t> bytes, std::error_code& ec) override {
        if (!plain_) {
            return 0;
        }
        auto& socket = conn_->stream->socket();
        if (!socket.non_blocking()) {
            socket.non_blocking(true, ec);  // only this websocket uses the socket
            if (ec) {
                return 0;
            }
        }
        const std::size_t n = socket.write_some(asio::buffer(bytes.data(), bytes.size()), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
            ec.clear();
        }
        return ec ? 0 : n;
    }
    asio::awaitable<void> finish() override { co_return; }
    void abort() noexcept override { conn_->stream->close(); }
    bool input_waiting() override {
        if (!conn_->pending().empty()) {
            return true;
        }
        std::error_code ec;
        return conn_->stream->is_open() && conn_->stream->socket().available(ec) > 0;
    }

  private:
    std::unique_ptr<connection> conn_;
    bool plain_;  // a tcp_stream: the socket may be used directly
};

class h2_transport final : public transport {
  public:
    h2_transport(std::shared_ptr<h2_connection> conn, std::shared_ptr<h2_stream> stream)
        : conn_(std::move(conn)), stream_(std::move(stream)) {}
    ~h2_transport() override {
        if (!finished_ || !stream_->ended) {
            conn_->cancel(stream_);
        }
    }

    std::span<std::uint8_t> buffered() override {
        return std::span(reinterpret_cast<std::uint8_t*>(current_.data()), current_.size())
            .subspan(pos_);
    }
    void consume(std::size_t n) override { pos_ += n; }
    asio::awaitable<result<std::size_t>> fill() override {
        for (;;) {
            if (!stream_->chunks.empty()) {
                std::string next = std::move(stream_->chunks.front());
                stream_->chunks.pop_front();
                conn_->consumed(stream_, next.size());  // reopens the window
                const std::size_t n = next.size();
                if (pos_ == current_.size()) {
                    current_ = std::move(next);
                } else {
                    current_.erase(0, pos_);
                    current_ += next;
                }
                pos_ = 0;
                co_return n;
            }
            if (stream_->error) {
                co_return stream_->error;
            }
            if (stream_->ended || stream_->closed) {
                co_return std::size_t{0};
            }
            co_await stream_->wait();
        }
    }
    asio::awaitable<result<void>> write(std::span<const std::uint8_t> bytes) override {
        co_return co_await conn_->send_body(
            stream_, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
            false);
    }
    asio::awaitable<void> finish() override {
        if (!finished_) {
            finished_ = true;
            (void)co_await conn_->send_body(stream_, std::string_view{}, true);
        }
    }
    void abort() noexcept override {
        conn_->cancel(stream_);
        stream_->error = make_error_code(net_errc::cancelled);
        stream_->notify();
    }
    bool input_waiting() override { return !stream_->chunks.empty(); }

  private:
    std::shared_ptr<h2_connection> conn_;
    std::shared_ptr<h2_stream> stream_;
    std::string current_;
    std::size_t pos_ = 0;
    bool finished_ = false;
};

/// Wakes every coroutine waiting on it.
struct notifier {
    explicit notifier(asio::any_io_executor ex) : timer(ex) {
        timer.expires_at(asio::steady_timer::time_point::max());
    }
    asio::awaitable<void> wait() {
        std::error_code ignored;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    void notify() { timer.cancel(); }
    asio::steady_timer timer;
};

}  // namespace

struct websocket_impl : std::enable_shared_from_this<websocket_impl> {
    websocket_impl(asio::any_io_executor ex, std::unique_ptr<transport> t, ws::codec c)
        : executor(ex),
          io(std::move(t)),
          codec(std::move(c)),
          write_done(ex),
          keepalive_timer(ex) {}

    ~websocket_impl() {
        keepalive_timer.cancel();
        io->abort();
    }

    asio::any_io_executor executor;
    std::unique_ptr<transport> io;
    ws::codec codec;
    std::optional<ws::deflater> deflater;
    std::optional<ws::inflater> inflater;
    websocket_options options;

    std::string subprotocol;
    std::string extensions;
    int version = 11;
    int status = 0;
    corvid::headers fields;
    connection_info info;
    std::string request_head;

    std::error_code error;  // the connection failed (or closed): every call fails with it
    std::uint16_t close_code = 0;
    std::string close_reason;
    std::string last_pong;
    bool peer_ended = false;  // the transport reported the end of input
    std::uint64_t sent = 0;
    std::uint64_t received = 0;

    bool writing = false;
    notifier write_done;

    // A message being received (receive()): its type, compressed or not.
    bool message_compressed = false;
    websocket_message_type message_type = websocket_message_type::binary;
    std::vector<std::uint8_t> inflated;
    std::vector<std::uint8_t> compressed;  // the message being sent, deflated
    ws::utf8_validator utf8;

    // try_receive() stops without I/O where receive() has work to do, and
    // leaves it here: the part of a message it took (in `partial`, while
    // `in_partial`), a control frame to act on, or an error to fail with.
    bool in_partial = false;
    websocket_message partial;
    std::optional<ws::event> deferred_event;
    std::error_code deferred_error;

    ws_clock::time_point last_input = ws_clock::now();
    ws_clock::time_point ping_sent{};
    bool ping_outstanding = false;
    asio::steady_timer keepalive_timer;

    /// Writes everything queued in the codec. When another write is in
    /// flight: waits for it and goes on if anything is left (only when
    /// `wait` is set; otherwise leaves the rest to that writer).
    asio::awaitable<result<void>> flush(bool wait = true) {
        auto self = shared_from_this();
        for (;;) {
            if (codec.buffered_output() == 0) {
                co_return result<void>{};
            }
            if (writing) {
                if (!wait) {
                    co_return result<void>{};
                }
                co_await write_done.wait();
                continue;
            }
            if (error && error != make_error_code(websocket_errc::closed) && !codec.error()) {
                co_return error;
            }
            if (auto now = write_now(); !now) {
                co_return now.error();
            } else if (*now) {
                co_return result<void>{};
            }
            writing = true;
            auto out = codec.pending_output();
            auto w = co_await io->write(out);
            codec.consume_output(out.size());
            sent += out.size();
            writing = false;
            write_done.notify();
            if (!w) {
                fail(w.error());
                co_return w.error();
            }
        }
    }

    /// Writes queued output as far as the socket takes it without waiting
    /// (plain TCP only). True: nothing is left; false: flush() must wait.
    result<bool> write_now() {
        while (codec.buffered_output() > 0) {
            if (writing) {
                return false;
            }
            auto out = codec.pending_output();
            std::error_code ec;
            const std::size_t n = io->try_write(out, ec);
            codec.consume_output(n);
            sent += n;
            if (ec) {
                fail(ec);
                return ec;
            }
            if (n < out.size()) {
                return false;
            }
        }
        return true;
    }

    /// Queues one message; true when it has been written already.
    result<bool> send_now(websocket_message_type type, std::span<const std::uint8_t> payload) {
        if (error) {
            return error;
        }
        std::error_code ec;
        if (deflater && deflater->should_compress(payload.size())) {
            compressed.clear();
            auto ok = deflater->compress(payload, true, compressed);
            if (!ok) {
                return ok.error();
            }
            ec = codec.send_message(static_cast<ws::message_type>(type), compressed, true);
        } else {
            ec = codec.send_message(static_cast<ws::message_type>(type), payload);
        }
        if (ec) {
            return ec;
        }
        return write_now();
    }

    /// Marks the connection failed with `ec` (the first error sticks) and
    /// aborts the transport.
    void fail(std::error_code ec) {
        if (!error) {
            error = ec;
        }
        if (close_code == 0) {
            close_code = 1006;  // closed abnormally
        }
        keepalive_timer.cancel();
        io->abort();
    }

    /// Parses buffered input up to the next event, without I/O (the part of
    /// reading that needs no suspension), and returns it in place (the
    /// codec's, or the one try_receive() left): release_event() once done
    /// with it. nullptr (and `ec` clear) when more input is needed; `ec` set
    /// when the codec failed (it queued a close with the matching code). An
    /// event and an error never come together.
    ws::event* parse_buffered(std::error_code& ec) {
        if (deferred_error) {
            ec = std::exchange(deferred_error, {});
            return nullptr;
        }
        if (deferred_event) {
            return &*deferred_event;
        }
        auto in = io->buffered();
        if (in.empty() || codec.close_received()) {
            return nullptr;
        }
        const std::size_t used = codec.receive(in, ec);
        io->consume(used);
        received += used;
        return codec.peek_event();
    }
    void release_event() noexcept {
        if (deferred_event) {
            deferred_event.reset();
        } else {
            codec.drop_event();
        }
    }

    /// A control frame met while reading: a ping is answered, a pong kept,
    /// a close answered and ended with (the error every later call gets).
    asio::awaitable<std::error_code> on_control(ws::event& ev) {
        if (std::holds_alternative<ws::ping_event>(ev)) {
            // The pong, unless a write is in flight; a failed write fails
            // the connection, which the next read reports.
            (void)co_await flush(false);
        } else if (auto* pong = std::get_if<ws::pong_event>(&ev)) {
            last_pong = std::move(pong->payload);
        } else if (auto* closing = std::get_if<ws::close_event>(&ev)) {
            close_code = closing->code;
            close_reason = std::move(closing->reason);
            (void)co_await flush();  // our echo of the close
            co_await io->finish();
            error = websocket_errc::closed;
            keepalive_timer.cancel();
            co_return error;
        }
        co_return std::error_code{};
    }

    /// After io->fill(): the connection's error if it failed or was aborted
    /// meanwhile (keepalive, close timeout), else the keepalive's bookkeeping.
    std::error_code filled(const result<std::size_t>& n) {
        if (error) {
            return error;
        }
        if (!n || n.value() == 0) {
            peer_ended = true;
            fail(n ? std::error_code(net_errc::connection_closed) : n.error());
            return error;
        }
        last_input = ws_clock::now();
        ping_outstanding = false;
        return {};
    }

    /// The next data chunk from the peer (control frames handled on the
    /// way). The chunk views the transport's buffer until the next call.
    asio::awaitable<result<ws::data_event>> next_data() {
        auto self = shared_from_this();
        for (;;) {
            if (error) {
                co_return error;
            }
            std::error_code ec;
            if (ws::event* ev = parse_buffered(ec)) {
                if (auto* data = std::get_if<ws::data_event>(ev)) {
                    const ws::data_event chunk = *data;
                    release_event();
                    co_return chunk;
                }
                ws::event control = std::move(*ev);
                release_event();
                if (auto closed = co_await on_control(control)) {
                    co_return closed;
                }
                continue;
            }
            if (ec) {
                co_await close_for(ec);  // see receive()
                co_return ec;
            }
            auto n = co_await io->fill();
            if (auto failed = filled(n)) {
                co_return failed;
            }
        }
    }

    /// A protocol error of ours or the peer's: send the close the codec
    /// queued (best effort), then drop the connection.
    asio::awaitable<void> fail_with_close(std::error_code ec) {
        if (!error) {
            error = ec;
        }
        (void)co_await flush();
        close_code = close_code == 0 ? 1006 : close_code;
        keepalive_timer.cancel();
        io->abort();
    }

    /// The application's view of a data chunk: its bytes, inflated when the
    /// message is compressed (and then checked as UTF-8 for text, which the
    /// codec cannot do). Starts a message's state on its first chunk. An
    /// error means the connection must fail with its close code.
    std::error_code decode(const ws::data_event& d, std::string_view& out) {
        if (d.first) {
            message_type = static_cast<websocket_message_type>(d.type);
            message_compressed = d.rsv1;
            utf8.reset();
        }
        if (!message_compressed) {
            out = std::string_view(reinterpret_cast<const char*>(d.data.data()), d.data.size());
            return {};
        }
        if (!inflater) {
            return websocket_errc::reserved_bits;  // the codec refuses RSV1 without deflate
        }
        inflated.clear();
        if (auto ok = inflater->inflate(d.data, d.fin, inflated); !ok) {
            return ok.error();
        }
        if (message_type == websocket_message_type::text && !text_ok(inflated, d.fin)) {
            return websocket_errc::invalid_utf8;
        }
        out = std::string_view(reinterpret_cast<const char*>(inflated.data()), inflated.size());
        return {};
    }

    asio::awaitable<result<websocket_fragment>> receive_fragment() {
        auto self = shared_from_this();
        auto data = co_await next_data();
        if (!data) {
            co_return data.error();
        }
        std::string_view piece;
        if (auto ec = decode(*data, piece)) {
            co_await close_for(ec);
            co_return ec;
        }
        co_return websocket_fragment{message_type, data->first, data->fin, std::string(piece)};
    }

    /// Inflated text: valid so far, and complete at the message's end (the
    /// codec cannot check compressed text).
    bool text_ok(std::span<const std::uint8_t> piece, bool fin) {
        return utf8.feed(piece) && (!fin || utf8.complete());
    }

    /// Fails the connection for an error found above the codec (inflating,
    /// text of compressed messages): a close with its code, then abort.
    asio::awaitable<void> close_for(std::error_code ec) {
        std::uint16_t code = ws::close_code::protocol_error;
        if (ec.category() == websocket_category()) {
            code = close_code_for(static_cast<websocket_errc>(ec.value()));
        }
        if (!codec.close_sent()) {
            (void)codec.send_close(code);
        }
        co_await fail_with_close(ec);
    }

    /// Takes a reference to this impl into `self` (for a coroutine about to
    /// suspend), once.
    void hold(std::shared_ptr<websocket_impl>& self) {
        if (!self) {
            self = shared_from_this();
        }
    }

    /// Adds a data chunk to `m` (decoded: inflated and checked when
    /// compressed). True when the message is complete; `ec` set when the
    /// connection must fail with its close code.
    bool add_chunk(const ws::data_event& data, websocket_message& m, std::error_code& ec) {
        std::string_view piece;
        if ((ec = decode(data, piece))) {
            return false;
        }
        if (data.first) {
            m.type = message_type;
            if (!data.fin && !message_compressed) {
                // A frame split over reads: size the message once from
                // its header instead of growing it (a 64 KiB echo was
                // reallocated to 128 KiB and copied again per message).
                // Capped, so that a header alone cannot make us commit
                // much memory; past the cap the string grows as bytes come.
                constexpr std::uint64_t reserve_cap = 1u << 20;
                m.data.reserve(static_cast<std::size_t>(std::min(
                    {piece.size() + data.frame_rest, options.max_message_size, reserve_cap})));
            }
            m.data.assign(piece);
        } else {
            m.data += piece;
        }
        return data.fin;
    }

    asio::awaitable<result<websocket_message>> receive() {
        // This impl must outlive the coroutine while it is suspended: the
        // websocket may be destroyed meanwhile (its destructor fails the
        // pending call, which then resumes here). While the coroutine runs
        // without suspending, the caller's websocket holds the impl, so the
        // reference is taken before the first suspension only, not per
        // message: a message already buffered costs no atomic increment and
        // decrement (8% of a burst of small messages, perf). Buffered input
        // is parsed here directly, without next_data()'s coroutine frame.
        std::shared_ptr<websocket_impl> self;
        websocket_message m;
        if (in_partial) {
            m = std::move(partial);  // try_receive() took its beginning
            in_partial = false;
        }
        for (;;) {
            if (error) {
                co_return error;
            }
            std::error_code ec;
            if (ws::event* ev = parse_buffered(ec)) {
                if (auto* data = std::get_if<ws::data_event>(ev)) {
                    const bool whole = add_chunk(*data, m, ec);
                    release_event();
                    if (whole) {
                        co_return m;
                    }
                    if (ec) {
                        hold(self);
                        co_await close_for(ec);
                        co_return ec;
                    }
                    continue;
                }
                hold(self);
                ws::event control = std::move(*ev);
                release_event();
                if (auto closed = co_await on_control(control)) {
                    co_return closed;
                }
                continue;
            }
            hold(self);
            if (ec) {
                // A codec error (its close is queued already) or a decode
                // error try_receive() met (the close is queued here).
                co_await close_for(ec);
                co_return ec;
            }
            auto n = co_await io->fill();
            if (auto failed = filled(n)) {
                co_return failed;
            }
        }
    }

    /// websocket::try_receive(): receive()'s work on buffered input, up to
    /// the first thing that needs I/O or a suspension, which it leaves to
    /// receive() (see the members above).
    result<bool> try_receive(websocket_message& into) {
        if (error) {
            return error;
        }
        if (deferred_event || deferred_error) {
            return false;  // receive() acts on it first
        }
        bool started = in_partial;  // `into` holds the beginning of a message
        if (in_partial) {
            into = std::move(partial);
            in_partial = false;
        }
        for (;;) {
            std::error_code ec;
            ws::event* ev = parse_buffered(ec);
            if (ev == nullptr) {
                deferred_error = ec;
                break;
            }
            if (auto* data = std::get_if<ws::data_event>(ev)) {
                const bool whole = add_chunk(*data, into, ec);
                codec.drop_event();
                if (whole) {
                    return true;
                }
                if (ec) {
                    deferred_error = ec;
                    break;
                }
                started = true;
                continue;
            }
            if (auto* pong = std::get_if<ws::pong_event>(ev)) {
                last_pong = std::move(pong->payload);
                codec.drop_event();
                continue;
            }
            deferred_event = std::move(*ev);  // a ping to answer or a close
            codec.drop_event();
            break;
        }
        if (started) {
            partial = std::move(into);
            in_partial = true;
        }
        return false;
    }

    asio::awaitable<result<void>> send(websocket_message_type type,
                                       std::span<const std::uint8_t> payload) {
        auto self = shared_from_this();
        auto now = send_now(type, payload);
        if (!now) {
            co_return now.error();
        }
        if (*now) {
            co_return result<void>{};
        }
        co_return co_await flush();
    }

    asio::awaitable<result<void>> ping(std::span<const std::uint8_t> payload) {
        auto self = shared_from_this();
        if (error) {
            co_return error;
        }
        if (auto ec = codec.send_ping(payload)) {
            co_return ec;
        }
        co_return co_await flush();
    }

    asio::awaitable<result<void>> send_close(std::uint16_t code, std::string_view reason) {
        auto self = shared_from_this();
        if (error) {
            co_return error;
        }
        if (!codec.close_sent()) {
            if (auto ec = codec.send_close(code, reason)) {
                co_return ec;
            }
        }
        co_return co_await flush();
    }

    asio::awaitable<result<void>> close(std::uint16_t code, std::string_view reason) {
        auto self = shared_from_this();
        if (!codec.close_sent() && !error) {
            if (auto ec = codec.send_close(code, reason)) {
                co_return ec;
            }
        }
        // Give up on the peer after close_timeout.
        bool timed_out = false;
        asio::steady_timer limit(executor, options.close_timeout);
        limit.async_wait([self, &timed_out](std::error_code ec) {
            if (!ec) {
                timed_out = true;
                self->fail(websocket_errc::closed);
            }
        });
        (void)co_await flush();
        // Drop what the peer still sends, up to its close.
        while (!codec.close_received() && !error) {
            auto data = co_await next_data();
            if (!data) {
                break;
            }
        }
        const bool answered = codec.close_received();
        if (answered && version == 11 && !timed_out && !peer_ended) {
            // RFC 6455 7.1.1: the server closes TCP first; wait for it.
            for (;;) {
                io->consume(io->buffered().size());
                auto n = co_await io->fill();
                if (!n || *n == 0) {
                    break;
                }
            }
        }
        limit.cancel();
        keepalive_timer.cancel();
        if (!error || error == make_error_code(websocket_errc::closed)) {
            error = websocket_errc::closed;
        }
        io->abort();
        if (!answered) {
            co_return timed_out ? std::error_code(net_errc::read_timeout) : error;
        }
        co_return result<void>{};
    }

    /// Keepalive: a ping after ping_interval without input; the connection
    /// fails with ping_timeout when nothing arrives within ping_timeout.
    /// Input that arrived while nobody was reading counts as an answer.
    static asio::awaitable<void> keepalive(std::weak_ptr<websocket_impl> weak) {
        for (;;) {
            auto self = weak.lock();
            if (!self || self->error || self->codec.close_sent()) {
                co_return;
            }
            const auto now = ws_clock::now();
            auto next = now + self->options.ping_interval;
            if (self->io->input_waiting()) {
                self->last_input = now;
                self->ping_outstanding = false;
            }
            if (self->ping_outstanding) {
                if (self->last_input >= self->ping_sent) {
                    self->ping_outstanding = false;
                } else if (now - self->ping_sent >= self->options.ping_timeout) {
                    self->fail(websocket_errc::ping_timeout);
                    co_return;
                } else {
                    next = self->ping_sent + self->options.ping_timeout;
                }
            }
            if (!self->ping_outstanding) {
                const auto due = self->last_input + self->options.ping_interval;
                if (now >= due) {
                    if (!self->codec.send_ping()) {
                        self->ping_sent = now;
                        self->ping_outstanding = true;
                        next = now + self->options.ping_timeout;
                        (void)co_await self->flush(false);
                    }
                } else {
                    next = due;
                }
            }
            auto& timer = self->keepalive_timer;
            timer.expires_at(next);
            self.reset();  // the websocket may go away while we sleep
            std::error_code ec;
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                co_return;  // cancelled: closed or destroyed
            }
        }
    }
};

namespace {

/// The headers of the handshake request, for HTTP/1.1 or HTTP/2: ours, then
/// the user's (a user header we also set replaces ours, except the ones the
/// protocol needs).
corvid::headers handshake_fields(const websocket_options& o, bool http2, const std::string& key,
                                 const std::string& extension_offer) {
    corvid::headers fields;
    if (!http2) {
        fields.add("Upgrade", "websocket");
        fields.add("Connection", "Upgrade");
        fields.add("Sec-WebSocket-Key", key);
    }
    fields.add("Sec-WebSocket-Version", "13");
    if (!o.subprotocols.empty()) {
        std::string list;
        for (const auto& p : o.subprotocols) {
            list += list.empty() ? "" : ", ";
            list += p;
        }
        fields.add("Sec-WebSocket-Protocol", list);
    }
    if (!extension_offer.empty()) {
        fields.add("Sec-WebSocket-Extensions", extension_offer);
    }
    for (const auto& f : o.headers) {
        if (iequals(f.name, "Upgrade") || iequals(f.name, "Connection") ||
            iequals(f.name, "Sec-WebSocket-Key") || iequals(f.name, "Sec-WebSocket-Version")) {
            continue;
        }
        if (fields.contains(f.name)) {
            fields.erase(f.name);
        }
        fields.add(f.name, f.value);
    }
    return fields;
}

bool valid_window_bits(const std::optional<int>& bits) {
    return !bits || (*bits >= 8 && *bits <= 15);
}

}  // namespace

}  // namespace detail

asio::awaitable<result<websocket>> websocket::connect(client& http, std::string url,
                                                      websocket_options options,
                                                      buffered_response* refusal) {
    auto parsed = url::parse(url);
    if (!parsed) {
        co_return parsed.error();
    }
    corvid::url target = *parsed;
    if (target.scheme == "ws" || target.scheme == "wss") {
        // Same origin rules, default ports and host handling as http(s).
        auto as_http = url::parse((target.scheme == "ws" ? "http" : "https") +
                                  url.substr(target.scheme.size()));
        if (!as_http) {
            co_return as_http.error();
        }
        target = *as_http;
    } else if (target.scheme != "http" && target.scheme != "https") {
        co_return client_errc::unsupported_scheme;
    }
    const auto& d = options.deflate;
    if (!detail::valid_window_bits(d.server_max_window_bits) ||
        !detail::valid_window_bits(d.client_max_window_bits) || d.level < 1 || d.level > 9) {
        co_return websocket_errc::bad_extension_offer;
    }

    ws::deflate_offer offer;
    offer.server_no_context_takeover = d.server_no_context_takeover;
    offer.client_no_context_takeover = d.client_no_context_takeover;
    offer.server_max_window_bits = d.server_max_window_bits;
    offer.client_max_window_bits = d.client_max_window_bits;
    const std::string extension_offer = d.enabled ? ws::format_offer(offer) : std::string();

    std::uint8_t nonce[16];
    RAND_bytes(nonce, sizeof nonce);
    const std::string key =
        base64_encode(std::string_view(reinterpret_cast<const char*>(nonce), sizeof nonce));

    auto& impl = *http.impl_;
    const auto version =
        options.transport == websocket_transport::http1_1 ? detail::tunnel_version::http1_1
        : options.transport == websocket_transport::http2 ? detail::tunnel_version::http2
                                                          : detail::tunnel_version::automatic;
    auto opened = co_await impl.open_tunnel(
        target, "websocket",
        [&](bool http2) { return detail::handshake_fields(options, http2, key, extension_offer); },
        version, options.handshake_timeout);
    if (!opened) {
        co_return opened.error();
    }
    detail::tunnel& t = *opened;
    const auto& fields = t.fields;
    auto refuse = [&](websocket_errc e) -> std::error_code {
        if (refusal != nullptr) {
            refusal->status = t.status;
            refusal->reason = t.reason;
            refusal->version = t.version;
            refusal->headers = t.fields;
            refusal->body = std::move(t.refusal_body);
            refusal->connection = t.info;
            refusal->request_head = t.request_head;
        }
        if (impl.options.trace) {
            impl.options.trace("WebSocket handshake failed: HTTP " + std::to_string(t.status) +
                               " (" + make_error_code(e).message() + ")");
        }
        return e;
    };
    std::unique_ptr<detail::transport> io;
    if (t.version == 20) {
        if (!t.h2) {
            co_return refuse(websocket_errc::handshake_status);
        }
        io = std::make_unique<detail::h2_transport>(t.h2, t.stream);
    } else {
        if (!t.conn) {
            co_return refuse(websocket_errc::handshake_status);
        }
        io = std::make_unique<detail::h1_transport>(std::move(t.conn));
        if (!fields.has_token("Upgrade", "websocket") ||
            !fields.has_token("Connection", "upgrade")) {
            co_return refuse(websocket_errc::handshake_upgrade);
        }
        auto accept = fields.get("Sec-WebSocket-Accept");
        if (!accept || *accept != detail::accept_for(key)) {
            co_return refuse(websocket_errc::handshake_accept);
        }
    }

    std::string chosen(fields.get("Sec-WebSocket-Protocol").value_or(""));
    if (fields.get_all("Sec-WebSocket-Protocol").size() > 1 ||
        (chosen.empty() != options.subprotocols.empty()) ||
        (!chosen.empty() && std::find(options.subprotocols.begin(), options.subprotocols.end(),
                                      chosen) == options.subprotocols.end())) {
        co_return refuse(websocket_errc::handshake_subprotocol);
    }
    std::string extensions;
    for (auto line : fields.get_all("Sec-WebSocket-Extensions")) {
        extensions += extensions.empty() ? "" : ", ";
        extensions += line;
    }
    std::optional<ws::deflate_agreement> agreement;
    if (!extensions.empty()) {
        if (!d.enabled) {
            co_return refuse(websocket_errc::handshake_extension);
        }
        auto checked = ws::validate_response(extensions, offer);
        if (!checked) {
            co_return refuse(websocket_errc::handshake_extension);
        }
        agreement = *checked;
    }

    auto masks = std::make_shared<detail::mask_source>();
    ws::codec_limits limits;
    limits.max_frame_payload = options.max_frame_size;
    limits.max_message_size = options.max_message_size;
    ws::codec codec(
        ws::role::client, [masks](std::span<std::uint8_t> out) { masks->fill(out); }, limits,
        agreement.has_value());
    auto state =
        std::make_shared<detail::websocket_impl>(impl.executor, std::move(io), std::move(codec));
    if (agreement) {
        ws::deflater_options base;
        base.level = d.level;
        base.compression_threshold = d.compression_threshold;
        auto deflater =
            ws::deflater::create(ws::sending_options(*agreement, ws::deflate_side::client, base));
        if (!deflater) {
            co_return deflater.error();
        }
        ws::inflater_options in_base;
        in_base.max_message_size =
            static_cast<std::size_t>(std::min<std::uint64_t>(options.max_message_size, SIZE_MAX));
        auto inflater = ws::inflater::create(
            ws::receiving_options(*agreement, ws::deflate_side::client, in_base));
        if (!inflater) {
            co_return inflater.error();
        }
        state->deflater.emplace(std::move(*deflater));
        state->inflater.emplace(std::move(*inflater));
    }
    state->subprotocol = std::move(chosen);
    state->extensions = agreement ? std::move(extensions) : std::string();
    state->version = t.version;
    state->status = t.status;
    state->fields = std::move(t.fields);
    state->info = std::move(t.info);
    state->request_head = std::move(t.request_head);
    state->options = std::move(options);
    if (state->options.ping_interval.count() > 0) {
        asio::co_spawn(
            state->executor,
            detail::websocket_impl::keepalive(std::weak_ptr<detail::websocket_impl>(state)),
            asio::detached);
    }
    co_return websocket(std::move(state));
}

websocket::websocket(std::shared_ptr<detail::websocket_impl> impl) : impl_(std::move(impl)) {}
websocket::websocket(websocket&&) noexcept = default;
websocket& websocket::operator=(websocket&&) noexcept = default;
websocket::~websocket() {
    if (impl_) {
        // A receive or send still pending fails; the impl goes when it does.
        impl_->fail(websocket_errc::closed);
    }
}

asio::awaitable<result<void>> websocket::send_text(std::string_view text) {
    co_return co_await impl_->send(websocket_message_type::text, ws::codec::as_bytes(text));
}
asio::awaitable<result<void>> websocket::send_binary(std::span<const std::uint8_t> data) {
    co_return co_await impl_->send(websocket_message_type::binary, data);
}
asio::awaitable<result<void>> websocket::send_binary(std::string_view data) {
    co_return co_await impl_->send(websocket_message_type::binary, ws::codec::as_bytes(data));
}
asio::awaitable<result<void>> websocket::send(websocket_message_type type, std::string_view data) {
    co_return co_await impl_->send(type, ws::codec::as_bytes(data));
}
// Not a coroutine: the impl's coroutine is the only frame per message.
asio::awaitable<result<websocket_message>> websocket::receive() {
    return impl_->receive();
}
result<bool> websocket::try_receive(websocket_message& into) {
    return impl_->try_receive(into);
}
asio::awaitable<result<websocket_fragment>> websocket::receive_fragment() {
    co_return co_await impl_->receive_fragment();
}
asio::awaitable<result<void>> websocket::ping(std::string_view payload) {
    co_return co_await impl_->ping(ws::codec::as_bytes(payload));
}
asio::awaitable<result<void>> websocket::send_close(std::uint16_t code, std::string_view reason) {
    co_return co_await impl_->send_close(code, reason);
}
asio::awaitable<result<void>> websocket::close(std::uint16_t code, std::string_view reason) {
    co_return co_await impl_->close(code, reason);
}

const std::string& websocket::subprotocol() const noexcept {
    return impl_->subprotocol;
}
const std::string& websocket::extensions() const noexcept {
    return impl_->extensions;
}
int websocket::http_version() const noexcept {
    return impl_->version;
}
int websocket::handshake_status() const noexcept {
    return impl_->status;
}
const corvid::headers& websocket::handshake_headers() const noexcept {
    return impl_->fields;
}
const connection_info& websocket::connection() const noexcept {
    return impl_->info;
}
const std::string& websocket::request_head() const noexcept {
    return impl_->request_head;
}
std::uint16_t websocket::close_code() const noexcept {
    return impl_->close_code;
}
const std::string& websocket::close_reason() const noexcept {
    return impl_->close_reason;
}
const std::string& websocket::last_pong() const noexcept {
    return impl_->last_pong;
}
bool websocket::is_open() const noexcept {
    return !impl_->error;
}
std::uint64_t websocket::bytes_sent() const noexcept {
    return impl_->sent;
}
std::uint64_t websocket::bytes_received() const noexcept {
    return impl_->received;
}

}  // namespace corvid
