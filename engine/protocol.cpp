#include "engine/protocol.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <span>
#include <vector>

namespace corvid::engine {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// The walks are recursive: this bounds the stack whatever the limits say. It
// is also the nesting allowed in members other than data (unknown ones):
// one fixed bound keeps the thread's simdjson parser from being reallocated
// when calls with different limits alternate.
constexpr std::size_t depth_ceiling = 512;

std::size_t effective_depth(const protocol_limits& l) noexcept {
    return std::min(l.max_depth, depth_ceiling);
}

// --- UTF-8 -----------------------------------------------------------------

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs,
// no surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    const std::size_t left = s.size() - i;
    if (c < 0x80) {
        return 1;
    }
    const auto cont = [&](std::size_t k) { return (b(k) & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) {
        return left >= 2 && cont(i + 1) ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || !cont(i + 1) || !cont(i + 2)) {
            return 0;
        }
        const unsigned char c1 = b(i + 1);
        if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F)) {
            return 0;
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) {
            return 0;
        }
        const unsigned char c1 = b(i + 1);
        if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

// Mostly short, mostly ASCII strings (names, ids, keys): eight bytes at a
// time while ASCII, then sequence by sequence; long ones go to simdjson's
// vectorised validator.
bool valid_utf8(std::string_view s) noexcept {
    if (s.size() >= 256) {
        return simdjson::validate_utf8(s.data(), s.size());
    }
    std::size_t i = 0;
    while (i + 8 <= s.size()) {
        std::uint64_t word = 0;
        std::memcpy(&word, s.data() + i, sizeof word);
        if ((word & 0x8080808080808080ULL) != 0) {
            break;
        }
        i += 8;
    }
    while (i < s.size()) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const std::size_t n = utf8_sequence(s, i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

// `s` with U+FFFD in place of each ill-formed byte, for the encoders, which
// never emit invalid text. Rare path: a thread's buffer.
std::string_view sanitized(std::string_view s) {
    if (valid_utf8(s)) {
        return s;
    }
    thread_local std::string buffer;
    buffer.clear();
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_sequence(s, i);
        if (n == 0) {
            buffer += "\xEF\xBF\xBD";
            ++i;
        } else {
            buffer.append(s.substr(i, n));
            i += n;
        }
    }
    return buffer;
}

// --- output ------------------------------------------------------------------

// Appends to a std::string through a small buffer. std::string's members are
// not inlined (libstdc++ instantiates them once, out of line), so writing a
// frame or a payload a byte or a token at a time would cost a call per byte;
// this batches them. Flushed by flush() and on destruction: read the string
// only after either.
class writer {
  public:
    explicit writer(std::string& s) noexcept : s_(s) {}
    ~writer() { flush(); }
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    void put(char c) {
        if (n_ == sizeof buf_) {
            flush();
        }
        buf_[n_++] = c;
    }
    void write(const char* p, std::size_t n) {
        if (n > sizeof buf_ - n_) {
            flush();
            if (n > sizeof buf_ / 2) {
                s_.append(p, n);
                return;
            }
        }
        std::memcpy(buf_ + n_, p, n);
        n_ += n;
    }
    void write(std::string_view v) { write(v.data(), v.size()); }
    std::size_t size() const noexcept { return s_.size() + n_; }
    void flush() {
        if (n_ != 0) {
            s_.append(buf_, n_);
            n_ = 0;
        }
    }

  private:
    std::string& s_;
    std::size_t n_ = 0;
    char buf_[256];
};

// --- JSON writer -------------------------------------------------------------

constexpr char hex_digits[] = "0123456789abcdef";

// The bytes json_string() looks at: control characters, quote, backslash,
// and 0xE2, the first byte of U+2028 and U+2029.
constexpr auto json_special = [] {
    std::array<bool, 256> t{};
    for (unsigned c = 0; c < 0x20; ++c) {
        t[c] = true;
    }
    t['"'] = true;
    t['\\'] = true;
    t[0xE2] = true;
    return t;
}();

// Appends `s` (valid UTF-8) as a JSON string on one line: quote, backslash
// and control characters are escaped, and so are U+2028 and U+2029, which
// JavaScript once treated as line ends.
void json_string(writer& out, std::string_view s) {
    out.put('"');
    std::size_t run = 0;
    const auto flush = [&](std::size_t i) { out.write(s.data() + run, i - run); };
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (!json_special[c]) {
            continue;
        }
        if (c == 0xE2) {
            if (i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
                flush(i);
                out.write(static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029");
                i += 2;
                run = i + 1;
            }
            continue;
        }
        flush(i);
        run = i + 1;
        switch (c) {
            case '"':
                out.write("\\\"");
                break;
            case '\\':
                out.write("\\\\");
                break;
            case '\b':
                out.write("\\b");
                break;
            case '\f':
                out.write("\\f");
                break;
            case '\n':
                out.write("\\n");
                break;
            case '\r':
                out.write("\\r");
                break;
            case '\t':
                out.write("\\t");
                break;
            default: {
                const char esc[] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xF]};
                out.write(esc, sizeof esc);
            }
        }
    }
    flush(s.size());
    out.put('"');
}

template <typename Int>
void json_integer(writer& out, Int v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.write(buf, static_cast<std::size_t>(r.ptr - buf));
}

// Shortest form that reads back to the same double; ".0" keeps an integral
// float a float (1.0 -> "1.0"). `v` is finite.
void json_double(writer& out, double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    const std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
    out.write(text);
    if (text.find_first_of(".e") == std::string_view::npos) {
        out.write(".0");
    }
}

// --- MessagePack writer ------------------------------------------------------
// Each item goes out in one append: std::string's members are not inlined
// (libstdc++ instantiates them once), so byte-by-byte push_back costs a call
// per byte.

void mp_byte(writer& out, unsigned b) {
    out.put(static_cast<char>(b));
}

// A type byte followed by `bytes` bytes of v, big-endian.
void mp_typed(writer& out, unsigned type, std::uint64_t v, unsigned bytes) {
    char buf[9];
    buf[0] = static_cast<char>(type);
    for (unsigned k = 0; k < bytes; ++k) {
        buf[bytes - k] = static_cast<char>((v >> (8 * k)) & 0xFF);
    }
    out.write(buf, bytes + 1);
}

void mp_nil(writer& out) {
    mp_byte(out, 0xC0);
}
void mp_bool(writer& out, bool b) {
    mp_byte(out, b ? 0xC3 : 0xC2);
}

void mp_uint(writer& out, std::uint64_t v) {
    if (v <= 0x7F) {
        mp_byte(out, static_cast<unsigned>(v));
    } else if (v <= 0xFF) {
        mp_typed(out, 0xCC, v, 1);
    } else if (v <= 0xFFFF) {
        mp_typed(out, 0xCD, v, 2);
    } else if (v <= 0xFFFFFFFF) {
        mp_typed(out, 0xCE, v, 4);
    } else {
        mp_typed(out, 0xCF, v, 8);
    }
}

void mp_int(writer& out, std::int64_t v) {
    if (v >= 0) {
        mp_uint(out, static_cast<std::uint64_t>(v));
        return;
    }
    const auto bits = static_cast<std::uint64_t>(v);
    if (v >= -32) {
        mp_byte(out, static_cast<unsigned>(bits & 0xFF));
    } else if (v >= INT8_MIN) {
        mp_typed(out, 0xD0, bits, 1);
    } else if (v >= INT16_MIN) {
        mp_typed(out, 0xD1, bits, 2);
    } else if (v >= INT32_MIN) {
        mp_typed(out, 0xD2, bits, 4);
    } else {
        mp_typed(out, 0xD3, bits, 8);
    }
}

void mp_double(writer& out, double v) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    mp_typed(out, 0xCB, bits, 8);
}

// A header for a str, array or map of n elements: fix form, then 8 (str
// only), 16 and 32 bits.
void mp_header(writer& out, std::size_t n, unsigned fix, std::size_t fix_max, unsigned b8,
               unsigned b16, unsigned b32) {
    if (n <= fix_max) {
        mp_byte(out, fix | static_cast<unsigned>(n));
    } else if (b8 != 0 && n <= 0xFF) {
        mp_typed(out, b8, n, 1);
    } else if (n <= 0xFFFF) {
        mp_typed(out, b16, n, 2);
    } else {
        mp_typed(out, b32, n, 4);
    }
}

void mp_str(writer& out, std::string_view s) {
    mp_header(out, s.size(), 0xA0, 31, 0xD9, 0xDA, 0xDB);
    out.write(s);
}
void mp_array(writer& out, std::size_t n) {
    mp_header(out, n, 0x90, 15, 0, 0xDC, 0xDD);
}
void mp_map(writer& out, std::size_t n) {
    mp_header(out, n, 0x80, 15, 0, 0xDE, 0xDF);
}

// --- decoding context --------------------------------------------------------

// One decode call: the limits, the first failure, and the thread's scratch
// stack of map keys for the duplicate check (reused: no allocation per call
// once it has grown).
class context {
  public:
    context(const protocol_limits& l, std::size_t frame_bytes)
        : limits(l), frame_size(frame_bytes), keys(key_stack()) {
        keys.clear();
    }

    bool fail(protocol_errc c, std::string_view why) {
        code = c;
        reason = why;
        return false;
    }

    // Checks the keys pushed since `mark`, then pops them.
    bool keys_distinct(std::size_t mark) {
        const std::span<std::string_view> range(keys.data() + mark, keys.size() - mark);
        bool distinct = true;
        if (range.size() <= 8) {
            for (std::size_t i = 0; i < range.size() && distinct; ++i) {
                for (std::size_t j = i + 1; j < range.size(); ++j) {
                    if (range[i] == range[j]) {
                        distinct = false;
                        break;
                    }
                }
            }
        } else {
            std::sort(range.begin(), range.end());
            distinct = std::adjacent_find(range.begin(), range.end()) == range.end();
        }
        keys.resize(mark);
        return distinct || fail(protocol_errc::malformed,
                                "an object (map) repeats a key: each key may appear once");
    }

    const protocol_limits& limits;
    std::size_t frame_size;
    std::vector<std::string_view>& keys;
    protocol_errc code = protocol_errc::malformed;
    std::string_view reason;

  private:
    static std::vector<std::string_view>& key_stack() {
        thread_local std::vector<std::string_view> stack;
        return stack;
    }
};

constexpr std::string_view reason_too_deep =
    "\"data\" nests arrays and objects deeper than the server's limit";
constexpr std::string_view reason_data_too_large =
    "\"data\" is larger than the server's limit (in JSON or in MessagePack)";

// The two outputs of a data conversion, with the size limit checked as they grow.
struct sink {
    writer& json;
    writer& mp;
    std::size_t max;
    bool within(context& cx) const {
        return (json.size() <= max && mp.size() <= max) ||
               cx.fail(protocol_errc::too_large, reason_data_too_large);
    }
};

// --- JSON data ---------------------------------------------------------------

bool convert_json(const element& e, std::size_t depth, sink& out, context& cx) {
    switch (e.type()) {
        case element_type::ARRAY: {
            if (depth >= effective_depth(cx.limits)) {
                return cx.fail(protocol_errc::too_large, reason_too_deep);
            }
            const auto arr = e.get_array().value_unsafe();
            mp_array(out.mp, arr.size());
            out.json.put('[');
            bool first = true;
            for (const element item : arr) {
                if (!first) {
                    out.json.put(',');
                }
                first = false;
                if (!convert_json(item, depth + 1, out, cx)) {
                    return false;
                }
            }
            out.json.put(']');
            return out.within(cx);
        }
        case element_type::OBJECT: {
            if (depth >= effective_depth(cx.limits)) {
                return cx.fail(protocol_errc::too_large, reason_too_deep);
            }
            const auto obj = e.get_object().value_unsafe();
            mp_map(out.mp, obj.size());
            out.json.put('{');
            const std::size_t mark = cx.keys.size();
            bool first = true;
            for (const auto field : obj) {
                if (!first) {
                    out.json.put(',');
                }
                first = false;
                cx.keys.push_back(field.key);
                json_string(out.json, field.key);
                out.json.put(':');
                mp_str(out.mp, field.key);
                if (!convert_json(field.value, depth + 1, out, cx)) {
                    return false;
                }
            }
            out.json.put('}');
            return cx.keys_distinct(mark) && out.within(cx);
        }
        case element_type::INT64: {
            const std::int64_t v = e.get_int64().value_unsafe();
            json_integer(out.json, v);
            mp_int(out.mp, v);
            break;
        }
        case element_type::UINT64: {
            const std::uint64_t v = e.get_uint64().value_unsafe();
            json_integer(out.json, v);
            mp_uint(out.mp, v);
            break;
        }
        case element_type::DOUBLE: {
            const double v = e.get_double().value_unsafe();
            if (!std::isfinite(v)) {  // simdjson refuses these; kept for safety
                return cx.fail(protocol_errc::bad_field,
                               "a number in \"data\" is not finite: NaN and infinities have no "
                               "JSON form");
            }
            json_double(out.json, v);
            mp_double(out.mp, v);
            break;
        }
        case element_type::STRING: {
            const std::string_view s = e.get_string().value_unsafe();
            json_string(out.json, s);
            mp_str(out.mp, s);
            break;
        }
        case element_type::BOOL: {
            const bool b = e.get_bool().value_unsafe();
            out.json.write(b ? "true" : "false");
            mp_bool(out.mp, b);
            break;
        }
        case element_type::NULL_VALUE:
            out.json.write("null");
            mp_nil(out.mp);
            break;
    }
    return out.within(cx);
}

// --- MessagePack reader ------------------------------------------------------

enum class mp_type { nil, boolean, uint, sint, real, str, bin, ext, array, map };

struct mp_item {
    mp_type type = mp_type::nil;
    bool boolean = false;
    std::uint64_t u = 0;  // uint value
    std::int64_t i = 0;   // sint value (negative: a non-negative one is read as uint)
    double real = 0;
    std::string_view bytes;   // str, bin, ext payload
    std::uint32_t count = 0;  // array elements or map pairs
};

constexpr std::string_view reason_mp_truncated =
    "the MessagePack value ends early (a length or count runs past the frame)";

class mp_reader {
  public:
    explicit mp_reader(std::string_view s)
        : p_(reinterpret_cast<const unsigned char*>(s.data())), end_(p_ + s.size()) {}

    bool at_end() const noexcept { return p_ == end_; }
    const char* position() const noexcept { return reinterpret_cast<const char*>(p_); }

    // Reads one value's header (and a str/bin/ext payload) into `it`.
    bool next(mp_item& it, context& cx) {
        if (p_ == end_) {
            return cx.fail(protocol_errc::malformed, reason_mp_truncated);
        }
        const unsigned c = *p_++;
        it = mp_item{};
        if (c <= 0x7F) {
            it.type = mp_type::uint;
            it.u = c;
            return true;
        }
        if (c >= 0xE0) {
            it.type = mp_type::sint;
            it.i = static_cast<std::int8_t>(static_cast<std::uint8_t>(c));
            return true;
        }
        if (c <= 0x8F) {
            it.type = mp_type::map;
            it.count = c & 0x0F;
            return true;
        }
        if (c <= 0x9F) {
            it.type = mp_type::array;
            it.count = c & 0x0F;
            return true;
        }
        if (c <= 0xBF) {
            return payload(it, mp_type::str, c & 0x1F, cx);
        }
        std::uint64_t v = 0;
        switch (c) {
            case 0xC0:
                it.type = mp_type::nil;
                return true;
            case 0xC1:
                return cx.fail(protocol_errc::malformed,
                               "the frame is not MessagePack (byte 0xc1 is never used)");
            case 0xC2:
            case 0xC3:
                it.type = mp_type::boolean;
                it.boolean = c == 0xC3;
                return true;
            case 0xC4:
            case 0xC5:
            case 0xC6:
                return be(1u << (c - 0xC4), v, cx) && payload(it, mp_type::bin, v, cx);
            case 0xC7:
            case 0xC8:
            case 0xC9:
                // ext: length, then a type byte, then the bytes.
                return be(1u << (c - 0xC7), v, cx) && payload(it, mp_type::ext, v + 1, cx);
            case 0xCA: {
                if (!be(4, v, cx)) {
                    return false;
                }
                const auto bits = static_cast<std::uint32_t>(v);
                float f = 0;
                std::memcpy(&f, &bits, sizeof f);
                it.type = mp_type::real;
                it.real = f;
                return true;
            }
            case 0xCB:
                if (!be(8, v, cx)) {
                    return false;
                }
                it.type = mp_type::real;
                std::memcpy(&it.real, &v, sizeof v);
                return true;
            case 0xCC:
            case 0xCD:
            case 0xCE:
            case 0xCF:
                if (!be(1u << (c - 0xCC), it.u, cx)) {
                    return false;
                }
                it.type = mp_type::uint;
                return true;
            case 0xD0:
            case 0xD1:
            case 0xD2:
            case 0xD3: {
                const unsigned n = 1u << (c - 0xD0);
                if (!be(n, v, cx)) {
                    return false;
                }
                // Sign-extend the n-byte two's complement value.
                const unsigned shift = 64 - 8 * n;
                const auto s = static_cast<std::int64_t>(v << shift) >> shift;
                if (s >= 0) {
                    it.type = mp_type::uint;
                    it.u = static_cast<std::uint64_t>(s);
                } else {
                    it.type = mp_type::sint;
                    it.i = s;
                }
                return true;
            }
            case 0xD4:
            case 0xD5:
            case 0xD6:
            case 0xD7:
            case 0xD8:
                return payload(it, mp_type::ext, (1u << (c - 0xD4)) + 1, cx);
            case 0xD9:
            case 0xDA:
            case 0xDB:
                return be(1u << (c - 0xD9), v, cx) && payload(it, mp_type::str, v, cx);
            case 0xDC:
            case 0xDD:
                if (!be(c == 0xDC ? 2 : 4, v, cx)) {
                    return false;
                }
                it.type = mp_type::array;
                it.count = static_cast<std::uint32_t>(v);
                return true;
            case 0xDE:
            case 0xDF:
                if (!be(c == 0xDE ? 2 : 4, v, cx)) {
                    return false;
                }
                it.type = mp_type::map;
                it.count = static_cast<std::uint32_t>(v);
                return true;
            default:
                return cx.fail(protocol_errc::malformed, "the frame is not MessagePack");
        }
    }

    // Skips one whole value (checking its structure, not its content), with
    // at most `depth_left` levels of arrays and maps.
    bool skip(std::size_t depth_left, context& cx) {
        mp_item it;
        if (!next(it, cx)) {
            return false;
        }
        if (it.type != mp_type::array && it.type != mp_type::map) {
            return true;
        }
        if (depth_left == 0) {
            return cx.fail(protocol_errc::too_large,
                           "the frame nests arrays and maps deeper than the server's limit");
        }
        // Every element takes at least one byte: a count larger than what is
        // left fails on truncation, after as many steps as there are bytes.
        const std::uint64_t n = it.type == mp_type::map ? 2 * std::uint64_t{it.count} : it.count;
        for (std::uint64_t k = 0; k < n; ++k) {
            if (!skip(depth_left - 1, cx)) {
                return false;
            }
        }
        return true;
    }

  private:
    bool be(unsigned n, std::uint64_t& v, context& cx) {
        if (static_cast<std::size_t>(end_ - p_) < n) {
            return cx.fail(protocol_errc::malformed, reason_mp_truncated);
        }
        v = 0;
        for (unsigned k = 0; k < n; ++k) {
            v = (v << 8) | *p_++;
        }
        return true;
    }

    bool payload(mp_item& it, mp_type type, std::uint64_t n, context& cx) {
        if (static_cast<std::uint64_t>(end_ - p_) < n) {
            return cx.fail(protocol_errc::malformed, reason_mp_truncated);
        }
        it.type = type;
        it.bytes = {reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n)};
        p_ += n;
        return true;
    }

    const unsigned char* p_;
    const unsigned char* end_;
};

constexpr std::string_view reason_mp_key =
    "a MessagePack map key is not a string: keys must be UTF-8 str values";
constexpr std::string_view reason_mp_utf8 =
    "a MessagePack string is not valid UTF-8: send text as str, UTF-8 encoded";

// Reads a map key: a UTF-8 str.
bool mp_key(mp_reader& r, std::string_view& key, context& cx) {
    mp_item it;
    if (!r.next(it, cx)) {
        return false;
    }
    if (it.type != mp_type::str) {
        return cx.fail(protocol_errc::bad_field, reason_mp_key);
    }
    if (!valid_utf8(it.bytes)) {
        return cx.fail(protocol_errc::bad_field, reason_mp_utf8);
    }
    key = it.bytes;
    return true;
}

bool convert_mp(mp_reader& r, std::size_t depth, sink& out, context& cx) {
    mp_item it;
    if (!r.next(it, cx)) {
        return false;
    }
    switch (it.type) {
        case mp_type::nil:
            out.json.write("null");
            mp_nil(out.mp);
            break;
        case mp_type::boolean:
            out.json.write(it.boolean ? "true" : "false");
            mp_bool(out.mp, it.boolean);
            break;
        case mp_type::uint:
            json_integer(out.json, it.u);
            mp_uint(out.mp, it.u);
            break;
        case mp_type::sint:
            json_integer(out.json, it.i);
            mp_int(out.mp, it.i);
            break;
        case mp_type::real:
            if (!std::isfinite(it.real)) {
                return cx.fail(protocol_errc::bad_field,
                               "a float in \"data\" is NaN or infinite: these have no JSON form");
            }
            json_double(out.json, it.real);
            mp_double(out.mp, it.real);
            break;
        case mp_type::str:
            if (!valid_utf8(it.bytes)) {
                return cx.fail(protocol_errc::bad_field, reason_mp_utf8);
            }
            json_string(out.json, it.bytes);
            mp_str(out.mp, it.bytes);
            break;
        case mp_type::bin:
        case mp_type::ext:
            return cx.fail(protocol_errc::bad_field,
                           "\"data\" holds a MessagePack bin or ext value, which has no JSON "
                           "form: send text as str (base64 for binary) and numbers as int or "
                           "float");
        case mp_type::array: {
            if (depth >= effective_depth(cx.limits)) {
                return cx.fail(protocol_errc::too_large, reason_too_deep);
            }
            mp_array(out.mp, it.count);
            out.json.put('[');
            for (std::uint32_t k = 0; k < it.count; ++k) {
                if (k != 0) {
                    out.json.put(',');
                }
                if (!convert_mp(r, depth + 1, out, cx)) {
                    return false;
                }
            }
            out.json.put(']');
            break;
        }
        case mp_type::map: {
            if (depth >= effective_depth(cx.limits)) {
                return cx.fail(protocol_errc::too_large, reason_too_deep);
            }
            mp_map(out.mp, it.count);
            out.json.put('{');
            const std::size_t mark = cx.keys.size();
            for (std::uint32_t k = 0; k < it.count; ++k) {
                if (k != 0) {
                    out.json.put(',');
                }
                std::string_view key;
                if (!mp_key(r, key, cx)) {
                    return false;
                }
                cx.keys.push_back(key);
                json_string(out.json, key);
                out.json.put(':');
                mp_str(out.mp, key);
                if (!convert_mp(r, depth + 1, out, cx)) {
                    return false;
                }
            }
            out.json.put('}');
            if (!cx.keys_distinct(mark)) {
                return false;
            }
            break;
        }
    }
    return out.within(cx);
}

// --- the envelope, format-independent ----------------------------------------

// The known members of a frame; Value is a simdjson element or the bytes of
// one MessagePack value.
template <typename Value>
struct envelope {
    std::optional<Value> op, ch, since, data, id;

    // Records `v` if `key` is a known member.
    void take(std::string_view key, const Value& v) {
        if (key == "op") {
            op = v;
        } else if (key == "ch") {
            ch = v;
        } else if (key == "since") {
            since = v;
        } else if (key == "data") {
            data = v;
        } else if (key == "id") {
            id = v;
        }
    }
};

enum class value_kind { null, string, other };

constexpr std::string_view reason_since =
    "\"since\" must be {\"epoch\":E,\"offset\":N} with unsigned integers below 2^53";

struct json_adapter {
    static value_kind kind(const element& e, std::string_view& s, context&) {
        if (e.is_null()) {
            return value_kind::null;
        }
        if (e.get_string().get(s) == simdjson::SUCCESS) {
            return value_kind::string;
        }
        return value_kind::other;
    }

    static bool stream_number(const element& e, std::uint64_t& v) {
        if (e.type() == element_type::UINT64) {
            v = e.get_uint64().value_unsafe();
        } else if (e.type() == element_type::INT64 && e.get_int64().value_unsafe() >= 0) {
            v = static_cast<std::uint64_t>(e.get_int64().value_unsafe());
        } else {
            return false;
        }
        return v <= max_stream_number;
    }

    static bool since(const element& e, stream_position& at, context& cx) {
        simdjson::dom::object obj;
        if (e.get_object().get(obj) != simdjson::SUCCESS) {
            return cx.fail(protocol_errc::bad_field, reason_since);
        }
        bool epoch = false;
        bool offset = false;
        const std::size_t mark = cx.keys.size();
        for (const auto field : obj) {
            cx.keys.push_back(field.key);
            if (field.key == "epoch") {
                epoch = stream_number(field.value, at.epoch);
                if (!epoch) {
                    return cx.fail(protocol_errc::bad_field, reason_since);
                }
            } else if (field.key == "offset") {
                offset = stream_number(field.value, at.offset);
                if (!offset) {
                    return cx.fail(protocol_errc::bad_field, reason_since);
                }
            }
        }
        if (!cx.keys_distinct(mark)) {
            return false;
        }
        return (epoch && offset) || cx.fail(protocol_errc::bad_field, reason_since);
    }

    static bool data(const element& e, sink& out, context& cx) {
        return convert_json(e, 0, out, cx);
    }
};

struct mp_adapter {
    static value_kind kind(std::string_view v, std::string_view& s, context& cx) {
        mp_reader r(v);
        mp_item it;
        if (!r.next(it, cx)) {  // cannot fail: the value was skipped over already
            return value_kind::other;
        }
        if (it.type == mp_type::nil) {
            return value_kind::null;
        }
        if (it.type == mp_type::str) {
            s = it.bytes;
            return value_kind::string;
        }
        return value_kind::other;
    }

    static bool stream_number(mp_reader& r, std::uint64_t& v, context& cx) {
        mp_item it;
        if (!r.next(it, cx)) {
            return false;
        }
        if (it.type != mp_type::uint || it.u > max_stream_number) {
            return cx.fail(protocol_errc::bad_field, reason_since);
        }
        v = it.u;
        return true;
    }

    static bool since(std::string_view v, stream_position& at, context& cx) {
        mp_reader r(v);
        mp_item it;
        if (!r.next(it, cx)) {
            return false;
        }
        if (it.type != mp_type::map) {
            return cx.fail(protocol_errc::bad_field, reason_since);
        }
        bool epoch = false;
        bool offset = false;
        const std::size_t mark = cx.keys.size();
        for (std::uint32_t k = 0; k < it.count; ++k) {
            std::string_view key;
            if (!mp_key(r, key, cx)) {
                return false;
            }
            cx.keys.push_back(key);
            if (key == "epoch") {
                if (!stream_number(r, at.epoch, cx)) {
                    return false;
                }
                epoch = true;
            } else if (key == "offset") {
                if (!stream_number(r, at.offset, cx)) {
                    return false;
                }
                offset = true;
            } else if (!r.skip(depth_ceiling, cx)) {
                return false;
            }
        }
        if (!cx.keys_distinct(mark)) {
            return false;
        }
        return (epoch && offset) || cx.fail(protocol_errc::bad_field, reason_since);
    }

    static bool data(std::string_view v, sink& out, context& cx) {
        mp_reader r(v);
        return convert_mp(r, 0, out, cx);
    }
};

constexpr std::string_view reason_ch_missing =
    "\"ch\" is missing: sub, unsub and pub name a channel with a string \"ch\"";
constexpr std::string_view reason_ch_type = "\"ch\" must be a string (the channel name)";
constexpr std::string_view reason_ch_invalid =
    "\"ch\" is not a valid channel name: 1 to max_channel_length (255 by default) characters "
    "among A-Z a-z 0-9 _ - . : @ / = +";

template <typename Adapter, typename Value>
result<client_op> finish(const envelope<Value>& env, bool publish_request, context& cx) {
    const auto failed = [&]() -> result<client_op> { return cx.code; };
    client_op op;
    std::string_view s;
    if (publish_request) {
        op.kind = op_kind::pub;
    } else {
        const value_kind k = env.op ? Adapter::kind(*env.op, s, cx) : value_kind::null;
        if (k == value_kind::null) {
            cx.fail(protocol_errc::bad_field,
                    "\"op\" is missing: every frame is an object with a string \"op\" (sub, "
                    "unsub, pub or ping)");
            return failed();
        }
        if (k != value_kind::string) {
            cx.fail(protocol_errc::bad_field, "\"op\" must be a string: sub, unsub, pub or ping");
            return failed();
        }
        if (s == "sub") {
            op.kind = op_kind::sub;
        } else if (s == "unsub") {
            op.kind = op_kind::unsub;
        } else if (s == "pub") {
            op.kind = op_kind::pub;
        } else if (s == "ping") {
            op.kind = op_kind::ping;
            return op;
        } else {
            cx.fail(protocol_errc::unknown_op,
                    "\"op\" names no operation of protocol v1: use sub, unsub, pub or ping");
            return failed();
        }
    }

    const value_kind ch = env.ch ? Adapter::kind(*env.ch, s, cx) : value_kind::null;
    if (ch == value_kind::null) {
        cx.fail(protocol_errc::bad_field, reason_ch_missing);
        return failed();
    }
    if (ch != value_kind::string) {
        cx.fail(protocol_errc::bad_field, reason_ch_type);
        return failed();
    }
    if (!valid_channel_name(s, cx.limits)) {
        cx.fail(protocol_errc::bad_channel, reason_ch_invalid);
        return failed();
    }
    op.channel.assign(s);

    if (op.kind == op_kind::sub && env.since) {
        if (Adapter::kind(*env.since, s, cx) != value_kind::null) {
            stream_position at;
            if (!Adapter::since(*env.since, at, cx)) {
                return failed();
            }
            op.since = at;
        }
    }
    if (op.kind != op_kind::pub) {
        return op;
    }

    if (env.id) {
        const value_kind k = Adapter::kind(*env.id, s, cx);
        if (k == value_kind::other) {
            cx.fail(protocol_errc::bad_field, "\"id\" must be a string (or absent)");
            return failed();
        }
        if (k == value_kind::string) {
            if (s.size() > cx.limits.max_id_length) {
                cx.fail(protocol_errc::too_large,
                        "\"id\" is longer than the server's limit (128 bytes by default)");
                return failed();
            }
            if (!valid_utf8(s)) {
                cx.fail(protocol_errc::bad_field, reason_mp_utf8);
                return failed();
            }
            op.id.assign(s);
        }
    }
    if (!env.data) {
        cx.fail(protocol_errc::bad_field,
                "\"data\" is missing: pub carries its message in \"data\" (any value, null "
                "included)");
        return failed();
    }
    // One allocation per output in the common case: data is never much
    // larger than the frame that carries it, in either encoding.
    const std::size_t guess = std::min(cx.frame_size, cx.limits.max_data_bytes) + 16;
    op.data.json.reserve(guess);
    op.data.msgpack.reserve(guess);
    {
        writer json(op.data.json);
        writer mp(op.data.msgpack);
        sink out{json, mp, cx.limits.max_data_bytes};
        if (!Adapter::data(*env.data, out, cx)) {
            return failed();
        }
    }  // flushed
    return op;
}

// --- JSON frames -------------------------------------------------------------

simdjson::dom::parser& thread_parser() {
    thread_local simdjson::dom::parser parser;
    return parser;
}

// simdjson refuses integer literals beyond 64 bits (NUMBER_ERROR), but the
// protocol reads them as float64 (what JavaScript's JSON.stringify(2**64)
// produces). On that rare failure the text is copied with ".0" after each such
// literal and parsed again. Returns false when there was none to widen.
bool widen_big_integers(std::string_view in, std::string& out) {
    out.clear();
    bool changed = false;
    std::size_t i = 0;
    while (i < in.size()) {
        const char c = in[i];
        if (c == '"') {
            std::size_t j = i + 1;
            while (j < in.size() && in[j] != '"') {
                j += in[j] == '\\' ? 2 : 1;
            }
            j = std::min(j + 1, in.size());
            out.append(in.substr(i, j - i));
            i = j;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            std::size_t j = c == '-' ? i + 1 : i;
            const std::size_t digits_start = j;
            while (j < in.size() && in[j] >= '0' && in[j] <= '9') {
                ++j;
            }
            const std::string_view literal = in.substr(i, j - i);
            out.append(literal);
            const bool integral = j == in.size() || (in[j] != '.' && in[j] != 'e' && in[j] != 'E');
            if (integral && j - digits_start >= 19) {
                bool fits = false;
                const char* first = literal.data();
                const char* last = literal.data() + literal.size();
                if (c == '-') {
                    std::int64_t v = 0;
                    fits = std::from_chars(first, last, v).ec == std::errc{};
                } else {
                    std::uint64_t v = 0;
                    fits = std::from_chars(first, last, v).ec == std::errc{};
                }
                if (!fits) {
                    out += ".0";
                    changed = true;
                }
            }
            i = j;
        } else {
            out.push_back(c);
            ++i;
        }
    }
    return changed;
}

bool parse_json(std::string_view text, element& root, context& cx) {
    auto& parser = thread_parser();
    // simdjson's depth counts one more than the containers: the envelope
    // object, then members nested up to depth_ceiling.
    constexpr std::size_t depth = depth_ceiling + 2;
    if (parser.max_depth() != depth &&
        parser.allocate(std::max(parser.capacity(), text.size()), depth) != simdjson::SUCCESS) {
        return cx.fail(protocol_errc::internal, "the server is out of memory");
    }
    auto err = parser.parse(text.data(), text.size()).get(root);
    if (err == simdjson::NUMBER_ERROR) {
        thread_local std::string widened;
        if (widen_big_integers(text, widened)) {
            err = parser.parse(widened.data(), widened.size()).get(root);
        }
    }
    switch (err) {
        case simdjson::SUCCESS:
            break;
        case simdjson::DEPTH_ERROR:
            return cx.fail(protocol_errc::too_large,
                           "the frame nests arrays and objects deeper than the server's limit");
        case simdjson::CAPACITY:
            return cx.fail(protocol_errc::too_large, "the frame is too large");
        case simdjson::MEMALLOC:
            return cx.fail(protocol_errc::internal, "the server is out of memory");
        case simdjson::NUMBER_ERROR:
            return cx.fail(protocol_errc::bad_field,
                           "a number is not valid JSON or is beyond float64's range (NaN and "
                           "infinities have no JSON form)");
        case simdjson::UTF8_ERROR:
            return cx.fail(protocol_errc::malformed, "the frame is not UTF-8 text");
        default:
            return cx.fail(protocol_errc::malformed,
                           "the frame is not valid JSON: send one JSON object per frame");
    }
    if (!root.is_object()) {
        return cx.fail(protocol_errc::malformed,
                       "the frame is not a JSON object: send {\"op\":...} objects");
    }
    return true;
}

result<client_op> decode_json(std::string_view text, bool publish_request, context& cx) {
    element root;
    if (!parse_json(text, root, cx)) {
        return cx.code;
    }
    envelope<element> env;
    const std::size_t mark = cx.keys.size();
    const simdjson::dom::object members = root.get_object().value_unsafe();
    for (const auto field : members) {
        cx.keys.push_back(field.key);
        env.take(field.key, field.value);
    }
    if (!cx.keys_distinct(mark)) {
        return cx.code;
    }
    return finish<json_adapter>(env, publish_request, cx);
}

// --- MessagePack frames ------------------------------------------------------

result<client_op> decode_mp(std::string_view bytes, context& cx) {
    mp_reader r(bytes);
    mp_item it;
    if (!r.next(it, cx)) {
        return cx.code;
    }
    if (it.type != mp_type::map) {
        cx.fail(protocol_errc::malformed,
                "the frame is not a MessagePack map: send {\"op\":...} maps");
        return cx.code;
    }
    // First pass: check the whole frame's structure and note where the known
    // members are; their values are read once the op is known.
    envelope<std::string_view> env;
    const std::size_t mark = cx.keys.size();
    for (std::uint32_t k = 0; k < it.count; ++k) {
        std::string_view key;
        if (!mp_key(r, key, cx)) {
            return cx.code;
        }
        cx.keys.push_back(key);
        const char* start = r.position();
        if (!r.skip(depth_ceiling, cx)) {
            return cx.code;
        }
        env.take(key, std::string_view(start, static_cast<std::size_t>(r.position() - start)));
    }
    if (!r.at_end()) {
        cx.fail(protocol_errc::malformed,
                "the frame has bytes after its MessagePack map: send one map per frame");
        return cx.code;
    }
    if (!cx.keys_distinct(mark)) {
        return cx.code;
    }
    return finish<mp_adapter>(env, false, cx);
}

// --- encoding ----------------------------------------------------------------

// A frame being written in one of the two formats: a map of known size whose
// members are added in order.
class frame_writer {
  public:
    frame_writer(wire_format f, std::string& out, std::size_t members) : f_(f), out_(out) {
        if (f_ == wire_format::msgpack) {
            mp_map(out_, members);
        } else {
            out_.put('{');
        }
    }
    ~frame_writer() {
        if (f_ == wire_format::json) {
            out_.put('}');
        }
    }
    frame_writer(const frame_writer&) = delete;
    frame_writer& operator=(const frame_writer&) = delete;

    void string(std::string_view key, std::string_view value) {
        this->key(key);
        const std::string_view v = sanitized(value);
        if (f_ == wire_format::msgpack) {
            mp_str(out_, v);
        } else {
            json_string(out_, v);
        }
    }
    void number(std::string_view key, std::uint64_t value) {
        this->key(key);
        if (f_ == wire_format::msgpack) {
            mp_uint(out_, value);
        } else {
            json_integer(out_, value);
        }
    }
    void boolean(std::string_view key, bool value) {
        this->key(key);
        if (f_ == wire_format::msgpack) {
            mp_bool(out_, value);
        } else {
            out_.write(value ? "true" : "false");
        }
    }
    // A value already encoded in this frame's format (a payload).
    void raw(std::string_view key, std::string_view encoded) {
        this->key(key);
        if (encoded.empty()) {  // a default payload: write null rather than a broken frame
            if (f_ == wire_format::msgpack) {
                mp_nil(out_);
            } else {
                out_.write("null");
            }
        } else {
            out_.write(encoded);
        }
    }

  private:
    // Keys are literals of this file: plain ASCII, nothing to escape.
    void key(std::string_view k) {
        if (f_ == wire_format::msgpack) {
            mp_str(out_, k);
            return;
        }
        if (!first_) {
            out_.put(',');
        }
        first_ = false;
        out_.put('"');
        out_.write(k);
        out_.write("\":");
    }

    wire_format f_;
    writer out_;
    bool first_ = true;
};

}  // namespace

result<client_op> decode_client_op(wire_format f, std::string_view frame,
                                   const protocol_limits& l) {
    std::string_view reason;
    return decode_client_op(f, frame, l, reason);
}

result<client_op> decode_client_op(wire_format f, std::string_view frame, const protocol_limits& l,
                                   std::string_view& reason) {
    context cx(l, frame.size());
    auto r = f == wire_format::msgpack ? decode_mp(frame, cx) : decode_json(frame, false, cx);
    reason = r ? std::string_view{} : cx.reason;
    return r;
}

result<client_op> decode_publish_request(std::string_view json_body, const protocol_limits& l) {
    std::string_view reason;
    return decode_publish_request(json_body, l, reason);
}

result<client_op> decode_publish_request(std::string_view json_body, const protocol_limits& l,
                                         std::string_view& reason) {
    context cx(l, json_body.size());
    auto r = decode_json(json_body, true, cx);
    reason = r ? std::string_view{} : cx.reason;
    return r;
}

bool valid_channel_name(std::string_view ch, const protocol_limits& l) noexcept {
    if (ch.empty() || ch.size() > l.max_channel_length) {
        return false;
    }
    for (const char c : ch) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == ':' ||
                        c == '@' || c == '/' || c == '=' || c == '+';
        if (!ok) {
            return false;
        }
    }
    return true;
}

void encode_ready(wire_format f, std::string& out, std::string_view conn_id) {
    frame_writer w(f, out, 2);
    w.string("op", "ready");
    w.string("conn", conn_id);
}

void encode_subok(wire_format f, std::string& out, std::string_view ch, stream_position at,
                  std::optional<bool> recovered) {
    frame_writer w(f, out, recovered ? 5 : 4);
    w.string("op", "subok");
    w.string("ch", ch);
    w.number("epoch", at.epoch);
    w.number("offset", at.offset);
    if (recovered) {
        w.boolean("recovered", *recovered);
    }
}

void encode_msg(wire_format f, std::string& out, std::string_view ch, std::uint64_t offset,
                std::string_view id, const payload& data) {
    frame_writer w(f, out, id.empty() ? 4 : 5);
    w.string("op", "msg");
    w.string("ch", ch);
    w.number("offset", offset);
    if (!id.empty()) {
        w.string("id", id);
    }
    w.raw("data", data.in(f));
}

void encode_err(wire_format f, std::string& out, protocol_errc code, std::string_view reason) {
    frame_writer w(f, out, 3);
    w.string("op", "err");
    w.number("code", static_cast<std::uint64_t>(code));
    w.string("reason", reason);
}

void encode_pong(wire_format f, std::string& out) {
    frame_writer w(f, out, 1);
    w.string("op", "pong");
}

void encode_sse_msg(std::string& out, std::uint64_t epoch, std::string_view ch,
                    std::uint64_t offset, std::string_view id, const payload& data) {
    {
        writer w(out);
        w.write("event: msg\nid: ");
        json_integer(w, epoch);
        w.put(':');
        json_integer(w, offset);
        w.write("\ndata: ");
    }
    encode_msg(wire_format::json, out, ch, offset, id, data);
    out += "\n\n";
}

void append_json_string(std::string& out, std::string_view s) {
    writer w(out);
    json_string(w, s);
}

}  // namespace corvid::engine
