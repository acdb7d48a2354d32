#pragma once

#include <string>
#include <string_view>

namespace corvid {

/// Standard base64 (RFC 4648 section 4) with padding.
std::string base64_encode(std::string_view in);

}  // namespace corvid
