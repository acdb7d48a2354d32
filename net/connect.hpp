#pragma once

// Name resolution and TCP connection establishment with Happy Eyeballs
// (RFC 8305): addresses are interleaved by family, IPv6 first, and a new
// attempt starts every `attempt_delay` (250 ms by default) or as soon as the
// previous one fails, whichever comes first; the first connection to succeed
// wins and the others are closed.
//
// @par Errors
// net_errc::dns_failed, no_addresses, connect_failed (with the last attempt's
// system error available through `connect_outcome::last_error`),
// connect_timeout, cancelled.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "corvid/result.hpp"

namespace corvid::net {

using tcp = asio::ip::tcp;
using trace_fn = std::function<void(std::string_view)>;

struct connect_options {
    std::chrono::milliseconds timeout{30'000};     ///< for resolution and connection together
    std::chrono::milliseconds attempt_delay{250};  ///< RFC 8305 "Connection Attempt Delay"
    trace_fn trace;                                ///< optional "Trying ..." lines
};

/// Resolves `host` (a name or an address literal) asynchronously.
asio::awaitable<result<std::vector<tcp::endpoint>>> resolve(std::string host, std::uint16_t port);

/// Orders addresses as RFC 8305 section 4 asks: alternate families, starting
/// with the family of the first address the resolver returned (IPv6 first
/// when the resolver prefers it).
std::vector<tcp::endpoint> interleave_families(const std::vector<tcp::endpoint>& endpoints);

/// Races connection attempts to `endpoints` (already interleaved) and returns
/// the first connected socket. Owned through a shared_ptr: the attempts keep it
/// alive until they finish. One connect() per object.
class happy_eyeballs : public std::enable_shared_from_this<happy_eyeballs> {
  public:
    happy_eyeballs(asio::any_io_executor executor, connect_options options);
    asio::awaitable<result<tcp::socket>> connect(std::vector<tcp::endpoint> endpoints);
    /// Aborts a connect in progress (from any coroutine on the same executor);
    /// connect() then fails with net_errc::cancelled.
    void cancel();

  private:
    struct attempt;
    void launch(std::size_t index);

    asio::any_io_executor executor_;
    connect_options options_;
    asio::steady_timer wake_;
    std::vector<std::shared_ptr<tcp::socket>> sockets_;
    std::vector<tcp::endpoint> endpoints_;
    std::size_t pending_ = 0;
    std::ptrdiff_t winner_ = -1;
    std::error_code last_error_;
    bool cancelled_ = false;
};

}  // namespace corvid::net
