// libFuzzer target for corvid::h1::request_parser: the client's bytes are
// attacker-controlled (this parser fronts corvid-server). As in
// h1_response_fuzz, the stream is parsed in one piece, split at an
// input-derived point and in small runs, and the transcripts must match;
// pipelined requests are parsed after reset().
//
// Input layout: byte 0 = flags (bit 0: small limits, bits 2-5: run length),
// byte 1 = split point, rest = the stream.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "h1_fuzz_driver.hpp"
#include "proto/h1/fields.hpp"
#include "proto/h1/request_parser.hpp"
#include "proto/h1/serializer.hpp"

namespace {

using corvid::h1::request_parser;
namespace fz = corvid::h1::fuzz;

void describe(const request_parser& p, std::string& log) {
    // What the parser accepted must satisfy the rules it enforces.
    fz::check(corvid::h1::detail::is_token(p.method()));
    fz::check(corvid::h1::detail::is_target_chars(p.target()));
    fz::check(p.version() == 10 || p.version() == 11);
    log.append(p.method());
    log += " ";
    log.append(p.target());
    log += " " + std::to_string(p.version()) + "\n";
    for (const auto& f : p.fields()) {
        fz::check(corvid::h1::detail::is_token(f.name));
        fz::check(corvid::h1::detail::is_field_value(f.value));
        log += f.name + ":" + f.value + "\n";
    }
    log += "ka=" + std::to_string(p.keep_alive()) +
           " continue=" + std::to_string(p.expects_continue()) +
           " body=" + std::to_string(static_cast<int>(p.body()));
    if (auto cl = p.content_length()) {
        log += " cl=" + std::to_string(*cl);
    }
    fz::check(p.body() != corvid::h1::body_kind::until_close);

    // What the parser accepted, the serializer accepts and writes back in a
    // form the parser reads as the same head.
    std::string wire;
    fz::check(!corvid::h1::try_serialize_request_head(wire, p.method(), p.target(), p.fields()));
    request_parser again;
    again.reset();
    std::error_code ec;
    auto ev = again.parse(wire, ec);
    fz::check(!ec && ev.kind == corvid::h1::event_kind::head && ev.consumed == wire.size());
    fz::check(again.method() == p.method() && again.target() == p.target() &&
              again.fields() == p.fields());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::uint8_t flags = data[0];
    const std::size_t split = data[1];
    std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);

    request_parser parser(fz::pick_limits(flags));
    auto reset = [](request_parser& p) { p.reset(); };
    auto stop = [](const request_parser&) { return false; };

    auto one = fz::run(parser, {stream}, reset, describe, stop);
    auto two = fz::run(parser, fz::pieces(stream, split, 0), reset, describe, stop);
    fz::check(one == two);
    std::size_t run = ((flags >> 2) & 0x0f) + 1;
    auto three = fz::run(parser, fz::pieces(stream, 0, run), reset, describe, stop);
    fz::check(one == three);
    return 0;
}
