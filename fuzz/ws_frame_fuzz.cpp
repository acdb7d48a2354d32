// libFuzzer target for the WebSocket framing codec: the peer's bytes are
// attacker-controlled. The first input byte picks the configuration (bit 0:
// role, bit 1: rsv1 allowed, bit 2: small limits, bits 3-5: piece size), the
// rest is what the peer sends, fed in pieces so frames split anywhere. Every
// event is checked against the codec's promises, and whatever the codec
// answers (pongs, closes) is parsed back by a codec of the other role.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <variant>
#include <vector>

#include "proto/ws/codec.hpp"

namespace {

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

void fill(std::span<std::uint8_t> out) {
    static std::uint8_t state = 0;
    for (auto& b : out) {
        b = ++state;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace corvid::ws;
    if (size < 1) {
        return 0;
    }
    const std::uint8_t config = data[0];
    const role me = (config & 0x01) != 0 ? role::server : role::client;
    const bool rsv1 = (config & 0x02) != 0;
    codec_limits limits;
    if ((config & 0x04) != 0) {
        limits.max_frame_payload = 64;
        limits.max_message_size = 100;
    }
    codec c(me, fill, limits, rsv1);
    std::vector<std::uint8_t> buf(data + 1, data + size);
    const std::size_t piece = (config >> 3) & 0x07;  // 0: everything at once

    bool in_message = false;
    bool got_close = false;
    std::uint64_t message_size = 0;
    utf8_validator text;
    bool text_checked = false;
    std::span<std::uint8_t> rest(buf);
    while (!rest.empty()) {
        std::span<std::uint8_t> part = piece == 0 ? rest : rest.first(std::min(piece, rest.size()));
        std::error_code ec;
        const std::size_t n = c.receive(part, ec);
        check(n <= part.size());
        int events = 0;
        while (auto e = c.next_event()) {
            ++events;
            check(!got_close);
            if (auto* d = std::get_if<data_event>(&*e)) {
                check(d->first == !in_message);
                check(d->data.data() == nullptr ||
                      (d->data.data() >= part.data() &&
                       d->data.data() + d->data.size() <= part.data() + part.size()));
                if (d->first) {
                    message_size = 0;
                    text.reset();
                    text_checked = d->type == message_type::text && !d->rsv1;
                }
                check(rsv1 || !d->rsv1);
                message_size += d->data.size();
                check(message_size <= limits.max_message_size);
                if (text_checked) {
                    check(text.feed(d->data));
                    check(!d->fin || text.complete());
                }
                in_message = !d->fin;
            } else if (auto* p = std::get_if<ping_event>(&*e)) {
                check(p->payload.size() <= 125);
            } else if (auto* q = std::get_if<pong_event>(&*e)) {
                check(q->payload.size() <= 125);
            } else if (auto* cl = std::get_if<close_event>(&*e)) {
                got_close = true;
                check(cl->code == close_code::no_status || is_valid_close_code(cl->code));
                check(cl->reason.size() <= 123 && is_valid_utf8(cl->reason));
                check(c.close_received() && c.close_sent());
            }
        }
        check(events <= 1);
        if (ec) {
            check(c.error() == ec && c.closed() && c.close_sent());
            std::error_code again;
            check(c.receive(rest, again) == 0 && again == ec);
            break;
        }
        if (n == 0) {
            check(events == 0);
            check(c.close_received());
            break;
        }
        rest = rest.subspan(n);
    }

    // The codec's own output must be valid for a peer of the other role.
    codec peer(me == role::client ? role::server : role::client, fill, {}, rsv1);
    std::vector<std::uint8_t> out;
    while (true) {
        auto v = c.pending_output();
        if (v.empty()) {
            break;
        }
        out.insert(out.end(), v.begin(), v.end());
        c.consume_output(v.size());
    }
    check(c.buffered_output() == 0);
    std::span<std::uint8_t> o(out);
    while (!o.empty()) {
        std::error_code ec;
        const std::size_t n = peer.receive(o, ec);
        check(!ec);
        while (peer.next_event()) {
        }
        if (n == 0) {
            break;
        }
        o = o.subspan(n);
    }
    return 0;
}
