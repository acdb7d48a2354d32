// bench-peer-beast-ws: Boost.Beast's WebSocket client (Boost 1.74 headers,
// plain ws over Boost.Asio) driven by corvid-bench's ws-echo workload with
// the line protocol of peer_protocol.hpp (--ws-echo).
//
// Beast's fastest idiomatic form for a ping-pong on one connection: the
// synchronous stream API on one thread (no executor hops, no coroutine
// frames), websocket::stream<tcp::socket>, write() of the whole message and
// read() into one flat_buffer reused for every message. permessage-deflate is
// off (Beast's default). Two options are set so that Beast sends each
// message as one frame with as few socket writes as the others:
// auto_fragment(false) (Beast's default would cut every message into frames
// of write_buffer_bytes) and write_buffer_bytes(64 KiB) (the buffer a client
// masks into before writing; Beast's default of 4 KiB would take 16 writes
// for a 64 KiB message). TCP_NODELAY is set, as corvid and node's ws do.
// Nothing of corvid is linked: only the header-only protocol.

#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/version.hpp>

#include "bench/peers/peer_protocol.hpp"

namespace {

namespace peer = corvid::bench::peer;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;

constexpr std::size_t write_buffer_size = 64 * 1024;

class echo_client {
  public:
    explicit echo_client(const peer::options& o) : options_(o), payload_(o.ws_size) {}

    // One "run": opens the connection the first time (outside the clock),
    // then times `messages` round trips and prints the line.
    void sample() {
        if (!broken_.empty()) {
            peer::print_error(broken_);
            return;
        }
        try {
            if (!ws_) {
                open();
            }
            const std::int64_t cpu_start = peer::cpu_ns();
            const std::int64_t start = peer::now_ns();
            std::int64_t first = 0;
            std::uint64_t bytes = 0;
            for (std::uint64_t i = 0; i < options_.ws_messages; ++i) {
                const std::string& msg = payload_.next(seq_++);
                ws_->write(net::buffer(msg));
                buffer_.consume(buffer_.size());
                ws_->read(buffer_);
                const auto data = buffer_.cdata();
                const std::string wrong = payload_.check(static_cast<const char*>(data.data()),
                                                         data.size(), ws_->got_binary());
                if (!wrong.empty()) {
                    fail(wrong);
                    return;
                }
                bytes += data.size();
                if (i == 0) {
                    first = peer::now_ns();
                }
            }
            const std::int64_t end = peer::now_ns();
            const std::int64_t cpu = peer::cpu_ns() - cpu_start;
            peer::print_sample(first - start, end - start, bytes, cpu);
        } catch (const std::exception& e) {
            fail(e.what());
        }
    }

    void close() noexcept {
        if (ws_ && broken_.empty()) {
            boost::system::error_code ignored;
            ws_->close(websocket::close_code::normal, ignored);
        }
    }

  private:
    void open() {
        const auto url = peer::parse_ws_url(options_.url);
        if (!url) {
            throw std::runtime_error("cannot parse " + options_.url);
        }
        ws_.emplace(io_);
        tcp::resolver resolver(io_);
        net::connect(ws_->next_layer(), resolver.resolve(url->host, url->port));
        ws_->next_layer().set_option(tcp::no_delay(true));
        ws_->auto_fragment(false);
        ws_->write_buffer_bytes(write_buffer_size);
        ws_->read_message_max(peer::ws_max_size);
        ws_->binary(true);
        ws_->handshake(url->host + ":" + url->port, url->target);
    }

    void fail(const std::string& why) {
        broken_ = why;
        peer::print_error(why);
    }

    const peer::options& options_;
    peer::ws_echo_payload payload_;
    net::io_context io_;
    std::optional<websocket::stream<tcp::socket>> ws_;
    beast::flat_buffer buffer_;
    std::uint64_t seq_ = 0;
    std::string broken_;  // why the connection is unusable; every later sample fails
};

}  // namespace

int main(int argc, char** argv) {
    const peer::options o = peer::parse_options(argc, argv);
    if (o.version) {
        std::printf("Boost.Beast/%d (Boost %d.%d.%d)\n", BOOST_BEAST_VERSION,
                    BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100);
        return 0;
    }
    if (!o.ws_echo) {
        std::fprintf(stderr, "%s: only --ws-echo is supported\n", argv[0]);
        return 2;
    }
    echo_client client(o);
    while (peer::next_run()) {
        client.sample();
    }
    client.close();
    return 0;
}
