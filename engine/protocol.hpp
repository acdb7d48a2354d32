#pragma once

// The engine protocol v1 (docs/protocol.md, shared DESIGN.md "Engine protocol
// (v1)") as a sans-I/O codec: client frames in, server frames out, in JSON
// (subprotocol corvid.json) or MessagePack (corvid.msgpack). Nothing here
// touches a socket, a clock or a thread.
//
// Decoding. A client frame is one JSON object / MessagePack map with a string
// "op" ("sub", "unsub", "pub", "ping") and the fields of that op:
//   sub    "ch" (channel name), optional "since": {"epoch": E, "offset": N}
//   unsub  "ch"
//   pub    "ch", "data" (any value, required), optional "id" (a string)
//   ping   nothing
// Unknown fields are ignored (forward compatibility) but must still be well
// formed; an optional field that is null (nil) counts as absent. A key that
// appears twice in any object or map of the frame, data included, makes the
// frame malformed (two parsers would read such a frame differently). epoch
// and offset are unsigned integers below 2^53 (safe in JavaScript).
//
// Data. A pub's data is converted once, at decode, into both encodings
// (`payload`): minified JSON text and canonical MessagePack (smallest integer,
// string, array and map headers; floats, float32 included, as float64;
// signed forms holding non-negative values as unsigned). Integers keep their
// 64-bit value (int64 or uint64); other numbers are float64 and come out of
// the JSON writer in the shortest form that reads back to the same double,
// with ".0" appended to an integral float so that it stays a float
// (1.0 -> "1.0", 1e300 -> "1e+300"). A JSON integer literal beyond the 64-bit
// range reads as float64. NaN and infinities, MessagePack bin and ext values
// (no JSON form) and map keys that are not strings are refused (bad_field);
// strings must be UTF-8. The JSON text is always one line: control
// characters, U+2028 and U+2029 are escaped (SSE carries it on one data
// line). Decoding a frame an encoder produced gives back the same payload
// bytes in both encodings.
//
// MessagePack is read by a small strict reader written here rather than by
// msgpack-cxx: msgpack-cxx reports errors by throwing, builds a zone-allocated
// object tree per call and would still need a second walk to convert, check
// UTF-8 and find duplicate keys. The reader checks every length against the
// bytes left before using it (a huge declared count costs nothing), refuses
// trailing bytes and the never-used byte 0xc1.
//
// Limits (protocol_limits): max_data_bytes bounds each encoding of data
// (too_large); max_depth bounds the nesting of data (a scalar is depth 0, []
// is 1; too_large); values above 512 count as 512, and 512 is the bound for
// every other member, unknown ones included (the walks are recursive). Whole-frame size limits
// belong to the WebSocket layer (and the HTTP body limit for POST /api/publish). The codec
// allocates its outputs (bounded by the frame's size) and, per thread, scratch space that is reused
// from call to call (see below); nothing else.
//
// Errors are corvid::protocol_errc values (include/corvid/error.hpp): the enum
// value is the wire code of the `err` frame. The overloads with a `reason`
// out-parameter also give a sentence naming what is wrong (static storage,
// never freed), meant for the err frame's "reason".
//
// Threading and memory. Every function may be called from any thread. JSON is
// parsed with a simdjson parser kept per thread (thread_local): it keeps, for
// the thread's life, buffers sized for the largest JSON frame that thread has
// decoded (a few times the frame's size), as do the thread's stack of map
// keys (duplicate check) and its buffer for big-integer literals. Outputs (client_op, the appended
// frames) are owned by the caller. Encoders append to `out` and never fail; a string argument that
// is not UTF-8 is written with U+FFFD in place of each ill-formed byte, so every frame they produce
// is valid.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "corvid/error.hpp"
#include "corvid/result.hpp"
#include "engine/wire_format.hpp"

namespace corvid::engine {

/// A point in a channel's stream: the channel's epoch and an offset in it.
struct stream_position {
    std::uint64_t epoch = 0;
    std::uint64_t offset = 0;
    friend bool operator==(const stream_position&, const stream_position&) = default;
};

/// A pub's data, held in both encodings (converted once, at decode).
struct payload {
    std::string json;     ///< minified JSON text, one line
    std::string msgpack;  ///< canonical MessagePack bytes
    const std::string& in(wire_format f) const noexcept {
        return f == wire_format::msgpack ? msgpack : json;
    }
    friend bool operator==(const payload&, const payload&) = default;
};

enum class op_kind { sub, unsub, pub, ping };

/// One decoded client frame. channel: sub, unsub, pub. since: sub only.
/// id (empty when absent) and data: pub only.
struct client_op {
    op_kind kind = op_kind::ping;
    std::string channel;
    std::optional<stream_position> since;
    std::string id;
    payload data;
};

/// What a client frame may hold; see the header comment.
struct protocol_limits {
    std::size_t max_data_bytes = 64 * 1024;  ///< pub data, either encoding
    std::size_t max_depth = 32;              ///< nesting of pub data
    std::size_t max_channel_length = 255;    ///< bytes
    std::size_t max_id_length = 128;         ///< bytes of a pub's "id"
};

/// The largest epoch or offset the protocol carries: 2^53 - 1.
inline constexpr std::uint64_t max_stream_number = (std::uint64_t{1} << 53) - 1;

/// Decodes one client frame (a WebSocket text frame for json, binary for
/// msgpack). Errors: malformed (not JSON / MessagePack, trailing bytes, not an
/// object/map, a repeated key), unknown_op, bad_field (missing field, wrong
/// type, bad value, number out of range, bin/ext data, non-UTF-8 string),
/// bad_channel, too_large (data over max_data_bytes or max_depth, id over
/// max_id_length), and internal only if the parser's memory cannot be had.
result<client_op> decode_client_op(wire_format f, std::string_view frame, const protocol_limits& l);
/// The same, setting `reason` to a sentence about the failure (empty on success).
result<client_op> decode_client_op(wire_format f, std::string_view frame, const protocol_limits& l,
                                   std::string_view& reason);

/// POST /api/publish body: JSON {"ch":C,"data":ANY,"id":optional string}; kind
/// = pub. Any "op" member is ignored like other unknown fields. Errors as
/// decode_client_op (no unknown_op).
result<client_op> decode_publish_request(std::string_view json_body, const protocol_limits& l);
result<client_op> decode_publish_request(std::string_view json_body, const protocol_limits& l,
                                         std::string_view& reason);

/// 1..max_channel_length bytes of [A-Za-z0-9] and `_ - . : @ / = +`.
bool valid_channel_name(std::string_view ch, const protocol_limits& l) noexcept;

// Encoders: each appends one complete frame (a JSON text or a MessagePack map)
// to `out`. Keys come in the order shown.

/// {"op":"ready","conn":ID}
void encode_ready(wire_format f, std::string& out, std::string_view conn_id);
/// {"op":"subok","ch":C,"epoch":E,"offset":N[,"recovered":B]}
void encode_subok(wire_format f, std::string& out, std::string_view ch, stream_position at,
                  std::optional<bool> recovered);
/// {"op":"msg","ch":C,"offset":N,"id":ID,"data":ANY} ("id" omitted when empty).
/// `data` is written as is: it must come from the decoder (or be valid); an
/// empty payload (default-constructed) is written as null.
void encode_msg(wire_format f, std::string& out, std::string_view ch, std::uint64_t offset,
                std::string_view id, const payload& data);
/// {"op":"err","code":N,"reason":TEXT}; code is the enum value.
void encode_err(wire_format f, std::string& out, protocol_errc code, std::string_view reason);
/// {"op":"pong"}
void encode_pong(wire_format f, std::string& out);
/// Appends `s` as a JSON string literal (quotes included), escaped as the
/// encoders do: one line, ill-formed UTF-8 replaced with U+FFFD. For the
/// engine's other JSON (HTTP API answers, development tokens).
void append_json_string(std::string& out, std::string_view s);

/// One SSE event: "event: msg\nid: E:N\ndata: <the JSON msg envelope>\n\n".
void encode_sse_msg(std::string& out, std::uint64_t epoch, std::string_view ch,
                    std::uint64_t offset, std::string_view id, const payload& data);

}  // namespace corvid::engine
