#pragma once

// Incremental UTF-8 validation (RFC 3629) for WebSocket text messages and
// close reasons (RFC 6455 8.1). Input may be split anywhere, also inside a
// code point: the validator carries its state across feed() calls and fails
// at the first byte that cannot start or continue a valid sequence, so a
// message is refused as soon as it goes wrong ("fail fast"), not at its end.
//
// Refused: stray continuation bytes, C0/C1 and F5-FF lead bytes, overlong
// forms (E0 80-9F, F0 80-8F), UTF-16 surrogates (ED A0-BF) and code points
// above U+10FFFF (F4 90-BF). A sequence cut short at the end of a message is
// refused by complete().
//
// @par Thread Safety
// Distinct objects: safe. Shared objects: unsafe.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace corvid::ws {

class utf8_validator {
  public:
    /// Validates the next bytes. Returns false at the first invalid byte;
    /// once it has returned false it keeps returning false until reset().
    bool feed(std::span<const std::uint8_t> bytes) noexcept;
    bool feed(std::string_view bytes) noexcept {
        return feed(std::span<const std::uint8_t>(
            reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    }

    /// True if everything fed so far is valid and ends on a code point
    /// boundary (the check for the end of a message).
    bool complete() const noexcept { return !failed_ && need_ == 0; }
    /// True once an invalid byte was seen.
    bool failed() const noexcept { return failed_; }

    /// Forgets all state (the start of a new message).
    void reset() noexcept {
        need_ = 0;
        lo_ = 0x80;
        hi_ = 0xBF;
        failed_ = false;
    }

  private:
    std::uint8_t need_ = 0;   // continuation bytes still expected
    std::uint8_t lo_ = 0x80;  // allowed range of the next continuation byte
    std::uint8_t hi_ = 0xBF;
    bool failed_ = false;
};

/// True if `bytes` is complete, valid UTF-8.
bool is_valid_utf8(std::span<const std::uint8_t> bytes) noexcept;
bool is_valid_utf8(std::string_view bytes) noexcept;

}  // namespace corvid::ws
