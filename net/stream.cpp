#include "net/stream.hpp"

#include <sys/socket.h>

#include <vector>

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
    // A non-blocking sendmsg first: asio completes even an immediate write
    // through a posted handler, so every write would cost one more trip
    // through the event loop (an epoll_wait). Uploads in small pieces and
    // small responses pay that per write (docs/benchmarks/http.profile.md).
    // Every max_immediate_writes-th write takes the asynchronous path, which
    // yields, so a writer that never fills the socket cannot starve the other
    // coroutines of its io_context.
    std::error_code ec;
    std::size_t written = 0;
    if (mode_ == write_mode::immediate && immediate_writes_ < max_immediate_writes) {
        ++immediate_writes_;
        if (!socket_.non_blocking()) {
            socket_.non_blocking(true, ec);  // asio's own operations do not mind
        }
        if (!ec) {
            written = socket_.write_some(buffers, ec);
        }
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
            ec.clear();
        }
        if (ec) {
            co_return ec;
        }
    } else {
        immediate_writes_ = 0;
    }
    const std::size_t total = asio::buffer_size(buffers);
    if (written == total) {
        co_return result<void>{};
    }
    immediate_writes_ = 0;
    // The rest: skip what went out (whole buffers, then part of one).
    std::size_t skip = written;
    std::size_t first = 0;
    while (skip >= buffers[first].size()) {
        skip -= buffers[first].size();
        ++first;
    }
    std::vector<asio::const_buffer> rest(buffers.begin() + first, buffers.end());
    rest.front() += skip;
    co_await asio::async_write(socket_, rest, asio::redirect_error(asio::use_awaitable, ec));
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
