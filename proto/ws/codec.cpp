#include "proto/ws/codec.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace corvid::ws {

namespace {

bool is_control(opcode op) noexcept {
    return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

std::error_code make(websocket_errc e) {
    return make_error_code(e);
}

}  // namespace

bool is_valid_close_code(std::uint16_t code) noexcept {
    if (code >= 1000 && code <= 1003) {
        return true;
    }
    if (code >= 1007 && code <= 1014) {
        return true;
    }
    return code >= 3000 && code <= 4999;
}

void apply_mask(std::span<std::uint8_t> data, const std::uint8_t (&key)[4],
                std::uint64_t offset) noexcept {
    // The key rotated to this offset, repeated over a 64-bit word.
    std::uint8_t pattern[8];
    for (std::size_t i = 0; i < 8; ++i) {
        pattern[i] = key[(offset + i) & 3];
    }
    std::uint64_t word_key;
    std::memcpy(&word_key, pattern, sizeof word_key);
    std::uint8_t* p = data.data();
    std::size_t n = data.size();
    // memcpy loads and stores: no alignment or aliasing assumptions, and
    // compilers turn them into plain 8-byte moves.
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, sizeof w);
        w ^= word_key;
        std::memcpy(p, &w, sizeof w);
        p += 8;
        n -= 8;
    }
    for (std::size_t i = 0; i < n; ++i) {
        p[i] ^= pattern[i];
    }
}

codec::codec(role r, random_fill fill, codec_limits limits, bool rsv1_allowed)
    : role_(r), random_(std::move(fill)), limits_(limits), rsv1_allowed_(rsv1_allowed) {
    if (role_ == role::client && !random_) {
        std::abort();  // a client cannot mask without a random source
    }
}

// ---------------------------------------------------------------- input

std::size_t codec::fail(websocket_errc e, std::size_t used, std::error_code& ec) {
    error_ = make(e);
    ec = error_;
    event_.reset();
    pong_.reset();
    if (!close_sent_) {
        queue_close(close_code_for(e), {});
    }
    return used;
}

std::error_code codec::check_first_two() const {
    const std::uint8_t b0 = hdr_[0];
    const std::uint8_t b1 = hdr_[1];
    const bool fin = (b0 & 0x80) != 0;
    const bool rsv1 = (b0 & 0x40) != 0;
    const auto op = static_cast<opcode>(b0 & 0x0F);
    const bool masked = (b1 & 0x80) != 0;
    const std::uint8_t len7 = b1 & 0x7F;

    switch (op) {
        case opcode::continuation:
        case opcode::text:
        case opcode::binary:
        case opcode::close:
        case opcode::ping:
        case opcode::pong:
            break;
        default:
            return make(websocket_errc::reserved_opcode);
    }
    if ((b0 & 0x30) != 0) {
        return make(websocket_errc::reserved_bits);
    }
    if (rsv1) {
        if (!rsv1_allowed_) {
            return make(websocket_errc::reserved_bits);
        }
        if (is_control(op)) {
            return make(websocket_errc::compressed_control_frame);
        }
        if (op == opcode::continuation) {
            return make(websocket_errc::rsv1_on_continuation);
        }
    }
    if (role_ == role::server && !masked) {
        return make(websocket_errc::unmasked_client_frame);
    }
    if (role_ == role::client && masked) {
        return make(websocket_errc::masked_server_frame);
    }
    if (is_control(op)) {
        if (!fin) {
            return make(websocket_errc::fragmented_control_frame);
        }
        if (len7 > 125) {
            return make(websocket_errc::control_frame_too_long);
        }
    } else if (op == opcode::continuation) {
        if (!in_message_) {
            return make(websocket_errc::unexpected_continuation);
        }
    } else if (in_message_) {
        return make(websocket_errc::expected_continuation);
    }
    return {};
}

std::uint64_t codec::header_length() const noexcept {
    const std::uint8_t len7 = hdr_[1] & 0x7F;
    if (len7 == 126) {
        return (std::uint64_t{hdr_[2]} << 8) | hdr_[3];
    }
    if (len7 == 127) {
        std::uint64_t len = 0;
        for (std::size_t i = 0; i < 8; ++i) {
            len = (len << 8) | hdr_[2 + i];
        }
        return len;
    }
    return len7;
}

// Runs as soon as the length bytes are in (before the masking key), so a
// bad or oversized length fails at once.
std::error_code codec::check_length() const {
    const std::uint8_t len7 = hdr_[1] & 0x7F;
    const std::uint64_t len = header_length();
    if (len7 == 126 && len < 126) {
        return make(websocket_errc::non_minimal_length);
    }
    if (len7 == 127) {
        if ((len >> 63) != 0) {
            return make(websocket_errc::length_too_large);
        }
        if (len <= 0xFFFF) {
            return make(websocket_errc::non_minimal_length);
        }
    }
    if (len > limits_.max_frame_payload) {
        return make(websocket_errc::frame_too_large);
    }
    const auto op = static_cast<opcode>(hdr_[0] & 0x0F);
    if (!is_control(op)) {
        const std::uint64_t before = op == opcode::continuation ? msg_size_ : 0;
        if (before > limits_.max_message_size || len > limits_.max_message_size - before) {
            return make(websocket_errc::message_too_large);
        }
    }
    return {};
}

void codec::finish_header() {
    const std::uint8_t b0 = hdr_[0];
    const std::uint8_t b1 = hdr_[1];
    frame_fin_ = (b0 & 0x80) != 0;
    frame_op_ = static_cast<opcode>(b0 & 0x0F);
    frame_masked_ = (b1 & 0x80) != 0;
    const std::uint8_t len7 = b1 & 0x7F;
    const std::size_t pos = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
    if (frame_masked_) {
        std::memcpy(key_, hdr_ + pos, 4);
    }
    const std::uint64_t len = header_length();
    frame_remaining_ = len;
    frame_offset_ = 0;
    if (is_control(frame_op_)) {
        control_.clear();
    } else {
        if (frame_op_ != opcode::continuation) {
            in_message_ = true;
            msg_first_pending_ = true;
            msg_type_ = static_cast<message_type>(frame_op_);
            msg_rsv1_ = (b0 & 0x40) != 0;
            msg_size_ = 0;
            utf8_.reset();
        }
        msg_size_ += len;  // within the limit: check_length() ran
    }
    in_payload_ = true;
}

std::error_code codec::emit_data(std::span<std::uint8_t> chunk) {
    const bool fin = frame_fin_ && frame_remaining_ == 0;
    if (msg_type_ == message_type::text && !msg_rsv1_) {
        if (!utf8_.feed(chunk) || (fin && !utf8_.complete())) {
            return make(websocket_errc::invalid_utf8);
        }
    }
    data_event e;
    e.type = msg_type_;
    e.first = msg_first_pending_;
    e.fin = fin;
    e.rsv1 = msg_rsv1_;
    e.data = chunk;
    e.frame_rest = frame_remaining_;
    msg_first_pending_ = false;
    if (fin) {
        in_message_ = false;
    }
    event_ = e;
    return {};
}

std::error_code codec::finish_control() {
    switch (frame_op_) {
        case opcode::ping:
            if (!close_sent_) {
                pong_ = control_;
            }
            event_ = ping_event{control_};
            break;
        case opcode::pong:
            event_ = pong_event{control_};
            break;
        case opcode::close: {
            close_event e;
            if (control_.size() == 1) {
                return make(websocket_errc::bad_close_payload);
            }
            if (control_.size() >= 2) {
                e.code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(control_[0]) << 8) |
                                                    static_cast<std::uint8_t>(control_[1]));
                if (!is_valid_close_code(e.code)) {
                    return make(websocket_errc::invalid_close_code);
                }
                e.reason = control_.substr(2);
                if (!is_valid_utf8(e.reason)) {
                    return make(websocket_errc::invalid_utf8);
                }
            }
            close_received_ = true;
            pong_.reset();
            if (!close_sent_) {
                // Echo the code (RFC 6455 5.5.1); an empty close gets an empty one.
                queue_close(e.code, {});
            }
            event_ = std::move(e);
            break;
        }
        default:
            break;
    }
    return {};
}

std::size_t codec::receive(std::span<std::uint8_t> in, std::error_code& ec) {
    ec = {};
    if (error_) {
        ec = error_;
        return 0;
    }
    if (event_ || close_received_) {
        return 0;
    }
    std::size_t used = 0;
    while (!event_ && !close_received_) {
        if (!in_payload_) {
            while (hdr_len_ < hdr_need_ && used < in.size()) {
                hdr_[hdr_len_++] = in[used++];
                if (hdr_len_ == 2) {
                    if (auto e = check_first_two()) {
                        return fail(static_cast<websocket_errc>(e.value()), used, ec);
                    }
                    const std::uint8_t len7 = hdr_[1] & 0x7F;
                    hdr_len_end_ = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
                    hdr_need_ = hdr_len_end_ + ((hdr_[1] & 0x80) != 0 ? 4 : 0);
                }
                if (hdr_len_ == hdr_len_end_) {
                    if (auto e = check_length()) {
                        return fail(static_cast<websocket_errc>(e.value()), used, ec);
                    }
                }
            }
            if (hdr_len_ < hdr_need_) {
                break;
            }
            hdr_len_ = 0;
            hdr_need_ = 2;
            finish_header();
            if (frame_remaining_ == 0) {
                in_payload_ = false;
                auto e = is_control(frame_op_) ? finish_control() : emit_data({});
                if (e) {
                    return fail(static_cast<websocket_errc>(e.value()), used, ec);
                }
            }
            continue;
        }
        if (used == in.size()) {
            break;
        }
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(frame_remaining_, in.size() - used));
        std::span<std::uint8_t> chunk = in.subspan(used, n);
        if (frame_masked_) {
            apply_mask(chunk, key_, frame_offset_);
        }
        frame_offset_ += n;
        frame_remaining_ -= n;
        used += n;
        if (frame_remaining_ == 0) {
            in_payload_ = false;
        }
        std::error_code e;
        if (is_control(frame_op_)) {
            control_.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
            if (frame_remaining_ == 0) {
                e = finish_control();
            }
        } else {
            e = emit_data(chunk);
        }
        if (e) {
            return fail(static_cast<websocket_errc>(e.value()), used, ec);
        }
    }
    return used;
}

std::optional<event> codec::next_event() {
    std::optional<event> e = std::move(event_);
    event_.reset();
    return e;
}

// ---------------------------------------------------------------- output

void codec::append_frame(opcode op, bool fin, bool rsv1, std::span<const std::uint8_t> payload) {
    std::uint8_t hdr[14];
    std::size_t n = 0;
    hdr[n++] = static_cast<std::uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) |
                                         static_cast<std::uint8_t>(op));
    const std::uint8_t mask_bit = role_ == role::client ? 0x80 : 0;
    const std::uint64_t len = payload.size();
    if (len < 126) {
        hdr[n++] = static_cast<std::uint8_t>(mask_bit | len);
    } else if (len <= 0xFFFF) {
        hdr[n++] = mask_bit | 126;
        hdr[n++] = static_cast<std::uint8_t>(len >> 8);
        hdr[n++] = static_cast<std::uint8_t>(len);
    } else {
        hdr[n++] = mask_bit | 127;
        for (int shift = 56; shift >= 0; shift -= 8) {
            hdr[n++] = static_cast<std::uint8_t>(len >> shift);
        }
    }
    std::uint8_t key[4] = {};
    if (mask_bit != 0) {
        random_(std::span<std::uint8_t>(key, 4));
        std::memcpy(hdr + n, key, 4);
        n += 4;
    }
    staging_.insert(staging_.end(), hdr, hdr + n);
    const std::size_t start = staging_.size();
    staging_.insert(staging_.end(), payload.begin(), payload.end());
    if (mask_bit != 0) {
        apply_mask(std::span<std::uint8_t>(staging_.data() + start, payload.size()), key, 0);
    }
}

void codec::queue_close(std::uint16_t code, std::string_view reason) {
    std::uint8_t body[125];
    std::size_t n = 0;
    if (code != close_code::no_status) {
        body[n++] = static_cast<std::uint8_t>(code >> 8);
        body[n++] = static_cast<std::uint8_t>(code);
        if (!reason.empty()) {
            std::memcpy(body + n, reason.data(), reason.size());
            n += reason.size();
        }
    }
    append_frame(opcode::close, true, false, std::span<const std::uint8_t>(body, n));
    close_sent_ = true;
    pong_.reset();
}

void codec::flush_pong() {
    if (pong_ && !close_sent_) {
        append_frame(opcode::pong, true, false, as_bytes(*pong_));
    }
    pong_.reset();
}

std::error_code codec::send_data_frame(opcode op, bool fin, bool rsv1,
                                       std::span<const std::uint8_t> payload) {
    if (close_sent_ || error_) {
        return make(websocket_errc::closed);
    }
    if (rsv1 && !rsv1_allowed_) {
        return make(websocket_errc::reserved_bits);
    }
    if (op == opcode::continuation) {
        if (!sending_message_) {
            return make(websocket_errc::unexpected_continuation);
        }
    } else if (sending_message_) {
        return make(websocket_errc::expected_continuation);
    }
    append_frame(op, fin, rsv1, payload);
    sending_message_ = !fin;
    return {};
}

std::error_code codec::send_message(message_type type, std::span<const std::uint8_t> payload,
                                    bool rsv1) {
    return send_data_frame(static_cast<opcode>(type), true, rsv1, payload);
}

std::error_code codec::begin_message(message_type type, std::span<const std::uint8_t> payload,
                                     bool rsv1) {
    return send_data_frame(static_cast<opcode>(type), false, rsv1, payload);
}

std::error_code codec::continue_message(std::span<const std::uint8_t> payload) {
    return send_data_frame(opcode::continuation, false, false, payload);
}

std::error_code codec::end_message(std::span<const std::uint8_t> payload) {
    return send_data_frame(opcode::continuation, true, false, payload);
}

std::error_code codec::send_ping(std::span<const std::uint8_t> payload) {
    if (close_sent_ || error_) {
        return make(websocket_errc::closed);
    }
    if (payload.size() > 125) {
        return make(websocket_errc::control_frame_too_long);
    }
    append_frame(opcode::ping, true, false, payload);
    return {};
}

std::error_code codec::send_pong(std::span<const std::uint8_t> payload) {
    if (close_sent_ || error_) {
        return make(websocket_errc::closed);
    }
    if (payload.size() > 125) {
        return make(websocket_errc::control_frame_too_long);
    }
    append_frame(opcode::pong, true, false, payload);
    return {};
}

std::error_code codec::send_close(std::uint16_t code, std::string_view reason) {
    if (close_sent_ || error_) {
        return make(websocket_errc::closed);
    }
    if (code == close_code::no_status) {
        if (!reason.empty()) {
            return make(websocket_errc::invalid_close_code);
        }
    } else if (!is_valid_close_code(code)) {
        return make(websocket_errc::invalid_close_code);
    }
    if (reason.size() > 123) {
        return make(websocket_errc::control_frame_too_long);
    }
    if (!is_valid_utf8(reason)) {
        return make(websocket_errc::invalid_utf8);
    }
    flush_pong();  // a pong owed goes out before the close
    queue_close(code, reason);
    return {};
}

std::span<const std::uint8_t> codec::pending_output() {
    flush_pong();
    if (out_pos_ == out_.size() && !staging_.empty()) {
        out_.clear();
        out_pos_ = 0;
        out_.swap(staging_);
    }
    return std::span<const std::uint8_t>(out_).subspan(out_pos_);
}

void codec::consume_output(std::size_t n) noexcept {
    out_pos_ += std::min(n, out_.size() - out_pos_);
    if (out_pos_ == out_.size()) {
        out_.clear();
        out_pos_ = 0;
    }
}

std::size_t codec::write_output(std::span<std::uint8_t> buf) {
    std::size_t total = 0;
    while (total < buf.size()) {
        auto out = pending_output();
        if (out.empty()) {
            break;
        }
        const std::size_t n = std::min(out.size(), buf.size() - total);
        std::memcpy(buf.data() + total, out.data(), n);
        consume_output(n);
        total += n;
    }
    return total;
}

std::size_t codec::buffered_output() const noexcept {
    return (out_.size() - out_pos_) + staging_.size() +
           (pong_ && !close_sent_ ? pong_->size() + 14 : 0);
}

// ---------------------------------------------------------------- collector

bool message_collector::add(const data_event& e, std::error_code& ec) {
    ec = {};
    if (e.first || done_) {
        data_.clear();
        type_ = e.type;
        rsv1_ = e.rsv1;
        done_ = false;
    }
    if (e.data.size() > max_size_ - std::min<std::uint64_t>(max_size_, data_.size())) {
        ec = make(websocket_errc::message_too_large);
        return false;
    }
    data_.append(reinterpret_cast<const char*>(e.data.data()), e.data.size());
    done_ = e.fin;
    return e.fin;
}

}  // namespace corvid::ws
