#pragma once

// Small text encodings shared by the client and the CLI.

#include <string>
#include <string_view>

namespace corvid {

/// Standard base64 (RFC 4648 section 4) with padding.
std::string base64_encode(std::string_view in);

/// Decodes %XX escapes; a malformed escape is kept as written.
std::string percent_decode(std::string_view in);

/// %XX-encodes every byte except RFC 3986's unreserved characters
/// (ALPHA, DIGIT, "-", ".", "_", "~"), as curl's --data-urlencode does.
std::string percent_encode(std::string_view in);

}  // namespace corvid
