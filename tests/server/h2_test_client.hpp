#pragma once

// corvid's h2::client_session over plain TCP (h2c, prior knowledge), for the
// server tests: GET requests, their responses and DATA, and what the server
// says about the connection (SETTINGS, GOAWAY, its end). Every socket
// operation is bounded by a 60 s watchdog that closes the socket.

#include <array>
#include <optional>
#include <string>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "proto/h2/session.hpp"

namespace corvid::test {

// One connection; one request stream at a time (the last get()).
class h2_get_client {
  public:
    explicit h2_get_client(asio::io_context& io) : socket_(io), watchdog_(io) {}

    asio::awaitable<bool> connect(std::uint16_t port) {
        co_await socket_.async_connect({asio::ip::make_address("127.0.0.1"), port},
                                       asio::use_awaitable);
        watchdog_.expires_after(std::chrono::seconds(60));  // no hangs
        watchdog_.async_wait([this](std::error_code ec) {
            if (!ec) {
                socket_.close();
            }
        });
        bool ok = co_await flush();
        co_return ok;
    }
    asio::awaitable<bool> flush() {
        for (;;) {
            auto out = session_.pending_output();
            if (out.empty()) {
                co_return true;
            }
            std::error_code ec;
            co_await asio::async_write(socket_, asio::buffer(out.data(), out.size()),
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                co_return false;
            }
            session_.consume_output(out.size());
        }
    }
    asio::awaitable<bool> pump() {
        std::error_code ec;
        auto n = co_await socket_.async_read_some(asio::buffer(buf_),
                                                  asio::redirect_error(asio::use_awaitable, ec));
        if (ec || n == 0) {
            co_return false;
        }
        if (session_.receive(std::string_view(buf_.data(), n))) {
            co_return false;
        }
        while (auto e = session_.next_event()) {
            if (auto* r = std::get_if<h2::response_event>(&*e)) {
                status_ = r->status;
                fields_ = r->fields;
                ended_ = ended_ || r->end_stream;
                head_ended_ = r->end_stream;
            } else if (auto* d = std::get_if<h2::data_event>(&*e)) {
                body_.append(d->data);
                ++data_frames_;
                session_.consume(d->stream_id, d->data.size());
                ended_ = ended_ || d->end_stream;
            } else if (auto* c = std::get_if<h2::stream_closed_event>(&*e)) {
                closed_ = true;
                reset_ = c->code;
                stream_error_ = c->error;
            } else if (auto* g = std::get_if<h2::goaway_event>(&*e)) {
                goaway_ = *g;
            } else if (auto* st = std::get_if<h2::settings_event>(&*e)) {
                settings_ = st->settings;
            }
        }
        bool ok = co_await flush();
        co_return ok;
    }
    asio::awaitable<bool> get(const std::string& path, const std::string& method = "GET",
                              const headers& fields = {}) {
        h2::request_head head;
        head.method = method;
        head.scheme = "http";
        head.authority = "localhost";
        head.path = path;
        head.fields = fields;
        ended_ = closed_ = head_ended_ = false;
        status_ = 0;
        body_.clear();
        auto id = session_.submit_request(head, true);
        if (!id) {
            co_return false;
        }
        id_ = *id;
        bool ok = co_await flush();
        co_return ok;
    }
    // Pumps until `body_` holds `marker`, or the stream ends.
    asio::awaitable<bool> until(std::string_view marker) {
        while (body_.find(marker) == std::string::npos) {
            if (ended_ || closed_) {
                co_return false;
            }
            bool more = co_await pump();
            if (!more) {
                co_return false;
            }
        }
        co_return true;
    }
    asio::awaitable<void> until_end() {
        while (!ended_ && !closed_) {
            bool more = co_await pump();
            if (!more) {
                break;
            }
        }
    }
    asio::awaitable<bool> reset() {
        (void)session_.reset_stream(id_, h2::wire_error::cancel);
        bool ok = co_await flush();
        co_return ok;
    }
    // Pumps until the server ends the connection (true) or `limit` reads
    // pass (false).
    asio::awaitable<bool> until_connection_end(int limit = 1000) {
        for (int i = 0; i < limit; ++i) {
            bool more = co_await pump();
            if (!more) {
                co_return true;
            }
        }
        co_return false;
    }
    void close() {
        std::error_code ignored;
        socket_.close(ignored);
        watchdog_.cancel();
    }

    std::optional<h2::peer_settings> settings_;
    std::optional<h2::goaway_event> goaway_;
    std::error_code stream_error_;  // the last stream_closed_event's error
    int status_ = 0;
    headers fields_;
    std::string body_;
    int data_frames_ = 0;
    bool ended_ = false;
    bool head_ended_ = false;
    bool closed_ = false;
    h2::wire_error reset_ = h2::wire_error::no_error;

  private:
    asio::ip::tcp::socket socket_;
    asio::steady_timer watchdog_;
    h2::client_session session_ = h2::client_session::create().value();
    std::int32_t id_ = 0;
    std::array<char, 64 * 1024> buf_{};
};

}  // namespace corvid::test
