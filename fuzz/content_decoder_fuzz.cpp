// Feeds arbitrary bytes to the content decoders, split at fuzzer-chosen
// points, with a small output limit. Crashes, leaks, sanitizer reports and
// output over the limit are bugs; every decode error is an expected outcome.
//
// Input layout: byte 0 picks the coding, byte 1 the piece size, the rest is
// the body.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "client/content_decoder.hpp"

namespace {

constexpr std::string_view codings[] = {
    "gzip", "deflate", "br", "zstd", "gzip, br", "deflate, zstd", "br, gzip", "identity",
};
constexpr std::uint64_t max_output = 256 * 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    auto coding = codings[data[0] % std::size(codings)];
    std::size_t piece = data[1] == 0 ? size : data[1];
    std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);

    auto made = corvid::detail::content_decoder::create(coding, max_output);
    if (!made.has_value()) {
        std::abort();  // every coding in the table is supported
    }
    auto& decoder = *made.value();
    std::string out;
    std::error_code ec;
    for (std::size_t pos = 0; pos < body.size() && !ec; pos += piece) {
        ec = decoder.decode(body.substr(pos, piece), out);
    }
    if (!ec) {
        ec = decoder.finish(out);
    }
    if (out.size() > max_output) {
        std::abort();
    }
    return 0;
}
