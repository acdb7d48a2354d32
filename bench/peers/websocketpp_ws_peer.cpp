// bench-peer-websocketpp-ws: websocketpp 0.8.2's client (Debian's
// libwebsocketpp-dev, config::asio_client: plain ws over Boost.Asio, no TLS)
// driven by corvid-bench's ws-echo workload with the line protocol of
// peer_protocol.hpp (--ws-echo).
//
// websocketpp is callback-driven, so the ping-pong is its idiomatic form: the
// message handler checks the echo and sends the next message from inside the
// handler; the sample drives the endpoint's io_service with run_one() until
// the last echo has arrived (one thread, no locks beyond what the config
// has). asio_client negotiates no extension (permessage-deflate is not
// compiled in), logging is off, and TCP_NODELAY is set once TCP is connected
// (tcp_post_init handler), as corvid and node's ws do. Nothing of corvid is linked.
//
// websocketpp 0.8.2 does not compile as C++20 (a template-id constructor in
// endpoint.hpp), so this file is built as C++17 (bench/CMakeLists.txt).

#include <cstdint>
#include <cstdio>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>
#include <websocketpp/version.hpp>

#include "bench/peers/peer_protocol.hpp"

namespace {

namespace peer = corvid::bench::peer;
using ws_client = websocketpp::client<websocketpp::config::asio_client>;
using message_ptr = ws_client::message_ptr;

class echo_client {
  public:
    explicit echo_client(const peer::options& o) : options_(o), payload_(o.ws_size) {
        endpoint_.clear_access_channels(websocketpp::log::alevel::all);
        endpoint_.clear_error_channels(websocketpp::log::elevel::all);
        endpoint_.init_asio();
        // After the TCP connect (the socket init handler runs before it, on
        // a socket not yet open).
        endpoint_.set_tcp_post_init_handler([this](websocketpp::connection_hdl h) {
            boost::system::error_code ec;
            endpoint_.get_con_from_hdl(h)->get_socket().set_option(
                boost::asio::ip::tcp::no_delay(true), ec);
            if (ec) {
                broken_ = "TCP_NODELAY: " + ec.message();
            }
        });
        endpoint_.set_open_handler([this](websocketpp::connection_hdl) { open_ = true; });
        endpoint_.set_fail_handler([this](websocketpp::connection_hdl h) {
            broken_ = "connection failed: " + endpoint_.get_con_from_hdl(h)->get_ec().message();
        });
        endpoint_.set_close_handler(
            [this](websocketpp::connection_hdl) { broken_ = "the server closed the connection"; });
        endpoint_.set_message_handler(
            [this](websocketpp::connection_hdl, message_ptr msg) { on_message(msg); });
    }

    void sample() {
        if (connection_ == nullptr && !open()) {
            peer::print_error(broken_);
            return;
        }
        if (!broken_.empty()) {
            peer::print_error(broken_);
            return;
        }
        left_ = options_.ws_messages;
        bytes_ = 0;
        first_ns_ = 0;
        const std::int64_t cpu_start = peer::cpu_ns();
        start_ns_ = peer::now_ns();
        send_next();
        while (left_ != 0 && broken_.empty()) {
            if (endpoint_.run_one() == 0) {
                broken_ = "the connection's event loop ran out of work";
            }
        }
        const std::int64_t end = peer::now_ns();
        const std::int64_t cpu = peer::cpu_ns() - cpu_start;
        if (!broken_.empty()) {
            peer::print_error(broken_);
            return;
        }
        peer::print_sample(first_ns_ - start_ns_, end - start_ns_, bytes_, cpu);
    }

    void close() {
        if (connection_ != nullptr && broken_.empty()) {
            websocketpp::lib::error_code ignored;
            connection_->close(websocketpp::close::status::normal, "", ignored);
            endpoint_.run();  // until the close handshake and TCP are done
        }
    }

  private:
    // Connects and runs the handshake (outside the clock); false on failure.
    bool open() {
        websocketpp::lib::error_code ec;
        connection_ = endpoint_.get_connection(options_.url, ec);
        if (ec) {
            broken_ = "cannot connect to " + options_.url + ": " + ec.message();
            connection_ = nullptr;
            return false;
        }
        endpoint_.connect(connection_);
        while (!open_ && broken_.empty()) {
            if (endpoint_.run_one() == 0) {
                broken_ = "the handshake's event loop ran out of work";
            }
        }
        return broken_.empty();
    }

    void send_next() {
        const std::string& msg = payload_.next(seq_++);
        const websocketpp::lib::error_code ec =
            connection_->send(msg.data(), msg.size(), websocketpp::frame::opcode::binary);
        if (ec) {
            broken_ = "send: " + ec.message();
        }
    }

    void on_message(const message_ptr& msg) {
        if (left_ == 0) {
            broken_ = "a message arrived outside a sample";
            return;
        }
        const std::string& data = msg->get_payload();
        const std::string wrong = payload_.check(
            data.data(), data.size(), msg->get_opcode() == websocketpp::frame::opcode::binary);
        if (!wrong.empty()) {
            broken_ = wrong;
            return;
        }
        if (first_ns_ == 0) {
            first_ns_ = peer::now_ns();
        }
        bytes_ += data.size();
        if (--left_ != 0) {
            send_next();
        }
    }

    const peer::options& options_;
    peer::ws_echo_payload payload_;
    ws_client endpoint_;
    ws_client::connection_ptr connection_;
    bool open_ = false;
    std::string broken_;  // why the connection is unusable; every later sample fails
    std::uint64_t seq_ = 0;
    std::uint64_t left_ = 0;  // round trips still to do in this sample
    std::uint64_t bytes_ = 0;
    std::int64_t start_ns_ = 0;
    std::int64_t first_ns_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    const peer::options o = peer::parse_options(argc, argv);
    if (o.version) {
        std::printf("WebSocket++/%d.%d.%d\n", websocketpp::major_version,
                    websocketpp::minor_version, websocketpp::patch_version);
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
