#pragma once

// The two encodings of the engine protocol (docs/protocol.md): JSON text
// frames (subprotocol corvid.json, the default) and MessagePack binary frames
// (subprotocol corvid.msgpack). Used as an index where a value is kept in
// both encodings.

#include <cstddef>
#include <cstdint>

namespace corvid::engine {

enum class wire_format : std::uint8_t { json = 0, msgpack = 1 };

inline constexpr std::size_t wire_format_count = 2;

constexpr std::size_t index(wire_format f) noexcept {
    return static_cast<std::size_t>(f);
}

}  // namespace corvid::engine
