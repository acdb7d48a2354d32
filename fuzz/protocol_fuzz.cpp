// The engine protocol codec (engine/protocol.hpp). The first byte picks the
// decoder and the limits; the rest is the frame:
//   byte % 3 == 0: a JSON client frame, 1: a MessagePack client frame,
//   2: a POST /api/publish body;
//   (byte / 3) % 3 picks max_data_bytes (64 KiB, 64, 9) and (byte / 9) % 2
//   max_depth (32 or 2).
// A refusal must be a decode code (1 to 5) with a reason. A frame that decodes
// must obey the limits, and what the encoders make of it must decode back to
// the same thing: the data re-encodes identically in both formats, and the
// JSON the writer produced parses (with simdjson, by the decoder), on one line.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/protocol.hpp"

namespace {

using corvid::protocol_errc;
using corvid::engine::client_op;
using corvid::engine::op_kind;
using corvid::engine::protocol_limits;
using corvid::engine::wire_format;

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

bool one_line(std::string_view json) {
    return json.find_first_of("\r\n") == std::string_view::npos &&
           json.find("\xe2\x80\xa8") == std::string_view::npos &&
           json.find("\xe2\x80\xa9") == std::string_view::npos;
}

// The msg frame as a pub frame: "msg" and "pub" have the same length, at the
// same place (the op member comes first).
client_op decode_msg_as_pub(wire_format f, std::string frame, const protocol_limits& l) {
    const std::size_t at = f == wire_format::json ? 7 : 5;
    check(frame.compare(at, 3, "msg") == 0);
    frame.replace(at, 3, "pub");
    auto r = corvid::engine::decode_client_op(f, frame, l);
    check(r.has_value());
    return std::move(r).value();
}

void check_decoded(const client_op& op, const protocol_limits& l) {
    if (op.kind == op_kind::ping) {
        return;
    }
    check(corvid::engine::valid_channel_name(op.channel, l));
    if (op.kind == op_kind::sub) {
        std::string out;
        const auto at = op.since.value_or(corvid::engine::stream_position{});
        check(at.epoch <= corvid::engine::max_stream_number &&
              at.offset <= corvid::engine::max_stream_number);
        corvid::engine::encode_subok(wire_format::json, out, op.channel, at, op.since.has_value());
        check(one_line(out));
        return;
    }
    if (op.kind != op_kind::pub) {
        return;
    }
    check(op.id.size() <= l.max_id_length);
    check(!op.data.json.empty() && !op.data.msgpack.empty());
    check(op.data.json.size() <= l.max_data_bytes && op.data.msgpack.size() <= l.max_data_bytes);
    check(one_line(op.data.json));

    // Each encoding of the data, carried by a msg frame, decodes back to the
    // same payload (JSON parsed by simdjson, MessagePack by the reader).
    for (const auto f : {wire_format::json, wire_format::msgpack}) {
        std::string frame;
        corvid::engine::encode_msg(f, frame, op.channel, 1, op.id, op.data);
        if (f == wire_format::json) {
            check(one_line(frame));
        }
        // The frame is larger than the data: the data limits stay those of the input.
        const client_op back = decode_msg_as_pub(f, frame, l);
        check(back.channel == op.channel && back.id == op.id && back.data == op.data);
    }
    std::string event;
    corvid::engine::encode_sse_msg(event, 5, op.channel, 1, op.id, op.data);
    check(event.size() > 2 && event.compare(event.size() - 2, 2, "\n\n") == 0);
    const std::string_view body(event.data(), event.size() - 2);
    check(body.find('\r') == std::string_view::npos);
    check(std::count(body.begin(), body.end(), '\n') == 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const unsigned selector = data[0];
    const std::string_view frame(reinterpret_cast<const char*>(data) + 1, size - 1);
    protocol_limits l;
    constexpr std::size_t data_limits[] = {64 * 1024, 64, 9};
    l.max_data_bytes = data_limits[(selector / 3) % 3];
    l.max_depth = (selector / 9) % 2 == 0 ? 32 : 2;

    std::string_view reason;
    auto r = selector % 3 == 2 ? corvid::engine::decode_publish_request(frame, l, reason)
                               : corvid::engine::decode_client_op(
                                     selector % 3 == 0 ? wire_format::json : wire_format::msgpack,
                                     frame, l, reason);
    if (!r) {
        const auto ec = r.error();
        check(ec.category() == corvid::protocol_category());
        check(ec.value() >= static_cast<int>(protocol_errc::malformed) &&
              ec.value() <= static_cast<int>(protocol_errc::too_large));
        check(!reason.empty());
        // err frames for it are well formed.
        std::string out;
        corvid::engine::encode_err(wire_format::json, out, static_cast<protocol_errc>(ec.value()),
                                   reason);
        check(one_line(out));
        return 0;
    }
    check(reason.empty());
    if (selector % 3 == 2) {
        check(r->kind == op_kind::pub);
    }
    check_decoded(*r, l);
    return 0;
}
