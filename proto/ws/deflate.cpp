#include "deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace corvid::ws {
namespace {

bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto la = static_cast<char>((a[i] >= 'A' && a[i] <= 'Z') ? a[i] + 32 : a[i]);
        auto lb = static_cast<char>((b[i] >= 'A' && b[i] <= 'Z') ? b[i] + 32 : b[i]);
        if (la != lb) {
            return false;
        }
    }
    return true;
}

// A cursor over the header value.
struct cursor {
    std::string_view s;
    std::size_t i = 0;
    bool done() const { return i >= s.size(); }
    char peek() const { return s[i]; }
    void skip_ows() {
        while (!done() && (s[i] == ' ' || s[i] == '\t')) {
            ++i;
        }
    }
    std::string_view token() {
        std::size_t start = i;
        while (!done() && is_tchar(s[i])) {
            ++i;
        }
        return s.substr(start, i - start);
    }
    // quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, at s[i] == '"'.
    bool quoted(std::string& out) {
        ++i;
        while (!done()) {
            auto c = static_cast<unsigned char>(s[i]);
            if (c == '"') {
                ++i;
                return true;
            }
            if (c == '\\') {
                ++i;
                if (done()) {
                    return false;
                }
                c = static_cast<unsigned char>(s[i]);
                if (!(c == '\t' || (c >= 0x20 && c != 0x7f))) {
                    return false;
                }
            } else if (!(c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
                         (c >= 0x5d && c <= 0x7e) || c >= 0x80)) {
                return false;
            }
            out.push_back(static_cast<char>(c));
            ++i;
        }
        return false;
    }
};

constexpr std::string_view k_name = "permessage-deflate";

// Window bits per RFC 7692 7.1.2: a decimal 8..15 without leading zeros.
std::optional<int> parse_bits(const std::optional<std::string>& v) {
    if (!v) {
        return std::nullopt;
    }
    const std::string& s = *v;
    if (s.size() == 1 && s[0] >= '8' && s[0] <= '9') {
        return s[0] - '0';
    }
    if (s.size() == 2 && s[0] == '1' && s[1] >= '0' && s[1] <= '5') {
        return 10 + (s[1] - '0');
    }
    return std::nullopt;
}

// The parameters of one permessage-deflate element, checked for RFC 7692
// 7.1's generic rules (known names, no duplicates, valid values). The
// client_max_window_bits value may be absent (an offer); the caller decides.
struct pmd_params {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    std::optional<int> server_max_window_bits;
    bool has_client_max_window_bits = false;
    std::optional<int> client_max_window_bits;
};

enum class param_error { none, malformed, unknown };

param_error read_params(const extension_offer& e, pmd_params& p) {
    bool seen[4] = {false, false, false, false};
    for (const auto& param : e.params) {
        int idx = -1;
        if (iequals(param.name, "server_no_context_takeover")) {
            idx = 0;
        } else if (iequals(param.name, "client_no_context_takeover")) {
            idx = 1;
        } else if (iequals(param.name, "server_max_window_bits")) {
            idx = 2;
        } else if (iequals(param.name, "client_max_window_bits")) {
            idx = 3;
        } else {
            return param_error::unknown;
        }
        if (seen[idx]) {
            return param_error::malformed;
        }
        seen[idx] = true;
        switch (idx) {
            case 0:
            case 1:
                if (param.value) {
                    return param_error::malformed;
                }
                (idx == 0 ? p.server_no_context_takeover : p.client_no_context_takeover) = true;
                break;
            case 2: {
                auto bits = parse_bits(param.value);
                if (!bits) {
                    return param_error::malformed;
                }
                p.server_max_window_bits = bits;
                break;
            }
            default: {
                p.has_client_max_window_bits = true;
                if (param.value) {
                    auto bits = parse_bits(param.value);
                    if (!bits) {
                        return param_error::malformed;
                    }
                    p.client_max_window_bits = bits;
                }
                break;
            }
        }
    }
    return param_error::none;
}

bool bits_ok(int b) {
    return b >= 8 && b <= 15;
}

}  // namespace

result<std::vector<extension_offer>> parse_extensions(std::string_view header,
                                                      const extension_header_limits& limits) {
    const auto bad = websocket_errc::bad_extension_offer;
    if (header.size() > limits.max_bytes) {
        return bad;
    }
    std::vector<extension_offer> out;
    cursor c{header};
    for (;;) {
        c.skip_ows();
        if (c.done()) {
            break;
        }
        if (c.peek() == ',') {  // an empty list element
            ++c.i;
            continue;
        }
        extension_offer e;
        e.name = std::string(c.token());
        if (e.name.empty()) {
            return bad;
        }
        for (;;) {
            c.skip_ows();
            if (c.done() || c.peek() == ',') {
                break;
            }
            if (c.peek() != ';') {
                return bad;
            }
            ++c.i;
            c.skip_ows();
            extension_param p;
            p.name = std::string(c.token());
            if (p.name.empty()) {
                return bad;
            }
            c.skip_ows();
            if (!c.done() && c.peek() == '=') {
                ++c.i;
                c.skip_ows();
                if (c.done()) {
                    return bad;
                }
                std::string v;
                if (c.peek() == '"') {
                    // RFC 6455 9.1: the unescaped value must still be a token.
                    if (!c.quoted(v) || v.empty() || !std::all_of(v.begin(), v.end(), is_tchar)) {
                        return bad;
                    }
                } else {
                    v = std::string(c.token());
                    if (v.empty()) {
                        return bad;
                    }
                }
                p.value = std::move(v);
            }
            if (e.params.size() == limits.max_params) {
                return bad;
            }
            e.params.push_back(std::move(p));
        }
        if (out.size() == limits.max_extensions) {
            return bad;
        }
        out.push_back(std::move(e));
        if (!c.done()) {
            ++c.i;  // the ','
        }
    }
    return out;
}

std::string format_offer(const deflate_offer& offer) {
    std::string s(k_name);
    if (offer.server_no_context_takeover) {
        s += "; server_no_context_takeover";
    }
    if (offer.client_no_context_takeover) {
        s += "; client_no_context_takeover";
    }
    if (offer.server_max_window_bits) {
        s += "; server_max_window_bits=" + std::to_string(*offer.server_max_window_bits);
    }
    if (offer.offer_client_max_window_bits || offer.client_max_window_bits) {
        s += "; client_max_window_bits";
        if (offer.client_max_window_bits) {
            s += "=" + std::to_string(*offer.client_max_window_bits);
        }
    }
    return s;
}

std::optional<deflate_agreement> accept(const std::vector<extension_offer>& offers,
                                        const deflate_server_config& config) {
    for (const auto& e : offers) {
        if (!iequals(e.name, k_name)) {
            continue;
        }
        pmd_params p;
        if (read_params(e, p) != param_error::none) {
            continue;  // RFC 7692 7.1: decline this offer, try the next
        }
        deflate_agreement a;
        a.server_no_context_takeover =
            p.server_no_context_takeover || config.server_no_context_takeover;
        a.client_no_context_takeover =
            p.client_no_context_takeover || config.client_no_context_takeover;
        a.server_max_window_bits = std::clamp(config.server_max_window_bits, 8, 15);
        if (p.server_max_window_bits) {
            a.server_max_window_bits =
                std::min(a.server_max_window_bits, *p.server_max_window_bits);
        }
        a.echo_server_max_window_bits = p.server_max_window_bits || a.server_max_window_bits < 15;
        if (p.has_client_max_window_bits) {
            a.client_max_window_bits = std::clamp(config.client_max_window_bits, 8, 15);
            if (p.client_max_window_bits) {
                a.client_max_window_bits =
                    std::min(a.client_max_window_bits, *p.client_max_window_bits);
            }
        }
        return a;
    }
    return std::nullopt;
}

std::string format_response(const deflate_agreement& a) {
    std::string s(k_name);
    if (a.server_no_context_takeover) {
        s += "; server_no_context_takeover";
    }
    if (a.client_no_context_takeover) {
        s += "; client_no_context_takeover";
    }
    if (a.server_max_window_bits < 15 || a.echo_server_max_window_bits) {
        s += "; server_max_window_bits=" + std::to_string(a.server_max_window_bits);
    }
    if (a.client_max_window_bits < 15) {
        s += "; client_max_window_bits=" + std::to_string(a.client_max_window_bits);
    }
    return s;
}

result<std::optional<deflate_agreement>> validate_response(std::string_view header,
                                                           const deflate_offer& offered) {
    auto parsed = parse_extensions(header);
    if (!parsed) {
        return parsed.error();
    }
    const auto& list = *parsed;
    if (list.empty()) {
        return std::optional<deflate_agreement>{};
    }
    if (list.size() != 1 || !iequals(list[0].name, k_name)) {
        return websocket_errc::handshake_extension;
    }
    pmd_params p;
    switch (read_params(list[0], p)) {
        case param_error::malformed:
            return websocket_errc::bad_extension_offer;
        case param_error::unknown:
            return websocket_errc::handshake_extension;
        case param_error::none:
            break;
    }
    const bool offered_cmwb =
        offered.offer_client_max_window_bits || offered.client_max_window_bits;
    if (p.has_client_max_window_bits) {
        // RFC 7692 7.1.2.2: only if offered, and always with a value.
        if (!offered_cmwb || !p.client_max_window_bits) {
            return websocket_errc::handshake_extension;
        }
        if (offered.client_max_window_bits &&
            *p.client_max_window_bits > *offered.client_max_window_bits) {
            return websocket_errc::handshake_extension;
        }
    }
    if (offered.server_max_window_bits) {
        // 7.1.2.1: the server must answer with the same or a smaller value.
        if (!p.server_max_window_bits ||
            *p.server_max_window_bits > *offered.server_max_window_bits) {
            return websocket_errc::handshake_extension;
        }
    }
    if (offered.server_no_context_takeover && !p.server_no_context_takeover) {
        // 7.1.1.1: a server accepting the offer must include it.
        return websocket_errc::handshake_extension;
    }
    deflate_agreement a;
    a.server_no_context_takeover = p.server_no_context_takeover;
    a.client_no_context_takeover =
        p.client_no_context_takeover || offered.client_no_context_takeover;
    a.server_max_window_bits = p.server_max_window_bits.value_or(15);
    a.echo_server_max_window_bits = p.server_max_window_bits.has_value();
    a.client_max_window_bits =
        p.client_max_window_bits.value_or(offered.client_max_window_bits.value_or(15));
    return std::optional<deflate_agreement>{a};
}

std::error_code check_rsv1(bool rsv1, bool is_control, bool is_continuation,
                           bool deflate_negotiated) noexcept {
    if (!rsv1) {
        return {};
    }
    if (!deflate_negotiated) {
        return websocket_errc::reserved_bits;
    }
    if (is_control) {
        return websocket_errc::compressed_control_frame;
    }
    if (is_continuation) {
        return websocket_errc::rsv1_on_continuation;
    }
    return {};
}

deflater_options sending_options(const deflate_agreement& a, deflate_side we_are,
                                 const deflater_options& base) {
    deflater_options o = base;
    const bool client = we_are == deflate_side::client;
    o.window_bits = client ? a.client_max_window_bits : a.server_max_window_bits;
    o.no_context_takeover = client ? a.client_no_context_takeover : a.server_no_context_takeover;
    return o;
}

inflater_options receiving_options(const deflate_agreement& a, deflate_side we_are,
                                   const inflater_options& base) {
    inflater_options o = base;
    const bool client = we_are == deflate_side::client;
    o.window_bits = client ? a.server_max_window_bits : a.client_max_window_bits;
    o.no_context_takeover = client ? a.server_no_context_takeover : a.client_no_context_takeover;
    return o;
}

// ---------------------------------------------------------------------------
// deflater

namespace {
constexpr std::array<std::uint8_t, 4> k_tail = {0x00, 0x00, 0xff, 0xff};
// zlib refuses raw windowBits 8 (see the header): 9 never emits a distance
// above 250.
int zlib_bits(int bits) {
    return std::max(bits, 9);
}
}  // namespace

struct deflater::impl {
    z_stream z{};
    deflater_options options;
    bool broken = false;
    ~impl() { deflateEnd(&z); }
};

result<deflater> deflater::create(const deflater_options& options) {
    if (!bits_ok(options.window_bits) || options.level < -1 || options.level > 9 ||
        options.mem_level < 1 || options.mem_level > 9) {
        return std::make_error_code(std::errc::invalid_argument);
    }
    auto p = std::make_unique<impl>();
    p->options = options;
    int rc = deflateInit2(&p->z, options.level, Z_DEFLATED, -zlib_bits(options.window_bits),
                          options.mem_level, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        // deflateEnd on a stream whose init failed is harmless (Z_STREAM_ERROR).
        return std::make_error_code(rc == Z_MEM_ERROR ? std::errc::not_enough_memory
                                                      : std::errc::invalid_argument);
    }
    return deflater(std::move(p));
}

deflater::deflater(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
deflater::deflater(deflater&&) noexcept = default;
deflater& deflater::operator=(deflater&&) noexcept = default;
deflater::~deflater() = default;

bool deflater::should_compress(std::size_t size) const noexcept {
    return size >= impl_->options.compression_threshold;
}

result<void> deflater::compress(std::span<const std::uint8_t> input, bool fin,
                                std::vector<std::uint8_t>& out) {
    impl& d = *impl_;
    if (d.broken) {
        return std::make_error_code(std::errc::io_error);
    }
    const std::size_t start = out.size();
    // zlib's API takes a non-const pointer but does not write through next_in.
    const int flush = fin ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    std::size_t off = 0;
    do {
        const auto n = static_cast<uInt>(std::min<std::size_t>(input.size() - off, 1u << 30));
        const bool last = off + n == input.size();
        d.z.next_in = const_cast<Bytef*>(input.data() + off);
        d.z.avail_in = n;
        do {
            // deflateBound plus room for the flush marker; the loop covers the rest.
            const std::size_t room = deflateBound(&d.z, d.z.avail_in) + 16;
            const std::size_t old = out.size();
            out.resize(old + room);
            d.z.next_out = out.data() + old;
            d.z.avail_out = static_cast<uInt>(room);
            const int rc = deflate(&d.z, last ? flush : Z_NO_FLUSH);
            out.resize(old + (room - d.z.avail_out));
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                d.broken = true;
                return std::make_error_code(std::errc::io_error);
            }
        } while (d.z.avail_in != 0 || d.z.avail_out == 0);
        off += n;
    } while (off < input.size());
    if (fin) {
        const std::size_t produced = out.size() - start;
        if (produced == 0) {
            // zlib skips a Z_SYNC_FLUSH right after another with no input in
            // between (an empty message after a flushed one). The stream is
            // byte-aligned there, so an empty stored block's payload, 00
            // (00 00 ff ff being the tail), keeps both ends in step.
            out.push_back(0x00);
            if (d.options.no_context_takeover) {
                deflateReset(&d.z);
            }
            return {};
        }
        if (produced < 4 || !std::equal(k_tail.begin(), k_tail.end(), out.end() - 4)) {
            d.broken = true;
            return std::make_error_code(std::errc::io_error);
        }
        out.resize(out.size() - 4);
        if (out.size() == start) {
            out.push_back(0x00);  // RFC 7692 7.2.3.6: an empty message is one 00 byte
        }
        if (d.options.no_context_takeover) {
            deflateReset(&d.z);
        }
    }
    return {};
}

// ---------------------------------------------------------------------------
// inflater

struct inflater::impl {
    z_stream z{};
    inflater_options options;
    std::size_t produced = 0;   // inflated bytes of the current message
    std::size_t consumed = 0;   // compressed bytes of the current message
    bool stream_ended = false;  // a BFINAL block ended the deflate stream
    std::error_code failed;
    ~impl() { inflateEnd(&z); }

    std::error_code fail(websocket_errc e) {
        failed = make_error_code(e);
        return failed;
    }

    // Runs zlib over next_in/avail_in until it is consumed and no output is
    // pending, appending to `out` within the limit.
    std::error_code run(std::vector<std::uint8_t>& out, bool is_tail) {
        constexpr std::size_t k_step = 16 * 1024;
        for (;;) {
            if (stream_ended) {
                // Data after the final block: the appended tail is ignored,
                // anything the peer sent is an error.
                if (z.avail_in != 0 && !is_tail) {
                    return fail(websocket_errc::inflate_failed);
                }
                z.avail_in = 0;
                return {};
            }
            const std::size_t room_left = options.max_message_size - produced;
            int rc;
            bool full;
            if (room_left == 0) {
                // At the limit: probe for one more byte without growing `out`.
                std::uint8_t probe = 0;
                z.next_out = &probe;
                z.avail_out = 1;
                rc = ::inflate(&z, Z_SYNC_FLUSH);
                if (z.avail_out == 0) {
                    return fail(websocket_errc::inflated_too_large);
                }
                full = false;
            } else {
                const std::size_t step = std::min(room_left, k_step);
                const std::size_t old = out.size();
                if (out.capacity() < old + step) {
                    // Geometric growth, but never past what the limit allows.
                    out.reserve(
                        std::min(std::max(out.capacity() * 2, old + step), old + room_left));
                }
                out.resize(old + step);
                z.next_out = out.data() + old;
                z.avail_out = static_cast<uInt>(step);
                rc = ::inflate(&z, Z_SYNC_FLUSH);
                const std::size_t written = step - z.avail_out;
                out.resize(old + written);
                produced += written;
                full = z.avail_out == 0;
            }
            if (rc == Z_STREAM_END) {
                stream_ended = true;
                continue;
            }
            if (rc == Z_BUF_ERROR) {
                // No progress possible: input exhausted (or output full, then loop).
                if (z.avail_in == 0 && !full) {
                    return {};
                }
                if (!full) {
                    return fail(websocket_errc::inflate_failed);
                }
                continue;
            }
            if (rc != Z_OK) {
                return fail(websocket_errc::inflate_failed);
            }
            if (z.avail_in == 0 && !full) {
                return {};
            }
        }
    }
};

result<inflater> inflater::create(const inflater_options& options) {
    if (!bits_ok(options.window_bits) || options.max_message_size == 0) {
        return std::make_error_code(std::errc::invalid_argument);
    }
    auto p = std::make_unique<impl>();
    p->options = options;
    int rc = inflateInit2(&p->z, -zlib_bits(options.window_bits));
    if (rc != Z_OK) {
        return std::make_error_code(rc == Z_MEM_ERROR ? std::errc::not_enough_memory
                                                      : std::errc::invalid_argument);
    }
    return inflater(std::move(p));
}

inflater::inflater(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
inflater::inflater(inflater&&) noexcept = default;
inflater& inflater::operator=(inflater&&) noexcept = default;
inflater::~inflater() = default;

std::size_t inflater::message_size() const noexcept {
    return impl_->produced;
}

result<void> inflater::inflate(std::span<const std::uint8_t> chunk, bool fin,
                               std::vector<std::uint8_t>& out) {
    impl& d = *impl_;
    if (d.failed) {
        return d.failed;
    }
    // Chunks come from frames, whose payload the frame codec bounds; feed
    // zlib in uInt-sized pieces regardless.
    std::size_t off = 0;
    while (off < chunk.size()) {
        const auto n = static_cast<uInt>(std::min<std::size_t>(chunk.size() - off, 1u << 30));
        d.z.next_in = const_cast<Bytef*>(chunk.data() + off);
        d.z.avail_in = n;
        if (auto ec = d.run(out, false)) {
            return ec;
        }
        off += n;
    }
    d.consumed += chunk.size();
    if (fin) {
        if (d.consumed == 0) {
            // An empty payload is not DEFLATE data once the tail is appended
            // (00 00 ff ff reads as a stored block of 0xff00 bytes, which
            // would swallow the next message's bytes as data); RFC 7692
            // 7.2.3.6 has senders send 00 for an empty message. A deflater
            // asked for a second sync flush without input produces nothing,
            // so take it as the empty message it means, leaving the stream
            // untouched.
            if (d.options.no_context_takeover) {
                inflateReset(&d.z);
            }
            d.produced = 0;
            return {};
        }
        d.z.next_in = const_cast<Bytef*>(k_tail.data());
        d.z.avail_in = static_cast<uInt>(k_tail.size());
        if (auto ec = d.run(out, true)) {
            return ec;
        }
        // The tail's empty stored block must end the message at a block
        // boundary (zlib: data_type bit 128, "just after an end-of-block").
        // Elsewhere the payload was cut short, and going on would read the
        // next message as the rest of this one's block.
        if (!d.stream_ended && (d.z.data_type & 128) == 0) {
            return d.fail(websocket_errc::inflate_failed);
        }
        // A new message: reset the window when the peer does not keep it,
        // and always after a final block (a new deflate stream follows).
        if (d.options.no_context_takeover || d.stream_ended) {
            inflateReset(&d.z);
        }
        d.stream_ended = false;
        d.produced = 0;
        d.consumed = 0;
    }
    return {};
}

}  // namespace corvid::ws
