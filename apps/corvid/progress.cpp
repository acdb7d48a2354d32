#include "apps/corvid/progress.hpp"

#include <algorithm>
#include <cstdio>

namespace corvid::cli {

std::string format_bytes(std::uint64_t bytes) {
    static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        return std::to_string(bytes) + " B";
    }
    double v = static_cast<double>(bytes);
    int unit = 0;
    while (v >= 1024 && unit < 4) {
        v /= 1024;
        ++unit;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, v < 10 ? "%.2f %s" : "%.1f %s", v, units[unit]);
    return buf;
}

std::string format_progress_line(std::uint64_t bytes, std::optional<std::uint64_t> total,
                                 double bytes_per_second, int width) {
    std::string tail;
    if (total) {
        double pct =
            *total == 0
                ? 100.0
                : std::min(100.0, 100.0 * static_cast<double>(bytes) / static_cast<double>(*total));
        char buf[16];
        std::snprintf(buf, sizeof buf, "%5.1f%%", pct);
        tail += "  ";
        tail += buf;
    }
    tail += "  " + format_bytes(bytes);
    if (bytes_per_second < 0) {
        tail += "  -- B/s";
    } else {
        tail += "  " + format_bytes(static_cast<std::uint64_t>(bytes_per_second)) + "/s";
    }

    // The bar takes what is left of the line, between 10 and 50 cells; on a
    // very narrow terminal only the numbers are shown.
    int cells = std::min(50, width - 1 - 2 - static_cast<int>(tail.size()));
    if (cells < 10) {
        return tail.substr(2);
    }
    std::string bar = "[";
    if (total) {
        int filled = *total == 0
                         ? cells
                         : static_cast<int>(static_cast<double>(cells) *
                                            std::min<double>(1.0, static_cast<double>(bytes) /
                                                                      static_cast<double>(*total)));
        bar.append(static_cast<std::size_t>(filled), '#');
        bar.append(static_cast<std::size_t>(cells - filled), '.');
    } else {
        // Unknown size: a three-cell marker that bounces with the byte count.
        int span = cells - 3;
        int step = static_cast<int>((bytes / 16384) % static_cast<std::uint64_t>(2 * span));
        int pos = step <= span ? step : 2 * span - step;
        bar.append(static_cast<std::size_t>(pos), ' ');
        bar += "<=>";
        bar.append(static_cast<std::size_t>(cells - 3 - pos), ' ');
    }
    bar += "]";
    return bar + tail;
}

progress_meter::progress_meter(std::optional<std::uint64_t> total, clock::time_point start,
                               int width)
    : total_(total), start_(start), width_(width) {}

std::string progress_meter::draw(std::uint64_t bytes, clock::time_point now) {
    double secs = std::chrono::duration<double>(now - start_).count();
    // Until a redraw interval has passed the rate is noise (the first chunk
    // often arrives with the head), so it is shown as unknown.
    double rate = secs >= std::chrono::duration<double>(interval).count()
                      ? static_cast<double>(bytes) / secs
                      : -1;
    std::string line = format_progress_line(bytes, total_, rate, width_);
    // Pad to the width so a shorter line fully overwrites the previous one.
    if (static_cast<int>(line.size()) < width_ - 1) {
        line.resize(static_cast<std::size_t>(width_ - 1), ' ');
    }
    last_draw_ = now;
    return "\r" + line;
}

std::optional<std::string> progress_meter::update(std::uint64_t bytes, clock::time_point now) {
    if (last_draw_ && now - *last_draw_ < interval) {
        return std::nullopt;
    }
    return draw(bytes, now);
}

std::string progress_meter::finish(std::uint64_t bytes, clock::time_point now) {
    if (!last_draw_ && bytes == 0) {
        return {};
    }
    return draw(bytes, now) + "\n";
}

}  // namespace corvid::cli
