#include "proto/h1/body_reader.hpp"

#include <algorithm>

#include "corvid/error.hpp"

namespace corvid::h1::detail {

void body_reader::start(body_kind kind, std::uint64_t length, const parser_limits& limits) {
    kind_ = kind;
    remaining_ = length;
    received_ = 0;
    max_body_ = limits.max_body_bytes;
    chunked_.reset();
    if (kind == body_kind::chunked) {
        chunked_decoder::limits l;
        l.max_chunk_ext_bytes = limits.max_chunk_ext_bytes;
        l.max_body_bytes = limits.max_body_bytes;
        l.max_trailer_bytes = limits.max_header_bytes;
        l.max_trailer_fields = limits.max_fields;
        chunked_.set_limits(l);
    }
}

event body_reader::read(std::string_view in, std::error_code& ec) {
    ec.clear();
    switch (kind_) {
        case body_kind::none:
            return {event_kind::done, 0, {}};
        case body_kind::length: {
            if (remaining_ == 0) {
                return {event_kind::done, 0, {}};
            }
            if (in.empty()) {
                return {event_kind::need_more, 0, {}};
            }
            auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
            remaining_ -= n;
            return {event_kind::body, n, in.substr(0, n)};
        }
        case body_kind::chunked: {
            auto ev = chunked_.decode(in, ec);
            switch (ev.kind) {
                case chunked_decoder::event_kind::data:
                    return {event_kind::body, ev.consumed, ev.data};
                case chunked_decoder::event_kind::done:
                    return {event_kind::done, ev.consumed, {}};
                case chunked_decoder::event_kind::need_more:
                    break;
            }
            return {event_kind::need_more, ev.consumed, {}};
        }
        case body_kind::until_close:
            if (in.empty()) {
                return {event_kind::need_more, 0, {}};
            }
            if (in.size() > max_body_ - received_) {
                ec = http1_errc::body_too_large;
                return {event_kind::need_more, 0, {}};
            }
            received_ += in.size();
            return {event_kind::body, in.size(), in};
    }
    return {event_kind::done, 0, {}};
}

}  // namespace corvid::h1::detail
