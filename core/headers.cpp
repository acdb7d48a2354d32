#include "corvid/headers.hpp"

#include <algorithm>

namespace corvid {

namespace {

constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

headers::headers(std::initializer_list<field> fields) : fields_(fields) {}

void headers::add(std::string_view name, std::string_view value) {
    fields_.push_back(field{std::string(name), std::string(value)});
}

void headers::set(std::string_view name, std::string_view value) {
    auto first = std::find_if(fields_.begin(), fields_.end(),
                              [&](const field& f) { return iequals(f.name, name); });
    if (first == fields_.end()) {
        add(name, value);
        return;
    }
    first->value.assign(value);
    auto tail = std::remove_if(std::next(first), fields_.end(),
                               [&](const field& f) { return iequals(f.name, name); });
    fields_.erase(tail, fields_.end());
}

std::size_t headers::erase(std::string_view name) {
    return std::erase_if(fields_, [&](const field& f) { return iequals(f.name, name); });
}

std::optional<std::string_view> headers::get(std::string_view name) const {
    for (const auto& f : fields_) {
        if (iequals(f.name, name)) {
            return std::string_view(f.value);
        }
    }
    return std::nullopt;
}

std::vector<std::string_view> headers::get_all(std::string_view name) const {
    std::vector<std::string_view> out;
    for (const auto& f : fields_) {
        if (iequals(f.name, name)) {
            out.emplace_back(f.value);
        }
    }
    return out;
}

bool headers::has_token(std::string_view name, std::string_view token) const {
    for (const auto& f : fields_) {
        if (!iequals(f.name, name)) {
            continue;
        }
        std::string_view rest = f.value;
        while (!rest.empty()) {
            auto comma = rest.find(',');
            auto item = trim_ows(rest.substr(0, comma));
            if (iequals(item, token)) {
                return true;
            }
            if (comma == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(comma + 1);
        }
    }
    return false;
}

}  // namespace corvid
