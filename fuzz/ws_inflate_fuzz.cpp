// libFuzzer target for permessage-deflate (proto/ws/deflate.hpp): the
// inflater with small limits, and the Sec-WebSocket-Extensions parser with
// the server's accept and the client's response check. Everything after the
// two configuration bytes is peer-controlled.
//
// Byte 0: bit 0 picks the part (0: inflater, 1: header), bits 1-3 the window
// bits (8 + n), bit 4 no_context_takeover, bits 5-7 the limit
// (16 << n bytes). Byte 1: the chunk size (1 + n) the payload is fed in.
// Inflater part: the rest is messages, each a length byte L and L bytes
// of compressed payload; the same bytes are also deflated and inflated back
// (a round trip that must reproduce them).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "corvid/error.hpp"
#include "proto/ws/deflate.hpp"

namespace {

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

void fuzz_header(std::string_view in, int bits) {
    auto parsed = corvid::ws::parse_extensions(in);
    if (parsed) {
        for (const auto& e : *parsed) {
            check(!e.name.empty());
        }
        corvid::ws::deflate_server_config config;
        config.server_max_window_bits = bits;
        config.client_max_window_bits = bits;
        if (auto a = corvid::ws::accept(*parsed, config)) {
            check(a->server_max_window_bits >= 8 && a->server_max_window_bits <= 15);
            check(a->client_max_window_bits >= 8 && a->client_max_window_bits <= 15);
            // Our own response parses back.
            auto again = corvid::ws::parse_extensions(corvid::ws::format_response(*a));
            check(again.has_value() && again->size() == 1);
        }
    } else {
        check(parsed.error() == corvid::websocket_errc::bad_extension_offer);
    }
    corvid::ws::deflate_offer offers[2];
    offers[1].server_no_context_takeover = true;
    offers[1].server_max_window_bits = bits;
    offers[1].client_max_window_bits = bits;
    for (const auto& o : offers) {
        auto v = corvid::ws::validate_response(in, o);
        if (v && v->has_value()) {
            const auto& a = **v;
            check(a.server_max_window_bits >= 8 && a.server_max_window_bits <= 15);
            check(a.client_max_window_bits >= 8 && a.client_max_window_bits <= 15);
            if (o.server_max_window_bits) {
                check(a.server_max_window_bits <= *o.server_max_window_bits);
                check(a.server_no_context_takeover);
            }
        }
    }
}

void fuzz_inflate(std::span<const std::uint8_t> in, int bits, bool nct, std::size_t limit,
                  std::size_t chunk) {
    corvid::ws::inflater_options io;
    io.window_bits = bits;
    io.no_context_takeover = nct;
    io.max_message_size = limit;
    auto inf = corvid::ws::inflater::create(io);
    check(inf.has_value());
    std::size_t pos = 0;
    bool failed = false;
    while (pos < in.size() && !failed) {
        const std::size_t len = std::min<std::size_t>(std::size_t{in[pos]}, in.size() - pos - 1);
        auto msg = in.subspan(pos + 1, len);
        pos += 1 + len;
        std::vector<std::uint8_t> out;
        std::size_t off = 0;
        do {
            const std::size_t n = std::min(chunk, msg.size() - off);
            auto r = inf->inflate(msg.subspan(off, n), off + n == msg.size(), out);
            check(out.size() <= limit);
            if (!r) {
                check(r.error() == corvid::websocket_errc::inflate_failed ||
                      r.error() == corvid::websocket_errc::inflated_too_large);
                failed = true;
                break;
            }
            off += n;
        } while (off < msg.size());
    }

    // Round trip of the raw bytes as one message.
    corvid::ws::deflater_options dop;
    dop.window_bits = bits;
    dop.no_context_takeover = nct;
    auto def = corvid::ws::deflater::create(dop);
    check(def.has_value());
    io.max_message_size = in.size() + 1;
    auto back = corvid::ws::inflater::create(io);
    check(back.has_value());
    for (int round = 0; round < 2; ++round) {
        std::vector<std::uint8_t> compressed;
        check(def->compress(in, true, compressed).has_value());
        std::vector<std::uint8_t> plain;
        for (std::size_t off = 0; off < compressed.size(); off += chunk) {
            const std::size_t n = std::min(chunk, compressed.size() - off);
            check(back->inflate(std::span<const std::uint8_t>(compressed).subspan(off, n),
                                off + n == compressed.size(), plain)
                      .has_value());
        }
        check(plain.size() == in.size() && std::equal(plain.begin(), plain.end(), in.begin()));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::uint8_t config = data[0];
    const int bits = 8 + ((config >> 1) & 0x07);
    const bool nct = (config & 0x10) != 0;
    const std::size_t limit = std::size_t{16} << ((config >> 5) & 0x07);
    const std::size_t chunk = 1 + std::size_t{data[1]};
    std::span<const std::uint8_t> rest(data + 2, size - 2);
    if (config & 0x01) {
        fuzz_header(std::string_view(reinterpret_cast<const char*>(rest.data()), rest.size()),
                    bits);
    } else {
        fuzz_inflate(rest, bits, nct, limit, chunk);
    }
    return 0;
}
