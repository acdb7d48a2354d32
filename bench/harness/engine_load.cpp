#include "bench/harness/engine_load.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/digest.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "bench/stats.hpp"

namespace corvid::bench::engine {

namespace {

using clock_type = std::chrono::steady_clock;

std::int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string base64url(std::string_view in) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(alphabet[(acc >> bits) & 63]);
        }
    }
    if (bits > 0) {
        out.push_back(alphabet[(acc << (6 - bits)) & 63]);
    }
    return out;
}

[[noreturn]] void fail_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string upgrade_request(const target& t, const std::string& token) {
    // A fixed Sec-WebSocket-Key: the servers do not care, and the generator
    // does not check Sec-WebSocket-Accept (the 101 is what it waits for).
    return "GET " + t.path + "?token=" + token +
           " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(t.port) +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
}

// A cheap mask-key source (xorshift64*): a load generator's masks need not
// be unpredictable, only present.
struct mask_source {
    std::uint64_t state = 0x9e3779b97f4a7c15ull;
    std::uint32_t next() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return static_cast<std::uint32_t>((state * 0x2545f4914f6cdd1dull) >> 32);
    }
};

// Appends one masked client frame (FIN, `opcode`) carrying `payload`.
void append_frame(std::string& out, std::uint8_t opcode, std::string_view payload,
                  mask_source& masks) {
    const std::size_t n = payload.size();
    out.push_back(static_cast<char>(0x80 | opcode));
    if (n < 126) {
        out.push_back(static_cast<char>(0x80 | n));
    } else if (n < 65536) {
        out.push_back(static_cast<char>(0x80 | 126));
        out.push_back(static_cast<char>(n >> 8));
        out.push_back(static_cast<char>(n & 0xff));
    } else {
        out.push_back(static_cast<char>(0x80 | 127));
        for (int i = 7; i >= 0; --i) {
            out.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xff));
        }
    }
    const std::uint32_t key = masks.next();
    char k[4];
    std::memcpy(k, &key, 4);
    out.append(k, 4);
    const std::size_t start = out.size();
    out.append(payload);
    for (std::size_t i = 0; i < n; ++i) {
        out[start + i] = static_cast<char>(out[start + i] ^ k[i & 3]);
    }
}

// One complete server frame at the start of `in`: its opcode and payload,
// and how many bytes it took; 0 if incomplete. Throws on what the generator
// does not accept from a server (a masked, fragmented or compressed frame).
std::size_t parse_frame(std::string_view in, std::uint8_t& opcode, std::string_view& payload) {
    if (in.size() < 2) {
        return 0;
    }
    const auto b0 = static_cast<std::uint8_t>(in[0]);
    const auto b1 = static_cast<std::uint8_t>(in[1]);
    if ((b0 & 0x80) == 0 || (b0 & 0x70) != 0 || (b1 & 0x80) != 0) {
        throw std::runtime_error(
            "the server sent a fragmented, compressed or masked frame (the load generator "
            "takes whole unmasked frames only)");
    }
    opcode = b0 & 0x0f;
    std::uint64_t len = b1 & 0x7f;
    std::size_t header = 2;
    if (len == 126) {
        if (in.size() < 4) {
            return 0;
        }
        len = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(in[2])) << 8) |
              static_cast<std::uint8_t>(in[3]);
        header = 4;
    } else if (len == 127) {
        if (in.size() < 10) {
            return 0;
        }
        len = 0;
        for (int i = 0; i < 8; ++i) {
            len = (len << 8) | static_cast<std::uint8_t>(in[2 + i]);
        }
        header = 10;
    }
    if (in.size() - header < len) {
        return 0;
    }
    payload = in.substr(header, len);
    return header + len;
}

// The unsigned number after `key` (e.g. "\"offset\":") in `text`, from `from`.
bool number_after(std::string_view text, std::string_view key, std::uint64_t& value,
                  std::size_t from = 0) {
    const std::size_t at = text.find(key, from);
    if (at == std::string_view::npos) {
        return false;
    }
    std::size_t i = at + key.size();
    if (i >= text.size() || text[i] < '0' || text[i] > '9') {
        return false;
    }
    std::uint64_t v = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        v = v * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    value = v;
    return true;
}

// The op of a server frame: the value of "op" ("msg", "ready", ...).
std::string_view op_of(std::string_view frame) {
    const std::size_t at = frame.find("\"op\":\"");
    if (at == std::string_view::npos || at > 16) {
        return {};
    }
    const std::size_t start = at + 6;
    const std::size_t end = frame.find('"', start);
    return end == std::string_view::npos ? std::string_view{} : frame.substr(start, end - start);
}

void pin_thread(int cpu) {
    if (cpu < 0) {
        return;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

std::string clip(std::string_view s) {
    return std::string(s.substr(0, 300));
}

}  // namespace

std::string make_jwt(std::string_view secret) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const std::string header = base64url(R"({"alg":"HS256","typ":"JWT"})");
    const std::string claims =
        base64url(R"({"sub":"corvid-bench","iat":)" + std::to_string(now) + R"(,"exp":)" +
                  std::to_string(now + 3600) + R"(,"channels":["**"],"publish":["**"]})");
    const std::string signing_input = header + "." + claims;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), secret.data(), secret.size(),
             reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
             mac, &mac_len) == nullptr) {
        throw std::runtime_error("HMAC-SHA256 failed");
    }
    return signing_input + "." +
           base64url(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

std::int64_t connect_to_ready(const target& t, const std::string& token) {
    const std::string request = upgrade_request(t, token);
    const sockaddr_in addr = loopback(t.port);
    const std::int64_t start = now_ns();
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail_errno("socket");
    }
    struct closer {
        int fd;
        ~closer() { close(fd); }
    } guard{fd};
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        fail_errno(t.name + ": connect to 127.0.0.1:" + std::to_string(t.port));
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        fail_errno(t.name + ": sending the upgrade request");
    }
    std::string in;
    char buf[4096];
    std::size_t body = std::string::npos;
    for (;;) {
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            if (n < 0) {
                fail_errno(t.name + ": waiting for the upgrade and ready");
            }
            throw std::runtime_error(t.name +
                                     ": the server closed the connection before ready; "
                                     "it sent: " +
                                     clip(in));
        }
        in.append(buf, static_cast<std::size_t>(n));
        if (body == std::string::npos) {
            const std::size_t end = in.find("\r\n\r\n");
            if (end == std::string::npos) {
                continue;
            }
            if (in.compare(0, 12, "HTTP/1.1 101") != 0) {
                throw std::runtime_error(t.name + ": upgrade refused: " + clip(in));
            }
            body = end + 4;
        }
        std::uint8_t opcode = 0;
        std::string_view payload;
        const std::size_t used = parse_frame(std::string_view(in).substr(body), opcode, payload);
        if (used == 0) {
            continue;
        }
        const std::int64_t elapsed = now_ns() - start;
        if (opcode != 1 || op_of(payload) != "ready") {
            throw std::runtime_error(t.name + ": the first frame is not ready: " + clip(payload));
        }
        std::string close_frame;
        mask_source masks;
        append_frame(close_frame, 0x8, std::string_view("\x03\xe8", 2), masks);
        (void)send(fd, close_frame.data(), close_frame.size(), MSG_NOSIGNAL);
        return elapsed;
    }
}

// ------------------------------------------------------------- the shards

struct load_generator::shard {
    enum class state { idle, connecting, upgrading, waiting_ready, subscribing, open };
    struct conn {
        int fd = -1;
        state st = state::idle;
        bool publisher = false;
        std::size_t channel = 0;
        std::string in;   // bytes of an incomplete frame (or response) kept between reads
        std::string out;  // bytes not yet written
        std::uint64_t next_offset = 0;  // the offset the next msg must carry
        std::int64_t connect_ns = 0;    // connect() started
        std::int64_t ready_ns = 0;      // ready read
        // Per burst:
        std::uint64_t received = 0;
        std::uint64_t sent = 0;
    };

    int cpu = -1;
    int epfd = -1;
    std::vector<conn> conns;
    std::vector<std::size_t> publishers;  // indices into conns
    mask_source masks;
    std::vector<char> scratch = std::vector<char>(256 * 1024);
    // Shared with the other shards.
    std::atomic<std::uint64_t>* delivered = nullptr;
    std::size_t subscribers_per_channel = 0;
    // Setup.
    std::string request;
    std::string channel_prefix;
    // Burst.
    std::uint64_t pubs = 0;
    std::uint64_t window = 0;
    std::string pad;
    std::uint64_t pending_subscribers = 0;  // subscribers that have not read every pub yet
    std::int64_t first_send_ns = 0;
    std::int64_t last_receive_ns = 0;
    std::vector<std::uint32_t> latencies_us;
    int shard_count = 1;
    std::string target_name;

    ~shard() {
        close_all();
        if (epfd >= 0) {
            close(epfd);
        }
    }

    void close_all() {
        for (auto& c : conns) {
            if (c.fd >= 0) {
                close(c.fd);
                c.fd = -1;
            }
        }
        conns.clear();
        publishers.clear();
    }

    std::string channel_name(std::size_t ch) const { return channel_prefix + std::to_string(ch); }

    [[noreturn]] void fail(const conn& c, const std::string& what) const {
        throw std::runtime_error(target_name + ": connection " + std::to_string(&c - conns.data()) +
                                 (c.publisher ? " (publisher)" : " (subscriber)") + ": " + what);
    }

    void write_out(conn& c) {
        while (!c.out.empty()) {
            const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    return;
                }
                fail(c, std::string("send: ") + std::strerror(errno));
            }
            c.out.erase(0, static_cast<std::size_t>(n));
        }
    }

    void send_text(conn& c, std::string_view text) {
        const bool was_empty = c.out.empty();
        append_frame(c.out, 0x1, text, masks);
        if (was_empty) {
            write_out(c);
        }
    }

    void start_connect(conn& c, const sockaddr_in& addr) {
        c.connect_ns = now_ns();
        c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) {
            fail_errno("socket (raise the open-file limit: ulimit -n)");
        }
        const int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
        ev.data.u64 = static_cast<std::uint64_t>(&c - conns.data());
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
            fail_errno("epoll_ctl");
        }
        c.st = state::connecting;
        if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
            errno != EINPROGRESS) {
            fail(c, std::string("connect: ") + std::strerror(errno));
        }
    }

    // Handles one text frame; returns false when the connection reached the
    // end of its setup (ready for a publisher, subok for a subscriber).
    void on_frame(conn& c, std::uint8_t opcode, std::string_view payload, std::int64_t now,
                  std::size_t& setup_done) {
        if (opcode == 0x9) {  // ping
            const bool was_empty = c.out.empty();
            append_frame(c.out, 0xA, payload, masks);
            if (was_empty) {
                write_out(c);
            }
            return;
        }
        if (opcode == 0xA) {
            return;
        }
        if (opcode == 0x8) {
            fail(c, "the server closed the WebSocket: " + clip(payload));
        }
        if (opcode != 0x1) {
            fail(c, "a binary frame (the generator speaks the JSON format)");
        }
        const std::string_view op = op_of(payload);
        if (op == "msg") {
            if (c.st != state::open || c.publisher) {
                fail(c, "a msg before subok or on a publisher: " + clip(payload));
            }
            std::uint64_t offset = 0;
            if (!number_after(payload, "\"offset\":", offset)) {
                fail(c, "a msg without an offset: " + clip(payload));
            }
            if (offset != c.next_offset) {
                fail(c, "msg offset " + std::to_string(offset) + ", expected " +
                            std::to_string(c.next_offset) + " (lost or reordered)");
            }
            ++c.next_offset;
            ++c.received;
            delivered[c.channel].fetch_add(1, std::memory_order_relaxed);
            std::uint64_t sent_at = 0;
            const std::size_t data_at = payload.find("\"data\":");
            if (data_at != std::string_view::npos &&
                number_after(payload, "\"t\":", sent_at, data_at)) {
                const std::int64_t us = (now - static_cast<std::int64_t>(sent_at)) / 1000;
                latencies_us.push_back(static_cast<std::uint32_t>(std::max<std::int64_t>(us, 0)));
            }
            if (c.received == pubs) {
                --pending_subscribers;
                last_receive_ns = now;
            } else if (c.received > pubs) {
                fail(c, "more msgs than publications");
            }
            return;
        }
        if (op == "ready") {
            if (c.st != state::waiting_ready) {
                fail(c, "a second ready");
            }
            c.ready_ns = now;
            if (c.publisher) {
                c.st = state::open;
                ++setup_done;
            } else {
                c.st = state::subscribing;
                send_text(c, R"({"op":"sub","ch":")" + channel_name(c.channel) + "\"}");
            }
            return;
        }
        if (op == "subok") {
            if (c.st != state::subscribing) {
                fail(c, "an unexpected subok");
            }
            std::uint64_t offset = 0;
            if (!number_after(payload, "\"offset\":", offset)) {
                fail(c, "a subok without an offset: " + clip(payload));
            }
            c.next_offset = offset + 1;
            c.st = state::open;
            ++setup_done;
            return;
        }
        if (op == "pong") {
            return;
        }
        fail(c, "unexpected frame: " + clip(payload));
    }

    void on_readable(conn& c, std::size_t& setup_done) {
        for (;;) {
            const ssize_t n = recv(c.fd, scratch.data(), scratch.size(), 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    return;
                }
                fail(c, std::string("recv: ") + std::strerror(errno));
            }
            if (n == 0) {
                fail(c, "the server closed the connection" +
                            (c.in.empty() ? std::string() : ": " + clip(c.in)));
            }
            const std::int64_t now = now_ns();
            std::string_view data(scratch.data(), static_cast<std::size_t>(n));
            if (!c.in.empty()) {
                c.in.append(data);
                data = c.in;
            }
            std::size_t pos = 0;
            if (c.st == state::upgrading) {
                const std::size_t end = data.find("\r\n\r\n");
                if (end == std::string_view::npos) {
                    if (c.in.empty()) {
                        c.in.assign(data);
                    }
                    if (static_cast<std::size_t>(n) < scratch.size()) {
                        return;
                    }
                    continue;
                }
                if (data.substr(0, 12) != "HTTP/1.1 101") {
                    fail(c, "upgrade refused: " + clip(data));
                }
                pos = end + 4;
                c.st = state::waiting_ready;
            }
            for (;;) {
                std::uint8_t opcode = 0;
                std::string_view payload;
                const std::size_t used = parse_frame(data.substr(pos), opcode, payload);
                if (used == 0) {
                    break;
                }
                on_frame(c, opcode, payload, now, setup_done);
                pos += used;
            }
            if (data.data() == c.in.data()) {
                c.in.erase(0, pos);
            } else if (pos < data.size()) {
                c.in.assign(data.substr(pos));
            }
            if (static_cast<std::size_t>(n) < scratch.size()) {
                return;  // drained: edge-triggered epoll reports new bytes
            }
        }
    }

    void on_event(conn& c, std::uint32_t events, std::size_t& setup_done) {
        if (c.st == state::connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                fail(c, std::string("connect: ") + std::strerror(err));
            }
            c.st = state::upgrading;
            c.out = request;
        }
        if ((events & EPOLLOUT) != 0 || (c.st == state::upgrading && !c.out.empty())) {
            write_out(c);
        }
        if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
            on_readable(c, setup_done);
        }
    }

    // Opens and sets up every connection of this shard.
    void setup_loop(const sockaddr_in& addr, std::size_t max_in_flight) {
        const auto deadline = clock_type::now() + std::chrono::seconds(120);
        std::size_t started = 0;
        std::size_t setup_done = 0;
        std::vector<epoll_event> events(256);
        while (setup_done < conns.size()) {
            while (started < conns.size() && started - setup_done < max_in_flight) {
                start_connect(conns[started++], addr);
            }
            const int n = epoll_wait(epfd, events.data(), static_cast<int>(events.size()), 100);
            if (n < 0 && errno != EINTR) {
                fail_errno("epoll_wait");
            }
            for (int i = 0; i < n; ++i) {
                on_event(conns[events[i].data.u64], events[i].events, setup_done);
            }
            if (clock_type::now() > deadline) {
                throw std::runtime_error(
                    target_name + ": setup timed out: " + std::to_string(setup_done) + " of " +
                    std::to_string(conns.size()) + " connections ready");
            }
        }
    }

    bool publish_some() {
        bool blocked = false;
        for (const std::size_t index : publishers) {
            conn& c = conns[index];
            const std::uint64_t limit = window * subscribers_per_channel;
            while (c.sent < pubs) {
                const std::uint64_t done = delivered[c.channel].load(std::memory_order_relaxed);
                // Deliveries of this burst so far are counted from the base
                // recorded at its start (next_offset holds the base here).
                // A publication is in flight until every subscriber has read
                // it: the next one may go when the deliveries still owed,
                // plus its own, fit in the window (window 1: one at a time).
                const std::uint64_t owed =
                    (c.next_offset + c.sent) * subscribers_per_channel - done;
                if (owed + subscribers_per_channel > limit) {
                    blocked = true;
                    break;
                }
                const std::int64_t t = now_ns();
                if (first_send_ns == 0) {
                    first_send_ns = t;
                }
                std::string text = R"({"op":"pub","ch":")" + channel_name(c.channel) +
                                   R"(","data":{"t":)" + std::to_string(t) + R"(,"p":")" + pad +
                                   "\"}}";
                send_text(c, text);
                ++c.sent;
            }
        }
        return blocked;
    }

    void burst_loop() {
        const auto deadline = clock_type::now() + std::chrono::seconds(300);
        std::vector<epoll_event> events(512);
        std::size_t ignored = 0;
        for (;;) {
            const bool blocked = publish_some();
            bool publishing_done = true;
            for (const std::size_t index : publishers) {
                publishing_done = publishing_done && conns[index].sent == pubs;
            }
            if (pending_subscribers == 0 && publishing_done) {
                return;
            }
            // With several generator threads a publisher may wait on
            // deliveries read by another thread: poll instead of sleeping.
            const int timeout = blocked && shard_count > 1 ? 0 : 100;
            const int n = epoll_wait(epfd, events.data(), static_cast<int>(events.size()), timeout);
            if (n < 0 && errno != EINTR) {
                fail_errno("epoll_wait");
            }
            for (int i = 0; i < n; ++i) {
                on_event(conns[events[i].data.u64], events[i].events, ignored);
            }
            if (clock_type::now() > deadline) {
                throw std::runtime_error(target_name + ": a burst timed out with " +
                                         std::to_string(pending_subscribers) +
                                         " subscribers of this thread still waiting");
            }
        }
    }
};

load_generator::load_generator(std::vector<int> cpus) : cpus_(std::move(cpus)) {
    if (cpus_.empty()) {
        cpus_.push_back(-1);
    }
}

load_generator::~load_generator() = default;

std::size_t load_generator::connections() const {
    std::size_t n = 0;
    for (const auto& s : shards_) {
        n += s->conns.size();
    }
    return n;
}

namespace {

// Runs fn(shard, index) on one thread per shard, pinned, and rethrows the
// first failure after every thread has ended.
template <typename Fn>
void on_shards(std::vector<std::unique_ptr<load_generator::shard>>& shards, Fn fn) {
    std::vector<std::exception_ptr> errors(shards.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < shards.size(); ++i) {
        threads.emplace_back([&, i] {
            try {
                pin_thread(shards[i]->cpu);
                fn(*shards[i]);
            } catch (...) {
                errors[i] = std::current_exception();
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    for (auto& e : errors) {
        if (e) {
            std::rethrow_exception(e);
        }
    }
}

}  // namespace

void load_generator::setup(const target& t, const topology_plan& plan, const std::string& token,
                           std::size_t max_in_flight) {
    teardown();
    target_ = t;
    plan_ = plan;
    delivered_ = std::make_unique<std::atomic<std::uint64_t>[]>(plan.channels);
    for (std::size_t i = 0; i < plan.channels; ++i) {
        delivered_[i].store(0);
    }
    for (const int cpu : cpus_) {
        auto s = std::make_unique<shard>();
        s->cpu = cpu;
        s->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (s->epfd < 0) {
            fail_errno("epoll_create1");
        }
        s->delivered = delivered_.get();
        s->subscribers_per_channel = plan.subscribers_per_channel;
        s->request = upgrade_request(t, token);
        s->channel_prefix = "bench-";
        s->shard_count = static_cast<int>(cpus_.size());
        s->target_name = t.name;
        s->masks.state ^= static_cast<std::uint64_t>(now_ns()) * (shards_.size() + 1);
        shards_.push_back(std::move(s));
    }
    // Connections round-robin over the shards; the reserve keeps the conn
    // addresses (epoll's data) stable.
    const std::size_t total =
        plan.channels * (plan.subscribers_per_channel + (plan.publisher_per_channel ? 1 : 0));
    for (auto& s : shards_) {
        s->conns.reserve(total / shards_.size() + 1);
    }
    std::size_t next = 0;
    for (std::size_t ch = 0; ch < plan.channels; ++ch) {
        for (std::size_t k = 0; k < plan.subscribers_per_channel; ++k) {
            shard& s = *shards_[next++ % shards_.size()];
            s.conns.emplace_back();
            s.conns.back().channel = ch;
        }
    }
    if (plan.publisher_per_channel) {
        for (std::size_t ch = 0; ch < plan.channels; ++ch) {
            shard& s = *shards_[next++ % shards_.size()];
            s.conns.emplace_back();
            s.conns.back().channel = ch;
            s.conns.back().publisher = true;
            s.publishers.push_back(s.conns.size() - 1);
        }
    }
    const sockaddr_in addr = loopback(t.port);
    on_shards(shards_,
              [&](shard& s) { s.setup_loop(addr, std::max<std::size_t>(max_in_flight, 1)); });
}

std::vector<double> load_generator::setup_latencies_us() const {
    std::vector<double> out;
    for (const auto& s : shards_) {
        for (const auto& c : s->conns) {
            out.push_back(static_cast<double>(c.ready_ns - c.connect_ns) / 1e3);
        }
    }
    return out;
}

burst_result load_generator::run(std::uint64_t pubs_per_publisher, std::uint64_t window,
                                 std::size_t data_bytes) {
    if (shards_.empty() || window == 0 || pubs_per_publisher == 0) {
        throw std::runtime_error("load_generator::run before setup, or with nothing to send");
    }
    // Publications per channel so far: every publisher keeps it in its
    // next_offset field (unused otherwise) as the base of its window.
    const std::size_t overhead = 40;  // {"t":<19 digits>,"p":""}
    const std::string pad(data_bytes > overhead ? data_bytes - overhead : 1, 'x');
    for (auto& s : shards_) {
        s->pubs = pubs_per_publisher;
        s->window = window;
        s->pad = pad;
        s->first_send_ns = 0;
        s->last_receive_ns = 0;
        s->latencies_us.clear();
        s->latencies_us.reserve(pubs_per_publisher * 64);
        s->pending_subscribers = 0;
        for (auto& c : s->conns) {
            c.received = 0;
            if (c.publisher) {
                c.next_offset += c.sent;  // publications of the earlier bursts
            } else {
                ++s->pending_subscribers;
            }
            c.sent = 0;
        }
    }
    std::vector<std::int64_t> cpu(shards_.size());
    on_shards(shards_, [&](shard& s) {
        const std::int64_t c0 = thread_cpu_ns();
        s.burst_loop();
        const std::int64_t used = thread_cpu_ns() - c0;
        for (std::size_t i = 0; i < shards_.size(); ++i) {
            if (shards_[i].get() == &s) {
                cpu[i] = used;
            }
        }
    });
    burst_result r;
    std::int64_t first = 0;
    std::int64_t last = 0;
    std::vector<double> lat;
    for (std::size_t i = 0; i < shards_.size(); ++i) {
        const shard& s = *shards_[i];
        if (s.first_send_ns != 0 && (first == 0 || s.first_send_ns < first)) {
            first = s.first_send_ns;
        }
        last = std::max(last, s.last_receive_ns);
        r.generator_cpu_ns += cpu[i];
        for (const std::uint32_t us : s.latencies_us) {
            lat.push_back(us);
        }
    }
    r.wall_ns = last - first;
    r.publications = pubs_per_publisher * plan_.channels;
    r.deliveries = r.publications * plan_.subscribers_per_channel;
    r.generator_threads = static_cast<int>(shards_.size());
    if (!lat.empty()) {
        r.latency_p50_us = percentile(lat, 0.5);
        r.latency_p99_us = percentile(lat, 0.99);
    }
    return r;
}

void load_generator::teardown() {
    shards_.clear();
}

std::int64_t process_cpu_ns(pid_t pid) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) {
        return -1;
    }
    std::int64_t total = 0;
    while (const dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') {
            continue;
        }
        std::ifstream in(dir + "/" + e->d_name + "/schedstat");
        std::int64_t ns = 0;
        if (in >> ns) {
            total += ns;
        }
    }
    closedir(d);
    return total;
}

}  // namespace corvid::bench::engine
