#pragma once

// BoringSSL contexts for both roles and the TLS stream layer.
//
// Client contexts verify the peer by default: chain against the system trust
// store (Debian's /etc/ssl/certs/ca-certificates.crt) or a given CA file, and
// the host name (DNS SAN, or IP SAN for address literals). Session tickets are
// kept per origin in the context and offered on the next connection to it.
//
// @par Threading
// A context is shared by the connections of one client (one executor). The
// session cache is not locked: share a client_context across threads only
// with session_resumption off.
//
// @par Errors
// tls_errc: bad_credentials when a CA, certificate or key cannot be loaded,
// handshake_failed, and a cert_* code that names the verification failure.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include "corvid/profile.hpp"
#include "corvid/result.hpp"
#include "net/stream.hpp"

namespace corvid::tls {

struct client_config {
    bool verify_peer = true;
    std::string ca_file;  ///< PEM bundle; empty: the system trust store
    bool session_resumption = true;
    std::size_t max_cached_sessions = 256;
    /// A browser profile's ClientHello (profile.hpp): cipher list, groups,
    /// signature algorithms, GREASE, extension permutation, certificate
    /// compression with real decompressors, OCSP/SCT requests, versions,
    /// and per connection ECH GREASE and ALPS. nullopt: BoringSSL's defaults
    /// (TLS 1.2 to 1.3), corvid's plain client. create() fails with
    /// tls_errc::bad_profile when BoringSSL refuses a value.
    std::optional<corvid::tls_profile> profile;
};

class client_context {
  public:
    static result<std::shared_ptr<client_context>> create(const client_config& config);
    ~client_context();

    SSL_CTX* native() noexcept { return ctx_.get(); }
    const client_config& config() const noexcept { return config_; }

    /// A cached session for `origin_key` (not owned; may be null).
    SSL_SESSION* session_for(const std::string& origin_key) const;
    std::size_t cached_sessions() const noexcept { return sessions_.size(); }

  private:
    explicit client_context(client_config config);
    static int on_new_session(SSL* ssl, SSL_SESSION* session);

    bssl::UniquePtr<SSL_CTX> ctx_;
    client_config config_;
    std::map<std::string, SSL_SESSION*> sessions_;  // owned references
};

struct server_config {
    std::string cert_chain_pem;  ///< leaf first, then intermediates
    std::string private_key_pem;
    /// ALPN protocols in server preference order; empty: no ALPN.
    std::vector<std::string> alpn;
    /// Highest TLS version offered (TLS1_2_VERSION or TLS1_3_VERSION).
    std::uint16_t max_version = TLS1_3_VERSION;
    /// Certificate compression (RFC 8879) offered to clients that ask, most
    /// preferred first: 1 zlib, 2 brotli, 3 zstd (cert_compression.hpp).
    /// Empty: the certificate goes uncompressed.
    std::vector<std::uint16_t> cert_compression;
};

class server_context {
  public:
    static result<std::shared_ptr<server_context>> create(const server_config& config);
    /// Reads the PEM files at `cert_file` and `key_file`.
    static result<std::shared_ptr<server_context>> from_files(const std::string& cert_file,
                                                              const std::string& key_file,
                                                              std::vector<std::string> alpn);
    SSL_CTX* native() noexcept { return ctx_.get(); }

  private:
    server_context();
    static int on_alpn_select(SSL* ssl, const std::uint8_t** out, std::uint8_t* out_len,
                              const std::uint8_t* in, unsigned in_len, void* arg);
    bssl::UniquePtr<SSL_CTX> ctx_;
    std::string alpn_wire_;  // length-prefixed protocol list
};

/// What a finished handshake negotiated.
struct session_info {
    std::string version;  ///< "TLSv1.3"
    std::string cipher;   ///< IANA name, e.g. "TLS_AES_128_GCM_SHA256"
    std::string alpn;
    bool resumed = false;
    std::string peer_subject;
    std::string peer_issuer;
};

/// TLS over TCP, as a net::stream.
///
/// BoringSSL reads and writes the non-blocking socket through a small BIO of
/// ours (readv straight into BoringSSL's record buffer plus a read-ahead
/// buffer, so one syscall brings several records); plaintext is copied once,
/// into the caller's buffer. When BoringSSL wants the socket readable or
/// writable the coroutine waits for exactly that.
/// A read and a write may be pending at the same time (from two coroutines
/// on the same executor): each SSL call completes synchronously.
class tls_stream final : public net::stream {
  public:
    tls_stream(asio::ip::tcp::socket socket, SSL_CTX* context);
    ~tls_stream() override;

    /// Client handshake: SNI (for names, not address literals), host name
    /// verification when the context verifies, ALPN offer, session resumption
    /// keyed by `origin_key`.
    asio::awaitable<result<void>> handshake_client(client_context& context, const std::string& host,
                                                   const std::vector<std::string>& alpn,
                                                   const std::string& origin_key);
    asio::awaitable<result<void>> handshake_server();

    session_info info() const;
    SSL* native_handle() noexcept { return ssl_.get(); }

    asio::awaitable<result<std::size_t>> read_some(std::span<char> buffer) override;
    asio::awaitable<result<void>> write(std::span<const asio::const_buffer> buffers) override;
    void close() noexcept override;
    bool is_open() const noexcept override { return socket_.is_open(); }
    asio::ip::tcp::socket& socket() noexcept override { return socket_; }

    struct bio_state;  ///< the BIO's read-ahead buffer (see context.cpp)

  private:
    /// Waits until the socket is ready for what SSL_get_error() asked, or
    /// maps the error. Returns an empty code when the call should be retried.
    asio::awaitable<std::error_code> wait_for(int ssl_error);
    asio::awaitable<result<void>> write_all(const char* data, std::size_t size);

    asio::ip::tcp::socket socket_;
    std::unique_ptr<bio_state> bio_;  // declared before ssl_: it outlives the SSL
    bssl::UniquePtr<SSL> ssl_;
    std::string write_staging_;  // gathers small buffers into one TLS record
    std::string origin_key_;     // session cache key, read by the new-session callback
};

/// Maps a failed handshake to the tls_errc a user can act on.
std::error_code classify_handshake_error(SSL* ssl, std::error_code ec);

/// Encodes ALPN protocol names in the wire format (length-prefixed).
std::string alpn_wire(const std::vector<std::string>& protocols);

}  // namespace corvid::tls
