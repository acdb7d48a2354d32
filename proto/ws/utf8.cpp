#include "proto/ws/utf8.hpp"

#include <cstring>

namespace corvid::ws {

bool utf8_validator::feed(std::span<const std::uint8_t> bytes) noexcept {
    if (failed_) {
        return false;
    }
    const std::uint8_t* p = bytes.data();
    const std::uint8_t* const end = p + bytes.size();
    while (p != end) {
        if (need_ == 0) {
            // ASCII runs are the common case: skip them 8 bytes at a time.
            while (end - p >= 8) {
                std::uint64_t word;
                std::memcpy(&word, p, sizeof word);
                if ((word & 0x8080808080808080ULL) != 0) {
                    break;
                }
                p += 8;
            }
            if (p == end) {
                break;
            }
            const std::uint8_t b = *p++;
            if (b < 0x80) {
                continue;
            }
            lo_ = 0x80;
            hi_ = 0xBF;
            if (b >= 0xC2 && b <= 0xDF) {
                need_ = 1;
            } else if (b >= 0xE0 && b <= 0xEF) {
                need_ = 2;
                if (b == 0xE0) {
                    lo_ = 0xA0;  // below is an overlong 3-byte form
                } else if (b == 0xED) {
                    hi_ = 0x9F;  // above are the surrogates U+D800-U+DFFF
                }
            } else if (b >= 0xF0 && b <= 0xF4) {
                need_ = 3;
                if (b == 0xF0) {
                    lo_ = 0x90;  // below is an overlong 4-byte form
                } else if (b == 0xF4) {
                    hi_ = 0x8F;  // above is beyond U+10FFFF
                }
            } else {
                // 80-BF without a lead byte, C0/C1 (always overlong), F5-FF.
                failed_ = true;
                return false;
            }
        } else {
            const std::uint8_t b = *p++;
            if (b < lo_ || b > hi_) {
                failed_ = true;
                return false;
            }
            --need_;
            lo_ = 0x80;
            hi_ = 0xBF;
        }
    }
    return true;
}

bool is_valid_utf8(std::span<const std::uint8_t> bytes) noexcept {
    utf8_validator v;
    return v.feed(bytes) && v.complete();
}

bool is_valid_utf8(std::string_view bytes) noexcept {
    utf8_validator v;
    return v.feed(bytes) && v.complete();
}

}  // namespace corvid::ws
