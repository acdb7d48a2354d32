#include "proto/h1/request_parser.hpp"

#include "corvid/error.hpp"
#include "proto/h1/fields.hpp"

namespace corvid::h1 {

namespace {

bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// scheme ":" (RFC 3986 3.1) at the start of an absolute-form target.
bool has_scheme(std::string_view t) noexcept {
    if (t.empty() || !is_alpha(t[0])) {
        return false;
    }
    for (std::size_t i = 1; i < t.size(); ++i) {
        char c = t[i];
        if (c == ':') {
            return true;
        }
        if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') {
            return false;
        }
    }
    return false;
}

bool is_valid_target(std::string_view method, std::string_view t) noexcept {
    if (!detail::is_target_chars(t) || t.find('#') != std::string_view::npos) {
        return false;
    }
    if (method == "CONNECT") {
        // authority-form: host ":" port, nothing else.
        return t.find(':') != std::string_view::npos && t.find('/') == std::string_view::npos &&
               t.find('?') == std::string_view::npos && t.find('@') == std::string_view::npos;
    }
    if (t == "*") {
        return method == "OPTIONS";
    }
    return t[0] == '/' || has_scheme(t);
}

std::error_code parse_request_line(std::string_view line, std::string& method, std::string& target,
                                   int& version) {
    const std::error_code bad = http1_errc::bad_request_line;
    if (detail::has_ctl(line)) {
        return bad;
    }
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) {
        return bad;
    }
    auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) {
        return bad;  // HTTP/0.9 shape, or two spaces in a row
    }
    auto m = line.substr(0, sp1);
    auto t = line.substr(sp1 + 1, sp2 - sp1 - 1);
    auto v = line.substr(sp2 + 1);
    if (auto ec = [&]() -> std::error_code {
            if (v == "HTTP/1.1") {
                version = 11;
            } else if (v == "HTTP/1.0") {
                version = 10;
            } else if (v.substr(0, 5) == "HTTP/") {
                return http1_errc::bad_version;
            } else {
                return bad;  // e.g. a space inside the target
            }
            return {};
        }()) {
        return ec;
    }
    if (!detail::is_token(m)) {
        return http1_errc::bad_method;
    }
    if (!is_valid_target(m, t)) {
        return http1_errc::bad_target;
    }
    method.assign(m);
    target.assign(t);
    return {};
}

}  // namespace

void request_parser::reset() {
    state_ = state::head;
    error_.clear();
    version_ = 11;
    keep_alive_ = false;
    expects_continue_ = false;
    body_kind_ = body_kind::none;
    content_length_.reset();
    method_.clear();
    target_.clear();
    fields_.clear();
    head_.reset();
    body_reader_.start(body_kind::none, 0, limits_);
}

request_parser::event request_parser::fail(std::error_code& ec, std::error_code e) {
    state_ = state::failed;
    error_ = e;
    ec = e;
    keep_alive_ = false;
    return {event_kind::need_more, 0, {}};
}

std::error_code request_parser::on_head(std::string_view head) {
    fields_.clear();
    std::string_view line;
    if (auto ec = detail::split_head(head, /*allow_bare_lf=*/false, limits_.max_fields,
                                     http1_errc::bad_request_line, line, fields_)) {
        return ec;
    }
    if (auto ec = parse_request_line(line, method_, target_, version_)) {
        return ec;
    }
    detail::framing f;
    if (auto ec = detail::analyze_framing(fields_, f)) {
        return ec;
    }
    std::size_t hosts = 0;
    bool expect_continue = false;
    for (const auto& field : fields_) {
        if (iequals(field.name, "host")) {
            ++hosts;
        } else if (iequals(field.name, "expect")) {
            expect_continue = iequals(field.value, "100-continue");
        }
    }
    if (hosts > 1) {
        return http1_errc::bad_header;  // RFC 9112 3.2: which host is meant?
    }
    // A request body must be delimited; only chunked delimits it (RFC 9112
    // 6.3), and HTTP/1.0 has no transfer codings at all.
    if (f.has_transfer_encoding && (!f.chunked || version_ == 10)) {
        return http1_errc::bad_transfer_encoding;
    }
    content_length_ = f.content_length;
    std::uint64_t length = 0;
    if (f.chunked) {
        body_kind_ = body_kind::chunked;
    } else if (f.content_length) {
        if (*f.content_length > limits_.max_body_bytes) {
            return http1_errc::body_too_large;
        }
        body_kind_ = body_kind::length;
        length = *f.content_length;
    } else {
        body_kind_ = body_kind::none;
    }
    keep_alive_ =
        version_ == 11 ? !f.connection_close : (f.connection_keep_alive && !f.connection_close);
    expects_continue_ = version_ == 11 && expect_continue;
    body_reader_.start(body_kind_, length, limits_);
    return {};
}

request_parser::event request_parser::parse(std::string_view in, std::error_code& ec) {
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
            state_ = state::body;
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

request_parser::event request_parser::finish_eof(std::error_code& ec) {
    ec.clear();
    switch (state_) {
        case state::failed:
            ec = error_;
            return {event_kind::need_more, 0, {}};
        case state::done:
            return {event_kind::done, 0, {}};
        case state::body:
            if (body_reader_.complete()) {
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
