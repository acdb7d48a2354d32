#pragma once

// The text of the built-in profile files (client/profiles/*.json), compiled
// into the library by client/CMakeLists.txt.

#include <string_view>
#include <vector>

namespace corvid::detail {

struct builtin_profile_text {
    std::string_view name;  ///< the file name without ".json"
    std::string_view json;
};

/// In file-name order.
const std::vector<builtin_profile_text>& builtin_profile_texts();

}  // namespace corvid::detail
