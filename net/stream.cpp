#include "net/stream.hpp"

#include <sys/socket.h>

#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace corvid::net {

bool stream::idle_connection_is_dead() {
    auto& s = socket();
    if (!s.is_open()) {
        return true;
    }
    // A non-blocking peek: EOF (0) or readable bytes on an idle HTTP/1.1
    // connection both mean it cannot carry a new request.
    char byte;
    ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || n > 0) {
        return true;
    }
    return !(errno == EAGAIN || errno == EWOULDBLOCK);
}

asio::awaitable<result<std::size_t>> tcp_stream::read_some(std::span<char> buffer) {
    std::error_code ec;
    std::size_t n = co_await socket_.async_read_some(asio::buffer(buffer.data(), buffer.size()),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::eof) {
        co_return std::size_t{0};
    }
    if (ec) {
        co_return ec;
    }
    co_return n;
}

asio::awaitable<result<void>> tcp_stream::write(std::span<const asio::const_buffer> buffers) {
    std::error_code ec;
    co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        co_return ec;
    }
    co_return result<void>{};
}

void tcp_stream::close() noexcept {
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

std::string format_address(const asio::ip::address& address) {
    return address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
}

}  // namespace corvid::net
