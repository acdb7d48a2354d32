#pragma once

// A per-operation watchdog: one timer enforces a total deadline and an
// inactivity (read) timeout, and cancellation from another coroutine, by
// calling the `on_fire` action (which closes whatever stream is current).
// After it fires, `reason()` tells callers why their I/O failed, so they can
// report net_errc::total_timeout / read_timeout / cancelled instead of the
// socket's "operation aborted".
//
// Cheap on the hot path: activity is a timestamp store; the timer is only
// re-armed when it expires early.

#include <chrono>
#include <functional>
#include <memory>
#include <system_error>

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>

namespace corvid::net {

class watchdog : public std::enable_shared_from_this<watchdog> {
  public:
    using clock = std::chrono::steady_clock;

    explicit watchdog(asio::any_io_executor executor);
    ~watchdog();

    /// What to do when the watchdog fires (typically: close the stream).
    /// Replaces any previous action. Called at most once per fire.
    void on_fire(std::function<void()> action);

    /// Sets the total deadline (time_point::max() for none).
    void set_deadline(clock::time_point deadline);
    /// Sets the inactivity timeout (zero for none); counts from now.
    void set_inactivity_timeout(std::chrono::milliseconds timeout);
    /// Records I/O progress (resets the inactivity clock).
    void touch() noexcept { last_activity_ = clock::now(); }

    /// Fires now with net_errc::cancelled.
    void cancel();
    /// Stops the timer; the action will not run.
    void disarm();

    /// Why the watchdog fired; empty while it has not.
    std::error_code reason() const noexcept { return reason_; }
    /// `reason()` when the watchdog fired, else `ec`.
    std::error_code translate(std::error_code ec) const noexcept { return reason_ ? reason_ : ec; }

  private:
    void arm();
    void fire(std::error_code why);

    asio::steady_timer timer_;
    std::function<void()> action_;
    clock::time_point deadline_ = clock::time_point::max();
    std::chrono::milliseconds inactivity_{0};
    clock::time_point last_activity_ = clock::now();
    std::error_code reason_;
    bool armed_ = false;
};

}  // namespace corvid::net
