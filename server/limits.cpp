#include "server/limits.hpp"

namespace corvid::server {

connection_permit::connection_permit(connection_permit&& other) noexcept
    : limiter_(std::move(other.limiter_)), ip_(std::move(other.ip_)) {
    other.limiter_.reset();
}

connection_permit& connection_permit::operator=(connection_permit&& other) noexcept {
    if (this != &other) {
        release();
        limiter_ = std::move(other.limiter_);
        ip_ = std::move(other.ip_);
        other.limiter_.reset();
    }
    return *this;
}

void connection_permit::release() noexcept {
    if (limiter_) {
        limiter_->release(ip_);
        limiter_.reset();
    }
}

bool connection_limiter::try_acquire(const std::string& ip) {
    std::lock_guard lock(mutex_);
    const std::size_t total = total_.load(std::memory_order_relaxed);
    if (max_total_ != 0 && total >= max_total_) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    if (max_per_ip_ != 0) {
        auto it = per_ip_.find(ip);
        if (it != per_ip_.end() && it->second >= max_per_ip_) {
            refused_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
    }
    ++per_ip_[ip];
    total_.store(total + 1, std::memory_order_relaxed);
    return true;
}

void connection_limiter::release(const std::string& ip) noexcept {
    std::lock_guard lock(mutex_);
    auto it = per_ip_.find(ip);
    if (it == per_ip_.end()) {
        return;  // not ours: ignore rather than underflow
    }
    if (--it->second == 0) {
        per_ip_.erase(it);
    }
    total_.store(total_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

connection_permit connection_limiter::acquire(const std::string& ip) {
    auto self = shared_from_this();  // throws bad_weak_ptr before taking a place
    if (!try_acquire(ip)) {
        return {};
    }
    return connection_permit(std::move(self), ip);
}

std::size_t connection_limiter::count(const std::string& ip) const {
    std::lock_guard lock(mutex_);
    auto it = per_ip_.find(ip);
    return it == per_ip_.end() ? 0 : it->second;
}

}  // namespace corvid::server
