// libFuzzer target for corvid::h1::response_parser: the server's bytes are
// attacker-controlled. The stream is parsed three ways (in one piece, split
// at an input-derived point, and in small runs) and the three transcripts
// must be identical; every event is checked against the API's contract
// (fuzz/h1_fuzz_driver.hpp). Pipelined responses after the first are parsed
// too, as a client would after reset().
//
// Input layout: byte 0 = flags (bit 0: small limits, bit 1: HEAD request,
// bits 2-5: run length for the third pass), byte 1 = split point, rest =
// the stream.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "h1_fuzz_driver.hpp"
#include "proto/h1/response_parser.hpp"
#include "proto/h1/serializer.hpp"

namespace {

using corvid::h1::response_parser;
namespace fz = corvid::h1::fuzz;

void describe(const response_parser& p, std::string& log) {
    log += std::to_string(p.version()) + " " + std::to_string(p.status()) + " ";
    log.append(p.reason());
    log += "\n";
    for (const auto& f : p.fields()) {
        fz::check(!f.name.empty());
        log += f.name + ":" + f.value + "\n";
    }
    log += "ka=" + std::to_string(p.keep_alive()) +
           " body=" + std::to_string(static_cast<int>(p.body()));
    if (auto cl = p.content_length()) {
        log += " cl=" + std::to_string(*cl);
    }
    // Contract: no body for HEAD, 1xx, 204, 304; a body read until close
    // never keeps the connection alive.
    int s = p.status();
    fz::check(s >= 100 && s <= 999);
    if (s < 200 || s == 204 || s == 304) {
        fz::check(p.body() == corvid::h1::body_kind::none);
    }
    if (p.body() == corvid::h1::body_kind::until_close) {
        fz::check(!p.keep_alive());
    }

    // What the parser accepted, the serializer accepts and writes back in a
    // form the parser reads as the same head.
    std::string wire;
    fz::check(!corvid::h1::try_serialize_response_head(wire, s, p.reason(), p.fields()));
    response_parser again;
    again.reset();
    std::error_code ec;
    auto ev = again.parse(wire, ec);
    fz::check(!ec && ev.kind == corvid::h1::event_kind::head && ev.consumed == wire.size());
    fz::check(again.status() == s && again.reason() == p.reason() && again.fields() == p.fields());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::uint8_t flags = data[0];
    const std::size_t split = data[1];
    std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);

    const bool head_request = (flags & 2) != 0;
    response_parser parser(fz::pick_limits(flags));
    auto reset = [&](response_parser& p) { p.reset(head_request); };
    auto stop = [](const response_parser& p) { return p.status() == 101; };

    auto one = fz::run(parser, {stream}, reset, describe, stop);
    auto two = fz::run(parser, fz::pieces(stream, split, 0), reset, describe, stop);
    fz::check(one == two);
    std::size_t run = ((flags >> 2) & 0x0f) + 1;
    auto three = fz::run(parser, fz::pieces(stream, 0, run), reset, describe, stop);
    fz::check(one == three);
    return 0;
}
