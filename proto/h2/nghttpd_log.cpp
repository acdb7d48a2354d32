#include "proto/h2/nghttpd_log.hpp"

#include <charconv>
#include <sstream>
#include <string>

namespace corvid::h2 {

std::optional<frame_log> parse_nghttpd_log(std::string_view log) {
    // The connection that carries the first request header line.
    std::string conn;
    const auto first_header = log.find("] recv (stream_id=");
    if (first_header == std::string_view::npos) {
        return std::nullopt;
    }
    const auto line_start = log.rfind('\n', first_header);
    const std::string_view prefix_line =
        log.substr(line_start == std::string_view::npos ? 0 : line_start + 1);
    if (!prefix_line.starts_with("[id=")) {
        return std::nullopt;
    }
    conn = std::string(prefix_line.substr(0, prefix_line.find(']') + 1));  // "[id=N]"

    frame_log out;
    out.preface_seen = true;
    std::istringstream lines{std::string(log)};
    std::string line;
    enum class in { none, settings, window, headers } state = in::none;
    bool settings_done = false;
    std::optional<std::uint32_t> first_stream;
    header_block_record block;
    bool block_done = false;
    while (std::getline(lines, line)) {
        const bool ours = line.starts_with(conn);
        if (!ours && line.starts_with("[id=")) {
            state = in::none;  // another connection's frame
            continue;
        }
        if (ours) {
            state = in::none;
            if (line.find(" recv SETTINGS frame ") != std::string::npos &&
                line.find("flags=0x00") != std::string::npos && !settings_done) {
                out.settings.emplace();
                state = in::settings;
            } else if (line.find(" recv WINDOW_UPDATE frame ") != std::string::npos &&
                       line.find("stream_id=0>") != std::string::npos) {
                state = in::window;
            } else if (const auto at = line.find(" recv (stream_id=");
                       at != std::string::npos && !block_done) {
                std::uint32_t id = 0;
                const char* p = line.c_str() + at + 17;
                std::from_chars(p, line.c_str() + line.size(), id);
                if (!first_stream) {
                    first_stream = id;
                }
                if (id == *first_stream) {
                    const auto close = line.find(") ", at);
                    const std::string field = line.substr(close + 2);
                    // ":method: GET" - the name may start with ':'.
                    const auto colon = field.find(": ", field[0] == ':' ? 1 : 0);
                    if (colon != std::string::npos) {
                        block.fields.emplace_back(field.substr(0, colon), field.substr(colon + 2));
                    }
                }
            } else if (line.find(" recv HEADERS frame ") != std::string::npos && first_stream &&
                       !block_done) {
                block.stream_id = *first_stream;
                state = in::headers;
            }
            continue;
        }
        // An indented continuation line of the last frame.
        if (state == in::settings) {
            const auto open = line.find("(0x");
            const auto colon = line.find("):", open == std::string::npos ? 0 : open);
            if (open != std::string::npos && colon != std::string::npos) {
                setting_entry e;
                std::from_chars(line.c_str() + open + 3, line.c_str() + colon, e.id, 16);
                std::from_chars(line.c_str() + colon + 2, line.c_str() + line.size(), e.value);
                out.settings->push_back(e);
                settings_done = true;
            }
        } else if (state == in::window) {
            const auto at = line.find("window_size_increment=");
            if (at != std::string::npos) {
                std::uint32_t inc = 0;
                std::from_chars(line.c_str() + at + 22, line.c_str() + line.size(), inc);
                out.connection_window_updates.push_back(inc);
                state = in::none;
            }
        } else if (state == in::headers) {
            const auto dep = line.find("dep_stream_id=");
            if (dep != std::string::npos) {
                priority_fields pf;
                const auto w = line.find("weight=");
                const auto x = line.find("exclusive=");
                std::from_chars(line.c_str() + dep + 14, line.c_str() + line.size(), pf.dependency);
                if (w != std::string::npos) {
                    std::from_chars(line.c_str() + w + 7, line.c_str() + line.size(), pf.weight);
                }
                pf.exclusive = x != std::string::npos && line.compare(x + 10, 1, "1") == 0;
                block.priority = pf;
                out.header_blocks.push_back(block);
                block_done = true;
                state = in::none;
            } else if (line.find("; Open new stream") != std::string::npos ||
                       line.find("END_HEADERS") != std::string::npos) {
                continue;
            }
        }
    }
    if (!block_done && !block.fields.empty()) {
        out.header_blocks.push_back(block);
    }
    if (out.header_blocks.empty()) {
        return std::nullopt;
    }
    return out;
}

}  // namespace corvid::h2
