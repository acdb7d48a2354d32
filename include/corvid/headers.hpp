#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corvid {

/// ASCII case-insensitive equality, as HTTP field names compare.
bool iequals(std::string_view a, std::string_view b) noexcept;

/// `s` without leading and trailing SP and HTAB (HTTP's OWS, RFC 6265's WSP).
std::string_view trim_ows(std::string_view s) noexcept;

/// An ordered list of HTTP fields with case-insensitive lookup.
///
/// Fields keep the order in which they were added and the exact spelling of
/// their names: that order is what goes on the wire, which is what a
/// browser-faithful client needs. Lookups compare names ASCII
/// case-insensitively and scan linearly; header counts are small (parsers cap
/// them) and a scan over a contiguous vector beats hashing at those sizes.
///
/// @par Thread Safety
/// Distinct objects: safe. Shared objects: unsafe (a plain value type).
class headers {
  public:
    struct field {
        std::string name;
        std::string value;
    };
    using const_iterator = std::vector<field>::const_iterator;

    headers() = default;
    headers(std::initializer_list<field> fields);

    /// Appends a field, keeping any existing field of the same name.
    void add(std::string_view name, std::string_view value);

    /// Replaces the value of the first field named `name` in place (keeping its
    /// position) and removes any later duplicates; appends when absent.
    void set(std::string_view name, std::string_view value);

    /// Removes every field named `name`; returns how many were removed.
    std::size_t erase(std::string_view name);

    /// The value of the first field named `name`, if any. The view is valid
    /// until the container is next modified.
    std::optional<std::string_view> get(std::string_view name) const;

    /// Every value of fields named `name`, in order.
    std::vector<std::string_view> get_all(std::string_view name) const;

    bool contains(std::string_view name) const { return get(name).has_value(); }

    /// Whether the comma-separated list in any `name` field contains `token`
    /// (case-insensitive), e.g. has_token("connection", "close").
    bool has_token(std::string_view name, std::string_view token) const;

    const_iterator begin() const noexcept { return fields_.begin(); }
    const_iterator end() const noexcept { return fields_.end(); }
    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    void clear() noexcept { fields_.clear(); }
    void reserve(std::size_t n) { fields_.reserve(n); }

    friend bool operator==(const headers&, const headers&) = default;

  private:
    std::vector<field> fields_;
};

inline bool operator==(const headers::field& a, const headers::field& b) {
    return a.name == b.name && a.value == b.value;
}

}  // namespace corvid
