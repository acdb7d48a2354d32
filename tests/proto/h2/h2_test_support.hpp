#pragma once

// Test helpers for proto/h2: a client and a server session pumping bytes to
// each other in memory, an event log that owns the received body bytes, and
// a raw frame parser plus HPACK decoder (nghttp2's inflater) to check what
// goes on the wire.

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/h2/session.hpp"

namespace corvid::h2::test {

/// Everything one side saw about one stream.
struct stream_log {
    std::vector<response_event> responses;  ///< informational heads, then the final one
    std::optional<request_event> request;
    std::string body;
    bool body_ended = false;
    std::optional<headers> trailers;
    std::optional<stream_closed_event> closed;
};

/// Events of one side, with data copied out (data_event views die with the
/// input buffer).
struct event_log {
    std::map<std::int32_t, stream_log> streams;
    std::vector<goaway_event> goaways;
    std::vector<settings_event> settings;
    std::vector<ping_ack_event> pings;
    std::vector<stream_writable_event> writable;
    std::vector<std::int32_t> order;  ///< stream id of every head/data/close event
    bool auto_consume = true;
    std::map<std::int32_t, std::size_t> unconsumed;

    void drain(session& s) {
        while (auto e = s.next_event()) {
            record(s, std::move(*e));
        }
    }

    void record(session& s, event e) {
        if (auto* r = std::get_if<response_event>(&e)) {
            order.push_back(r->stream_id);
            auto& log = streams[r->stream_id];
            log.body_ended = log.body_ended || r->end_stream;
            log.responses.push_back(std::move(*r));
        } else if (auto* q = std::get_if<request_event>(&e)) {
            order.push_back(q->stream_id);
            auto& log = streams[q->stream_id];
            log.body_ended = q->end_stream;
            log.request = std::move(*q);
        } else if (auto* d = std::get_if<data_event>(&e)) {
            order.push_back(d->stream_id);
            auto& log = streams[d->stream_id];
            log.body.append(d->data);
            log.body_ended = log.body_ended || d->end_stream;
            if (auto_consume) {
                s.consume(d->stream_id, d->data.size());
            } else {
                unconsumed[d->stream_id] += d->data.size();
            }
        } else if (auto* t = std::get_if<trailers_event>(&e)) {
            auto& log = streams[t->stream_id];
            log.trailers = std::move(t->fields);
            log.body_ended = true;
        } else if (auto* c = std::get_if<stream_closed_event>(&e)) {
            order.push_back(c->stream_id);
            streams[c->stream_id].closed = *c;
        } else if (auto* g = std::get_if<goaway_event>(&e)) {
            goaways.push_back(std::move(*g));
        } else if (auto* st = std::get_if<settings_event>(&e)) {
            settings.push_back(*st);
        } else if (auto* p = std::get_if<ping_ack_event>(&e)) {
            pings.push_back(*p);
        } else if (auto* w = std::get_if<stream_writable_event>(&e)) {
            writable.push_back(*w);
        }
    }

    /// Releases the window for everything received and not yet consumed.
    void consume_all(session& s) {
        for (auto& [id, n] : unconsumed) {
            s.consume(id, n);
        }
        unconsumed.clear();
    }
};

/// Moves everything `from` has to send into `to`; returns the bytes moved.
/// Asserts that `to` accepted them. `wire` (optional) gets a copy.
inline std::size_t transfer(session& from, session& to, event_log& to_log,
                            std::string* wire = nullptr) {
    std::size_t moved = 0;
    for (;;) {
        std::string_view out = from.pending_output();
        if (out.empty()) {
            return moved;
        }
        std::string bytes(out);
        from.consume_output(out.size());
        if (wire != nullptr) {
            wire->append(bytes);
        }
        moved += bytes.size();
        std::error_code ec = to.receive(bytes);
        EXPECT_FALSE(ec) << ec.message();
        to_log.drain(to);
    }
}

/// A client and a server connected in memory.
struct session_pair {
    client_session client;
    server_session server;
    event_log client_log;
    event_log server_log;
    std::string client_wire;  ///< every byte the client sent
    std::string server_wire;  ///< every byte the server sent

    explicit session_pair(const client_options& co = {}, const server_options& so = {})
        : client(client_session::create(co).value()), server(server_session::create(so).value()) {}

    /// Pumps both ways until neither side has anything to send.
    void pump() {
        for (int round = 0; round < 10000; ++round) {
            std::size_t n = transfer(client, server, server_log, &client_wire);
            n += transfer(server, client, client_log, &server_wire);
            // Writable events come from pending_output(): collect them too.
            client_log.drain(client);
            server_log.drain(server);
            if (n == 0) {
                return;
            }
        }
        ADD_FAILURE() << "pump did not settle";
    }
};

// --- raw frames ---------------------------------------------------------------

inline constexpr std::string_view client_magic = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct raw_frame {
    std::uint8_t type = 0;
    std::uint8_t flags = 0;
    std::int32_t stream_id = 0;
    std::string payload;
};

/// Splits `bytes` (without the client magic) into frames; a trailing partial
/// frame fails the test.
inline std::vector<raw_frame> parse_frames(std::string_view bytes) {
    std::vector<raw_frame> frames;
    while (!bytes.empty()) {
        if (bytes.size() < 9) {
            ADD_FAILURE() << "partial frame header";
            break;
        }
        auto b = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
        const std::size_t len = (std::size_t{b(0)} << 16) | (std::size_t{b(1)} << 8) | b(2);
        raw_frame f;
        f.type = b(3);
        f.flags = b(4);
        f.stream_id = static_cast<std::int32_t>(((std::uint32_t{b(5)} & 0x7f) << 24) |
                                                (std::uint32_t{b(6)} << 16) |
                                                (std::uint32_t{b(7)} << 8) | b(8));
        if (bytes.size() < 9 + len) {
            ADD_FAILURE() << "partial frame payload";
            break;
        }
        f.payload.assign(bytes.substr(9, len));
        frames.push_back(std::move(f));
        bytes.remove_prefix(9 + len);
    }
    return frames;
}

inline std::uint32_t be32(std::string_view p) {
    auto b = [&](std::size_t i) { return static_cast<std::uint8_t>(p[i]); };
    return (std::uint32_t{b(0)} << 24) | (std::uint32_t{b(1)} << 16) | (std::uint32_t{b(2)} << 8) |
           b(3);
}

/// Builds one frame.
inline std::string make_frame(std::uint8_t type, std::uint8_t flags, std::int32_t stream_id,
                              std::string_view payload) {
    std::string f;
    const auto len = static_cast<std::uint32_t>(payload.size());
    f.push_back(static_cast<char>((len >> 16) & 0xff));
    f.push_back(static_cast<char>((len >> 8) & 0xff));
    f.push_back(static_cast<char>(len & 0xff));
    f.push_back(static_cast<char>(type));
    f.push_back(static_cast<char>(flags));
    const auto id = static_cast<std::uint32_t>(stream_id);
    f.push_back(static_cast<char>((id >> 24) & 0x7f));
    f.push_back(static_cast<char>((id >> 16) & 0xff));
    f.push_back(static_cast<char>((id >> 8) & 0xff));
    f.push_back(static_cast<char>(id & 0xff));
    f.append(payload);
    return f;
}

/// Decodes HPACK header blocks in order with one inflater (its dynamic table
/// carries over from block to block, as on a connection).
class hpack_decoder {
  public:
    hpack_decoder() { nghttp2_hd_inflate_new(&inflater_); }
    ~hpack_decoder() { nghttp2_hd_inflate_del(inflater_); }
    hpack_decoder(const hpack_decoder&) = delete;
    hpack_decoder& operator=(const hpack_decoder&) = delete;

    std::vector<std::pair<std::string, std::string>> decode(std::string_view block) {
        std::vector<std::pair<std::string, std::string>> out;
        auto* in = reinterpret_cast<const std::uint8_t*>(block.data());
        std::size_t left = block.size();
        for (;;) {
            nghttp2_nv nv;
            int flags = 0;
            const ssize_t n = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, in, left, 1);
            if (n < 0) {
                ADD_FAILURE() << "HPACK decoding failed";
                return out;
            }
            in += n;
            left -= static_cast<std::size_t>(n);
            if ((flags & NGHTTP2_HD_INFLATE_EMIT) != 0) {
                out.emplace_back(std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                                 std::string(reinterpret_cast<char*>(nv.value), nv.valuelen));
            }
            if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
                nghttp2_hd_inflate_end_headers(inflater_);
                return out;
            }
            if (n == 0 && left == 0) {
                return out;
            }
        }
    }

  private:
    nghttp2_hd_inflater* inflater_ = nullptr;
};

/// Encodes header blocks with nghttp2's deflater, to build frames by hand.
class hpack_encoder {
  public:
    hpack_encoder() { nghttp2_hd_deflate_new(&deflater_, 4096); }
    ~hpack_encoder() { nghttp2_hd_deflate_del(deflater_); }
    hpack_encoder(const hpack_encoder&) = delete;
    hpack_encoder& operator=(const hpack_encoder&) = delete;

    std::string encode(const std::vector<std::pair<std::string, std::string>>& fields) {
        std::vector<nghttp2_nv> nva;
        for (const auto& [n, v] : fields) {
            nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                           reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(),
                           v.size(), NGHTTP2_NV_FLAG_NONE});
        }
        std::string out(nghttp2_hd_deflate_bound(deflater_, nva.data(), nva.size()), '\0');
        const ssize_t n =
            nghttp2_hd_deflate_hd(deflater_, reinterpret_cast<std::uint8_t*>(out.data()),
                                  out.size(), nva.data(), nva.size());
        EXPECT_GE(n, 0);
        out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
        return out;
    }

  private:
    nghttp2_hd_deflater* deflater_ = nullptr;
};

/// The header block of a HEADERS frame without padding and priority fields.
inline std::string_view headers_block(const raw_frame& f) {
    std::string_view p = f.payload;
    std::size_t pad = 0;
    if ((f.flags & NGHTTP2_FLAG_PADDED) != 0) {
        pad = static_cast<std::uint8_t>(p[0]);
        p.remove_prefix(1);
    }
    if ((f.flags & NGHTTP2_FLAG_PRIORITY) != 0) {
        p.remove_prefix(5);
    }
    return p.substr(0, p.size() - pad);
}

}  // namespace corvid::h2::test
