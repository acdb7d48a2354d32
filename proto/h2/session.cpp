// Placeholder implementation: the interface compiles and links; every call
// fails with internal_error until the nghttp2-backed implementation lands.
#include "proto/h2/session.hpp"

namespace corvid::h2 {

namespace detail {
class session_impl {};
}  // namespace detail

connection_profile connection_profile::corvid_default() {
    connection_profile p;
    p.settings = {{setting_id::enable_push, 0},
                  {setting_id::initial_window_size, 1024 * 1024},
                  {setting_id::max_header_list_size, 64 * 1024}};
    p.connection_window_increment = 15 * 1024 * 1024 - 65535;
    return p;
}

bool is_connection_error(std::error_code) noexcept {
    return false;
}
bool is_retryable(std::error_code) noexcept {
    return false;
}

session::session(std::unique_ptr<detail::session_impl> impl) noexcept : impl_(std::move(impl)) {}
session::session(session&&) noexcept = default;
session& session::operator=(session&&) noexcept = default;
session::~session() = default;

std::error_code session::receive(std::string_view) {
    return http2_errc::internal_error;
}
std::error_code session::receive(std::span<const std::uint8_t>) {
    return http2_errc::internal_error;
}
std::optional<event> session::next_event() {
    return std::nullopt;
}
std::string_view session::pending_output() {
    return {};
}
void session::consume_output(std::size_t) noexcept {}
bool session::want_read() const noexcept {
    return false;
}
bool session::want_write() const noexcept {
    return false;
}
bool session::is_closing() const noexcept {
    return true;
}
std::error_code session::error() const noexcept {
    return http2_errc::internal_error;
}
void session::consume(std::int32_t, std::size_t) noexcept {}
result<std::size_t> session::submit_data(std::int32_t, std::string_view, bool) {
    return http2_errc::internal_error;
}
std::error_code session::submit_data(std::int32_t, std::string&&, bool) {
    return http2_errc::internal_error;
}
std::error_code session::submit_trailers(std::int32_t, const headers&) {
    return http2_errc::internal_error;
}
std::size_t session::queued(std::int32_t) const noexcept {
    return 0;
}
std::error_code session::reset_stream(std::int32_t, wire_error) {
    return http2_errc::internal_error;
}
std::error_code session::ping(std::uint64_t) {
    return http2_errc::internal_error;
}
std::error_code session::goaway(wire_error, std::string_view) {
    return http2_errc::internal_error;
}
const peer_settings& session::peer() const noexcept {
    static const peer_settings defaults;
    return defaults;
}
bool session::peer_settings_received() const noexcept {
    return false;
}
std::size_t session::open_streams() const noexcept {
    return 0;
}
std::string_view session::error_detail() const noexcept {
    return {};
}

result<client_session> client_session::create(const client_options&) {
    return http2_errc::internal_error;
}
result<std::int32_t> client_session::submit_request(const request_head&, bool) {
    return http2_errc::internal_error;
}
result<std::int32_t> client_session::submit_request(const request_head&, bool,
                                                    std::optional<priority_spec>) {
    return http2_errc::internal_error;
}
std::error_code client_session::submit_priority(std::int32_t, const priority_spec&) {
    return http2_errc::internal_error;
}

result<server_session> server_session::create(const server_options&) {
    return http2_errc::internal_error;
}
std::error_code server_session::submit_response(std::int32_t, int, const headers&, bool) {
    return http2_errc::internal_error;
}
std::error_code server_session::shutdown_notice() {
    return http2_errc::internal_error;
}

}  // namespace corvid::h2
