#include "server/websocket.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include <openssl/sha.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "core/encoding.hpp"

namespace corvid::server {

namespace {

constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

// RFC 6455 4.2.1: the key is the base64 of 16 bytes: 22 characters, the last
// one carrying 2 significant bits, then "==".
bool valid_key(std::string_view key) {
    if (key.size() != 24 || key.substr(22) != "==") {
        return false;
    }
    for (std::size_t i = 0; i < 22; ++i) {
        if (base64_value(key[i]) < 0) {
            return false;
        }
    }
    return (base64_value(key[21]) & 0x0f) == 0;
}

outgoing_response refuse(int status, std::string_view why) {
    outgoing_response res;
    res.status = status;
    res.fields.add("Content-Type", "text/plain");
    if (status == 426) {
        res.fields.add("Sec-WebSocket-Version", "13");
    }
    res.body = std::string(why) + "\n";
    return res;
}

// Comma-separated tokens of every `name` field, trimmed, empties skipped.
std::vector<std::string_view> list_values(const corvid::headers& fields, std::string_view name) {
    std::vector<std::string_view> out;
    for (auto value : fields.get_all(name)) {
        while (!value.empty()) {
            auto comma = value.find(',');
            auto item = trim(value.substr(0, comma));
            if (!item.empty()) {
                out.push_back(item);
            }
            if (comma == std::string_view::npos) {
                break;
            }
            value.remove_prefix(comma + 1);
        }
    }
    return out;
}

}  // namespace

std::string websocket_accept_key(std::string_view key) {
    std::string input(key);
    input.append(websocket_guid);
    std::array<std::uint8_t, SHA_DIGEST_LENGTH> digest{};
    SHA1(reinterpret_cast<const std::uint8_t*>(input.data()), input.size(), digest.data());
    return base64_encode(
        std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

websocket_handshake check_websocket_upgrade(const incoming_request& req,
                                            const websocket_options& options) {
    websocket_handshake out;
    const bool h2 = req.version == 20;
    if (h2) {
        if (req.method != "CONNECT" || !iequals(req.protocol, "websocket")) {
            out.response = refuse(400, "not a WebSocket extended CONNECT (RFC 8441)");
            return out;
        }
    } else {
        if (req.method != "GET") {
            out.response = refuse(400, "a WebSocket upgrade must be a GET");
            return out;
        }
        if (req.version < 11) {
            out.response = refuse(400, "a WebSocket upgrade needs HTTP/1.1");
            return out;
        }
        if (!req.fields.has_token("upgrade", "websocket")) {
            out.response = refuse(400, "Upgrade: websocket missing");
            return out;
        }
        if (!req.fields.has_token("connection", "upgrade")) {
            out.response = refuse(400, "Connection: upgrade missing");
            return out;
        }
    }
    auto versions = req.fields.get_all("sec-websocket-version");
    if (versions.empty()) {
        out.response = refuse(400, "Sec-WebSocket-Version missing");
        return out;
    }
    if (versions.size() != 1 || trim(versions[0]) != "13") {
        out.response = refuse(426, "unsupported Sec-WebSocket-Version (13 is)");
        return out;
    }
    std::string accept;
    if (!h2) {
        auto keys = req.fields.get_all("sec-websocket-key");
        if (keys.size() != 1 || !valid_key(trim(keys[0]))) {
            out.response = refuse(400, "Sec-WebSocket-Key missing or not 16 base64 bytes");
            return out;
        }
        accept = websocket_accept_key(trim(keys[0]));
    }

    // Subprotocol: ours in our order, the first the client offers.
    auto offered = list_values(req.fields, "sec-websocket-protocol");
    for (const auto& ours : options.subprotocols) {
        if (std::find(offered.begin(), offered.end(), ours) != offered.end()) {
            out.subprotocol = ours;
            break;
        }
    }
    if (options.permessage_deflate) {
        std::string joined;
        for (auto v : req.fields.get_all("sec-websocket-extensions")) {
            if (!joined.empty()) {
                joined += ", ";
            }
            joined.append(v);
        }
        if (!joined.empty()) {
            if (auto offers = ws::parse_extensions(joined)) {
                out.deflate = ws::accept(*offers, options.deflate);
            }
        }
    }

    outgoing_response& res = out.response;
    if (h2) {
        res.status = 200;
    } else {
        res.status = 101;
        res.fields.add("Upgrade", "websocket");
        res.fields.add("Connection", "Upgrade");
        res.fields.add("Sec-WebSocket-Accept", accept);
    }
    if (!out.subprotocol.empty()) {
        res.fields.add("Sec-WebSocket-Protocol", out.subprotocol);
    }
    if (out.deflate) {
        res.fields.add("Sec-WebSocket-Extensions", ws::format_response(*out.deflate));
    }
    out.accepted = true;
    return out;
}

// --------------------------------------------------------------- session

websocket_session::websocket_session(asio::any_io_executor executor, byte_stream& stream,
                                     const websocket_options& options, std::string subprotocol,
                                     std::optional<ws::deflate_agreement> deflate)
    : executor_(executor),
      stream_(&stream),
      options_(options),
      subprotocol_(std::move(subprotocol)),
      deflate_(deflate),
      version_(stream.http_version()),
      codec_(ws::role::server, nullptr, options.limits, deflate.has_value()),
      rbuf_(new char[std::max<std::size_t>(options.read_buffer_size, 1024)]),
      write_signal_(executor),
      drained_(executor),
      writer_exit_(executor),
      last_received_(std::chrono::steady_clock::now()) {
    options_.read_buffer_size = std::max<std::size_t>(options.read_buffer_size, 1024);
    write_signal_.expires_at(asio::steady_timer::time_point::max());
    drained_.expires_at(asio::steady_timer::time_point::max());
    writer_exit_.expires_at(asio::steady_timer::time_point::max());
    if (deflate_) {
        auto d = ws::deflater::create(
            ws::sending_options(*deflate_, ws::deflate_side::server, options.deflater));
        ws::inflater_options base;
        base.max_message_size = static_cast<std::size_t>(options.limits.max_message_size);
        auto i =
            ws::inflater::create(ws::receiving_options(*deflate_, ws::deflate_side::server, base));
        if (d && i) {
            deflater_.emplace(std::move(*d));
            inflater_.emplace(std::move(*i));
        } else {
            // Options out of range: fail the session rather than run without
            // the extension the handshake promised.
            error_ = make_error_code(std::errc::invalid_argument);
            (void)codec_.send_close(ws::close_code::internal_error);
        }
    }
}

bool websocket_session::is_open() const noexcept {
    return stream_ != nullptr && !codec_.close_sent() && !error_ && !transport_failed_;
}

std::error_code websocket_session::fail(std::error_code ec, std::uint16_t close_code) {
    if (!error_) {
        error_ = ec;
    }
    if (!codec_.close_sent() && !codec_.error()) {
        (void)codec_.send_close(close_code);
    }
    wake_writer();
    return ec;
}

void websocket_session::abort() noexcept {
    transport_failed_ = true;
    if (stream_ != nullptr) {
        stream_->close();
    }
    wake_writer();
    drained_.cancel();
}

std::error_code websocket_session::ping(std::string_view payload) {
    if (!is_open()) {
        return make_error_code(websocket_errc::closed);
    }
    auto ec = codec_.send_ping(ws::codec::as_bytes(payload));
    wake_writer();
    return ec;
}

std::error_code websocket_session::close(std::uint16_t code, std::string_view reason) {
    if (!is_open()) {
        return make_error_code(websocket_errc::closed);
    }
    auto ec = codec_.send_close(code, reason);
    wake_writer();
    return ec;
}

asio::awaitable<result<void>> websocket_session::send(ws::message_type type,
                                                      std::string_view data) {
    // The bound: wait until the writer has drained the queue below it.
    while (is_open() && writer_running_ && codec_.buffered_output() >= options_.max_queued_bytes) {
        std::error_code ignored;
        co_await drained_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    if (auto ec = enqueue(type, data)) {
        co_return ec;
    }
    co_return result<void>{};
}

std::error_code websocket_session::try_send(ws::message_type type, std::string_view data) {
    if (!is_open()) {
        return make_error_code(websocket_errc::closed);
    }
    if (codec_.buffered_output() >= options_.max_queued_bytes) {
        return make_error_code(websocket_errc::queue_full);
    }
    return enqueue(type, data);
}

std::error_code websocket_session::enqueue(ws::message_type type, std::string_view data) {
    if (!is_open()) {
        return make_error_code(websocket_errc::closed);
    }
    std::error_code ec;
    if (deflater_ && deflater_->should_compress(data.size())) {
        if (compressed_.capacity() > (1u << 20)) {
            compressed_ = std::vector<std::uint8_t>();
        }
        compressed_.clear();
        if (auto r = deflater_->compress(ws::codec::as_bytes(data), true, compressed_); !r) {
            return fail(r.error(), ws::close_code::internal_error);
        }
        ec = codec_.send_message(type, compressed_, true);
    } else {
        ec = codec_.send_message(type, ws::codec::as_bytes(data));
    }
    if (ec) {
        return ec;
    }
    ++messages_sent_;
    wake_writer();
    return {};
}

asio::awaitable<result<websocket_message>> websocket_session::receive() {
    for (;;) {
        if (stream_ == nullptr || transport_failed_) {
            co_return error_ ? error_ : make_error_code(websocket_errc::closed);
        }
        if (error_) {
            co_return error_;
        }
        while (rpos_ < rend_) {
            std::error_code ec;
            auto in = std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(rbuf_.get()) + rpos_,
                                              rend_ - rpos_);
            std::size_t n = codec_.receive(in, ec);
            rpos_ += n;
            bool got_event = false;
            if (auto e = codec_.next_event()) {
                got_event = true;
                if (auto* d = std::get_if<ws::data_event>(&*e)) {
                    if (d->first) {
                        type_ = d->type;
                        message_compressed_ = d->rsv1;
                        // Keep the buffers of ordinary messages; give back
                        // what one large message made them grow to.
                        constexpr std::size_t keep = 1u << 20;
                        if (message_.capacity() > keep) {
                            message_ = std::string();
                        }
                        if (inflated_.capacity() > keep) {
                            inflated_ = std::vector<std::uint8_t>();
                        }
                        message_.clear();
                        inflated_.clear();
                    }
                    if (message_compressed_) {
                        if (!inflater_) {
                            co_return fail(make_error_code(websocket_errc::reserved_bits),
                                           ws::close_code::protocol_error);
                        }
                        if (auto r = inflater_->inflate(d->data, d->fin, inflated_); !r) {
                            auto code = r.error() == websocket_errc::inflated_too_large
                                            ? ws::close_code::message_too_big
                                            : ws::close_code::invalid_payload;
                            co_return fail(r.error(), code);
                        }
                        if (d->fin) {
                            if (type_ == ws::message_type::text &&
                                !ws::is_valid_utf8(std::span<const std::uint8_t>(inflated_))) {
                                co_return fail(make_error_code(websocket_errc::invalid_utf8),
                                               ws::close_code::invalid_payload);
                            }
                            co_return websocket_message{
                                type_,
                                std::string_view(reinterpret_cast<const char*>(inflated_.data()),
                                                 inflated_.size())};
                        }
                    } else {
                        auto chunk = std::string_view(reinterpret_cast<const char*>(d->data.data()),
                                                      d->data.size());
                        if (d->first && d->fin) {
                            // Whole in one chunk: hand out the read buffer
                            // itself (unmasked in place), no copy.
                            co_return websocket_message{type_, chunk};
                        }
                        message_.append(chunk);
                        if (d->fin) {
                            co_return websocket_message{type_, message_};
                        }
                    }
                } else if (auto* c = std::get_if<ws::close_event>(&*e)) {
                    peer_code_ = c->code;
                    peer_reason_ = c->reason;
                    wake_writer();  // the codec queued the echo of the close
                } else {
                    wake_writer();  // a ping's pong, or nothing
                }
            }
            if (ec) {
                co_return fail(ec, close_code_for(static_cast<websocket_errc>(ec.value())));
            }
            if (codec_.close_received()) {
                co_return make_error_code(websocket_errc::closed);
            }
            if (n == 0 && !got_event) {
                break;
            }
        }
        if (codec_.close_received()) {
            co_return make_error_code(websocket_errc::closed);
        }
        rpos_ = rend_ = 0;
        auto n = co_await stream_->read_some(std::span(rbuf_.get(), options_.read_buffer_size));
        if (stream_ == nullptr) {
            co_return make_error_code(websocket_errc::closed);
        }
        if (!n || *n == 0) {
            // The connection ended without a close frame (peer code 1006).
            transport_failed_ = true;
            if (!error_) {
                error_ = n ? make_error_code(std::errc::connection_reset) : n.error();
            }
            wake_writer();
            drained_.cancel();
            co_return error_;
        }
        rend_ = *n;
        last_received_ = std::chrono::steady_clock::now();
    }
}

asio::awaitable<void> websocket_session::writer() {
    auto self = shared_from_this();
    for (;;) {
        if (transport_failed_ || stream_ == nullptr) {
            break;
        }
        auto out = codec_.pending_output();
        if (!out.empty()) {
            std::array<asio::const_buffer, 1> b{asio::buffer(out.data(), out.size())};
            auto r = co_await stream_->write(b);
            if (!r) {
                transport_failed_ = true;
                if (!error_) {
                    error_ = r.error();
                }
                break;
            }
            codec_.consume_output(out.size());
            bytes_sent_ += out.size();
            drained_.cancel();
            continue;
        }
        if (codec_.closed() || finishing_) {
            break;  // both closes exchanged (or failed, or given up) and all written
        }
        std::error_code ignored;
        co_await write_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    writer_running_ = false;
    drained_.cancel();
    writer_exit_.cancel();
}

asio::awaitable<void> websocket_session::keepalive() {
    auto self = shared_from_this();
    using clock = std::chrono::steady_clock;
    auto period =
        options_.ping_interval.count() > 0 ? options_.ping_interval : options_.idle_timeout / 2;
    if (options_.idle_timeout.count() > 0 && options_.ping_interval.count() > 0) {
        period = std::min(options_.ping_interval, options_.idle_timeout / 2);
    }
    period = std::max(period, std::chrono::milliseconds(10));
    asio::steady_timer timer(executor_);
    while (stream_ != nullptr && !transport_failed_) {
        timer.expires_after(period);
        std::error_code ignored;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        if (stream_ == nullptr || transport_failed_) {
            co_return;
        }
        auto quiet = clock::now() - last_received_;
        if (options_.idle_timeout.count() > 0 && quiet >= options_.idle_timeout) {
            error_ = make_error_code(websocket_errc::ping_timeout);
            abort();
            co_return;
        }
        if (options_.ping_interval.count() > 0 && quiet >= options_.ping_interval && is_open()) {
            (void)codec_.send_ping({});
            wake_writer();
        }
    }
}

asio::awaitable<void> websocket_session::run(websocket_handler on_open) {
    auto self = shared_from_this();
    writer_running_ = true;
    asio::co_spawn(executor_, writer(), asio::detached);
    if (options_.ping_interval.count() > 0 || options_.idle_timeout.count() > 0) {
        asio::co_spawn(executor_, keepalive(), asio::detached);
    }
    if (!error_) {
        co_await on_open(self);
    }

    // The closing handshake, bounded by close_timeout.
    asio::steady_timer deadline(executor_, options_.close_timeout);
    deadline.async_wait([self](std::error_code ec) {
        if (!ec && self->stream_ != nullptr) {
            self->abort();
        }
    });
    if (!codec_.close_sent() && !transport_failed_) {
        (void)codec_.send_close(ws::close_code::normal);
        wake_writer();
    }
    // Read (and drop) what the peer still sends until its close.
    while (!codec_.close_received() && !transport_failed_ && !codec_.error()) {
        auto m = co_await receive();
        if (!m && m.error() != websocket_errc::closed && !codec_.close_received()) {
            break;
        }
    }
    finishing_ = true;  // the writer flushes what is queued and ends
    wake_writer();
    std::error_code ignored;
    while (writer_running_) {
        co_await writer_exit_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    deadline.cancel();
    stream_ = nullptr;
    drained_.cancel();
}

outgoing_response accept_websocket(const incoming_request& req, const websocket_options& options,
                                   websocket_handler on_open) {
    auto hs = check_websocket_upgrade(req, options);
    if (!hs.accepted) {
        return std::move(hs.response);
    }
    hs.response.upgrade = [options, on_open = std::move(on_open), sub = hs.subprotocol,
                           deflate = hs.deflate](byte_stream& stream) -> asio::awaitable<void> {
        auto executor = co_await asio::this_coro::executor;
        auto session = std::make_shared<websocket_session>(executor, stream, options, sub, deflate);
        co_await session->run(on_open);
    };
    return std::move(hs.response);
}

asio::awaitable<std::error_code> for_each_message(
    std::shared_ptr<websocket_session> session,
    std::function<asio::awaitable<void>(websocket_session&, websocket_message)> on_message) {
    for (;;) {
        auto m = co_await session->receive();
        if (!m) {
            co_return m.error();
        }
        co_await on_message(*session, *m);
    }
}

asio::awaitable<void> websocket_echo(std::shared_ptr<websocket_session> session) {
    for (;;) {
        auto m = co_await session->receive();
        if (!m) {
            co_return;
        }
        if (!co_await session->send(m->type, m->data)) {
            co_return;
        }
    }
}

}  // namespace corvid::server
