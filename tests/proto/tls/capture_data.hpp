#pragma once

// Test helpers: the reference captures in tests/data/fingerprints/ (copied
// from shared/fingerprints/), read as bytes, and a minimal reader for the
// flat JSON that hello_capture.py prints (string values and arrays of
// numbers, nested arrays flattened). Not a JSON parser: enough for those
// files only.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace corvid::test {

inline std::filesystem::path fingerprint_data_dir() {
    return std::filesystem::path(CORVID_SOURCE_DIR) / "tests" / "data" / "fingerprints";
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot open " << p;
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::vector<std::uint8_t> read_capture(const std::string& name) {
    const auto text = read_file(fingerprint_data_dir() / name);
    return {text.begin(), text.end()};
}

/// The string value of "key" in a hello_capture.py JSON document.
inline std::string json_string(const std::string& doc, const std::string& key) {
    const auto k = doc.find("\"" + key + "\":");
    if (k == std::string::npos) {
        return {};
    }
    const auto open = doc.find('"', k + key.size() + 3);
    const auto close = doc.find('"', open + 1);
    return doc.substr(open + 1, close - open - 1);
}

/// The numbers in the array value of "key" (nested arrays flattened), or
/// the one number of a scalar value.
inline std::vector<std::uint64_t> json_numbers(const std::string& doc, const std::string& key) {
    std::vector<std::uint64_t> out;
    const auto k = doc.find("\"" + key + "\":");
    if (k == std::string::npos) {
        return out;
    }
    auto start = doc.find_first_not_of(" \n", k + key.size() + 3);
    if (start != std::string::npos && doc[start] != '[') {
        out.push_back(std::stoull(doc.substr(start)));  // a scalar
        return out;
    }
    int depth = 0;
    std::uint64_t value = 0;
    bool in_number = false;
    for (auto i = start; i < doc.size(); ++i) {
        const char c = doc[i];
        if (c >= '0' && c <= '9') {
            value = value * 10 + static_cast<std::uint64_t>(c - '0');
            in_number = true;
            continue;
        }
        if (in_number) {
            out.push_back(value);
            value = 0;
            in_number = false;
        }
        if (c == '[') {
            ++depth;
        } else if (c == ']' && --depth == 0) {
            break;
        }
    }
    return out;
}

}  // namespace corvid::test
