#include "net/connect.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/address.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace corvid::net {

asio::awaitable<result<std::vector<tcp::endpoint>>> resolve(std::string host, std::uint16_t port) {
    // Address literals need no lookup (and must not go to DNS).
    std::error_code parse_ec;
    auto literal = asio::ip::make_address(host, parse_ec);
    if (!parse_ec) {
        co_return std::vector<tcp::endpoint>{tcp::endpoint(literal, port)};
    }
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    std::error_code ec;
    auto results = co_await resolver.async_resolve(host, std::to_string(port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) {
        co_return net_errc::cancelled;
    }
    if (ec) {
        co_return net_errc::dns_failed;
    }
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results) {
        endpoints.push_back(entry.endpoint());
    }
    if (endpoints.empty()) {
        co_return net_errc::no_addresses;
    }
    co_return endpoints;
}

std::vector<tcp::endpoint> interleave_families(const std::vector<tcp::endpoint>& endpoints) {
    std::vector<tcp::endpoint> first_family;
    std::vector<tcp::endpoint> other_family;
    if (endpoints.empty()) {
        return {};
    }
    bool first_is_v6 = endpoints.front().address().is_v6();
    for (const auto& ep : endpoints) {
        (ep.address().is_v6() == first_is_v6 ? first_family : other_family).push_back(ep);
    }
    std::vector<tcp::endpoint> out;
    out.reserve(endpoints.size());
    for (std::size_t i = 0; i < std::max(first_family.size(), other_family.size()); ++i) {
        if (i < first_family.size()) {
            out.push_back(first_family[i]);
        }
        if (i < other_family.size()) {
            out.push_back(other_family[i]);
        }
    }
    return out;
}

happy_eyeballs::happy_eyeballs(asio::any_io_executor executor, connect_options options)
    : executor_(std::move(executor)), options_(std::move(options)), wake_(executor_) {}

void happy_eyeballs::cancel() {
    cancelled_ = true;
    for (auto& s : sockets_) {
        std::error_code ignored;
        s->close(ignored);
    }
    wake_.cancel();
}

void happy_eyeballs::launch(std::size_t index) {
    auto socket = std::make_shared<tcp::socket>(executor_);
    sockets_.push_back(socket);
    ++pending_;
    if (options_.trace) {
        const auto& ep = endpoints_[index];
        options_.trace("Trying " +
                       (ep.address().is_v6() ? "[" + ep.address().to_string() + "]"
                                             : ep.address().to_string()) +
                       ":" + std::to_string(ep.port()) + "...");
    }
    auto self = shared_from_this();
    asio::co_spawn(
        executor_,
        [self, socket, index]() -> asio::awaitable<void> {
            std::error_code ec;
            co_await socket->async_connect(self->endpoints_[index],
                                           asio::redirect_error(asio::use_awaitable, ec));
            --self->pending_;
            if (!ec && self->winner_ < 0 && !self->cancelled_) {
                self->winner_ = static_cast<std::ptrdiff_t>(index);
            } else if (ec) {
                if (ec != asio::error::operation_aborted) {
                    self->last_error_ = ec;
                    if (self->options_.trace && self->winner_ < 0) {
                        self->options_.trace("connect to " +
                                             self->endpoints_[index].address().to_string() +
                                             " failed: " + ec.message());
                    }
                }
            }
            self->wake_.cancel();
        },
        asio::detached);
}

asio::awaitable<result<tcp::socket>> happy_eyeballs::connect(std::vector<tcp::endpoint> endpoints) {
    endpoints_ = std::move(endpoints);
    if (endpoints_.empty()) {
        co_return net_errc::no_addresses;
    }
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + options_.timeout;
    auto next_launch = clock::now();
    std::size_t next = 0;

    while (winner_ < 0 && !cancelled_) {
        auto now = clock::now();
        if (now >= deadline) {
            break;
        }
        if (next < endpoints_.size() && (pending_ == 0 || now >= next_launch)) {
            launch(next++);
            next_launch = now + options_.attempt_delay;
            continue;
        }
        if (pending_ == 0 && next == endpoints_.size()) {
            break;  // every attempt failed
        }
        auto wake_at = deadline;
        if (next < endpoints_.size()) {
            wake_at = std::min(wake_at, next_launch);
        }
        wake_.expires_at(wake_at);
        std::error_code ec;
        co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }

    // Close the losers (and everything, on failure); their coroutines finish
    // with operation_aborted and release `this`.
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        if (static_cast<std::ptrdiff_t>(i) != winner_) {
            std::error_code ignored;
            sockets_[i]->close(ignored);
        }
    }
    if (cancelled_) {
        co_return net_errc::cancelled;
    }
    if (winner_ >= 0) {
        co_return std::move(*sockets_[static_cast<std::size_t>(winner_)]);
    }
    if (clock::now() >= deadline) {
        co_return net_errc::connect_timeout;
    }
    co_return net_errc::connect_failed;
}

}  // namespace corvid::net
