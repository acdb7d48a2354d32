// libFuzzer target for corvid::h1::chunked_decoder on its own. The body is
// decoded in one piece, split at an input-derived point, and in small runs;
// the decoded data, trailers, outcome and bytes consumed must not depend on
// the split. Every event is checked against the decoder's contract.
//
// Input layout: byte 0 = flags (bit 0: small limits, bits 2-5: run length),
// byte 1 = split point, rest = the chunked body.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proto/h1/chunked_decoder.hpp"
#include "proto/h1/fields.hpp"

namespace {

using corvid::h1::chunked_decoder;

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

std::string decode(chunked_decoder& d, const std::vector<std::string_view>& pieces) {
    d.reset();
    std::string data;
    std::size_t used = 0;
    for (std::string_view in : pieces) {
        // Each call consumes a byte, or returns need_more or done.
        const std::size_t max_calls = in.size() + 2;
        for (std::size_t guard = 0;; ++guard) {
            check(guard <= max_calls);
            std::error_code ec;
            auto ev = d.decode(in, ec);
            if (ec) {
                // Data before an error may depend on where a limit was crossed.
                return "E" + std::to_string(ec.value());
            }
            check(ev.consumed <= in.size());
            if (ev.kind == chunked_decoder::event_kind::data) {
                check(!ev.data.empty());
                check(ev.data.data() >= in.data() &&
                      ev.data.data() + ev.data.size() <= in.data() + ev.consumed);
                data.append(ev.data);
                check(data.size() == d.body_bytes());
            }
            in.remove_prefix(ev.consumed);
            used += ev.consumed;
            if (ev.kind == chunked_decoder::event_kind::need_more) {
                check(in.empty());
                break;
            }
            if (ev.kind == chunked_decoder::event_kind::done) {
                check(d.done());
                std::string out = "D" + std::to_string(used) + ":" + data + "|";
                for (const auto& f : d.trailers()) {
                    check(corvid::h1::detail::is_token(f.name));
                    check(corvid::h1::detail::is_field_value(f.value));
                    out += f.name + ":" + f.value + "\n";
                }
                return out;
            }
        }
    }
    check(!d.done());
    return "M" + data;
}

std::vector<std::string_view> split_at(std::string_view s, std::size_t at) {
    at %= s.size() + 1;
    return {s.substr(0, at), s.substr(at)};
}

std::vector<std::string_view> runs(std::string_view s, std::size_t n) {
    std::vector<std::string_view> v;
    for (std::size_t i = 0; i < s.size(); i += n) {
        v.push_back(s.substr(i, n));
    }
    return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::uint8_t flags = data[0];
    std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);

    chunked_decoder::limits limits;
    if (flags & 1) {
        limits.max_chunk_size = 64;
        limits.max_chunk_ext_bytes = 10;
        limits.max_body_bytes = 100;
        limits.max_trailer_bytes = 40;
        limits.max_trailer_fields = 2;
    }
    chunked_decoder d(limits);
    auto one = decode(d, {body});
    check(one == decode(d, split_at(body, data[1])));
    check(one == decode(d, runs(body, ((flags >> 2) & 0x0f) + 1)));
    return 0;
}
