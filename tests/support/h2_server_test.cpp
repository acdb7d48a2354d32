// Proves tests/support/h2_server.py behaves as documented before any corvid
// HTTP/2 code uses it: Debian's own clients (nghttp and h2load from
// nghttp2-client, curl) drive it as subprocesses, and a minimal raw-frame
// client covers what those clients cannot show deterministically (GOAWAY
// with requests in flight, REFUSED_STREAM, a stream window that never opens).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/sha.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/external_server.hpp"
#include "tls/test_pki.hpp"

extern char** environ;

namespace corvid::test {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// --- subprocesses -------------------------------------------------------------

struct run_result {
    int code = -1;
    std::string out;
    std::string err;
};

std::string describe(const run_result& r) {
    return "exit " + std::to_string(r.code) + "\n--- stdout:\n" + r.out + "\n--- stderr:\n" + r.err;
}

// Runs a Debian client; output goes to files (no pipes, so a chatty child
// never blocks). A missing binary is reported with its package.
run_result run(const std::string& binary, const std::string& package,
               const std::vector<std::string>& args) {
    run_result r;
    if (::access(binary.c_str(), X_OK) != 0) {
        r.err = binary + " not found: install the Debian package " + package;
        return r;
    }
    temp_dir io("h2-client");
    const std::string out_path = io.file("stdout");
    const std::string err_path = io.file("stderr");
    std::vector<std::string> storage{binary};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : storage) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        r.err = "posix_spawn " + binary + ": " + std::strerror(rc);
        return r;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    return r;
}

run_result nghttp(const std::vector<std::string>& args) {
    return run("/usr/bin/nghttp", "nghttp2-client", args);
}

run_result curl(const std::vector<std::string>& args) {
    return run("/usr/bin/curl", "curl", args);
}

std::string h2c_url(const external_server& server, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(server.port()) + path;
}

// --- frames -----------------------------------------------------------------

enum : std::uint8_t {
    type_data = 0x0,
    type_headers = 0x1,
    type_rst_stream = 0x3,
    type_settings = 0x4,
    type_goaway = 0x7,
    type_window_update = 0x8,
    type_continuation = 0x9,
};
enum : std::uint8_t { flag_end_stream = 0x1, flag_ack = 0x1, flag_end_headers = 0x4 };

struct frame {
    std::uint8_t type = 0;
    std::uint8_t flags = 0;
    std::uint32_t stream_id = 0;
    std::string payload;

    std::uint32_t u32(std::size_t at) const {
        auto b = [&](std::size_t i) {
            return static_cast<std::uint32_t>(static_cast<unsigned char>(payload.at(at + i)));
        };
        return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
    }
    // Stream ids and window increments have a reserved top bit; error codes
    // use all 32.
    std::uint32_t goaway_last_stream_id() const { return u32(0) & 0x7fffffffu; }
    std::uint32_t goaway_error() const { return u32(4); }
    std::uint32_t rst_error() const { return u32(0); }
    std::uint32_t window_increment() const { return u32(0) & 0x7fffffffu; }
};

// Splits a byte stream into frames; trailing partial bytes are ignored.
std::vector<frame> split_frames(const std::string& bytes) {
    std::vector<frame> frames;
    std::size_t at = 0;
    while (bytes.size() - at >= 9) {
        auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[at + i]); };
        std::size_t length = std::size_t{byte(0)} << 16 | std::size_t{byte(1)} << 8 | byte(2);
        if (bytes.size() - at < 9 + length) {
            break;
        }
        frame f;
        f.type = byte(3);
        f.flags = byte(4);
        f.stream_id = (std::uint32_t{byte(5)} << 24 | std::uint32_t{byte(6)} << 16 |
                       std::uint32_t{byte(7)} << 8 | byte(8)) &
                      0x7fffffffu;
        f.payload = bytes.substr(at + 9, length);
        frames.push_back(std::move(f));
        at += 9 + length;
    }
    return frames;
}

std::string frame_bytes(std::uint8_t type, std::uint8_t flags, std::uint32_t stream_id,
                        const std::string& payload) {
    std::string out;
    out += static_cast<char>(payload.size() >> 16 & 0xff);
    out += static_cast<char>(payload.size() >> 8 & 0xff);
    out += static_cast<char>(payload.size() & 0xff);
    out += static_cast<char>(type);
    out += static_cast<char>(flags);
    out += static_cast<char>(stream_id >> 24 & 0x7f);
    out += static_cast<char>(stream_id >> 16 & 0xff);
    out += static_cast<char>(stream_id >> 8 & 0xff);
    out += static_cast<char>(stream_id & 0xff);
    return out + payload;
}

// A request header block in HPACK without the dynamic table or Huffman:
// :method from the static table (GET 0x82, POST 0x83), :scheme http (0x86),
// then :authority and :path as literals with indexed names (1 and 4).
std::string request_block(const std::string& method, const std::string& path) {
    std::string block;
    block += method == "POST" ? '\x83' : '\x82';
    block += '\x86';
    auto literal = [&](char name_index, const std::string& value) {
        block += name_index;
        block += static_cast<char>(value.size());  // values here are < 127 bytes
        block += value;
    };
    literal('\x01', "127.0.0.1");
    literal('\x04', path);
    return block;
}

std::string request_headers(std::uint32_t stream_id, const std::string& path,
                            const std::string& method = "GET", bool end_stream = true) {
    return frame_bytes(type_headers, flag_end_headers | (end_stream ? flag_end_stream : 0),
                       stream_id, request_block(method, path));
}

// A blocking HTTP/2 connection that speaks frames and nothing more: enough to
// put several requests in one write and to see every frame the server sends.
class raw_h2 {
  public:
    explicit raw_h2(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        // A safety net against a wedged server, not a timing assertion: a
        // read that waits this long fails the test instead of hanging it.
        timeval tv{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }
    ~raw_h2() { ::close(fd_); }
    raw_h2(const raw_h2&) = delete;
    raw_h2& operator=(const raw_h2&) = delete;

    bool connected() const { return connected_; }

    void send(const std::string& data) {
        std::size_t off = 0;
        while (off < data.size()) {
            ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
            if (n <= 0) {
                ADD_FAILURE() << "send: " << std::strerror(errno);
                return;
            }
            off += static_cast<std::size_t>(n);
        }
    }

    // The next frame, or nullopt at EOF (or after the safety timeout).
    std::optional<frame> next() {
        while (true) {
            auto frames = split_frames(buffer_);
            if (!frames.empty()) {
                frame f = std::move(frames.front());
                buffer_.erase(0, 9 + f.payload.size());
                return f;
            }
            char buf[16384];
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                eof_ = n == 0;
                return std::nullopt;
            }
            buffer_.append(buf, static_cast<std::size_t>(n));
        }
    }

    // Client preface and an empty SETTINGS; returns the server's SETTINGS
    // frame. With ack, also ACKs it and waits for the server's ACK, so the
    // server's settings are in force for what is sent next.
    frame handshake(bool ack = true) {
        send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame_bytes(type_settings, 0, 0, ""));
        frame server_settings;
        bool got_settings = false;
        bool got_ack = false;
        while (!got_settings || (ack && !got_ack)) {
            auto f = next();
            if (!f) {
                ADD_FAILURE() << "connection closed during the handshake";
                return server_settings;
            }
            if (f->type == type_settings && (f->flags & flag_ack) == 0) {
                server_settings = *f;
                got_settings = true;
                if (ack) {
                    send(frame_bytes(type_settings, flag_ack, 0, ""));
                }
            } else if (f->type == type_settings) {
                got_ack = true;
            }
        }
        return server_settings;
    }

    // Reads frames until EOF; returns them.
    std::vector<frame> read_to_eof() {
        std::vector<frame> frames;
        while (auto f = next()) {
            frames.push_back(std::move(*f));
        }
        EXPECT_TRUE(eof_) << "no EOF: " << std::strerror(errno);
        return frames;
    }

    // Reads frames until every stream in `stream_ids` has ended (END_STREAM
    // or RST_STREAM); returns every frame read on the way.
    std::vector<frame> read_until_streams_end(std::vector<std::uint32_t> stream_ids) {
        std::vector<frame> frames;
        while (!stream_ids.empty()) {
            auto f = next();
            if (!f) {
                ADD_FAILURE() << "connection closed before the streams ended";
                break;
            }
            frames.push_back(*f);
            bool ends =
                f->type == type_rst_stream || ((f->type == type_data || f->type == type_headers) &&
                                               (f->flags & flag_end_stream) != 0);
            if (ends) {
                std::erase(stream_ids, f->stream_id);
            }
        }
        return frames;
    }

  private:
    int fd_ = -1;
    bool connected_ = false;
    bool eof_ = false;
    std::string buffer_;
};

std::size_t count_frames(const std::vector<frame>& frames, std::uint8_t type,
                         std::optional<std::uint32_t> stream_id = {}) {
    std::size_t n = 0;
    for (const auto& f : frames) {
        if (f.type == type && (!stream_id || f.stream_id == *stream_id)) {
            ++n;
        }
    }
    return n;
}

const frame* find_frame(const std::vector<frame>& frames, std::uint8_t type,
                        std::optional<std::uint32_t> stream_id = {}) {
    for (const auto& f : frames) {
        if (f.type == type && (!stream_id || f.stream_id == *stream_id)) {
            return &f;
        }
    }
    return nullptr;
}

std::string data_of(const std::vector<frame>& frames, std::uint32_t stream_id) {
    std::string out;
    for (const auto& f : frames) {
        if (f.type == type_data && f.stream_id == stream_id) {
            out += f.payload;
        }
    }
    return out;
}

// SETTINGS entries of a frame, in wire order: (id, value).
std::vector<std::pair<std::uint32_t, std::uint32_t>> settings_of(const frame& f) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> entries;
    for (std::size_t at = 0; at + 6 <= f.payload.size(); at += 6) {
        auto b = [&](std::size_t i) {
            return static_cast<std::uint32_t>(static_cast<unsigned char>(f.payload[at + i]));
        };
        entries.emplace_back(b(0) << 8 | b(1), b(2) << 24 | b(3) << 16 | b(4) << 8 | b(5));
    }
    return entries;
}

// The bytes nghttp --hexdump shows it received, concatenated: lines
// "00000010  06 00 01 ...  |....|" (an offset and up to 16 bytes); the -v
// lines in between start with '[' or blanks and are skipped.
std::string bytes_from_hexdump(const std::string& output) {
    static const std::regex line(R"(^[0-9a-f]{8}  ([0-9a-f ]+?)\s*\|)");
    std::string bytes;
    std::istringstream in(output);
    std::string text;
    while (std::getline(in, text)) {
        std::smatch m;
        if (!std::regex_search(text, m, line)) {
            continue;
        }
        std::istringstream hex(m[1].str());
        std::string pair;
        while (hex >> pair) {
            bytes += static_cast<char>(std::stoi(pair, nullptr, 16));
        }
    }
    return bytes;
}

// The /bytes pattern: byte i is 'a' + i % 26.
std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>('a' + i % 26);
    }
    return s;
}

std::string sha256_hex(const std::string& data) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : digest) {
        out += hex[c >> 4];
        out += hex[c & 0xf];
    }
    return out;
}

// Lines of `text` matching `re`, first capture group of each, in order.
std::vector<std::string> captures(const std::string& text, const std::string& re) {
    std::vector<std::string> out;
    std::regex r(re);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), r); it != std::sregex_iterator();
         ++it) {
        out.push_back((*it)[1].str());
    }
    return out;
}

// --- the default server, shared ---------------------------------------------

class H2Server : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { server_ = new external_server(start_h2_server()); }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    static std::string url(const std::string& path) { return h2c_url(*server_, path); }

    static external_server* server_;
};

external_server* H2Server::server_ = nullptr;

TEST_F(H2Server, PrintsItsPortAndLogsToStderr) {
    EXPECT_TRUE(contains(server_->log(), "listening " + std::to_string(server_->port()) + "\n"))
        << server_->log();
    EXPECT_TRUE(contains(server_->log(), "serving h2c on 127.0.0.1:")) << server_->log();
}

TEST_F(H2Server, HelloWithNghttp) {
    auto r = nghttp({"-nv", url("/hello")});
    ASSERT_EQ(r.code, 0) << describe(r);
    EXPECT_TRUE(contains(r.out, "recv (stream_id=13) :status: 200")) << r.out;
    EXPECT_TRUE(contains(r.out, "recv (stream_id=13) content-length: 21")) << r.out;

    auto body = nghttp({url("/hello")});
    EXPECT_EQ(body.out, "hello from h2_server\n") << describe(body);
}

TEST_F(H2Server, HelloWithCurlPriorKnowledge) {
    auto r = curl({"-sS", "--http2-prior-knowledge", "-w", "|%{http_version}|%{response_code}",
                   url("/hello")});
    ASSERT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out, "hello from h2_server\n|2|200");
}

TEST_F(H2Server, BytesFollowThePattern) {
    auto r = curl({"-sS", "--http2-prior-knowledge", url("/bytes/100000")});
    ASSERT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out.size(), 100000u);
    EXPECT_TRUE(r.out == pattern(100000));
    auto zero = curl({"-sS", "--http2-prior-knowledge", "-w", "%{size_download}", url("/bytes/0")});
    EXPECT_EQ(zero.out, "0") << describe(zero);
}

TEST_F(H2Server, BytesRespectASmallClientWindow) {
    // -w 10: nghttp's stream windows are 1023 bytes; nghttp2 would reset the
    // stream (FLOW_CONTROL_ERROR) if the server sent beyond them.
    auto r = nghttp({"-nv", "-w", "10", url("/bytes/20000")});
    ASSERT_EQ(r.code, 0) << describe(r);
    std::size_t total = 0;
    for (const auto& length :
         captures(r.out, R"(recv DATA frame <length=(\d+), flags=0x0\d, stream_id=13>)")) {
        EXPECT_LE(std::stoul(length), 1023u);
        total += std::stoul(length);
    }
    EXPECT_EQ(total, 20000u) << r.out;
    EXPECT_FALSE(contains(r.out, "FLOW_CONTROL_ERROR")) << r.out;
}

TEST_F(H2Server, EchoReturnsBodyAndHeadersInOrder) {
    temp_dir dir("h2-echo");
    std::string body = pattern(70000) + "end";  // more than one 65535 window
    write_text_file(dir.path() / "up", body);
    auto r = curl({"-sS", "--http2-prior-knowledge", "-D", dir.file("head"), "-o", dir.file("down"),
                   "-H", "x-zeta: 1", "-H", "x-alpha: 2", "-H", "content-type: text/x-test",
                   "--data-binary", "@" + dir.file("up"), url("/echo")});
    ASSERT_EQ(r.code, 0) << describe(r);
    EXPECT_TRUE(slurp(dir.path() / "down") == body);
    std::string head = slurp(dir.path() / "head");
    EXPECT_TRUE(contains(head, "content-type: text/x-test\r\n")) << head;
    auto echoed = captures(head, R"(x-echo-headers: (.*)\r)");
    ASSERT_EQ(echoed.size(), 1u) << head;
    // Pseudo-headers first in curl's order, then the fields as sent.
    EXPECT_EQ(
        echoed[0].rfind(R"([[":method", "POST"], [":path", "/echo"], [":scheme", "http"], )", 0),
        0u)
        << echoed[0];
    auto zeta = echoed[0].find(R"(["x-zeta", "1"])");
    auto alpha = echoed[0].find(R"(["x-alpha", "2"])");
    ASSERT_NE(zeta, std::string::npos) << echoed[0];
    ASSERT_NE(alpha, std::string::npos) << echoed[0];
    EXPECT_LT(zeta, alpha) << echoed[0];
}

TEST_F(H2Server, TrailersFollowTheBody) {
    auto r = nghttp({"-nv", url("/trailers")});
    ASSERT_EQ(r.code, 0) << describe(r);
    const std::string checksum = "recv (stream_id=13) x-checksum: " + sha256_hex(pattern(1000));
    auto data = r.out.find("recv DATA frame <length=1000");
    auto trailer = r.out.find(checksum);
    ASSERT_NE(data, std::string::npos) << r.out;
    ASSERT_NE(trailer, std::string::npos) << r.out;
    EXPECT_LT(data, trailer) << r.out;
    // The trailers are a second HEADERS frame that ends the stream.
    EXPECT_TRUE(std::regex_search(
        r.out.substr(trailer), std::regex(R"(recv HEADERS frame <[^>]*flags=0x05, stream_id=13>)")))
        << r.out;
    EXPECT_TRUE(contains(r.out, "recv (stream_id=13) x-trailer: done")) << r.out;
}

TEST_F(H2Server, SlowSendsChunks) {
    auto r = nghttp({"-nv", url("/slow/3/20")});
    ASSERT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(captures(r.out, R"(recv DATA frame <length=(\d+), flags=0x0\d, stream_id=13>)"),
              (std::vector<std::string>{"8", "8", "8"}))
        << r.out;
    auto body = curl({"-sS", "--http2-prior-knowledge", url("/slow/3/10")});
    EXPECT_EQ(body.out, "chunk 0\nchunk 1\nchunk 2\n") << describe(body);
}

TEST_F(H2Server, BigHeadersNeedContinuationFrames) {
    // nghttp2 hands HEADERS and its CONTINUATIONs to nghttp as one frame in
    // -v output, so the frames are read from --hexdump, which shows the raw
    // bytes received.
    auto r = nghttp({"-nv", "--hexdump", url("/big-headers")});
    ASSERT_EQ(r.code, 0) << describe(r);
    auto frames = split_frames(bytes_from_hexdump(r.out));
    ASSERT_FALSE(frames.empty()) << r.out;
    std::vector<std::pair<std::uint8_t, std::uint8_t>> block;  // (type, flags) on stream 13
    std::size_t block_bytes = 0;
    for (const auto& f : frames) {
        if (f.stream_id == 13 && (f.type == type_headers || f.type == type_continuation)) {
            block.emplace_back(f.type, f.flags);
            block_bytes += f.payload.size();
            EXPECT_LE(f.payload.size(), 16384u);
        }
    }
    ASSERT_GE(block.size(), 2u) << r.out.substr(0, 3000);
    EXPECT_EQ(block.front().first, type_headers);
    EXPECT_EQ(block.front().second & flag_end_headers, 0);
    for (std::size_t i = 1; i < block.size(); ++i) {
        EXPECT_EQ(block[i].first, type_continuation) << i;
        EXPECT_EQ((block[i].second & flag_end_headers) != 0, i + 1 == block.size()) << i;
    }
    EXPECT_GT(block_bytes, 16384u);
    // nghttp decoded the whole block.
    EXPECT_TRUE(contains(r.out, "recv (stream_id=13) x-big-8: ")) << r.out.substr(0, 3000);

    auto c =
        curl({"-sS", "--http2-prior-knowledge", "-D", "-", "-o", "/dev/null", url("/big-headers")});
    ASSERT_EQ(c.code, 0) << describe(c);
    EXPECT_TRUE(std::regex_search(c.out, std::regex("\r\nx-big-8: [A-Za-z0-9_-]{4000}\r\n")))
        << c.out.substr(0, 500);
}

TEST_F(H2Server, RstStreamWithTheGivenCode) {
    auto refused = nghttp({"-nv", url("/rst/7")});
    EXPECT_TRUE(contains(refused.out, "recv RST_STREAM frame <length=4, flags=0x00, stream_id=13>"))
        << describe(refused);
    EXPECT_TRUE(contains(refused.out, "(error_code=REFUSED_STREAM(0x07))")) << refused.out;
    EXPECT_FALSE(contains(refused.out, ":status:")) << refused.out;

    auto cancel = nghttp({"-nv", url("/rst/8")});
    EXPECT_TRUE(contains(cancel.out, "(error_code=CANCEL(0x08))")) << describe(cancel);

    auto c = curl({"-sS", "--http2-prior-knowledge", url("/rst/2")});
    EXPECT_EQ(c.code, 92) << describe(c);  // CURLE_HTTP2_STREAM
    EXPECT_TRUE(contains(c.err, "INTERNAL_ERROR (err 2)")) << describe(c);
}

TEST_F(H2Server, GoawayPathSendsGoaway) {
    auto r = nghttp({"-nv", url("/goaway")});
    // nghttp's only request is stream 13 (3..11 are its idle priority
    // anchors), so the previous stream id is 0.
    EXPECT_TRUE(contains(r.out, "recv GOAWAY frame <length=8, flags=0x00, stream_id=0>"))
        << describe(r);
    EXPECT_TRUE(contains(r.out, "(last_stream_id=0, error_code=NO_ERROR(0x00)")) << r.out;
    EXPECT_FALSE(contains(r.out, ":status:")) << r.out;
    EXPECT_TRUE(contains(r.out + r.err, "Some requests were not processed")) << describe(r);
}

TEST_F(H2Server, GoawayKeepsEarlierStreamsAndDropsLaterOnes) {
    raw_h2 c(server_->port());
    ASSERT_TRUE(c.connected());
    c.handshake();
    // One write: stream 1 is in progress when stream 3 asks for GOAWAY, and
    // stream 5 is already in flight.
    c.send(request_headers(1, "/slow/2/20") + request_headers(3, "/goaway") +
           request_headers(5, "/hello"));
    auto frames = c.read_to_eof();
    const frame* goaway = find_frame(frames, type_goaway);
    ASSERT_NE(goaway, nullptr);
    EXPECT_EQ(goaway->goaway_last_stream_id(), 1u);
    EXPECT_EQ(goaway->goaway_error(), 0u);
    // Stream 1 is finished after the GOAWAY, as GOAWAY promised.
    EXPECT_EQ(data_of(frames, 1), "chunk 0\nchunk 1\n");
    EXPECT_EQ(frames.back().type, type_data);
    EXPECT_EQ(frames.back().stream_id, 1u);
    EXPECT_LT(goaway, &frames.back());
    EXPECT_EQ(count_frames(frames, type_headers, 3) + count_frames(frames, type_data, 3) +
                  count_frames(frames, type_rst_stream, 3),
              0u);
    EXPECT_EQ(count_frames(frames, type_headers, 5) + count_frames(frames, type_data, 5), 0u);
}

TEST_F(H2Server, FramesReportsNghttpSettingsInOrder) {
    auto r = nghttp(
        {"-v", "-W", "20", "-w", "18", "--header-table-size", "8192", "--no-push", url("/frames")});
    ASSERT_EQ(r.code, 0) << describe(r);
    // What nghttp says it sent: its first SETTINGS block, in order.
    auto first = r.out.find("send SETTINGS frame");
    ASSERT_NE(first, std::string::npos) << r.out;
    const std::string sent_block = r.out.substr(first, r.out.find("\n[", first) - first);
    std::vector<std::string> sent_pairs;
    static const std::regex sent_entry(R"(\[SETTINGS_[A-Z_]+\(0x([0-9a-f]+)\):(\d+)\])");
    for (auto it = std::sregex_iterator(sent_block.begin(), sent_block.end(), sent_entry);
         it != std::sregex_iterator(); ++it) {
        sent_pairs.push_back(std::to_string(std::stoul((*it)[1].str(), nullptr, 16)) + "=" +
                             (*it)[2].str());
    }
    // What the server saw, from the JSON's "settings" lines.
    auto json_begin = r.out.find("{\n  \"format\": \"corvid-h2-frames/1\"");
    ASSERT_NE(json_begin, std::string::npos) << r.out;
    std::string json = r.out.substr(json_begin, r.out.find("\n}\n", json_begin) - json_begin + 3);
    auto settings_begin = json.find("\"settings\": [");
    auto settings_end = json.find("]", settings_begin);
    std::vector<std::string> seen_pairs;
    std::string settings = json.substr(settings_begin, settings_end - settings_begin);
    static const std::regex entry(R"(\{"id": (\d+), "name": "[A-Z_0-9x]+", "value": (\d+)\})");
    for (auto it = std::sregex_iterator(settings.begin(), settings.end(), entry);
         it != std::sregex_iterator(); ++it) {
        seen_pairs.push_back((*it)[1].str() + "=" + (*it)[2].str());
    }
    EXPECT_EQ(seen_pairs, sent_pairs) << json;
    EXPECT_EQ(sent_pairs, (std::vector<std::string>{"3=100", "4=262143", "1=8192", "2=0"}));

    // The connection WINDOW_UPDATE -W 20 asked for: 2^20 - 65535.
    auto increments = captures(
        r.out,
        R"(send WINDOW_UPDATE frame <length=4, flags=0x00, stream_id=0>\n\s+\(window_size_increment=(\d+)\))");
    ASSERT_EQ(increments.size(), 1u) << r.out;
    EXPECT_EQ(increments[0], "983040");
    // The frames in the order nghttp printed it sent them, up to its HEADERS
    // (its SETTINGS ACK lands wherever the server's SETTINGS arrived), are
    // the frames the server saw, in the same order.
    auto sent_types = captures(r.out, R"(send ([A-Z_]+) frame <)");
    auto headers_at = std::find(sent_types.begin(), sent_types.end(), "HEADERS");
    ASSERT_NE(headers_at, sent_types.end()) << r.out;
    sent_types.erase(headers_at + 1, sent_types.end());
    auto seen_types = captures(json, R"re(\{"index": \d+, "type": "([A-Z_]+)")re");
    ASSERT_GE(seen_types.size(), sent_types.size()) << json;
    seen_types.resize(sent_types.size());
    EXPECT_EQ(seen_types, sent_types) << json;
    const auto window_update_at = std::to_string(
        std::find(sent_types.begin(), sent_types.end(), "WINDOW_UPDATE") - sent_types.begin());
    EXPECT_TRUE(contains(json, "{\"frame_index\": " + window_update_at +
                                   ", \"after_first_settings\": " + window_update_at +
                                   ", \"increment\": 983040}"))
        << json;
    // nghttp's PRIORITY frames for its idle anchor streams 3..11.
    EXPECT_EQ(captures(json, R"(\{"frame_index": \d+, "stream_id": (\d+), "exclusive")"),
              (std::vector<std::string>{"3", "5", "7", "9", "11"}))
        << json;
    EXPECT_TRUE(contains(r.out,
                         "send PRIORITY frame <length=5, flags=0x00, stream_id=3>\n"
                         "          (dep_stream_id=0, weight=201, exclusive=0)"))
        << r.out;
    EXPECT_TRUE(
        contains(json, R"("stream_id": 3, "exclusive": false, "depends_on": 0, "weight": 201})"))
        << json;
    // nghttp printed its HEADERS priority as dep_stream_id=11, weight=16.
    EXPECT_TRUE(contains(r.out, "(padlen=0, dep_stream_id=11, weight=16, exclusive=0)")) << r.out;
    EXPECT_TRUE(contains(
        json,
        R"("stream_id": 13, "end_stream": true, "end_headers": true, "priority": {"exclusive": false, "depends_on": 11, "weight": 16}})"))
        << json;
    // Header order as nghttp printed it.
    EXPECT_TRUE(
        contains(json, R"("pseudo_header_order": [":method", ":path", ":scheme", ":authority"])"))
        << json;
    EXPECT_TRUE(contains(json, R"("header_order": ["accept", "accept-encoding", "user-agent"])"))
        << json;
    EXPECT_TRUE(contains(json, R"("connection": {)")) << json;
    EXPECT_TRUE(contains(json, R"("truncated": false)")) << json;
}

TEST_F(H2Server, FramesOverTlsForCurl) {
    auto ca = tls::test_ca::create();
    ASSERT_TRUE(ca);
    auto leaf = ca->issue(tls::leaf_spec{});
    ASSERT_TRUE(leaf);
    h2_server_options options;
    options.certificate = *leaf;
    external_server tls_server = start_h2_server(options);
    const std::string base = "https://127.0.0.1:" + std::to_string(tls_server.port());

    auto hello = curl({"-sS", "--http2", "-k", "-w", "|%{http_version}", base + "/hello"});
    ASSERT_EQ(hello.code, 0) << describe(hello) << tls_server.log();
    EXPECT_EQ(hello.out, "hello from h2_server\n|2");

    auto frames = curl({"-sS", "--http2", "-k", base + "/frames"});
    ASSERT_EQ(frames.code, 0) << describe(frames);
    EXPECT_TRUE(contains(frames.out, R"("connection": {)")) << frames.out;
    EXPECT_TRUE(contains(frames.out, R"("tls": true,)")) << frames.out;
    EXPECT_TRUE(contains(frames.out, R"("alpn": "h2")")) << frames.out;
    EXPECT_TRUE(contains(frames.out, R"("first_settings_index": 0,)")) << frames.out;

    auto n = nghttp({"-nv", base + "/hello"});
    EXPECT_EQ(n.code, 0) << describe(n);
    EXPECT_TRUE(contains(n.out, ":status: 200")) << n.out;

    // A client that does not negotiate h2 is disconnected.
    auto h1 = curl({"-sS", "--http1.1", "-k", base + "/hello"});
    EXPECT_NE(h1.code, 0) << describe(h1);
    EXPECT_TRUE(contains(tls_server.log(), "ALPN None is not h2")) << tls_server.log();
}

// --- servers with flags --------------------------------------------------------

TEST(H2ServerFlags, InitialWindowIsAnnounced) {
    h2_server_options options;
    options.initial_window = 100;
    external_server server = start_h2_server(options);
    auto r = nghttp({"-nv", h2c_url(server, "/hello")});
    ASSERT_EQ(r.code, 0) << describe(r);
    auto recv = r.out.find("recv SETTINGS frame <length=18, flags=0x00, stream_id=0>");
    ASSERT_NE(recv, std::string::npos) << r.out;
    auto block = r.out.substr(recv, r.out.find("\n[", recv) - recv);
    EXPECT_TRUE(contains(block, "[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]")) << block;
    EXPECT_TRUE(contains(block, "[SETTINGS_INITIAL_WINDOW_SIZE(0x04):100]")) << block;
    EXPECT_TRUE(contains(block, "[SETTINGS_MAX_HEADER_LIST_SIZE(0x06):65536]")) << block;
}

TEST(H2ServerFlags, OneByteWindowIsReopenedBytePerByte) {
    h2_server_options options;
    options.initial_window = 1;
    external_server server = start_h2_server(options);
    raw_h2 c(server.port());
    ASSERT_TRUE(c.connected());
    // The window applies once the client ACKs the server's SETTINGS (nghttp
    // sends a small body before that, so it cannot show a 1-byte window).
    c.handshake();
    c.send(request_headers(1, "/echo", "POST", false));
    const std::string body = "tiny!";
    for (std::size_t i = 0; i < body.size(); ++i) {
        const bool last = i + 1 == body.size();
        c.send(frame_bytes(type_data, last ? flag_end_stream : 0, 1, body.substr(i, 1)));
        if (last) {
            break;
        }
        // The next byte may only go once the server reopens the window.
        std::optional<frame> f;
        while ((f = c.next()) && !(f->type == type_window_update && f->stream_id == 1)) {
        }
        ASSERT_TRUE(f) << "no WINDOW_UPDATE for stream 1 after byte " << i;
        EXPECT_EQ(f->window_increment(), 1u);
    }
    EXPECT_EQ(data_of(c.read_until_streams_end({1}), 1), body);
}

TEST(H2ServerFlags, MaxConcurrentStreamsRefusesTheExcess) {
    h2_server_options options;
    options.max_concurrent_streams = 1;
    external_server server = start_h2_server(options);
    raw_h2 c(server.port());
    ASSERT_TRUE(c.connected());
    frame settings = c.handshake();
    EXPECT_EQ(settings_of(settings).front(), (std::pair<std::uint32_t, std::uint32_t>{3, 1}));
    c.send(request_headers(1, "/slow/2/20") + request_headers(3, "/hello"));
    auto frames = c.read_until_streams_end({1, 3});
    const frame* rst = find_frame(frames, type_rst_stream, 3);
    ASSERT_NE(rst, nullptr);
    EXPECT_EQ(rst->rst_error(), 7u);  // REFUSED_STREAM
    EXPECT_EQ(count_frames(frames, type_headers, 3), 0u);
    EXPECT_EQ(data_of(frames, 1), "chunk 0\nchunk 1\n");
    // The connection survives: a new stream is served.
    c.send(request_headers(5, "/hello"));
    EXPECT_EQ(data_of(c.read_until_streams_end({5}), 5), "hello from h2_server\n");
}

TEST(H2ServerFlags, GoawayAfterNWithRequestsInFlight) {
    h2_server_options options;
    options.goaway_after = 2;
    external_server server = start_h2_server(options);
    raw_h2 c(server.port());
    ASSERT_TRUE(c.connected());
    c.handshake();
    c.send(request_headers(1, "/hello") + request_headers(3, "/hello") +
           request_headers(5, "/hello") + request_headers(7, "/hello"));
    auto frames = c.read_to_eof();
    std::size_t goaway_at = frames.size();
    std::size_t headers3_at = frames.size();
    for (std::size_t i = 0; i < frames.size(); ++i) {
        if (frames[i].type == type_goaway && goaway_at == frames.size()) {
            goaway_at = i;
        }
        if (frames[i].type == type_headers && frames[i].stream_id == 3) {
            headers3_at = i;
        }
    }
    ASSERT_LT(goaway_at, frames.size());
    EXPECT_EQ(frames[goaway_at].goaway_last_stream_id(), 3u);
    EXPECT_EQ(frames[goaway_at].goaway_error(), 0u);
    // GOAWAY goes out before the response of the last processed request.
    EXPECT_LT(goaway_at, headers3_at);
    EXPECT_EQ(data_of(frames, 1), "hello from h2_server\n");
    EXPECT_EQ(data_of(frames, 3), "hello from h2_server\n");
    EXPECT_EQ(count_frames(frames, type_headers, 5) + count_frames(frames, type_headers, 7), 0u);
    EXPECT_EQ(count_frames(frames, type_goaway), 1u);

    // A new connection is served again, up to the next GOAWAY: nghttp's two
    // requests are streams 13 and 15.
    auto r = nghttp({"-nv", h2c_url(server, "/hello"), h2c_url(server, "/hello?second")});
    EXPECT_EQ(captures(r.out, R"(recv \(stream_id=(\d+)\) :status: 200)"),
              (std::vector<std::string>{"13", "15"}))
        << describe(r);
    EXPECT_TRUE(contains(r.out, "(last_stream_id=15, error_code=NO_ERROR(0x00)")) << describe(r);
}

TEST(H2ServerFlags, NeverReadKeepsTheStreamWindowClosed) {
    h2_server_options options;
    options.initial_window = 100;
    external_server server = start_h2_server(options);
    raw_h2 c(server.port());
    ASSERT_TRUE(c.connected());
    c.handshake();  // ACKed: the 100-byte stream window is in force
    // Fill stream 1's window, then ask for something else on stream 3.
    c.send(request_headers(1, "/never-read", "POST", false) +
           frame_bytes(type_data, 0, 1, std::string(100, 'x')) + request_headers(3, "/hello"));
    auto frames = c.read_until_streams_end({3});
    EXPECT_EQ(data_of(frames, 3), "hello from h2_server\n");
    // The connection window is reopened for the 100 bytes, the stream's never.
    std::uint32_t connection_increments = 0;
    for (const auto& f : frames) {
        if (f.type == type_window_update && f.stream_id == 0) {
            connection_increments += f.window_increment();
        }
    }
    EXPECT_EQ(connection_increments, 100u);
    EXPECT_EQ(count_frames(frames, type_window_update, 1), 0u);
    EXPECT_EQ(count_frames(frames, type_headers, 1), 0u);
    // One byte more than the window is a flow-control error.
    c.send(frame_bytes(type_data, 0, 1, "y"));
    auto rest = c.read_to_eof();
    const frame* goaway = find_frame(rest, type_goaway);
    ASSERT_NE(goaway, nullptr);
    EXPECT_EQ(goaway->goaway_error(), 3u);  // FLOW_CONTROL_ERROR
    EXPECT_EQ(count_frames(rest, type_window_update, 1), 0u);

    // A body that fits the window ends normally and is counted.
    raw_h2 small(server.port());
    small.handshake();
    small.send(request_headers(1, "/never-read", "POST", false) +
               frame_bytes(type_data, flag_end_stream, 1, std::string(10, 'z')));
    auto answer = small.read_until_streams_end({1});
    EXPECT_EQ(data_of(answer, 1), R"({"received": 10})");
}

TEST(H2ServerFlags, H2loadSmoke) {
    external_server server = start_h2_server();
    auto r = run("/usr/bin/h2load", "nghttp2-client",
                 {"-n", "300", "-c", "3", "-m", "10", h2c_url(server, "/hello")});
    ASSERT_EQ(r.code, 0) << describe(r) << server.log();
    EXPECT_TRUE(contains(r.out, "requests: 300 total, 300 started, 300 done, 300 succeeded"))
        << r.out;
    EXPECT_TRUE(contains(r.out, "status codes: 300 2xx")) << r.out;
}

TEST(H2ServerLauncher, MissingH2NamesTheDebianPackage) {
    // python3 -S skips site-packages, so h2 cannot be imported: the same
    // failure as a machine without python3-h2.
    process_spec spec{"h2_server",
                      "/usr/bin/python3",
                      "python3-h2",
                      {"-S", h2_server_script().string(), "--port", "0"}};
    try {
        external_server::start(spec, temp_dir("h2server"), {free_port()});
        FAIL() << "start should have thrown";
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        EXPECT_TRUE(contains(what, "exited with status 3")) << what;
        EXPECT_TRUE(contains(what, "install the Debian package python3-h2")) << what;
        auto log_pos = what.find("log: ");
        ASSERT_NE(log_pos, std::string::npos);
        fs::path log = what.substr(log_pos + 5, what.find('\n', log_pos) - log_pos - 5);
        fs::remove_all(log.parent_path());
    }
}

TEST(H2ServerLauncher, BadFlagIsReported) {
    h2_server_options options;
    options.extra_args = {"--no-such-flag"};
    try {
        start_h2_server(options);
        FAIL() << "start should have thrown";
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        EXPECT_TRUE(contains(what, "unrecognized arguments: --no-such-flag")) << what;
        auto log_pos = what.find("log: ");
        ASSERT_NE(log_pos, std::string::npos);
        fs::path log = what.substr(log_pos + 5, what.find('\n', log_pos) - log_pos - 5);
        fs::remove_all(log.parent_path());
    }
}

}  // namespace
}  // namespace corvid::test
