#include "client/pool.hpp"

#include <cstring>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

namespace corvid::detail {

void connection::consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) {
        begin_ = end_ = 0;
    }
}

std::span<char> connection::space() noexcept {
    if (end_ == buffer_size && begin_ > 0) {
        std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    return {buffer_.get() + end_, buffer_size - end_};
}

pool::pool(asio::any_io_executor executor, std::size_t max_per_key,
           std::chrono::milliseconds idle_timeout)
    : executor_(std::move(executor)),
      max_per_key_(max_per_key == 0 ? 1 : max_per_key),
      idle_timeout_(idle_timeout) {}

pool::~pool() {
    close_idle();
}

void pool::drop_stale(key_state& state) {
    auto now = connection::clock::now();
    std::erase_if(state.idle, [&](std::unique_ptr<connection>& c) {
        bool stale = now - c->idle_since >= idle_timeout_ || c->stream->idle_connection_is_dead();
        if (stale) {
            c->stream->close();
            --state.total;
        }
        return stale;
    });
}

asio::awaitable<result<std::unique_ptr<connection>>> pool::checkout(const std::string& key,
                                                                    net::watchdog& dog) {
    for (;;) {
        auto& state = keys_[key];
        drop_stale(state);
        if (!state.idle.empty()) {
            auto conn = std::move(state.idle.back());
            state.idle.pop_back();
            co_return conn;
        }
        if (state.total < max_per_key_) {
            ++state.total;
            co_return std::unique_ptr<connection>{};
        }
        auto waiter = std::make_shared<asio::steady_timer>(executor_);
        waiter->expires_at(asio::steady_timer::time_point::max());
        state.waiters.push_back(waiter);
        dog.on_fire([waiter] { waiter->cancel(); });
        std::error_code ec;
        co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        dog.on_fire(nullptr);
        if (dog.reason()) {
            auto& again = keys_[key];
            std::erase(again.waiters, waiter);
            co_return dog.reason();
        }
    }
}

void pool::wake_one(key_state& state) {
    if (!state.waiters.empty()) {
        state.waiters.front()->cancel();
        state.waiters.pop_front();
    }
}

void pool::put_idle(std::unique_ptr<connection> conn) {
    auto& state = keys_[conn->pool_key];
    conn->idle_since = connection::clock::now();
    state.idle.push_back(std::move(conn));
    drop_stale(state);
    wake_one(state);
}

void pool::release(const std::string& key) {
    auto it = keys_.find(key);
    if (it == keys_.end()) {
        return;
    }
    if (it->second.total > 0) {
        --it->second.total;
    }
    wake_one(it->second);
}

std::size_t pool::idle_count() const noexcept {
    std::size_t n = 0;
    for (const auto& [key, state] : keys_) {
        n += state.idle.size();
    }
    return n;
}

void pool::close_idle() {
    for (auto& [key, state] : keys_) {
        for (auto& c : state.idle) {
            c->stream->close();
            --state.total;
        }
        state.idle.clear();
        wake_one(state);
    }
}

}  // namespace corvid::detail
