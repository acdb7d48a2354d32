// libFuzzer target for the HTTP/2 client session: everything the server
// sends is attacker-controlled. The client has two requests in flight (a
// GET, and a POST whose body it keeps streaming), pulls its output and its
// events after every read, consumes the DATA it gets and resets a stream now
// and then.
//
// Input: byte 0 picks the configuration (bit 0: prepend a valid server
// SETTINGS frame, bit 1: then a SETTINGS ACK, bit 2: small windows and
// buffers, bits 3-5: the size of each read, bit 6: consume only every other
// data event), the rest is the server's bytes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "h2_fuzz_support.hpp"
#include "proto/h2/session.hpp"

using namespace corvid;
using namespace corvid::h2;
using corvid::h2::fuzz::check;
using corvid::h2::fuzz::drain_output;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const std::uint8_t config = data[0];
    std::string in;
    if ((config & 0x01) != 0) {
        in.append("\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64", 15);
    }
    if ((config & 0x02) != 0) {
        in.append("\x00\x00\x00\x04\x01\x00\x00\x00\x00", 9);
    }
    in.append(reinterpret_cast<const char*>(data + 1), size - 1);

    client_options options;
    if ((config & 0x04) != 0) {
        options.profile.settings = {{setting_id::enable_push, 0},
                                    {setting_id::initial_window_size, 1024}};
        options.profile.connection_window_increment = 0;
        options.limits.stream_send_buffer = 512;
        options.limits.output_buffer_limit = 1024;
        options.limits.max_header_list_size = 2048;
    }
    static constexpr std::size_t read_sizes[] = {1, 7, 64, 512, 4096, 16384, 65536, 1 << 20};
    const std::size_t read_size = read_sizes[(config >> 3) & 0x07];
    const bool lazy_consumer = (config & 0x40) != 0;

    auto created = client_session::create(options);
    check(created.has_value());
    client_session& c = created.value();

    request_head get;
    get.method = "GET";
    get.scheme = "https";
    get.authority = "example.test";
    get.path = "/";
    get.fields.add("accept", "*/*");
    const auto a = c.submit_request(get, true);
    check(a.has_value());
    request_head post = get;
    post.method = "POST";
    const auto b = c.submit_request(post, false);
    check(b.has_value());
    const std::string body(3000, 'b');
    std::size_t body_sent = 0;
    drain_output(c);

    std::size_t data_events = 0;
    std::error_code failed;
    for (std::size_t pos = 0; pos < in.size(); pos += read_size) {
        const std::string_view piece = std::string_view(in).substr(pos, read_size);
        const std::error_code ec = c.receive(piece);
        if (ec) {
            check(is_connection_error(ec));
            check(c.error() == ec);
            check(c.is_closing());
            failed = ec;
        }
        while (auto e = c.next_event()) {
            if (auto* d = std::get_if<data_event>(&*e)) {
                // The view must lie inside this read's bytes.
                check(d->data.empty() ||
                      (d->data.data() >= piece.data() &&
                       d->data.data() + d->data.size() <= piece.data() + piece.size()));
                if (!lazy_consumer || (++data_events % 2) == 0) {
                    c.consume(d->stream_id, d->data.size());
                }
            } else if (auto* r = std::get_if<response_event>(&*e)) {
                check(r->stream_id == a.value() || r->stream_id == b.value());
                if (r->status >= 500) {
                    (void)c.reset_stream(r->stream_id, wire_error::cancel);
                }
            } else if (auto* closed = std::get_if<stream_closed_event>(&*e)) {
                check(!is_connection_error(closed->error));
            }
        }
        if (body_sent < body.size()) {
            auto took = c.submit_data(b.value(), std::string_view(body).substr(body_sent, 700),
                                      body_sent + 700 >= body.size());
            if (took.has_value()) {
                body_sent += took.value();
            } else {
                body_sent = body.size();
            }
        }
        drain_output(c);
        if (failed) {
            // Sticky: the session refuses more input with the same error.
            check(c.receive(std::string_view("x")) == failed);
            break;
        }
    }
    (void)c.ping(7);
    (void)c.goaway();
    drain_output(c);
    return 0;
}
