// proto/h2/frame_log: the client side of Chromium 156's and Firefox ESR 153's
// HTTP/2 connections, rebuilt frame by frame from what nghttpd -v logged
// (tests/data/fingerprints/*-h2-frames.txt), decodes to the Akamai strings
// of shared/fingerprints/README.md and the header order of the logs; bad
// input gives the documented errors.

#include "proto/h2/frame_log.hpp"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "proto/tls/capture_data.hpp"

namespace corvid::h2 {
namespace {

using field_list = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// --- Frame building ---

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                  const std::string& payload) {
    std::string f;
    f += static_cast<char>(payload.size() >> 16);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size());
    f += static_cast<char>(type);
    f += static_cast<char>(flags);
    for (int shift = 24; shift >= 0; shift -= 8) {
        f += static_cast<char>(stream >> shift);
    }
    return f + payload;
}

std::string be32(std::uint32_t v) {
    std::string s;
    for (int shift = 24; shift >= 0; shift -= 8) {
        s += static_cast<char>(v >> shift);
    }
    return s;
}

std::string settings_frame(const std::vector<setting_entry>& entries) {
    std::string p;
    for (const auto& e : entries) {
        p += static_cast<char>(e.id >> 8);
        p += static_cast<char>(e.id);
        p += be32(e.value);
    }
    return frame(frame_type::settings, 0, 0, p);
}

std::string window_update(std::uint32_t stream, std::uint32_t increment) {
    return frame(frame_type::window_update, 0, stream, be32(increment));
}

std::string priority_payload(const priority_fields& p) {
    return be32(p.dependency | (p.exclusive ? 0x80000000u : 0)) + static_cast<char>(p.weight - 1);
}

/// HPACK with nghttp2's deflater, as a browser's encoder would.
std::string hpack(const field_list& fields) {
    nghttp2_hd_deflater* deflater = nullptr;
    EXPECT_EQ(nghttp2_hd_deflate_new(&deflater, 4096), 0);
    std::vector<nghttp2_nv> nva;
    for (const auto& [name, value] : fields) {
        nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                       reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())),
                       name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    std::string out(nghttp2_hd_deflate_bound(deflater, nva.data(), nva.size()), '\0');
    const auto n = nghttp2_hd_deflate_hd(deflater, reinterpret_cast<std::uint8_t*>(out.data()),
                                         out.size(), nva.data(), nva.size());
    EXPECT_GT(n, 0);
    out.resize(static_cast<std::size_t>(n));
    nghttp2_hd_deflate_del(deflater);
    return out;
}

std::string headers_frame(std::uint32_t stream, const priority_fields& prio,
                          const std::string& block, std::uint8_t extra_flags = 0x05) {
    return frame(frame_type::headers, static_cast<std::uint8_t>(0x20 | extra_flags), stream,
                 priority_payload(prio) + block);
}

// --- What nghttpd -v logged ---

struct logged_connection {
    std::vector<setting_entry> settings;
    std::uint32_t connection_window_update = 0;
    std::uint32_t stream = 0;
    field_list fields;
    priority_fields priority;
    std::vector<window_update_record> stream_window_updates;
};

/// Reads one connection's client frames from an nghttpd -v log: the first
/// received SETTINGS with entries, the connection WINDOW_UPDATE, the first
/// request's header list and HEADERS priority, and stream WINDOW_UPDATEs.
logged_connection read_log(const std::string& name) {
    std::istringstream in(test::read_file(test::fingerprint_data_dir() / name));
    logged_connection c;
    const std::regex setting_re(R"(\[SETTINGS_\w+\(0x([0-9a-f]+)\):(\d+)\])");
    const std::regex header_re(R"(recv \(stream_id=(\d+)\) (:?[^:]+): (.*)$)");
    const std::regex wu_re(R"(recv WINDOW_UPDATE frame <length=4, flags=0x00, stream_id=(\d+)>)");
    const std::regex inc_re(R"(window_size_increment=(\d+))");
    const std::regex prio_re(R"(dep_stream_id=(\d+), weight=(\d+), exclusive=(\d))");
    std::string line;
    bool in_settings = false;
    bool settings_done = false;
    std::int64_t wu_stream = -1;
    bool headers_done = false;
    std::smatch m;
    while (std::getline(in, line)) {
        if (line.find("recv SETTINGS frame") != std::string::npos && !settings_done &&
            line.find("length=0") == std::string::npos) {
            in_settings = true;
            continue;
        }
        if (in_settings) {
            if (std::regex_search(line, m, setting_re)) {
                c.settings.push_back({static_cast<std::uint16_t>(std::stoul(m[1], nullptr, 16)),
                                      static_cast<std::uint32_t>(std::stoul(m[2]))});
                continue;
            }
            if (line.find("(niv=") != std::string::npos) {
                continue;
            }
            in_settings = false;
            settings_done = true;
        }
        if (std::regex_search(line, m, wu_re)) {
            wu_stream = std::stoll(m[1]);
            continue;
        }
        if (wu_stream >= 0 && std::regex_search(line, m, inc_re)) {
            const auto inc = static_cast<std::uint32_t>(std::stoul(m[1]));
            if (wu_stream == 0) {
                if (c.connection_window_update == 0) {
                    c.connection_window_update = inc;
                }
            } else if (static_cast<std::uint32_t>(wu_stream) == c.stream) {
                c.stream_window_updates.push_back({c.stream, inc});
            }
            wu_stream = -1;
            continue;
        }
        if (!headers_done && std::regex_search(line, m, header_re)) {
            const auto stream = static_cast<std::uint32_t>(std::stoul(m[1]));
            if (c.stream == 0) {
                c.stream = stream;
            }
            if (stream == c.stream) {
                c.fields.emplace_back(m[2], m[3]);
            }
            continue;
        }
        if (!headers_done && c.stream != 0 && std::regex_search(line, m, prio_re)) {
            c.priority.dependency = static_cast<std::uint32_t>(std::stoul(m[1]));
            c.priority.weight = static_cast<std::uint16_t>(std::stoul(m[2]));
            c.priority.exclusive = m[3] == "1";
            headers_done = true;
        }
    }
    return c;
}

/// The client's bytes: preface, SETTINGS, WINDOW_UPDATE, HEADERS, and the
/// stream WINDOW_UPDATEs that followed.
std::string client_bytes(const logged_connection& c) {
    std::string out(preface);
    out += settings_frame(c.settings);
    out += window_update(0, c.connection_window_update);
    out += headers_frame(c.stream, c.priority, hpack(c.fields));
    for (const auto& w : c.stream_window_updates) {
        out += window_update(w.stream_id, w.increment);
    }
    return out;
}

std::vector<std::string> names(const field_list& fields) {
    std::vector<std::string> out;
    for (const auto& f : fields) {
        out.push_back(f.first);
    }
    return out;
}

TEST(FrameLog, Chromium156) {
    const auto c = read_log("chromium156-h2-frames.txt");
    ASSERT_EQ(c.settings.size(), 4u);
    ASSERT_EQ(c.stream, 1u);
    frame_log_decoder d;
    ASSERT_FALSE(d.feed(client_bytes(c)));
    EXPECT_FALSE(d.mid_frame());
    const auto& log = d.log();
    EXPECT_EQ(akamai_string(log), "1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p");
    ASSERT_EQ(log.frames.size(), 3u);
    EXPECT_EQ(log.frames[2].type, frame_type::headers);
    EXPECT_EQ(log.frames[2].flags, 0x25);
    EXPECT_EQ(log.frames[2].stream_id, 1u);
    ASSERT_EQ(log.header_blocks.size(), 1u);
    const auto& block = log.header_blocks[0];
    EXPECT_TRUE(block.end_stream);
    ASSERT_TRUE(block.priority);
    EXPECT_TRUE(block.priority->exclusive);
    EXPECT_EQ(block.priority->dependency, 0u);
    EXPECT_EQ(block.priority->weight, 256);
    EXPECT_EQ(block.fields, c.fields);
    EXPECT_EQ(names(block.fields),
              (std::vector<std::string>{
                  ":method", ":authority", ":scheme", ":path", "sec-ch-ua", "sec-ch-ua-mobile",
                  "sec-ch-ua-platform", "upgrade-insecure-requests", "user-agent", "accept",
                  "sec-fetch-site", "sec-fetch-mode", "sec-fetch-user", "sec-fetch-dest",
                  "accept-encoding", "accept-language", "priority"}));
    EXPECT_EQ(block.fields[4].second, R"("Not:A-Brand";v="8", "Chromium";v="156")");
}

TEST(FrameLog, Firefox153) {
    const auto c = read_log("firefox153-h2-frames.txt");
    ASSERT_EQ(c.stream, 3u);
    frame_log_decoder d;
    ASSERT_FALSE(d.feed(client_bytes(c)));
    const auto& log = d.log();
    EXPECT_EQ(akamai_string(log), "1:65536;2:0;4:131072;5:16384|12517377|0|m,p,a,s");
    ASSERT_EQ(log.header_blocks.size(), 1u);
    const auto& block = log.header_blocks[0];
    ASSERT_TRUE(block.priority);
    EXPECT_FALSE(block.priority->exclusive);
    EXPECT_EQ(block.priority->weight, 42);
    EXPECT_EQ(names(block.fields),
              (std::vector<std::string>{":method", ":path", ":authority", ":scheme", "user-agent",
                                        "accept", "accept-language", "accept-encoding",
                                        "upgrade-insecure-requests", "sec-fetch-dest",
                                        "sec-fetch-mode", "sec-fetch-site", "priority", "te"}));
    ASSERT_EQ(log.stream_window_updates.size(), 1u);
    EXPECT_EQ(log.stream_window_updates[0].stream_id, 3u);
    EXPECT_EQ(log.stream_window_updates[0].increment, 12451840u);
    EXPECT_EQ(log.connection_window_updates, (std::vector<std::uint32_t>{12517377}));
}

TEST(FrameLog, ByteByByteEqualsAllAtOnce) {
    for (const char* name : {"chromium156-h2-frames.txt", "firefox153-h2-frames.txt"}) {
        const auto bytes = client_bytes(read_log(name));
        frame_log_decoder whole;
        ASSERT_FALSE(whole.feed(bytes));
        frame_log_decoder bytewise;
        for (char ch : bytes) {
            ASSERT_FALSE(bytewise.feed(std::string_view(&ch, 1)));
        }
        EXPECT_FALSE(bytewise.mid_frame());
        EXPECT_EQ(akamai_string(bytewise.log()), akamai_string(whole.log()));
        EXPECT_EQ(bytewise.log().header_blocks[0].fields, whole.log().header_blocks[0].fields);
        EXPECT_EQ(bytewise.log().frames.size(), whole.log().frames.size());
    }
}

TEST(FrameLog, EveryPrefixIsFineAndIncomplete) {
    const auto bytes = client_bytes(read_log("chromium156-h2-frames.txt"));
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        frame_log_decoder d;
        ASSERT_FALSE(d.feed(std::string_view(bytes).substr(0, n))) << n;
        if (n > 0) {
            // Every frame boundary before the end leaves a complete log so far.
            const bool at_boundary = !d.mid_frame();
            if (at_boundary) {
                EXPECT_TRUE(d.log().preface_seen) << n;
            }
        }
    }
}

TEST(FrameLog, ContinuationAndPadding) {
    const auto c = read_log("chromium156-h2-frames.txt");
    const auto block = hpack(c.fields);
    const std::size_t cut1 = 7;
    const std::size_t cut2 = block.size() / 2;
    std::string bytes(preface);
    bytes += settings_frame(c.settings);
    // HEADERS with padding and priority, without END_HEADERS, then two
    // CONTINUATIONs.
    std::string payload;
    payload += static_cast<char>(3);  // pad length
    payload += priority_payload({true, 0, 256});
    payload += block.substr(0, cut1);
    payload += std::string(3, '\0');
    bytes += frame(frame_type::headers, 0x08 | 0x20 | 0x01, 1, payload);
    bytes += frame(frame_type::continuation, 0, 1, block.substr(cut1, cut2 - cut1));
    bytes += frame(frame_type::continuation, 0x04, 1, block.substr(cut2));
    frame_log_decoder d;
    ASSERT_FALSE(d.feed(bytes));
    EXPECT_FALSE(d.mid_frame());
    ASSERT_EQ(d.log().header_blocks.size(), 1u);
    EXPECT_EQ(d.log().header_blocks[0].fields, c.fields);
    EXPECT_EQ(akamai_string(d.log()), "1:65536;2:0;4:6291456;6:262144|00|0|m,a,s,p");
}

TEST(FrameLog, PriorityFramesAndLaterFrames) {
    std::string bytes(preface);
    bytes += settings_frame({{3, 100}});
    bytes += frame(frame_type::settings, 0x01, 0, "");  // ACK
    bytes += settings_frame({{1, 4096}});               // a second SETTINGS
    bytes += frame(frame_type::priority, 0, 3, priority_payload({false, 0, 201}));
    bytes += frame(frame_type::priority, 0, 5, priority_payload({true, 3, 1}));
    bytes += frame(frame_type::data, 0x01, 1, std::string(40000, 'x'));  // skipped, not buffered
    bytes += frame(frame_type::ping, 0, 0, std::string(8, '\0'));
    bytes += frame(0xfa, 0, 0, "unknown");
    bytes += headers_frame(7, {false, 0, 16},
                           hpack({{":method", "GET"},
                                  {":scheme", "https"},
                                  {":path", "/"},
                                  {":authority", "a"},
                                  {":protocol", "websocket"}}));
    frame_log_decoder d;
    ASSERT_FALSE(d.feed(bytes));
    const auto& log = d.log();
    EXPECT_EQ(log.frames.size(), 9u);
    ASSERT_TRUE(log.settings);
    EXPECT_EQ(log.settings->size(), 1u);  // only the first non-ACK SETTINGS
    EXPECT_EQ(akamai_string(log), "3:100|00|3:0:0:201,5:1:3:1|m,s,p,a");
}

TEST(FrameLog, EmptyLog) {
    frame_log_decoder d;
    EXPECT_EQ(akamai_string(d.log()), "|00|0|");
    EXPECT_FALSE(d.mid_frame());
    ASSERT_FALSE(d.feed(preface.substr(0, 10)));
    EXPECT_TRUE(d.mid_frame());
}

TEST(FrameLog, FrameLimitTruncates) {
    frame_log_limits limits;
    limits.max_frames = 2;
    frame_log_decoder d(limits);
    std::string bytes(preface);
    bytes += settings_frame({{1, 1}});
    bytes += window_update(0, 10);
    bytes += window_update(0, 20);
    bytes += "garbage that is never looked at";
    EXPECT_FALSE(d.feed(bytes));
    EXPECT_TRUE(d.log().truncated);
    EXPECT_EQ(d.log().frames.size(), 2u);
    EXPECT_EQ(d.log().connection_window_updates, (std::vector<std::uint32_t>{10}));
    EXPECT_FALSE(d.feed("more"));
}

std::error_code error_of(const std::string& after_preface, const frame_log_limits& limits = {}) {
    frame_log_decoder d(limits);
    const auto ec = d.feed(std::string(preface) + after_preface);
    // Errors are final.
    EXPECT_EQ(d.feed(settings_frame({})), ec);
    EXPECT_EQ(d.error(), ec);
    return ec;
}

TEST(FrameLog, MalformedInput) {
    {
        frame_log_decoder d;
        EXPECT_EQ(d.feed("GET / HTTP/1.1\r\n"), http2_errc::bad_preface);
        frame_log_decoder late;
        EXPECT_FALSE(late.feed(preface.substr(0, 20)));
        EXPECT_EQ(late.feed("XXXX"), http2_errc::bad_preface);
    }
    const std::string block = hpack({{":method", "GET"}});
    struct bad_case {
        const char* name;
        std::string bytes;
        http2_errc expected;
    };
    const std::vector<bad_case> cases = {
        {"SETTINGS of 5 bytes", frame(frame_type::settings, 0, 0, "12345"),
         http2_errc::frame_size_error},
        {"SETTINGS on a stream", frame(frame_type::settings, 0, 1, ""), http2_errc::protocol_error},
        {"SETTINGS ACK with payload", frame(frame_type::settings, 1, 0, "123456"),
         http2_errc::frame_size_error},
        {"WINDOW_UPDATE of 3 bytes", frame(frame_type::window_update, 0, 0, "123"),
         http2_errc::frame_size_error},
        {"WINDOW_UPDATE of 0", window_update(0, 0), http2_errc::protocol_error},
        {"WINDOW_UPDATE of 0 on a stream", window_update(1, 0x80000000u),
         http2_errc::protocol_error},
        {"PRIORITY on stream 0", frame(frame_type::priority, 0, 0, "12345"),
         http2_errc::protocol_error},
        {"PRIORITY of 4 bytes", frame(frame_type::priority, 0, 1, "1234"),
         http2_errc::frame_size_error},
        {"HEADERS on stream 0", frame(frame_type::headers, 4, 0, block),
         http2_errc::protocol_error},
        {"HEADERS padding too long", frame(frame_type::headers, 0x0c, 1, "\x09" + block),
         http2_errc::frame_size_error},
        {"HEADERS padded and empty", frame(frame_type::headers, 0x0c, 1, ""),
         http2_errc::frame_size_error},
        {"HEADERS priority too short", frame(frame_type::headers, 0x24, 1, "123"),
         http2_errc::frame_size_error},
        {"frame inside a header block",
         frame(frame_type::headers, 0, 1, block) + window_update(0, 1), http2_errc::protocol_error},
        {"CONTINUATION outside a block", frame(frame_type::continuation, 4, 1, block),
         http2_errc::protocol_error},
        {"CONTINUATION on another stream",
         frame(frame_type::headers, 0, 1, "") + frame(frame_type::continuation, 4, 3, block),
         http2_errc::protocol_error},
        {"bad HPACK", frame(frame_type::headers, 4, 1, "\xff\xff\xff\xff\xff\xff"),
         http2_errc::compression_error},
        {"HPACK index out of range", frame(frame_type::headers, 4, 1, "\xff\x70"),
         http2_errc::compression_error},
        {"HPACK block cut at END_HEADERS", frame(frame_type::headers, 4, 1, block + "\x40\x05"),
         http2_errc::compression_error},
        {"oversized SETTINGS", frame(frame_type::settings, 0, 0, std::string(16386, '\0')),
         http2_errc::frame_size_error},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(error_of(c.bytes), c.expected) << c.name;
    }
}

TEST(FrameLog, HeaderLimits) {
    const field_list big = {{":method", "GET"}, {"x-long", std::string(3000, 'a')}};
    const std::string block = hpack(big);
    frame_log_limits small_block;
    small_block.max_header_block = 1000;
    EXPECT_EQ(error_of(frame(frame_type::headers, 4, 1, block), small_block),
              http2_errc::header_list_too_large);
    frame_log_limits small_list;
    small_list.max_header_list = 2000;
    EXPECT_EQ(error_of(frame(frame_type::headers, 4, 1, block), small_list),
              http2_errc::header_list_too_large);
    // The limit counts CONTINUATION frames too.
    EXPECT_EQ(error_of(frame(frame_type::headers, 0, 1, block.substr(0, 600)) +
                           frame(frame_type::continuation, 4, 1, block.substr(600)),
                       small_block),
              http2_errc::header_list_too_large);
    // Defaults accept it.
    EXPECT_FALSE(error_of(frame(frame_type::headers, 4, 1, block)));
    // A dynamic table size update above the allowed table size.
    frame_log_limits tiny_table;
    tiny_table.header_table_size = 256;
    EXPECT_EQ(error_of(frame(frame_type::headers, 4, 1, "\x3f\xe1\x1f"), tiny_table),
              http2_errc::compression_error);
}

}  // namespace
}  // namespace corvid::h2
