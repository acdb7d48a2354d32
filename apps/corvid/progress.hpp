#pragma once

// The progress bar `corvid -o FILE` draws on a terminal: one line, redrawn in
// place with '\r' at most every 100 ms, showing percent (when the size is
// known), bytes received and the rate. Pure: time and sizes are passed in and
// the caller writes the returned text to stderr.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace corvid::cli {

/// "512 B", "1.5 KiB", "12.0 MiB", "3.25 GiB".
std::string format_bytes(std::uint64_t bytes);

/// One progress line (no '\r'), at most `width` columns:
/// "[#########.........]  45.3%  1.21 MiB  3.40 MiB/s" with a known total,
/// "[   <=>            ]  1.21 MiB  3.40 MiB/s" without (the marker moves with
/// `bytes` so a stalled transfer shows a still bar). A negative
/// `bytes_per_second` is shown as "-- B/s" (not yet known).
std::string format_progress_line(std::uint64_t bytes, std::optional<std::uint64_t> total,
                                 double bytes_per_second, int width);

class progress_meter {
  public:
    using clock = std::chrono::steady_clock;

    /// `total` is the expected body size (Content-Length) when known.
    progress_meter(std::optional<std::uint64_t> total, clock::time_point start, int width = 80);

    /// Called as bytes arrive (`bytes` is the running total). Returns the text
    /// to write ('\r' + line) when a redraw is due, nullopt otherwise.
    std::optional<std::string> update(std::uint64_t bytes, clock::time_point now);

    /// The final redraw and newline; "" when nothing was drawn and no byte
    /// arrived.
    std::string finish(std::uint64_t bytes, clock::time_point now);

    static constexpr std::chrono::milliseconds interval{100};

  private:
    std::string draw(std::uint64_t bytes, clock::time_point now);

    std::optional<std::uint64_t> total_;
    clock::time_point start_;
    int width_;
    std::optional<clock::time_point> last_draw_;
};

}  // namespace corvid::cli
