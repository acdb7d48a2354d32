#include "tls/context.hpp"

#include <openssl/err.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <asio/ip/address.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tls/cert_compression.hpp"

namespace corvid::tls {

namespace {

// Where Debian keeps the system trust store.
constexpr const char* system_ca_bundle = "/etc/ssl/certs/ca-certificates.crt";
constexpr const char* system_ca_dir = "/etc/ssl/certs";

// SSL ex_data slot holding the origin key (std::string*) of a client connection.
int origin_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}
int context_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

std::string name_oneline(X509_NAME* name) {
    if (name == nullptr) {
        return {};
    }
    char buf[512];
    X509_NAME_oneline(name, buf, sizeof(buf));
    return buf;
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return false;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

}  // namespace

std::string alpn_wire(const std::vector<std::string>& protocols) {
    std::string out;
    for (const auto& p : protocols) {
        if (p.empty() || p.size() > 255) {
            continue;
        }
        out += static_cast<char>(p.size());
        out += p;
    }
    return out;
}

// ---------------------------------------------------------------- client ---

client_context::client_context(client_config config)
    : ctx_(SSL_CTX_new(TLS_method())), config_(std::move(config)) {}

client_context::~client_context() {
    for (auto& [key, session] : sessions_) {
        SSL_SESSION_free(session);
    }
}

namespace {

int group_nid(std::uint16_t id) {
    switch (id) {
        case SSL_CURVE_X25519:
            return NID_X25519;
        case SSL_CURVE_SECP256R1:
            return NID_X9_62_prime256v1;
        case SSL_CURVE_SECP384R1:
            return NID_secp384r1;
        case SSL_CURVE_SECP521R1:
            return NID_secp521r1;
        default:
            return NID_undef;
    }
}

// The context-wide part of a browser profile's ClientHello. The TLS 1.3
// suites are not configurable in BoringSSL (it orders them itself); the
// others go in the profile's order.
bool apply_profile(SSL_CTX* ctx, const corvid::tls_profile& p) {
    if (!SSL_CTX_set_min_proto_version(ctx, p.min_version) ||
        !SSL_CTX_set_max_proto_version(ctx, p.max_version)) {
        return false;
    }
    std::string ciphers;
    for (auto id : p.cipher_suites) {
        const SSL_CIPHER* c = SSL_get_cipher_by_value(id);
        if (c == nullptr) {
            return false;
        }
        if (SSL_CIPHER_get_min_version(c) >= TLS1_3_VERSION) {
            continue;
        }
        if (!ciphers.empty()) {
            ciphers += ':';
        }
        ciphers += SSL_CIPHER_get_name(c);
    }
    if (!ciphers.empty() && !SSL_CTX_set_strict_cipher_list(ctx, ciphers.c_str())) {
        return false;
    }
    if (!p.groups.empty()) {
        std::vector<int> nids;
        for (auto id : p.groups) {
            const int nid = group_nid(id);
            if (nid == NID_undef) {
                return false;
            }
            nids.push_back(nid);
        }
        if (!SSL_CTX_set1_curves(ctx, nids.data(), nids.size())) {
            return false;
        }
    }
    if (!p.signature_algorithms.empty() &&
        !SSL_CTX_set_verify_algorithm_prefs(ctx, p.signature_algorithms.data(),
                                            p.signature_algorithms.size())) {
        return false;
    }
    SSL_CTX_set_grease_enabled(ctx, p.grease ? 1 : 0);
    SSL_CTX_set_permute_extensions(ctx, p.permute_extensions ? 1 : 0);
    if (p.ocsp_stapling) {
        SSL_CTX_enable_ocsp_stapling(ctx);
    }
    if (p.signed_cert_timestamps) {
        SSL_CTX_enable_signed_cert_timestamps(ctx);
    }
    if (!p.session_tickets) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }
    return add_cert_decompressors(ctx, p.cert_compression);
}

}  // namespace

result<std::shared_ptr<client_context>> client_context::create(const client_config& config) {
    std::shared_ptr<client_context> self(new client_context(config));
    SSL_CTX* ctx = self->ctx_.get();
    if (ctx == nullptr) {
        return tls_errc::handshake_failed;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_ex_data(ctx, context_index(), self.get());

    if (config.verify_peer) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        int ok = 0;
        if (!config.ca_file.empty()) {
            ok = SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr);
        } else {
            ok = SSL_CTX_load_verify_locations(ctx, system_ca_bundle, nullptr);
            if (!ok) {
                ok = SSL_CTX_load_verify_locations(ctx, nullptr, system_ca_dir);
            }
        }
        if (!ok) {
            ERR_clear_error();
            return tls_errc::bad_credentials;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }

    if (config.profile && !apply_profile(ctx, *config.profile)) {
        ERR_clear_error();
        return tls_errc::bad_profile;
    }

    if (config.session_resumption) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
        SSL_CTX_sess_set_new_cb(ctx, &client_context::on_new_session);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }
    return self;
}

int client_context::on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* self =
        static_cast<client_context*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
    auto* origin = static_cast<std::string*>(SSL_get_ex_data(ssl, origin_index()));
    if (self == nullptr || origin == nullptr) {
        return 0;  // not ours: the library frees it
    }
    auto it = self->sessions_.find(*origin);
    if (it != self->sessions_.end()) {
        SSL_SESSION_free(it->second);
        it->second = session;
    } else {
        if (self->sessions_.size() >= self->config_.max_cached_sessions) {
            SSL_SESSION_free(self->sessions_.begin()->second);
            self->sessions_.erase(self->sessions_.begin());
        }
        self->sessions_.emplace(*origin, session);
    }
    return 1;  // we keep the reference
}

SSL_SESSION* client_context::session_for(const std::string& origin_key) const {
    auto it = sessions_.find(origin_key);
    return it == sessions_.end() ? nullptr : it->second;
}

// ---------------------------------------------------------------- server ---

server_context::server_context() : ctx_(SSL_CTX_new(TLS_method())) {}

result<std::shared_ptr<server_context>> server_context::create(const server_config& config) {
    std::shared_ptr<server_context> self(new server_context());
    SSL_CTX* ctx = self->ctx_.get();
    if (ctx == nullptr) {
        return tls_errc::bad_credentials;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, config.max_version);
    // The chain: the leaf first, then any intermediates.
    bssl::UniquePtr<BIO> chain(BIO_new_mem_buf(config.cert_chain_pem.data(),
                                               static_cast<int>(config.cert_chain_pem.size())));
    bssl::UniquePtr<X509> leaf(PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr));
    bool ok = leaf && SSL_CTX_use_certificate(ctx, leaf.get());
    while (ok) {
        bssl::UniquePtr<X509> extra(PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr));
        if (!extra) {
            break;
        }
        ok = SSL_CTX_add1_chain_cert(ctx, extra.get());
    }
    bssl::UniquePtr<BIO> key_bio(BIO_new_mem_buf(config.private_key_pem.data(),
                                                 static_cast<int>(config.private_key_pem.size())));
    bssl::UniquePtr<EVP_PKEY> key(
        PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    ok = ok && key && SSL_CTX_use_PrivateKey(ctx, key.get()) && SSL_CTX_check_private_key(ctx);
    ERR_clear_error();  // the end-of-chain PEM read leaves an error queued
    if (!ok) {
        return tls_errc::bad_credentials;
    }
    if (!add_cert_compressors(ctx, config.cert_compression)) {
        return tls_errc::bad_profile;
    }
    self->alpn_wire_ = alpn_wire(config.alpn);
    if (!self->alpn_wire_.empty()) {
        SSL_CTX_set_alpn_select_cb(ctx, &server_context::on_alpn_select, self.get());
    }
    return self;
}

result<std::shared_ptr<server_context>> server_context::from_files(const std::string& cert_file,
                                                                   const std::string& key_file,
                                                                   std::vector<std::string> alpn) {
    server_config config;
    if (!read_file(cert_file, config.cert_chain_pem) ||
        !read_file(key_file, config.private_key_pem)) {
        return tls_errc::bad_credentials;
    }
    config.alpn = std::move(alpn);
    return create(config);
}

int server_context::on_alpn_select(SSL*, const std::uint8_t** out, std::uint8_t* out_len,
                                   const std::uint8_t* in, unsigned in_len, void* arg) {
    auto* self = static_cast<server_context*>(arg);
    // Server preference order: the first of ours the client offers.
    const auto& ours = self->alpn_wire_;
    for (std::size_t i = 0; i < ours.size(); i += 1 + static_cast<std::uint8_t>(ours[i])) {
        auto len = static_cast<std::uint8_t>(ours[i]);
        std::string_view want(ours.data() + i + 1, len);
        for (unsigned j = 0; j < in_len; j += 1 + in[j]) {
            if (j + 1 + in[j] > in_len) {
                break;
            }
            std::string_view offered(reinterpret_cast<const char*>(in + j + 1), in[j]);
            if (offered == want) {
                *out = in + j + 1;
                *out_len = in[j];
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

// ---------------------------------------------------------------- stream ---

// ------------------------------------------------------------ socket BIO ---
//
// BoringSSL does no read-ahead for TLS: through a plain socket BIO it makes
// two recv() calls per record (header, then body). This BIO reads with
// readv() into BoringSSL's own buffer first and then into a 64 KiB
// read-ahead buffer, so one syscall brings several records and the bytes
// BoringSSL asked for are not copied an extra time.

struct tls_stream::bio_state {
    static constexpr std::size_t capacity = 64 * 1024;
    int fd = -1;
    std::unique_ptr<char[]> buffer{new char[capacity]};
    std::size_t begin = 0;
    std::size_t end = 0;
};

namespace {

int bio_read(BIO* bio, char* out, int len) {
    auto* st = static_cast<tls_stream::bio_state*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    if (len <= 0) {
        return 0;
    }
    const auto want = static_cast<std::size_t>(len);
    if (st->begin < st->end) {
        std::size_t take = std::min(want, st->end - st->begin);
        std::memcpy(out, st->buffer.get() + st->begin, take);
        st->begin += take;
        return static_cast<int>(take);
    }
    iovec iov[2] = {{out, want}, {st->buffer.get(), tls_stream::bio_state::capacity}};
    ssize_t n;
    do {
        n = ::readv(st->fd, iov, 2);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            BIO_set_retry_read(bio);
        }
        return -1;
    }
    const auto got = static_cast<std::size_t>(n);
    if (got <= want) {
        return static_cast<int>(got);
    }
    st->begin = 0;
    st->end = got - want;
    return len;
}

int bio_write(BIO* bio, const char* in, int len) {
    auto* st = static_cast<tls_stream::bio_state*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    ssize_t n;
    do {
        n = ::send(st->fd, in, static_cast<std::size_t>(len), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            BIO_set_retry_write(bio);
        }
        return -1;
    }
    return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) {
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

const BIO_METHOD* socket_bio_method() {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOCKET, "corvid socket");
        BIO_meth_set_read(m, bio_read);
        BIO_meth_set_write(m, bio_write);
        BIO_meth_set_ctrl(m, bio_ctrl);
        return m;
    }();
    return method;
}

}  // namespace

tls_stream::tls_stream(asio::ip::tcp::socket socket, SSL_CTX* context)
    : socket_(std::move(socket)), bio_(std::make_unique<bio_state>()), ssl_(SSL_new(context)) {
    std::error_code ignored;
    socket_.non_blocking(true, ignored);
    bio_->fd = static_cast<int>(socket_.native_handle());
    BIO* bio = BIO_new(socket_bio_method());
    BIO_set_data(bio, bio_.get());
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl_.get(), bio, bio);  // one reference, owned by the SSL
    // Retrying a write after WANT_WRITE may pass the same bytes from a
    // different address (the staging buffer can move).
    SSL_set_mode(ssl_.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

tls_stream::~tls_stream() = default;

std::error_code classify_handshake_error(SSL* ssl, std::error_code ec) {
    long verify = SSL_get_verify_result(ssl);
    switch (verify) {
        case X509_V_OK:
            break;
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return tls_errc::cert_expired;
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return tls_errc::cert_not_yet_valid;
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            return tls_errc::cert_self_signed;
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            return tls_errc::cert_untrusted;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            return tls_errc::cert_hostname_mismatch;
        default:
            return tls_errc::cert_verify_failed;
    }
    if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) {
        return net_errc::cancelled;  // the watchdog closed the socket; it knows why
    }
    if (ec == net_errc::connection_closed || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
        return net_errc::connection_closed;
    }
    return tls_errc::handshake_failed;
}

asio::awaitable<result<void>> tls_stream::handshake_client(client_context& context,
                                                           const std::string& host,
                                                           const std::vector<std::string>& alpn,
                                                           const std::string& origin_key) {
    SSL* ssl = ssl_.get();
    SSL_set_connect_state(ssl);
    std::error_code parse_ec;
    auto literal = asio::ip::make_address(host, parse_ec);
    bool is_literal = !parse_ec;
    if (!is_literal) {
        SSL_set_tlsext_host_name(ssl, host.c_str());
    }
    if (context.config().verify_peer) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok = is_literal ? X509_VERIFY_PARAM_set1_ip_asc(param, literal.to_string().c_str())
                            : X509_VERIFY_PARAM_set1_host(param, host.data(), host.size());
        if (!ok) {
            co_return tls_errc::handshake_failed;
        }
    }
    auto wire = alpn_wire(alpn);
    if (!wire.empty()) {
        SSL_set_alpn_protos(ssl, reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size());
    }
    if (const auto& profile = context.config().profile) {
        SSL_set_enable_ech_grease(ssl, profile->ech_grease ? 1 : 0);
        // ALPS only for offered protocols: a WebSocket's ClientHello offers
        // http/1.1 alone and so carries no ALPS, as Chrome's does. corvid
        // sends no settings of its own in it (none are defined for h2).
        for (const auto& proto : profile->alps) {
            if (std::find(alpn.begin(), alpn.end(), proto) != alpn.end() &&
                !SSL_add_application_settings(ssl,
                                              reinterpret_cast<const std::uint8_t*>(proto.data()),
                                              proto.size(), nullptr, 0)) {
                co_return tls_errc::bad_profile;
            }
        }
    }
    // The origin key outlives the handshake (tickets arrive after it in TLS
    // 1.3), so keep it in this stream.
    origin_key_ = origin_key;
    SSL_set_ex_data(ssl, origin_index(), &origin_key_);
    if (SSL_SESSION* cached = context.session_for(origin_key)) {
        SSL_set_session(ssl, cached);
    }
    for (;;) {
        int r = SSL_do_handshake(ssl);
        if (r == 1) {
            co_return result<void>{};
        }
        if (auto ec = co_await wait_for(SSL_get_error(ssl, r))) {
            auto classified = classify_handshake_error(ssl, ec);
            ERR_clear_error();
            co_return classified;
        }
    }
}

asio::awaitable<result<void>> tls_stream::handshake_server() {
    SSL_set_accept_state(ssl_.get());
    for (;;) {
        int r = SSL_do_handshake(ssl_.get());
        if (r == 1) {
            co_return result<void>{};
        }
        if (auto ec = co_await wait_for(SSL_get_error(ssl_.get(), r))) {
            ERR_clear_error();
            co_return tls_errc::handshake_failed;
        }
    }
}

asio::awaitable<std::error_code> tls_stream::wait_for(int ssl_error) {
    std::error_code ec;
    switch (ssl_error) {
        case SSL_ERROR_WANT_READ:
            co_await socket_.async_wait(asio::ip::tcp::socket::wait_read,
                                        asio::redirect_error(asio::use_awaitable, ec));
            co_return ec;
        case SSL_ERROR_WANT_WRITE:
            co_await socket_.async_wait(asio::ip::tcp::socket::wait_write,
                                        asio::redirect_error(asio::use_awaitable, ec));
            co_return ec;
        case SSL_ERROR_ZERO_RETURN:
            co_return net_errc::connection_closed;
        case SSL_ERROR_SYSCALL:
            if (ERR_peek_error() == 0) {
                // EOF without close_notify, or a socket error in errno.
                if (errno != 0 && errno != EAGAIN) {
                    co_return std::error_code(errno, std::system_category());
                }
                co_return net_errc::connection_closed;
            }
            co_return tls_errc::handshake_failed;
        default:
            co_return socket_.is_open() ? std::error_code(tls_errc::handshake_failed)
                                        : std::error_code(asio::error::operation_aborted);
    }
}

session_info tls_stream::info() const {
    session_info out;
    SSL* ssl = ssl_.get();
    out.version = SSL_get_version(ssl);
    if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) {
        out.cipher = SSL_CIPHER_standard_name(cipher);
    }
    const std::uint8_t* proto = nullptr;
    unsigned proto_len = 0;
    SSL_get0_alpn_selected(ssl, &proto, &proto_len);
    out.alpn.assign(reinterpret_cast<const char*>(proto), proto_len);
    out.resumed = SSL_session_reused(ssl) != 0;
    if (X509* peer = SSL_get_peer_certificate(ssl)) {
        out.peer_subject = name_oneline(X509_get_subject_name(peer));
        out.peer_issuer = name_oneline(X509_get_issuer_name(peer));
        X509_free(peer);
    }
    return out;
}

asio::awaitable<result<std::size_t>> tls_stream::read_some(std::span<char> buffer) {
    if (buffer.empty()) {
        co_return std::size_t{0};
    }
    const int want = static_cast<int>(std::min<std::size_t>(buffer.size(), INT32_MAX));
    for (;;) {
        if (!socket_.is_open()) {
            co_return std::error_code(asio::error::operation_aborted);
        }
        errno = 0;
        int n = SSL_read(ssl_.get(), buffer.data(), want);
        if (n > 0) {
            // SSL_read returns one record at a time; take what else is
            // already here (in BoringSSL or the read-ahead buffer) so the
            // layers above run once per batch, not once per 16 KiB record.
            std::size_t total = static_cast<std::size_t>(n);
            while (total < buffer.size() &&
                   (SSL_pending(ssl_.get()) > 0 || bio_->begin < bio_->end)) {
                int more = SSL_read(
                    ssl_.get(), buffer.data() + total,
                    static_cast<int>(std::min<std::size_t>(buffer.size() - total, INT32_MAX)));
                if (more <= 0) {
                    // Nothing more without blocking (or an error, which the
                    // next call reports); what we have is returned now.
                    ERR_clear_error();
                    break;
                }
                total += static_cast<std::size_t>(more);
            }
            co_return total;
        }
        auto ec = co_await wait_for(SSL_get_error(ssl_.get(), n));
        if (ec == net_errc::connection_closed) {
            // close_notify, or a close without it: the end of the stream.
            // The HTTP layer decides whether the message was complete.
            ERR_clear_error();
            co_return std::size_t{0};
        }
        if (ec) {
            ERR_clear_error();
            co_return ec;
        }
    }
}

asio::awaitable<result<void>> tls_stream::write_all(const char* data, std::size_t size) {
    while (size > 0) {
        if (!socket_.is_open()) {
            co_return std::error_code(asio::error::operation_aborted);
        }
        const int chunk = static_cast<int>(std::min<std::size_t>(size, 1 << 30));
        errno = 0;
        int n = SSL_write(ssl_.get(), data, chunk);
        if (n > 0) {
            data += n;
            size -= static_cast<std::size_t>(n);
            continue;
        }
        if (auto ec = co_await wait_for(SSL_get_error(ssl_.get(), n))) {
            ERR_clear_error();
            co_return ec == net_errc::connection_closed
                ? std::error_code(asio::error::connection_reset)
                : ec;
        }
    }
    co_return result<void>{};
}

asio::awaitable<result<void>> tls_stream::write(std::span<const asio::const_buffer> buffers) {
    // Gather small pieces so a request head and a small body leave as one
    // record (and one syscall).
    std::size_t total = 0;
    for (const auto& b : buffers) {
        total += b.size();
    }
    if (buffers.size() > 1 && total <= 16 * 1024) {
        write_staging_.clear();
        for (const auto& b : buffers) {
            write_staging_.append(static_cast<const char*>(b.data()), b.size());
        }
        co_return co_await write_all(write_staging_.data(), write_staging_.size());
    }
    for (const auto& b : buffers) {
        auto r = co_await write_all(static_cast<const char*>(b.data()), b.size());
        if (!r) {
            co_return r;
        }
    }
    co_return result<void>{};
}

void tls_stream::close() noexcept {
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

}  // namespace corvid::tls
