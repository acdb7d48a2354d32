// libFuzzer target for the HTTP/2 server session: everything the client
// sends is attacker-controlled. The server answers every request head with a
// streamed response and trailers, consumes what it reads, and resets a
// stream now and then.
//
// Input: byte 0 picks the configuration (bit 0: prepend the client magic
// and an empty SETTINGS frame, bit 1: enable extended CONNECT, bit 2: small
// windows and limits, bits 3-5: the size of each read), the rest is the
// client's bytes.

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
        in.append("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        in.append("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);
    }
    in.append(reinterpret_cast<const char*>(data + 1), size - 1);

    server_options options;
    options.enable_connect_protocol = (config & 0x02) != 0;
    if ((config & 0x04) != 0) {
        options.settings = {{setting_id::initial_window_size, 1024}};
        options.connection_window_increment = 0;
        options.limits.max_concurrent_streams = 4;
        options.limits.stream_send_buffer = 512;
        options.limits.output_buffer_limit = 1024;
        options.limits.max_header_list_size = 2048;
        options.limits.max_continuations = 2;
        options.limits.stream_reset_burst = 4;
    }
    static constexpr std::size_t read_sizes[] = {1, 7, 64, 512, 4096, 16384, 65536, 1 << 20};
    const std::size_t read_size = read_sizes[(config >> 3) & 0x07];

    auto created = server_session::create(options);
    check(created.has_value());
    server_session& s = created.value();
    drain_output(s);

    std::error_code failed;
    std::size_t requests = 0;
    for (std::size_t pos = 0; pos < in.size(); pos += read_size) {
        const std::string_view piece = std::string_view(in).substr(pos, read_size);
        const std::error_code ec = s.receive(piece);
        if (ec) {
            check(is_connection_error(ec));
            check(s.error() == ec);
            failed = ec;
        }
        while (auto e = s.next_event()) {
            if (auto* d = std::get_if<data_event>(&*e)) {
                check(d->data.empty() ||
                      (d->data.data() >= piece.data() &&
                       d->data.data() + d->data.size() <= piece.data() + piece.size()));
                s.consume(d->stream_id, d->data.size());
            } else if (auto* r = std::get_if<request_event>(&*e)) {
                check(!r->head.method.empty());
                check(r->head.protocol.empty() || options.enable_connect_protocol);
                if (++requests % 5 == 0) {
                    (void)s.reset_stream(r->stream_id, wire_error::refused_stream);
                    continue;
                }
                (void)s.submit_response(r->stream_id, 200, {{"content-type", "text/plain"}}, false);
                (void)s.submit_data(r->stream_id, std::string_view("response body"), false);
                (void)s.submit_trailers(r->stream_id, {{"x-done", "1"}});
            } else if (auto* closed = std::get_if<stream_closed_event>(&*e)) {
                check(!is_connection_error(closed->error));
            }
        }
        drain_output(s);
        if (failed) {
            check(s.receive(std::string_view("x")) == failed);
            break;
        }
    }
    (void)s.shutdown_notice();
    (void)s.goaway();
    drain_output(s);
    return 0;
}
