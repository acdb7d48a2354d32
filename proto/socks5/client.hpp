#pragma once

// The client side of a SOCKS5 handshake (RFC 1928, with RFC 1929
// username/password authentication), sans-I/O: it produces the bytes to send
// and consumes the proxy's bytes, and never touches a socket.
//
// The handshake is: greeting (the methods offered: "no authentication", plus
// "username/password" when credentials are given) -> the proxy's method
// selection -> optional RFC 1929 sub-negotiation -> CONNECT request -> reply.
// Each message is queued as soon as the previous reply is understood, so
// the driving loop is simply:
//
//     while (!c.done()) {
//         write(c.pending_output()); c.consume_output(bytes written);
//         n = read(buf); used = c.feed(buf[0, n), ec); if (ec) fail;
//     }
//     // buf[used, n) is the first data of the tunnel
//
// Input: feed() takes bytes up to the end of the CONNECT reply and no
// further. Bytes after the reply belong to the tunnel (the target may speak
// first, e.g. an SMTP banner or a TLS server that is fast); feed() returns
// how many it consumed and the caller keeps the rest. Partial messages are
// buffered inside; the wire format bounds every proxy message at 262 bytes
// (a 255-byte domain in BND.ADDR), so that buffer is a fixed array and no
// configurable limit is needed.
//
// Target: an IPv4 literal is sent as ATYP 1, an IPv6 literal (bare or in
// brackets) as ATYP 4, anything else as a domain name (ATYP 3) that the proxy
// resolves: the socks5h:// behaviour. To resolve locally (socks5://), resolve
// first and pass the address text.
//
// Leniency, for interoperability: the RSV byte of the reply is ignored, and
// the RFC 1929 status reply is accepted with version 1 (the RFC) or 5 (what
// some servers send).
//
// Errors (socks5_errc): from create() (or error() after the client_config
// constructor), host_too_long, empty_host, bad_credentials; from feed(), bad_version,
// no_acceptable_method, auth_failed, bad_reply, and the reply codes general_failure ...
// address_type_not_supported. An error is final: later feed() calls return
// it again and consume nothing.
//
// @par Thread Safety
// Distinct objects: safe. Shared objects: unsafe.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "corvid/result.hpp"

namespace corvid::socks5 {

/// ATYP values of RFC 1928 section 4.
enum class address_type : std::uint8_t {
    ipv4 = 0x01,
    domain = 0x03,
    ipv6 = 0x04,
};

/// RFC 1929 credentials. The username must be 1 to 255 bytes, the password
/// at most 255 (RFC 1929 asks for at least one; an empty one is sent as
/// PLEN 0, as curl does, for proxies that accept it).
struct credentials {
    std::string username;
    std::string password;
};

/// BND.ADDR and BND.PORT of a successful reply: the address the proxy uses
/// for the outgoing connection (informational for CONNECT).
struct bound_address {
    address_type type = address_type::ipv4;
    /// Text form: dotted quad, RFC 5952 IPv6 text, or the domain's bytes as sent.
    std::string host;
    std::uint16_t port = 0;
};

/// Everything create() takes, as one value (an empty username means no
/// authentication is offered).
struct client_config {
    std::string target_host;
    std::uint16_t target_port = 0;
    std::string username;
    std::string password;
};

class client {
  public:
    /// Prepares a CONNECT to host:port and queues the greeting. `host` is an
    /// IPv4 or IPv6 literal or a domain name (see above). Fails with
    /// host_too_long, empty_host or bad_credentials.
    static result<client> create(std::string_view host, std::uint16_t port,
                                 std::optional<credentials> auth = std::nullopt);

    /// The same from a client_config. An invalid configuration leaves the
    /// client failed() from the start, with the reason in error() and no
    /// output: check error() before driving it.
    explicit client(const client_config& config);

    /// Bytes to send to the proxy now; empty while waiting for its reply.
    /// The view is valid until the next call to consume_output() or feed().
    std::string_view pending_output() const noexcept;

    /// Marks the first `n` bytes of pending_output() as sent
    /// (n <= pending_output().size()).
    void consume_output(std::size_t n) noexcept;

    /// Consumes proxy bytes from the front of `in`, up to the end of the
    /// CONNECT reply; returns how many. Sets `ec` on a protocol error or a
    /// refusal (see above), and clears it otherwise. Call it again with
    /// later bytes until done(); any bytes it did not consume once done()
    /// is true are tunnel data.
    std::size_t feed(std::string_view in, std::error_code& ec);

    /// How many bytes, at most `max`, the caller can read from the proxy now
    /// without reading past the handshake: the rest of the message being
    /// parsed, as far as its length is known. A caller that reads no more
    /// than this never has tunnel bytes left over (at the cost of a few
    /// small reads). 0 once done() or failed().
    std::size_t want_bytes(std::size_t max) const noexcept;

    /// The CONNECT succeeded: the connection is now a tunnel to the target.
    bool done() const noexcept { return state_ == state::done; }
    /// The handshake failed; error() says why.
    bool failed() const noexcept { return state_ == state::failed; }
    std::error_code error() const noexcept { return error_; }

    /// The authentication method the proxy chose (0x00 none, 0x02
    /// username/password), once it has answered the greeting.
    std::optional<std::uint8_t> selected_method() const noexcept { return method_; }
    /// The REP byte of the CONNECT reply, once received (0 is success).
    std::optional<std::uint8_t> reply_code() const noexcept { return reply_code_; }
    /// The bound address; meaningful once done().
    const bound_address& bound() const noexcept { return bound_; }

  private:
    enum class state { await_method, await_auth, await_reply, done, failed };

    client() = default;
    std::error_code init(std::string_view host, std::uint16_t port,
                         std::optional<credentials> auth);
    std::size_t bytes_needed() const noexcept;
    void step();
    void on_method();
    void on_auth();
    void on_reply();
    void queue_request();
    void fail(socks5_errc e);

    state state_ = state::await_method;
    std::error_code error_;
    std::optional<credentials> auth_;
    std::string request_;  // the CONNECT request, queued after authentication
    std::string out_;
    std::size_t out_sent_ = 0;
    // Largest proxy message: VER REP RSV ATYP + 1 + 255 + 2 = 262 bytes.
    std::array<std::uint8_t, 262> in_{};
    std::size_t in_have_ = 0;
    std::optional<std::uint8_t> method_;
    std::optional<std::uint8_t> reply_code_;
    bound_address bound_;
};

}  // namespace corvid::socks5
