#pragma once

// The keep-alive connection pool, keyed by origin (scheme, host, port, and
// the proxy in use; later the browser profile).
//
// Counting: every connection of a key, idle or in use, plus every slot
// reserved for a connection being opened, counts against
// max_connections_per_origin. A request that finds the key at its limit
// waits for a connection to come back or close.
//
// A connection goes back (put_idle) only when its response was read to the
// end and the server allowed keep-alive; anything else is closed and its
// slot released. Idle connections are dropped after the idle timeout, or as
// soon as the peer is seen to have closed them (checked when taken).
//
// @par Threading
// One executor; not locked.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "corvid/client.hpp"
#include "net/stream.hpp"
#include "net/watchdog.hpp"

namespace corvid::detail {

/// A connection: a transport stack plus its read buffer.
struct connection {
    using clock = std::chrono::steady_clock;
    static constexpr std::size_t buffer_size = 64 * 1024;

    std::unique_ptr<net::stream> stream;
    std::string pool_key;
    std::string host;  ///< the origin's host name, for messages
    connection_info info;
    std::size_t id = 0;  ///< "Connection #id" in -v output
    clock::time_point idle_since{};

    /// Bytes read but not yet consumed.
    std::string_view pending() const noexcept { return {buffer_.get() + begin_, end_ - begin_}; }
    /// pending(), writable (a WebSocket codec unmasks in place).
    std::span<char> pending_bytes() noexcept { return {buffer_.get() + begin_, end_ - begin_}; }
    void consume(std::size_t n) noexcept;
    /// Free space to read into (compacts first when needed).
    std::span<char> space() noexcept;
    void commit(std::size_t n) noexcept { end_ += n; }

  private:
    std::unique_ptr<char[]> buffer_{new char[buffer_size]};
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

class pool {
  public:
    pool(asio::any_io_executor executor, std::size_t max_per_key,
         std::chrono::milliseconds idle_timeout);
    ~pool();

    /// Either an idle connection for `key`, or nullptr with a slot reserved
    /// for a new one (the caller must later put_idle() the connection it
    /// opens, or release() the slot). Waits while the key is at its limit;
    /// fails with the watchdog's reason if it fires meanwhile.
    asio::awaitable<result<std::unique_ptr<connection>>> checkout(const std::string& key,
                                                                  net::watchdog& dog);
    void put_idle(std::unique_ptr<connection> conn);
    /// A connection of `key` (or a reserved slot) is gone.
    void release(const std::string& key);

    std::size_t idle_count() const noexcept;
    void close_idle();

  private:
    struct key_state {
        std::size_t total = 0;
        std::vector<std::unique_ptr<connection>> idle;
        std::deque<std::shared_ptr<asio::steady_timer>> waiters;
    };
    void wake_one(key_state& state);
    void drop_stale(key_state& state);

    asio::any_io_executor executor_;
    std::size_t max_per_key_;
    std::chrono::milliseconds idle_timeout_;
    std::map<std::string, key_state> keys_;
};

}  // namespace corvid::detail
