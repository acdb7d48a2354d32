// libFuzzer target for the SOCKS5 client codec: the proxy's side of the
// handshake is attacker-controlled. The first input byte picks the
// configuration, the rest is the proxy's bytes, fed in pieces whose sizes
// come from the configuration byte so split messages are exercised too.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "proto/socks5/client.hpp"

namespace {

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using corvid::socks5::client;
    using corvid::socks5::credentials;
    if (size < 1) {
        return 0;
    }
    const std::uint8_t config = data[0];
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

    std::optional<credentials> auth;
    if (config & 0x01) {
        auth = credentials{"user", "password"};
    }
    static constexpr std::string_view hosts[] = {"example.com", "192.0.2.1", "2001:db8::1",
                                                 "localhost"};
    auto created = client::create(hosts[(config >> 1) & 0x03], 443, auth);
    check(created.has_value());
    client c = std::move(created).value();

    // Piece size 1..8, or everything at once.
    const std::size_t piece = (config >> 3) & 0x07;
    while (true) {
        c.consume_output(c.pending_output().size());
        std::string_view chunk = piece == 0 ? in : in.substr(0, piece);
        std::error_code ec;
        const std::size_t used = c.feed(chunk, ec);
        check(used <= chunk.size());
        check(!ec == !c.failed());
        if (ec || c.done()) {
            // Final states take nothing more.
            std::error_code again;
            check(c.feed(in, again) == 0);
            check(again == ec);
            if (c.done()) {
                check(c.bound().host.size() <= 255);
            }
            break;
        }
        check(used == chunk.size());  // a handshake in progress takes everything
        in.remove_prefix(used);
        if (in.empty()) {
            break;
        }
    }
    return 0;
}
