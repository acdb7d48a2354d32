#include "net/watchdog.hpp"

#include "corvid/error.hpp"

namespace corvid::net {

watchdog::watchdog(asio::any_io_executor executor) : timer_(std::move(executor)) {}

watchdog::~watchdog() {
    timer_.cancel();
}

void watchdog::on_fire(std::function<void()> action) {
    action_ = std::move(action);
}

void watchdog::set_deadline(clock::time_point deadline) {
    deadline_ = deadline;
    arm();
}

void watchdog::set_inactivity_timeout(std::chrono::milliseconds timeout) {
    inactivity_ = timeout;
    touch();
    arm();
}

void watchdog::cancel() {
    fire(net_errc::cancelled);
}

void watchdog::disarm() {
    action_ = nullptr;
    deadline_ = clock::time_point::max();
    inactivity_ = std::chrono::milliseconds{0};
    timer_.cancel();
    armed_ = false;
}

void watchdog::fire(std::error_code why) {
    if (reason_) {
        return;
    }
    reason_ = why;
    timer_.cancel();
    if (auto action = std::move(action_)) {
        action_ = nullptr;
        action();
    }
}

void watchdog::arm() {
    if (reason_) {
        return;
    }
    auto wake = deadline_;
    if (inactivity_.count() > 0) {
        wake = std::min(wake, last_activity_ + inactivity_);
    }
    if (wake == clock::time_point::max()) {
        timer_.cancel();
        armed_ = false;
        return;
    }
    // Re-arming cancels the outstanding wait, whose handler then sees a
    // changed expiry and returns.
    timer_.expires_at(wake);
    armed_ = true;
    timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
        auto self = weak.lock();
        if (!self || ec == asio::error::operation_aborted || self->reason_) {
            return;
        }
        auto now = clock::now();
        if (now >= self->deadline_) {
            self->fire(net_errc::total_timeout);
        } else if (self->inactivity_.count() > 0 &&
                   now >= self->last_activity_ + self->inactivity_) {
            self->fire(net_errc::read_timeout);
        } else {
            self->arm();  // woke early: activity moved the inactivity deadline
        }
    });
}

}  // namespace corvid::net
