#pragma once

// Connection limits shared by every worker's http1_server
// (server_options::limiter): at most `max_total` open connections in all,
// and at most `max_per_ip` from one client address.
//
// A connection takes a permit right after accept and holds it until it ends
// (also while upgraded to a WebSocket or streaming a body); over a limit
// the server closes it at once (see server_options::limiter for what the
// client sees).
//
// Addresses are keyed exactly as given (the server passes the peer's
// address as text, an IPv4-mapped IPv6 address as plain IPv4); IPv6 clients
// are not grouped by prefix.
//
// @par Threading
// Thread-safe: one limiter serves every worker thread. Permits may be
// released on any thread.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace corvid::server {

class connection_limiter;

/// One admitted connection's place in a connection_limiter; released when
/// destroyed (or by release()). Move-only. A default-constructed or
/// moved-from permit holds nothing.
class connection_permit {
  public:
    connection_permit() = default;
    connection_permit(connection_permit&& other) noexcept;
    connection_permit& operator=(connection_permit&& other) noexcept;
    connection_permit(const connection_permit&) = delete;
    connection_permit& operator=(const connection_permit&) = delete;
    ~connection_permit() { release(); }

    /// Holds a place (acquire() succeeded and release() not called yet).
    explicit operator bool() const noexcept { return limiter_ != nullptr; }
    /// Gives the place back now. Idempotent.
    void release() noexcept;

  private:
    friend class connection_limiter;
    connection_permit(std::shared_ptr<connection_limiter> limiter, std::string ip) noexcept
        : limiter_(std::move(limiter)), ip_(std::move(ip)) {}

    std::shared_ptr<connection_limiter> limiter_;  // keeps the limiter alive
    std::string ip_;
};

class connection_limiter : public std::enable_shared_from_this<connection_limiter> {
  public:
    /// 0: unlimited. Create with std::make_shared (acquire() needs it).
    connection_limiter(std::size_t max_total, std::size_t max_per_ip) noexcept
        : max_total_(max_total), max_per_ip_(max_per_ip) {}

    /// Takes a place for a connection from `ip` if both limits allow it;
    /// otherwise counts a refusal and returns false. Each success must be
    /// matched by one release(ip).
    bool try_acquire(const std::string& ip);
    /// Gives back a place taken by try_acquire(ip).
    void release(const std::string& ip) noexcept;
    /// try_acquire() as an RAII permit (empty when refused). The limiter
    /// must be owned by a std::shared_ptr; the permit keeps it alive.
    connection_permit acquire(const std::string& ip);

    /// Open connections counted now.
    std::size_t total() const noexcept { return total_.load(std::memory_order_relaxed); }
    /// Open connections from `ip` now.
    std::size_t count(const std::string& ip) const;
    /// Connections refused so far (either limit).
    std::uint64_t refused() const noexcept { return refused_.load(std::memory_order_relaxed); }
    std::size_t max_total() const noexcept { return max_total_; }
    std::size_t max_per_ip() const noexcept { return max_per_ip_; }

  private:
    const std::size_t max_total_;
    const std::size_t max_per_ip_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::size_t> per_ip_;  // no zero entries
    std::atomic<std::size_t> total_{0};                    // written under mutex_
    std::atomic<std::uint64_t> refused_{0};
};

}  // namespace corvid::server
