#include "apps/corvid/write_out.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <optional>

namespace corvid::cli {

namespace {

void append(write_out_result& r, write_out_stream s, std::string_view text) {
    if (text.empty()) {
        return;
    }
    if (r.pieces.empty() || r.pieces.back().stream != s) {
        r.pieces.push_back({s, {}});
    }
    r.pieces.back().text.append(text);
}

std::string http_version_text(int v) {
    switch (v) {
        case 10:
            return "1.0";
        case 11:
            return "1.1";
        case 20:
            return "2";
        case 30:
            return "3";
        default:
            return "0";
    }
}

std::string three_digits(int code) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%03d", code);
    return buf;
}

std::string speed(std::uint64_t bytes, double seconds) {
    if (seconds <= 0) {
        return "0";
    }
    return std::to_string(static_cast<std::uint64_t>(static_cast<double>(bytes) / seconds));
}

// The value of a %{name} variable, or nullopt when the name is unknown.
std::optional<std::string> variable(std::string_view name, const transfer_report& r) {
    if (name == "http_code" || name == "response_code") {
        return three_digits(r.http_code);
    }
    if (name == "http_version") {
        return http_version_text(r.http_version);
    }
    if (name == "method") {
        return r.method;
    }
    if (name == "url") {
        return r.url;
    }
    if (name == "url_effective") {
        return r.url_effective;
    }
    if (name == "redirect_url") {
        return r.redirect_url;
    }
    if (name == "scheme") {
        return r.scheme;
    }
    if (name == "num_headers") {
        return std::to_string(r.num_headers);
    }
    if (name == "num_connects") {
        return std::to_string(r.num_connects);
    }
    if (name == "num_redirects") {
        return std::to_string(r.num_redirects);
    }
    if (name == "content_type") {
        return r.content_type;
    }
    if (name == "remote_ip") {
        return r.remote_ip;
    }
    if (name == "remote_port") {
        return std::to_string(r.remote_port);
    }
    if (name == "local_ip") {
        return r.local_ip;
    }
    if (name == "local_port") {
        return std::to_string(r.local_port);
    }
    if (name == "time_namelookup") {
        return format_seconds(r.time_namelookup);
    }
    if (name == "time_connect") {
        return format_seconds(r.time_connect);
    }
    if (name == "time_appconnect") {
        return format_seconds(r.time_appconnect);
    }
    if (name == "time_pretransfer") {
        return format_seconds(r.time_pretransfer);
    }
    if (name == "time_starttransfer") {
        return format_seconds(r.time_starttransfer);
    }
    if (name == "time_redirect") {
        return format_seconds(r.time_redirect);
    }
    if (name == "time_total") {
        return format_seconds(r.time_total);
    }
    if (name == "size_download") {
        return std::to_string(r.size_download);
    }
    if (name == "size_header") {
        return std::to_string(r.size_header);
    }
    if (name == "size_request") {
        return std::to_string(r.size_request);
    }
    if (name == "size_upload") {
        return std::to_string(r.size_upload);
    }
    if (name == "speed_download") {
        return speed(r.size_download, r.time_total);
    }
    if (name == "speed_upload") {
        return speed(r.size_upload, r.time_total);
    }
    if (name == "ssl_verify_result") {
        return std::to_string(r.ssl_verify_result);
    }
    if (name == "exitcode") {
        return std::to_string(r.exitcode);
    }
    if (name == "errormsg") {
        return r.errormsg;
    }
    if (name == "filename_effective") {
        return r.filename_effective;
    }
    if (name == "urlnum") {
        return std::to_string(r.urlnum);
    }
    return std::nullopt;
}

}  // namespace

std::string format_seconds(double seconds) {
    if (!(seconds > 0) || !std::isfinite(seconds)) {
        return "0.000000";
    }
    // Whole microseconds, printed as curl does: integer part, six-digit fraction.
    auto us = static_cast<std::uint64_t>(std::llround(seconds * 1e6));
    char buf[48];
    std::snprintf(buf, sizeof buf, "%" PRIu64 ".%06" PRIu64, us / 1'000'000, us % 1'000'000);
    return buf;
}

write_out_result format_write_out(std::string_view format, const transfer_report& report) {
    write_out_result r;
    auto stream = write_out_stream::out;
    std::size_t i = 0;
    while (i < format.size()) {
        char c = format[i];
        if (c == '%' && i + 1 < format.size()) {
            if (format[i + 1] == '%') {
                append(r, stream, "%");
                i += 2;
                continue;
            }
            if (format[i + 1] == '{') {
                auto close = format.find('}', i + 2);
                if (close != std::string_view::npos) {
                    auto name = format.substr(i + 2, close - (i + 2));
                    i = close + 1;
                    if (name == "stdout") {
                        stream = write_out_stream::out;
                    } else if (name == "stderr") {
                        stream = write_out_stream::err;
                    } else if (auto v = variable(name, report)) {
                        append(r, stream, *v);
                    } else {
                        r.unknown.emplace_back(name);
                    }
                    continue;
                }
            }
            constexpr std::string_view header_prefix = "%header{";
            if (format.substr(i).starts_with(header_prefix)) {
                auto close = format.find('}', i + header_prefix.size());
                if (close != std::string_view::npos) {
                    auto name =
                        format.substr(i + header_prefix.size(), close - i - header_prefix.size());
                    if (auto v = report.response_headers.get(name)) {
                        append(r, stream, *v);
                    }
                    i = close + 1;
                    continue;
                }
            }
        } else if (c == '\\' && i + 1 < format.size()) {
            char e = format[i + 1];
            const char* out = nullptr;
            switch (e) {
                case 'n':
                    out = "\n";
                    break;
                case 'r':
                    out = "\r";
                    break;
                case 't':
                    out = "\t";
                    break;
                case '\\':
                    out = "\\";
                    break;
                default:
                    break;
            }
            if (out != nullptr) {
                append(r, stream, out);
                i += 2;
                continue;
            }
        }
        append(r, stream, format.substr(i, 1));
        ++i;
    }
    return r;
}

}  // namespace corvid::cli
