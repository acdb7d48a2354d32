#include "proto/h1/serializer.hpp"

#include <charconv>

#include "corvid/error.hpp"
#include "proto/h1/fields.hpp"
#include "proto/h1/head_reader.hpp"

namespace corvid::h1 {

namespace {

constexpr std::string_view crlf = "\r\n";

std::size_t fields_size(const headers& fields) noexcept {
    std::size_t n = 0;
    for (const auto& f : fields) {
        n += f.name.size() + 2 + f.value.size() + 2;
    }
    return n;
}

void append_fields(std::string& out, const headers& fields) {
    for (const auto& f : fields) {
        out.append(f.name);
        out.append(": ");
        out.append(f.value);
        out.append(crlf);
    }
}

}  // namespace

void serialize_request_head(std::string& out, std::string_view method, std::string_view target,
                            const headers& fields) {
    // One reservation for the whole head: no reallocation while appending.
    out.reserve(out.size() + method.size() + target.size() + 12 + fields_size(fields) + 2);
    out.append(method);
    out.push_back(' ');
    out.append(target);
    out.append(" HTTP/1.1\r\n");
    append_fields(out, fields);
    out.append(crlf);
}

void serialize_response_head(std::string& out, int status, std::string_view reason,
                             const headers& fields) {
    out.reserve(out.size() + 13 + reason.size() + 2 + fields_size(fields) + 2);
    out.append("HTTP/1.1 ");
    char code[3] = {static_cast<char>('0' + (status / 100) % 10),
                    static_cast<char>('0' + (status / 10) % 10),
                    static_cast<char>('0' + status % 10)};
    out.append(code, 3);
    out.push_back(' ');
    out.append(reason);
    out.append(crlf);
    append_fields(out, fields);
    out.append(crlf);
}

std::error_code validate_fields(const headers& fields) {
    for (const auto& f : fields) {
        std::string_view value = f.value;
        if (!detail::is_token(f.name) || !detail::is_field_value(value) ||
            detail::trim_ows(value).size() != value.size()) {
            return http1_errc::bad_header;
        }
    }
    return {};
}

std::error_code validate_request_head(std::string_view method, std::string_view target,
                                      const headers& fields) {
    if (!detail::is_token(method)) {
        return http1_errc::bad_method;
    }
    if (!detail::is_target_chars(target)) {
        return http1_errc::bad_target;
    }
    return validate_fields(fields);
}

std::error_code validate_response_head(int status, std::string_view reason, const headers& fields) {
    if (status < 100 || status > 999 || detail::has_ctl(reason)) {
        return http1_errc::bad_status_line;
    }
    return validate_fields(fields);
}

std::error_code try_serialize_request_head(std::string& out, std::string_view method,
                                           std::string_view target, const headers& fields) {
    if (auto ec = validate_request_head(method, target, fields)) {
        return ec;
    }
    serialize_request_head(out, method, target, fields);
    return {};
}

std::error_code try_serialize_response_head(std::string& out, int status, std::string_view reason,
                                            const headers& fields) {
    if (auto ec = validate_response_head(status, reason, fields)) {
        return ec;
    }
    serialize_response_head(out, status, reason, fields);
    return {};
}

void append_chunk_header(std::string& out, std::size_t size) {
    char buf[2 * sizeof(std::size_t) + 2];
    auto r = std::to_chars(buf, buf + sizeof(buf) - 2, size, 16);
    *r.ptr++ = '\r';
    *r.ptr++ = '\n';
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void append_chunk_end(std::string& out) {
    out.append(crlf);
}

void append_last_chunk(std::string& out, const headers* trailers) {
    out.append("0\r\n");
    if (trailers != nullptr) {
        append_fields(out, *trailers);
    }
    out.append(crlf);
}

}  // namespace corvid::h1
