// websocket_session::try_send() (server/websocket.hpp) against a real client
// that stops reading: a raw TCP socket with a small receive buffer, frames
// parsed with the ws codec in client role.

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "proto/ws/codec.hpp"
#include "server/http1_server.hpp"
#include "server/websocket.hpp"

namespace corvid {
namespace {

using server::incoming_request;
using server::outgoing_response;
using server::websocket_session;

void mask_fill(std::span<std::uint8_t> out) {
    static std::mt19937 gen(7);
    for (auto& b : out) {
        b = static_cast<std::uint8_t>(gen());
    }
}

constexpr std::size_t message_size = 16 * 1024;

// /ws-try: try_send() 16 KiB messages into a 64 KiB queue, yielding between
// them so the writer can drain into the socket, until queue_full.
class TrySend : public ::testing::Test {
  protected:
    void SetUp() override {
        server_ = server::http1_server::create(
            io_.get_executor(), [this](const incoming_request& req) { return handle(req); });
        ASSERT_TRUE(server_->listen());
        thread_ = std::thread([this] {
            auto guard = asio::make_work_guard(io_);
            io_.run();
        });
    }
    void TearDown() override {
        asio::post(io_, [this] {
            server_->stop();
            io_.stop();
        });
        thread_.join();
    }

    asio::awaitable<outgoing_response> handle(const incoming_request& req) {
        server::websocket_options o;
        o.permessage_deflate = false;
        o.max_queued_bytes = 64 * 1024;
        co_return server::accept_websocket(
            req, o, [this](std::shared_ptr<websocket_session> s) -> asio::awaitable<void> {
                auto ex = co_await asio::this_coro::executor;
                const std::string msg(message_size, 'm');
                int ok = 0;
                std::error_code ec;
                for (int i = 0; i < 20000; ++i) {
                    ec = s->try_send(ws::message_type::binary, msg);
                    if (ec) {
                        break;
                    }
                    ++ok;
                    co_await asio::post(ex, asio::use_awaitable);  // the writer runs
                }
                accepted_ = ok;
                full_error_ = ec;
                const std::size_t queued = s->queued_bytes();
                queued_ok_ = queued >= s->max_queued_bytes() &&
                             queued < s->max_queued_bytes() + message_size + 14;
                // Nothing was queued by the failed attempt, nor by another.
                auto again = s->try_send(ws::message_type::text, "x");
                again_full_ = again == websocket_errc::queue_full && s->queued_bytes() == queued;
                messages_at_full_ = s->messages_sent();
                phase_ = 1;
                // Until the client closes; then try_send reports closed.
                while (co_await s->receive()) {
                }
                after_close_ = s->try_send(ws::message_type::text, "late");
                session_ = s;  // for bytes_sent() once the echo is written
                phase_ = 2;
            });
    }

    asio::io_context io_{1};
    std::shared_ptr<server::http1_server> server_;
    std::thread thread_;
    std::atomic<int> phase_{0};
    std::atomic<int> accepted_{0};
    std::atomic<bool> queued_ok_{false};
    std::atomic<bool> again_full_{false};
    std::atomic<std::uint64_t> messages_at_full_{0};
    std::shared_ptr<websocket_session> session_;  // written before phase_ = 2
    std::error_code full_error_;                  // written before phase_ = 1
    std::error_code after_close_;                 // written before phase_ = 2
};

bool wait_for(const std::atomic<int>& phase, int value) {
    for (int i = 0; i < 2000 && phase.load() < value; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return phase.load() >= value;
}

TEST_F(TrySend, QueueFullAgainstAClientThatDoesNotRead) {
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.open(asio::ip::tcp::v4());
    sock.set_option(asio::socket_base::receive_buffer_size(32 * 1024));
    sock.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    timeval tv{10, 0};
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    asio::write(sock, asio::buffer(std::string_view(
                          "GET /ws-try HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n")));
    // Not reading: the kernel buffers fill, then the session's queue.
    ASSERT_TRUE(wait_for(phase_, 1)) << "try_send never reported queue_full";
    EXPECT_EQ(full_error_, websocket_errc::queue_full) << full_error_.message();
    EXPECT_GT(accepted_.load(), 4);  // more than the queue alone holds
    EXPECT_TRUE(queued_ok_.load());
    EXPECT_TRUE(again_full_.load());
    EXPECT_EQ(messages_at_full_.load(), static_cast<std::uint64_t>(accepted_.load()));

    // Now read: exactly the accepted messages arrive, whole.
    std::string data;
    char buf[65536];
    std::size_t head_end = std::string::npos;
    while (head_end == std::string::npos) {
        std::error_code ec;
        auto n = sock.read_some(asio::buffer(buf), ec);
        ASSERT_FALSE(ec) << ec.message();
        data.append(buf, n);
        head_end = data.find("\r\n\r\n");
    }
    ASSERT_TRUE(data.starts_with("HTTP/1.1 101 ")) << data;
    std::string frames = data.substr(head_end + 4);
    ws::codec reader(ws::role::client, mask_fill);
    int messages = 0;
    std::size_t payload = 0;
    std::size_t wire = data.size() - head_end - 4;
    auto feed = [&](std::string bytes) {
        std::span<std::uint8_t> in(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size());
        while (!in.empty()) {
            std::error_code ec;
            std::size_t n = reader.receive(in, ec);
            while (auto e = reader.next_event()) {
                if (auto* d = std::get_if<ws::data_event>(&*e)) {
                    payload += d->data.size();  // frames arrive in pieces
                    messages += d->fin ? 1 : 0;
                }
            }
            ASSERT_FALSE(ec) << ec.message();
            if (n == 0) {
                break;
            }
            in = in.subspan(n);
        }
    };
    feed(frames);
    while (messages < accepted_.load()) {
        std::error_code ec;
        auto n = sock.read_some(asio::buffer(buf), ec);
        ASSERT_FALSE(ec) << ec.message();
        wire += n;
        feed(std::string(buf, n));
    }
    EXPECT_EQ(messages, accepted_.load());
    EXPECT_EQ(payload, static_cast<std::size_t>(accepted_.load()) * message_size);

    // Close; the session answers and try_send() then reports closed.
    ws::codec closer(ws::role::client, mask_fill);
    (void)closer.send_close(1000);
    auto out = closer.pending_output();
    asio::write(sock, asio::buffer(out.data(), out.size()));
    for (;;) {
        std::error_code ec;
        auto n = sock.read_some(asio::buffer(buf), ec);
        if (ec || n == 0) {
            break;
        }
        wire += n;
    }
    ASSERT_TRUE(wait_for(phase_, 2));
    EXPECT_EQ(after_close_, websocket_errc::closed);
    std::atomic<int> read{0};
    std::atomic<std::uint64_t> bytes_sent{0};
    asio::post(io_, [&] {
        bytes_sent = session_->bytes_sent();
        session_.reset();
        read = 1;
    });
    ASSERT_TRUE(wait_for(read, 1));
    // Every message frame (2 + 2 header bytes each for 16 KiB) and the
    // close echo (2 + 2).
    EXPECT_EQ(bytes_sent.load(),
              static_cast<std::uint64_t>(accepted_.load()) * (message_size + 4) + 4);
    EXPECT_EQ(wire, bytes_sent.load());
}

TEST(WebSocketErrc, QueueFullHasAMessage) {
    auto ec = make_error_code(websocket_errc::queue_full);
    EXPECT_NE(ec.message().find("queue is full"), std::string::npos) << ec.message();
    EXPECT_NE(ec, make_error_code(websocket_errc::closed));
}

}  // namespace
}  // namespace corvid
