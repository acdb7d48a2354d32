#pragma once

// The narrow interface every transport layer implements (TCP, TLS, later a
// proxy tunnel or a QUIC stream), so the HTTP layers above are written once.
//
// @par Errors
// read_some() returns 0 bytes at a clean end of stream. Failures come back as
// std::error_code: system errors from the socket, tls_errc from TLS.
//
// @par Threading
// A stream is used from one executor. close() may be called while a read or
// write is pending (from another coroutine on the same executor); the
// pending operation then completes with an error.

#include <cstddef>
#include <span>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>

#include "corvid/result.hpp"

namespace corvid::net {

class stream {
  public:
    virtual ~stream() = default;

    /// Reads at least one byte into `buffer`; 0 means the peer ended the stream.
    virtual asio::awaitable<result<std::size_t>> read_some(std::span<char> buffer) = 0;

    /// Writes every byte of every buffer (gathered into as few syscalls as the
    /// layer allows).
    virtual asio::awaitable<result<void>> write(std::span<const asio::const_buffer> buffers) = 0;

    /// Aborts: closes the underlying socket at once. Idempotent.
    virtual void close() noexcept = 0;

    virtual bool is_open() const noexcept = 0;

    /// The TCP socket at the bottom of the stack (addresses, options).
    virtual asio::ip::tcp::socket& socket() noexcept = 0;

    /// Whether the peer has closed or sent unexpected bytes while the stream
    /// was idle: a pooled connection in that state must not be reused.
    bool idle_connection_is_dead();
};

/// Plain TCP.
class tcp_stream final : public stream {
  public:
    /// How write() hands bytes to the kernel.
    enum class write_mode {
        /// A non-blocking sendmsg at once, asio::async_write only for what
        /// the socket did not take: no trip through the event loop per
        /// write (a client sending a request or an upload piece by piece).
        immediate,
        /// Always asio::async_write, whose completion comes through the
        /// event loop: what other coroutines queue meanwhile goes out
        /// together in the next write (a server fanning many small frames
        /// out to many connections: corvid-server's broadcast sends several
        /// frames per sendmsg this way, and a third fewer deliveries per
        /// second with `immediate`).
        queued,
    };

    explicit tcp_stream(asio::ip::tcp::socket socket, write_mode mode = write_mode::immediate)
        : socket_(std::move(socket)), mode_(mode) {}
    asio::awaitable<result<std::size_t>> read_some(std::span<char> buffer) override;
    asio::awaitable<result<void>> write(std::span<const asio::const_buffer> buffers) override;
    void close() noexcept override;
    bool is_open() const noexcept override { return socket_.is_open(); }
    asio::ip::tcp::socket& socket() noexcept override { return socket_; }

  private:
    static constexpr int max_immediate_writes = 16;

    asio::ip::tcp::socket socket_;
    write_mode mode_;
    int immediate_writes_ = 0;  ///< writes done at once since the last yield
};

/// "1.2.3.4" or "[::1]" (for messages).
std::string format_address(const asio::ip::address& address);

}  // namespace corvid::net
