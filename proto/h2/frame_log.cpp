#include "proto/h2/frame_log.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>

namespace corvid::h2 {

namespace {

constexpr std::string_view client_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::size_t frame_header_size = 9;

constexpr std::uint8_t flag_end_stream = 0x01;
constexpr std::uint8_t flag_ack = 0x01;
constexpr std::uint8_t flag_end_headers = 0x04;
constexpr std::uint8_t flag_padded = 0x08;
constexpr std::uint8_t flag_priority = 0x20;

std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           p[3];
}

priority_fields read_priority(const std::uint8_t* p) {
    priority_fields f;
    const std::uint32_t dep = be32(p);
    f.exclusive = (dep & 0x80000000u) != 0;
    f.dependency = dep & 0x7fffffffu;
    f.weight = static_cast<std::uint16_t>(p[4] + 1);
    return f;
}

/// Frames whose payload the log needs.
bool buffered_type(std::uint8_t type) {
    switch (type) {
        case frame_type::headers:
        case frame_type::priority:
        case frame_type::settings:
        case frame_type::window_update:
        case frame_type::continuation:
            return true;
        default:
            return false;
    }
}

}  // namespace

void frame_log_decoder::inflater_deleter::operator()(nghttp2_hd_inflater* p) const noexcept {
    nghttp2_hd_inflate_del(p);
}

frame_log_decoder::frame_log_decoder(const frame_log_limits& limits) : limits_(limits) {
    nghttp2_hd_inflater* raw = nullptr;
    if (nghttp2_hd_inflate_new(&raw) != 0) {
        error_ = http2_errc::internal_error;
        return;
    }
    inflater_.reset(raw);
    if (nghttp2_hd_inflate_change_table_size(raw, limits_.header_table_size) != 0) {
        error_ = http2_errc::internal_error;
    }
}

frame_log_decoder::~frame_log_decoder() = default;
frame_log_decoder::frame_log_decoder(frame_log_decoder&&) noexcept = default;
frame_log_decoder& frame_log_decoder::operator=(frame_log_decoder&&) noexcept = default;

bool frame_log_decoder::mid_frame() const noexcept {
    return (preface_matched_ > 0 && !log_.preface_seen) || header_have_ > 0 || payload_left_ > 0 ||
           in_header_block_;
}

std::error_code frame_log_decoder::feed(std::string_view bytes) {
    return feed(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::error_code frame_log_decoder::feed(std::span<const std::uint8_t> bytes) {
    if (error_ || log_.truncated) {
        return error_;
    }
    while (!bytes.empty()) {
        if (!log_.preface_seen) {
            const std::size_t n = std::min(bytes.size(), client_preface.size() - preface_matched_);
            if (std::memcmp(bytes.data(), client_preface.data() + preface_matched_, n) != 0) {
                error_ = http2_errc::bad_preface;
                return error_;
            }
            preface_matched_ += n;
            bytes = bytes.subspan(n);
            log_.preface_seen = preface_matched_ == client_preface.size();
            continue;
        }
        if (header_have_ < frame_header_size) {
            const std::size_t n = std::min(bytes.size(), frame_header_size - header_have_);
            std::memcpy(header_ + header_have_, bytes.data(), n);
            header_have_ += n;
            bytes = bytes.subspan(n);
            if (header_have_ < frame_header_size) {
                break;
            }
            if (log_.frames.size() >= limits_.max_frames) {
                log_.truncated = true;
                return error_;
            }
            current_.length =
                (std::uint32_t{header_[0]} << 16) | (std::uint32_t{header_[1]} << 8) | header_[2];
            current_.type = header_[3];
            current_.flags = header_[4];
            current_.stream_id = be32(header_ + 5) & 0x7fffffffu;
            log_.frames.push_back(current_);
            buffer_payload_ = buffered_type(current_.type);
            if (buffer_payload_ && current_.length > limits_.max_buffered_payload) {
                error_ = http2_errc::frame_size_error;
                return error_;
            }
            payload_.clear();
            payload_left_ = current_.length;
        }
        // The payload: buffered, or skipped.
        const std::size_t n = std::min(bytes.size(), payload_left_);
        if (buffer_payload_) {
            payload_.insert(payload_.end(), bytes.begin(),
                            bytes.begin() + static_cast<std::ptrdiff_t>(n));
        }
        payload_left_ -= n;
        bytes = bytes.subspan(n);
        if (payload_left_ == 0) {
            header_have_ = 0;
            if (auto ec = on_frame()) {
                error_ = ec;
                return error_;
            }
        }
    }
    return error_;
}

std::error_code frame_log_decoder::on_frame() {
    const frame_record& f = current_;
    const std::uint8_t* p = payload_.data();
    const std::size_t len = payload_.size();

    if (in_header_block_ && f.type != frame_type::continuation) {
        return http2_errc::protocol_error;  // RFC 9113 6.10: nothing may interleave
    }
    switch (f.type) {
        case frame_type::settings: {
            if (f.stream_id != 0) {
                return http2_errc::protocol_error;
            }
            if ((f.flags & flag_ack) != 0) {
                return len == 0 ? std::error_code{} : std::error_code(http2_errc::frame_size_error);
            }
            if (len % 6 != 0) {
                return http2_errc::frame_size_error;
            }
            if (!log_.settings) {
                std::vector<setting_entry> entries;
                for (std::size_t i = 0; i < len; i += 6) {
                    entries.push_back(
                        {static_cast<std::uint16_t>((p[i] << 8) | p[i + 1]), be32(p + i + 2)});
                }
                log_.settings = std::move(entries);
            }
            return {};
        }
        case frame_type::window_update: {
            if (len != 4) {
                return http2_errc::frame_size_error;
            }
            const std::uint32_t increment = be32(p) & 0x7fffffffu;
            if (increment == 0) {
                return http2_errc::protocol_error;
            }
            if (f.stream_id == 0) {
                log_.connection_window_updates.push_back(increment);
            } else {
                log_.stream_window_updates.push_back({f.stream_id, increment});
            }
            return {};
        }
        case frame_type::priority: {
            if (f.stream_id == 0) {
                return http2_errc::protocol_error;
            }
            if (len != 5) {
                return http2_errc::frame_size_error;
            }
            log_.priority_frames.push_back({f.stream_id, read_priority(p)});
            return {};
        }
        case frame_type::headers: {
            if (f.stream_id == 0) {
                return http2_errc::protocol_error;
            }
            std::size_t begin = 0;
            std::size_t end = len;
            if ((f.flags & flag_padded) != 0) {
                if (len < 1) {
                    return http2_errc::frame_size_error;
                }
                const std::size_t pad = p[0];
                begin = 1;
                if (pad > end - begin) {
                    return http2_errc::frame_size_error;
                }
                end -= pad;
            }
            header_block_record block;
            block.stream_id = f.stream_id;
            block.end_stream = (f.flags & flag_end_stream) != 0;
            if ((f.flags & flag_priority) != 0) {
                if (end - begin < 5) {
                    return http2_errc::frame_size_error;
                }
                block.priority = read_priority(p + begin);
                begin += 5;
            }
            log_.header_blocks.push_back(std::move(block));
            in_header_block_ = true;
            header_block_bytes_ = 0;
            header_list_bytes_ = 0;
            return decode_header_fragment(std::span(p + begin, end - begin),
                                          (f.flags & flag_end_headers) != 0);
        }
        case frame_type::continuation: {
            if (f.stream_id == 0 || !in_header_block_ ||
                f.stream_id != log_.header_blocks.back().stream_id) {
                return http2_errc::protocol_error;
            }
            return decode_header_fragment(std::span(p, len), (f.flags & flag_end_headers) != 0);
        }
        default:
            return {};
    }
}

std::error_code frame_log_decoder::decode_header_fragment(std::span<const std::uint8_t> fragment,
                                                          bool last) {
    header_block_bytes_ += fragment.size();
    if (header_block_bytes_ > limits_.max_header_block) {
        return http2_errc::header_list_too_large;
    }
    auto& fields = log_.header_blocks.back().fields;
    const std::uint8_t* in = fragment.data();
    std::size_t left = fragment.size();
    while (true) {
        nghttp2_nv nv;
        int flags = 0;
        const ssize_t used =
            nghttp2_hd_inflate_hd2(inflater_.get(), &nv, &flags, in, left, last ? 1 : 0);
        if (used < 0) {
            return http2_errc::compression_error;
        }
        in += used;
        left -= static_cast<std::size_t>(used);
        if ((flags & NGHTTP2_HD_INFLATE_EMIT) != 0) {
            header_list_bytes_ += nv.namelen + nv.valuelen + 32;
            if (header_list_bytes_ > limits_.max_header_list) {
                return http2_errc::header_list_too_large;
            }
            fields.emplace_back(std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                                std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
        }
        if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
            nghttp2_hd_inflate_end_headers(inflater_.get());
            in_header_block_ = false;
            return {};
        }
        if ((flags & NGHTTP2_HD_INFLATE_EMIT) == 0) {
            if (left == 0 && !last) {
                return {};  // all consumed; the block continues in a CONTINUATION
            }
            if (used == 0) {
                return http2_errc::compression_error;  // no progress: never loop forever
            }
        }
    }
}

std::string akamai_string(const frame_log& log) {
    std::string out;
    if (log.settings) {
        bool first = true;
        for (const auto& s : *log.settings) {
            if (!first) {
                out += ';';
            }
            first = false;
            out += std::to_string(s.id) + ':' + std::to_string(s.value);
        }
    }
    out += '|';
    out += log.connection_window_updates.empty()
               ? std::string("00")
               : std::to_string(log.connection_window_updates.front());
    out += '|';
    if (log.priority_frames.empty()) {
        out += '0';
    } else {
        bool first = true;
        for (const auto& p : log.priority_frames) {
            if (!first) {
                out += ',';
            }
            first = false;
            out += std::to_string(p.stream_id) + ':' + (p.priority.exclusive ? '1' : '0') + ':' +
                   std::to_string(p.priority.dependency) + ':' + std::to_string(p.priority.weight);
        }
    }
    out += '|';
    if (!log.header_blocks.empty()) {
        bool first = true;
        for (const auto& [name, value] : log.header_blocks.front().fields) {
            if (name.size() < 2 || name[0] != ':') {
                continue;
            }
            if (name != ":method" && name != ":authority" && name != ":scheme" && name != ":path") {
                continue;
            }
            if (!first) {
                out += ',';
            }
            first = false;
            out += name[1];
        }
    }
    return out;
}

}  // namespace corvid::h2
