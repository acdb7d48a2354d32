// libFuzzer target for the HTTP/2 client-side frame log (proto/h2/frame_log):
// the observed client's bytes are attacker-controlled. The first input byte
// picks the chunk size, small limits and whether the connection preface is
// supplied (so the fuzzer need not find it); the rest is fed in chunks.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/h2/frame_log.hpp"

namespace {

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

constexpr std::string_view preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const std::uint8_t config = data[0];
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

    corvid::h2::frame_log_limits limits;
    if (config & 0x01) {
        limits.max_frames = 8;
        limits.max_buffered_payload = 512;
        limits.max_header_block = 1024;
        limits.max_header_list = 2048;
        limits.header_table_size = 256;
    }
    corvid::h2::frame_log_decoder d(limits);
    if (config & 0x02) {
        check(!d.feed(preface));
    }
    // Chunk size 1..32, or everything at once.
    const std::size_t piece = (config >> 2) & 0x1f;
    std::error_code first_error;
    while (!in.empty()) {
        const std::string_view chunk = piece == 0 ? in : in.substr(0, piece);
        const auto ec = d.feed(chunk);
        if (first_error) {
            check(ec == first_error);  // errors are final
        }
        first_error = ec;
        in.remove_prefix(chunk.size());
    }
    const auto& log = d.log();
    check(log.frames.size() <= limits.max_frames);
    for (const auto& p : log.priority_frames) {
        check(p.priority.weight >= 1 && p.priority.weight <= 256);
    }
    const auto akamai = corvid::h2::akamai_string(log);
    check(std::count(akamai.begin(), akamai.end(), '|') == 3);
    return 0;
}
