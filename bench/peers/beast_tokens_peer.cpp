// bench-peer-beast-tokens: Boost.Beast's WebSocket client over TLS (Boost
// 1.74 headers, Boost.Asio SSL on OpenSSL) in the `tokens` workload's
// WebSocket cases, with the token mode of token_peer.hpp. A separate
// executable because OpenSSL and BoringSSL must never share a process; it
// links OpenSSL and nothing of corvid.
//
// Beast's plain synchronous form on one thread, as bench-peer-beast-ws:
// websocket::stream<ssl::stream<tcp::socket>>, write() of the "start"
// message, then read() of one whole message at a time into one flat_buffer
// reused for every message. The certificate is verified against --cacert
// alone (peer and host name, SNI sent), TCP_NODELAY is set as corvid's
// client does, permessage-deflate is off (Beast's default). The connection
// is opened by the first "run", before its clock starts, and kept.

#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/version.hpp>

#include "bench/peers/token_peer.hpp"

namespace {

namespace peer = corvid::bench::peer;
namespace tokens = corvid::bench::tokens;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;

class token_client {
  public:
    explicit token_client(const peer::token_options& o)
        : options_(o), start_(o.ws_start()), tls_(ssl::context::tls_client) {
        tls_.load_verify_file(o.cacert);
        tls_.set_verify_mode(ssl::verify_peer);
    }

    // One "run": opens the connection the first time (outside the clock),
    // then times one token stream and prints the line.
    void sample() {
        if (!broken_.empty()) {
            peer::print_error(broken_);
            return;
        }
        try {
            if (!ws_) {
                open();
            }
            tokens::stream_check check(options_.tokens);
            peer::token_timing t;
            const std::int64_t cpu_start = peer::cpu_ns();
            const std::int64_t start = peer::now_ns();
            ws_->text(true);
            ws_->write(net::buffer(start_));
            for (;;) {
                buffer_.consume(buffer_.size());
                ws_->read(buffer_);
                const std::int64_t now = peer::now_ns();
                if (!ws_->got_text()) {
                    fail("a binary message");
                    return;
                }
                const auto data = buffer_.cdata();
                const std::string_view text(static_cast<const char*>(data.data()), data.size());
                if (text == "done") {
                    break;
                }
                t.stamp(now, check.count() == 0);
                if (!check.add(text)) {
                    break;
                }
            }
            const std::int64_t cpu = peer::cpu_ns() - cpu_start;
            if (std::string wrong = check.finish(); !wrong.empty()) {
                fail(wrong);
                return;
            }
            peer::print_sample(t.first_ns - start, t.last_ns - start, check.chars(), cpu);
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
        const auto url = peer::split_url(options_.url, "443");
        if (!url) {
            throw std::runtime_error("cannot parse " + options_.url);
        }
        ws_.emplace(io_, tls_);
        auto& tls_stream = ws_->next_layer();
        tcp::resolver resolver(io_);
        net::connect(beast::get_lowest_layer(*ws_), resolver.resolve(url->host, url->port));
        beast::get_lowest_layer(*ws_).set_option(tcp::no_delay(true));
        if (!SSL_set_tlsext_host_name(tls_stream.native_handle(), url->host.c_str())) {
            throw std::runtime_error("cannot set SNI");
        }
        tls_stream.set_verify_callback(ssl::host_name_verification(url->host));
        tls_stream.handshake(ssl::stream_base::client);
        ws_->handshake(url->host + ":" + url->port, url->target);
    }

    void fail(const std::string& why) {
        broken_ = why;
        peer::print_error(why);
    }

    const peer::token_options& options_;
    const std::string start_;
    net::io_context io_;
    ssl::context tls_;
    std::optional<websocket::stream<ssl::stream<tcp::socket>>> ws_;
    beast::flat_buffer buffer_;
    std::string broken_;  // why the connection is unusable; every later sample fails
};

}  // namespace

int main(int argc, char** argv) {
    const peer::token_options o =
        peer::parse_token_options(argc, argv, /*sse=*/false, /*websocket=*/true);
    if (o.version) {
        std::printf("Boost.Beast/%d (Boost %d.%d.%d), %s\n", BOOST_BEAST_VERSION,
                    BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100,
                    OpenSSL_version(OPENSSL_VERSION));
        return 0;
    }
    token_client client(o);
    while (peer::next_run()) {
        client.sample();
    }
    client.close();
    return 0;
}
