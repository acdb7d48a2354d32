#include "proto/h1/response_parser.hpp"

#include "corvid/error.hpp"
#include "proto/h1/fields.hpp"

namespace corvid::h1 {

namespace {

// Reads "HTTP/1.0" or "HTTP/1.1"; anything else that looks like an HTTP
// version is bad_version, the rest is `otherwise`.
std::error_code parse_version(std::string_view v, int& version, std::error_code otherwise) {
    if (v == "HTTP/1.1") {
        version = 11;
        return {};
    }
    if (v == "HTTP/1.0") {
        version = 10;
        return {};
    }
    if (v.substr(0, 5) == "HTTP/") {
        return http1_errc::bad_version;
    }
    return otherwise;
}

std::error_code parse_status_line(std::string_view line, int& version, int& status,
                                  std::string& reason) {
    const std::error_code bad = http1_errc::bad_status_line;
    if (detail::has_ctl(line)) {
        return bad;
    }
    auto sp = line.find(' ');
    if (auto ec = parse_version(line.substr(0, sp), version, bad)) {
        return ec;
    }
    if (sp == std::string_view::npos) {
        return bad;
    }
    auto rest = line.substr(sp + 1);
    if (rest.size() < 3 || (rest.size() > 3 && rest[3] != ' ')) {
        return bad;
    }
    int code = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        if (rest[i] < '0' || rest[i] > '9') {
            return bad;
        }
        code = code * 10 + (rest[i] - '0');
    }
    if (code < 100) {
        return bad;
    }
    status = code;
    // "HTTP/1.1 200" without SP and reason is common enough to accept.
    reason.assign(rest.size() > 3 ? rest.substr(4) : std::string_view{});
    return {};
}

}  // namespace

void response_parser::reset(bool head_request) {
    state_ = state::head;
    error_.clear();
    head_request_ = head_request;
    saw_interim_ = false;
    status_ = 0;
    version_ = 11;
    keep_alive_ = false;
    body_kind_ = body_kind::none;
    content_length_.reset();
    reason_.clear();
    fields_.clear();
    head_.reset();
    body_reader_.start(body_kind::none, 0, limits_);
}

bool response_parser::idle() const noexcept {
    return state_ == state::head && !saw_interim_ && head_.idle();
}

response_parser::event response_parser::fail(std::error_code& ec, std::error_code e) {
    state_ = state::failed;
    error_ = e;
    ec = e;
    keep_alive_ = false;
    return {event_kind::need_more, 0, {}};
}

std::error_code response_parser::on_head(std::string_view head) {
    fields_.clear();
    content_length_.reset();
    std::string_view line;
    if (auto ec = detail::split_head(head, /*allow_bare_lf=*/true, limits_.max_fields,
                                     http1_errc::bad_status_line, line, fields_)) {
        return ec;
    }
    if (auto ec = parse_status_line(line, version_, status_, reason_)) {
        return ec;
    }
    detail::framing f;
    if (auto ec = detail::analyze_framing(fields_, f)) {
        return ec;
    }
    // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
    if (version_ == 10 && f.has_transfer_encoding) {
        return http1_errc::bad_transfer_encoding;
    }
    content_length_ = f.content_length;

    body_kind kind = body_kind::none;
    std::uint64_t length = 0;
    if (status_ == 101 || status_ < 200 || status_ == 204 || status_ == 304 || head_request_) {
        kind = body_kind::none;
    } else if (f.has_transfer_encoding) {
        kind = f.chunked ? body_kind::chunked : body_kind::until_close;
    } else if (f.content_length) {
        if (*f.content_length > limits_.max_body_bytes) {
            return http1_errc::body_too_large;
        }
        kind = body_kind::length;
        length = *f.content_length;
    } else {
        kind = body_kind::until_close;
    }
    body_kind_ = kind;
    bool persistent =
        version_ == 11 ? !f.connection_close : (f.connection_keep_alive && !f.connection_close);
    keep_alive_ = persistent && kind != body_kind::until_close && status_ != 101;
    body_reader_.start(kind, length, limits_);
    return {};
}

response_parser::event response_parser::parse(std::string_view in, std::error_code& ec) {
    ec.clear();
    switch (state_) {
        case state::failed:
            ec = error_;
            return {event_kind::need_more, 0, {}};
        case state::done:
            return {event_kind::done, 0, {}};
        case state::head: {
            auto r = head_.feed(in, limits_.max_header_bytes, ec);
            if (ec) {
                return fail(ec, ec);
            }
            if (!r.complete) {
                return {event_kind::need_more, r.consumed, {}};
            }
            if (auto e = on_head(head_.head())) {
                return fail(ec, e);
            }
            head_.reset();
            if (status_ < 200 && status_ != 101) {
                saw_interim_ = true;  // stay in `head`: the final response follows
            } else {
                state_ = state::body;
            }
            return {event_kind::head, r.consumed, {}};
        }
        case state::body: {
            auto ev = body_reader_.read(in, ec);
            if (ec) {
                return fail(ec, ec);
            }
            if (ev.kind == event_kind::done) {
                state_ = state::done;
            }
            return ev;
        }
    }
    return {event_kind::need_more, 0, {}};
}

response_parser::event response_parser::finish_eof(std::error_code& ec) {
    ec.clear();
    switch (state_) {
        case state::failed:
            ec = error_;
            return {event_kind::need_more, 0, {}};
        case state::done:
            return {event_kind::done, 0, {}};
        case state::body:
            if (body_reader_.ends_at_eof() || body_reader_.complete()) {
                state_ = state::done;
                return {event_kind::done, 0, {}};
            }
            break;
        case state::head:
            if (idle()) {
                return {event_kind::need_more, 0, {}};
            }
            break;
    }
    return fail(ec, http1_errc::partial_message);
}

}  // namespace corvid::h1
