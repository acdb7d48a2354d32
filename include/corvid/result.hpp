#pragma once

#include <cassert>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "corvid/error.hpp"

namespace corvid {

/// A value or the std::error_code that explains why there is none.
///
/// The asynchronous API returns `result<T>` instead of throwing, so a failed
/// request is an ordinary value the caller inspects. `value()` on an error
/// throws corvid::error, for code that prefers exceptions.
template <typename T>
class [[nodiscard]] result {
  public:
    result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
    result(std::error_code ec) : v_(ec) { assert(ec); }  // NOLINT
    template <typename E, typename = std::enable_if_t<std::is_error_code_enum_v<E>>>
    result(E e) : v_(make_error_code(e)) {}  // NOLINT

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    /// The error, or a default (success) error_code when there is a value.
    std::error_code error() const noexcept {
        return has_value() ? std::error_code{} : std::get<1>(v_);
    }

    T& value() & {
        throw_if_error();
        return std::get<0>(v_);
    }
    const T& value() const& {
        throw_if_error();
        return std::get<0>(v_);
    }
    T&& value() && {
        throw_if_error();
        return std::get<0>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    T&& operator*() && { return std::move(*this).value(); }

  private:
    void throw_if_error() const {
        if (!has_value()) {
            throw corvid::error(std::get<1>(v_));
        }
    }
    std::variant<T, std::error_code> v_;
};

/// result<void>: success or an error_code.
template <>
class [[nodiscard]] result<void> {
  public:
    result() = default;
    result(std::error_code ec) : ec_(ec) {}  // NOLINT
    template <typename E, typename = std::enable_if_t<std::is_error_code_enum_v<E>>>
    result(E e) : ec_(make_error_code(e)) {}  // NOLINT
    bool has_value() const noexcept { return !ec_; }
    explicit operator bool() const noexcept { return has_value(); }
    std::error_code error() const noexcept { return ec_; }
    void value() const {
        if (ec_) {
            throw corvid::error(ec_);
        }
    }

  private:
    std::error_code ec_;
};

}  // namespace corvid
