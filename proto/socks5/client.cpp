#include "proto/socks5/client.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <iterator>

namespace corvid::socks5 {

namespace {

constexpr std::uint8_t k_version = 0x05;
constexpr std::uint8_t k_auth_version = 0x01;  // RFC 1929
constexpr std::uint8_t k_method_none = 0x00;
constexpr std::uint8_t k_method_userpass = 0x02;
constexpr std::uint8_t k_no_acceptable = 0xff;
constexpr std::uint8_t k_cmd_connect = 0x01;
constexpr std::size_t k_max_field = 255;

void put_u8(std::string& out, std::uint8_t v) {
    out.push_back(static_cast<char>(v));
}

void put_u16(std::string& out, std::uint16_t v) {
    put_u8(out, static_cast<std::uint8_t>(v >> 8));
    put_u8(out, static_cast<std::uint8_t>(v & 0xff));
}

// inet_pton is a pure text-to-bytes conversion (no resolver, no I/O).
bool parse_ipv4(std::string_view host, std::array<std::uint8_t, 4>& out) {
    // inet_pton stops at a NUL, which would let "1.2.3.4\0junk" through.
    if (host.size() > 15 || host.find('\0') != std::string_view::npos) {
        return false;
    }
    char text[16] = {};
    std::memcpy(text, host.data(), host.size());
    return ::inet_pton(AF_INET, text, out.data()) == 1;
}

bool parse_ipv6(std::string_view host, std::array<std::uint8_t, 16>& out) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (host.size() > 45 || host.find('\0') != std::string_view::npos) {
        return false;
    }
    char text[46] = {};
    std::memcpy(text, host.data(), host.size());
    return ::inet_pton(AF_INET6, text, out.data()) == 1;
}

std::string format_address(int family, const std::uint8_t* bytes) {
    char text[46] = {};
    if (::inet_ntop(family, bytes, text, sizeof text) == nullptr) {
        return {};
    }
    return text;
}

// Overwrites a string that held secrets before it is reused or freed.
void wipe(std::string& s) noexcept {
    volatile char* p = s.data();
    for (std::size_t i = 0; i < s.size(); ++i) {
        p[i] = 0;
    }
    s.clear();
}

}  // namespace

result<client> client::create(std::string_view host, std::uint16_t port,
                              std::optional<credentials> auth) {
    client c;
    if (auto ec = c.init(host, port, std::move(auth))) {
        return ec;
    }
    return c;
}

client::client(const client_config& config) {
    std::optional<credentials> auth;
    if (!config.username.empty()) {
        auth = credentials{config.username, config.password};
    } else if (!config.password.empty()) {
        auth = credentials{};  // a password without a username: refused by init()
    }
    if (auto ec = init(config.target_host, config.target_port, std::move(auth))) {
        state_ = state::failed;
        error_ = ec;
    }
}

std::error_code client::init(std::string_view host, std::uint16_t port,
                             std::optional<credentials> auth) {
    if (host.empty()) {
        return socks5_errc::empty_host;
    }
    if (auth && (auth->username.empty() || auth->username.size() > k_max_field ||
                 auth->password.size() > k_max_field)) {
        return socks5_errc::bad_credentials;
    }

    // The CONNECT request is built now, so every error about the target is
    // reported before a byte is sent.
    std::string& req = request_;
    put_u8(req, k_version);
    put_u8(req, k_cmd_connect);
    put_u8(req, 0x00);  // RSV
    std::array<std::uint8_t, 4> v4{};
    std::array<std::uint8_t, 16> v6{};
    if (parse_ipv4(host, v4)) {
        put_u8(req, static_cast<std::uint8_t>(address_type::ipv4));
        req.append(reinterpret_cast<const char*>(v4.data()), v4.size());
    } else if (parse_ipv6(host, v6)) {
        put_u8(req, static_cast<std::uint8_t>(address_type::ipv6));
        req.append(reinterpret_cast<const char*>(v6.data()), v6.size());
    } else {
        if (host.size() > k_max_field) {
            req.clear();
            return socks5_errc::host_too_long;
        }
        put_u8(req, static_cast<std::uint8_t>(address_type::domain));
        put_u8(req, static_cast<std::uint8_t>(host.size()));
        req.append(host);
    }
    put_u16(req, port);

    // Greeting: offer username/password only when we have credentials;
    // "no authentication" is always offered, so a proxy that needs none
    // still accepts us.
    put_u8(out_, k_version);
    if (auth) {
        put_u8(out_, 2);
        put_u8(out_, k_method_none);
        put_u8(out_, k_method_userpass);
    } else {
        put_u8(out_, 1);
        put_u8(out_, k_method_none);
    }
    auth_ = std::move(auth);
    return {};
}

std::string_view client::pending_output() const noexcept {
    return std::string_view(out_).substr(out_sent_);
}

void client::consume_output(std::size_t n) noexcept {
    out_sent_ = std::min(out_.size(), out_sent_ + n);
    if (out_sent_ == out_.size()) {
        // The RFC 1929 message carries the password: do not keep it around.
        wipe(out_);
        out_sent_ = 0;
    }
}

std::size_t client::feed(std::string_view in, std::error_code& ec) {
    ec.clear();
    std::size_t used = 0;
    while (state_ != state::done && state_ != state::failed) {
        const std::size_t need = bytes_needed();
        if (in_have_ < need) {
            const std::size_t take = std::min(need - in_have_, in.size() - used);
            if (take > 0) {  // memcpy from a null view is undefined even for 0 bytes
                std::memcpy(in_.data() + in_have_, in.data() + used, take);
            }
            in_have_ += take;
            used += take;
            if (in_have_ < need) {
                break;  // wait for more
            }
        }
        step();
    }
    if (state_ == state::failed) {
        ec = error_;
    }
    return used;
}

std::size_t client::want_bytes(std::size_t max) const noexcept {
    const std::size_t need = bytes_needed();
    return need > in_have_ ? std::min(max, need - in_have_) : 0;
}

// How many bytes of the current message must be buffered before step() can
// decide something. For the CONNECT reply this grows as the header reveals
// the length of BND.ADDR: 2 (VER REP, so a refusal is reported even if the
// proxy closes right after), 4 (ATYP), 5 (domain length), then the whole reply.
std::size_t client::bytes_needed() const noexcept {
    switch (state_) {
        case state::await_method:
        case state::await_auth:
            return 2;
        case state::await_reply: {
            if (in_have_ < 2) {
                return 2;
            }
            if (in_have_ < 4) {
                return 4;
            }
            const auto atyp = static_cast<address_type>(in_[3]);
            if (atyp == address_type::ipv4) {
                return 4 + 4 + 2;
            }
            if (atyp == address_type::ipv6) {
                return 4 + 16 + 2;
            }
            // Domain (an unknown ATYP fails in step() before getting here).
            if (in_have_ < 5) {
                return 5;
            }
            return 4 + 1 + std::size_t{in_[4]} + 2;
        }
        case state::done:
        case state::failed:
            return 0;
    }
    return 0;
}

void client::step() {
    switch (state_) {
        case state::await_method:
            on_method();
            break;
        case state::await_auth:
            on_auth();
            break;
        case state::await_reply:
            on_reply();
            break;
        case state::done:
        case state::failed:
            break;
    }
}

void client::on_method() {
    if (in_[0] != k_version) {
        return fail(socks5_errc::bad_version);
    }
    const std::uint8_t method = in_[1];
    method_ = method;
    in_have_ = 0;
    if (method == k_no_acceptable) {
        return fail(socks5_errc::no_acceptable_method);
    }
    if (method == k_method_none) {
        return queue_request();
    }
    if (method == k_method_userpass && auth_) {
        // RFC 1929: VER ULEN UNAME PLEN PASSWD (lengths checked in create()).
        put_u8(out_, k_auth_version);
        put_u8(out_, static_cast<std::uint8_t>(auth_->username.size()));
        out_.append(auth_->username);
        put_u8(out_, static_cast<std::uint8_t>(auth_->password.size()));
        out_.append(auth_->password);
        wipe(auth_->password);
        auth_.reset();
        state_ = state::await_auth;
        return;
    }
    // A method we did not offer: the proxy is not following the protocol.
    fail(socks5_errc::bad_reply);
}

void client::on_auth() {
    if (in_[0] != k_auth_version && in_[0] != k_version) {
        return fail(socks5_errc::bad_version);
    }
    if (in_[1] != 0x00) {
        return fail(socks5_errc::auth_failed);
    }
    in_have_ = 0;
    queue_request();
}

void client::queue_request() {
    out_.append(request_);
    request_.clear();
    state_ = state::await_reply;
}

void client::on_reply() {
    if (in_[0] != k_version) {
        return fail(socks5_errc::bad_version);
    }
    const std::uint8_t rep = in_[1];
    reply_code_ = rep;
    if (rep != 0x00) {
        static constexpr socks5_errc k_codes[] = {
            socks5_errc::general_failure,       socks5_errc::not_allowed,
            socks5_errc::network_unreachable,   socks5_errc::host_unreachable,
            socks5_errc::connection_refused,    socks5_errc::ttl_expired,
            socks5_errc::command_not_supported, socks5_errc::address_type_not_supported,
        };
        return fail(rep <= std::size(k_codes) ? k_codes[rep - 1] : socks5_errc::bad_reply);
    }
    if (in_have_ < 4) {
        return;  // need ATYP
    }
    const auto atyp = static_cast<address_type>(in_[3]);
    if (atyp != address_type::ipv4 && atyp != address_type::ipv6 && atyp != address_type::domain) {
        return fail(socks5_errc::bad_reply);
    }
    if (in_have_ < bytes_needed()) {
        return;  // BND.ADDR and BND.PORT still to come
    }
    bound_.type = atyp;
    const std::uint8_t* addr = in_.data() + 4;
    std::size_t addr_len = 0;
    switch (atyp) {
        case address_type::ipv4:
            addr_len = 4;
            bound_.host = format_address(AF_INET, addr);
            break;
        case address_type::ipv6:
            addr_len = 16;
            bound_.host = format_address(AF_INET6, addr);
            break;
        case address_type::domain:
            addr_len = 1 + std::size_t{in_[4]};
            bound_.host.assign(reinterpret_cast<const char*>(addr + 1), addr_len - 1);
            break;
    }
    bound_.port = static_cast<std::uint16_t>((in_[4 + addr_len] << 8) | in_[4 + addr_len + 1]);
    in_have_ = 0;
    state_ = state::done;
}

void client::fail(socks5_errc e) {
    state_ = state::failed;
    error_ = make_error_code(e);
    if (auth_) {
        wipe(auth_->password);
        auth_.reset();
    }
}

}  // namespace corvid::socks5
