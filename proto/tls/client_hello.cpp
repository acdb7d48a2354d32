#include "proto/tls/client_hello.hpp"

#include <algorithm>
#include <unordered_set>

namespace corvid::tls_wire {

namespace {

/// A bounds-checked cursor over a byte span. Every read either succeeds or
/// leaves `ok()` false and returns zero / an empty span: callers check once
/// after a group of reads.
class reader {
  public:
    explicit reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

    std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
    bool empty() const noexcept { return remaining() == 0; }
    bool ok() const noexcept { return ok_; }

    std::uint8_t u8() {
        if (!need(1)) {
            return 0;
        }
        return bytes_[pos_++];
    }
    std::uint16_t u16() {
        if (!need(2)) {
            return 0;
        }
        const auto v = static_cast<std::uint16_t>((bytes_[pos_] << 8) | bytes_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    std::uint32_t u24() {
        if (!need(3)) {
            return 0;
        }
        const std::uint32_t v = (std::uint32_t{bytes_[pos_]} << 16) |
                                (std::uint32_t{bytes_[pos_ + 1]} << 8) | bytes_[pos_ + 2];
        pos_ += 3;
        return v;
    }
    std::span<const std::uint8_t> take(std::size_t n) {
        if (!need(n)) {
            return {};
        }
        auto out = bytes_.subspan(pos_, n);
        pos_ += n;
        return out;
    }
    /// A vector with an 8-bit length prefix.
    std::span<const std::uint8_t> vec8() { return take(u8()); }
    /// A vector with a 16-bit length prefix.
    std::span<const std::uint8_t> vec16() { return take(u16()); }

  private:
    bool need(std::size_t n) {
        if (!ok_ || remaining() < n) {
            ok_ = false;
            return false;
        }
        return true;
    }

    std::span<const std::uint8_t> bytes_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

/// A list of uint16 values that must have an even, non-empty length when
/// `nonempty`. Returns false when malformed.
bool u16_list(std::span<const std::uint8_t> bytes, bool nonempty, std::vector<std::uint16_t>& out) {
    if (bytes.size() % 2 != 0 || (nonempty && bytes.empty())) {
        return false;
    }
    out.clear();
    out.reserve(bytes.size() / 2);
    for (std::size_t i = 0; i < bytes.size(); i += 2) {
        out.push_back(static_cast<std::uint16_t>((bytes[i] << 8) | bytes[i + 1]));
    }
    return true;
}

/// The whole body must be one vector with the given prefix size, and nothing
/// after it.
bool whole_vector(std::span<const std::uint8_t> body, int prefix_bytes,
                  std::span<const std::uint8_t>& inner) {
    reader r(body);
    inner = prefix_bytes == 1 ? r.vec8() : r.vec16();
    return r.ok() && r.empty();
}

/// ProtocolNameList (ALPN, and ALPS which reuses it): uint16-prefixed list of
/// non-empty uint8-prefixed names, at least one.
bool protocol_name_list(std::span<const std::uint8_t> body, std::vector<std::string>& out) {
    std::span<const std::uint8_t> list;
    if (!whole_vector(body, 2, list) || list.empty()) {
        return false;
    }
    out.clear();
    reader r(list);
    while (!r.empty()) {
        auto name = r.vec8();
        if (!r.ok() || name.empty()) {
            return false;
        }
        out.emplace_back(name.begin(), name.end());
    }
    return true;
}

bool decode_server_name(std::span<const std::uint8_t> body, std::optional<std::string>& out) {
    std::span<const std::uint8_t> list;
    if (!whole_vector(body, 2, list) || list.empty()) {
        return false;
    }
    reader r(list);
    while (!r.empty()) {
        const std::uint8_t name_type = r.u8();
        auto name = r.vec16();
        if (!r.ok() || name.empty()) {
            return false;
        }
        if (name_type == 0 && !out) {
            out.emplace(name.begin(), name.end());
        }
    }
    return true;
}

bool decode_key_shares(std::span<const std::uint8_t> body, std::vector<key_share_entry>& out) {
    std::span<const std::uint8_t> list;
    if (!whole_vector(body, 2, list)) {
        return false;
    }
    out.clear();
    reader r(list);
    while (!r.empty()) {
        key_share_entry e;
        e.group = r.u16();
        auto key = r.vec16();
        if (!r.ok() || key.empty()) {
            return false;
        }
        e.key_length = key.size();
        out.push_back(e);
    }
    return true;
}

/// Decode one of the extensions client_hello knows. False when malformed.
bool decode_extension(const extension& e, client_hello& h) {
    std::span<const std::uint8_t> body(e.body);
    std::span<const std::uint8_t> inner;
    switch (e.type) {
        case ext::server_name:
            return decode_server_name(body, h.server_name);
        case ext::status_request:
            h.status_request = true;
            return true;
        case ext::supported_groups:
            return whole_vector(body, 2, inner) && u16_list(inner, true, h.supported_groups);
        case ext::ec_point_formats:
            if (!whole_vector(body, 1, inner) || inner.empty()) {
                return false;
            }
            h.ec_point_formats.assign(inner.begin(), inner.end());
            return true;
        case ext::signature_algorithms:
            return whole_vector(body, 2, inner) && u16_list(inner, true, h.signature_algorithms);
        case ext::alpn:
            return protocol_name_list(body, h.alpn);
        case ext::signed_certificate_timestamp:
            h.signed_certificate_timestamp = true;
            return true;
        case ext::padding:
            h.padding_length = body.size();
            return true;
        case ext::compress_certificate:
            return whole_vector(body, 1, inner) &&
                   u16_list(inner, true, h.cert_compression_algorithms);
        case ext::record_size_limit:
            if (body.size() != 2) {
                return false;
            }
            h.record_size_limit = static_cast<std::uint16_t>((body[0] << 8) | body[1]);
            return true;
        case ext::delegated_credentials:
            h.delegated_credentials = true;
            return whole_vector(body, 2, inner) &&
                   u16_list(inner, true, h.delegated_credential_signature_algorithms);
        case ext::session_ticket:
            h.session_ticket = true;
            return true;
        case ext::supported_versions:
            return whole_vector(body, 1, inner) && u16_list(inner, true, h.supported_versions);
        case ext::psk_key_exchange_modes:
            if (!whole_vector(body, 1, inner) || inner.empty()) {
                return false;
            }
            h.psk_key_exchange_modes.assign(inner.begin(), inner.end());
            return true;
        case ext::key_share:
            return decode_key_shares(body, h.key_shares);
        case ext::alps_old:
            return protocol_name_list(body, h.alps_old);
        case ext::alps_new:
            return protocol_name_list(body, h.alps_new);
        case ext::encrypted_client_hello:
            h.encrypted_client_hello = true;
            return true;
        default:
            return true;
    }
}

/// Parse the ClientHello body (after the 4-byte handshake header).
result<client_hello> parse_body(std::span<const std::uint8_t> body) {
    client_hello h;
    reader r(body);
    h.legacy_version = r.u16();
    auto random = r.take(32);
    if (!r.ok()) {
        return client_hello_errc::truncated;
    }
    std::copy(random.begin(), random.end(), h.random.begin());

    auto session_id = r.vec8();
    if (!r.ok()) {
        return client_hello_errc::truncated;
    }
    if (session_id.size() > 32) {
        return client_hello_errc::bad_length;
    }
    h.session_id.assign(session_id.begin(), session_id.end());

    auto ciphers = r.vec16();
    if (!r.ok()) {
        return client_hello_errc::truncated;
    }
    if (!u16_list(ciphers, true, h.cipher_suites)) {
        return client_hello_errc::bad_length;
    }

    auto compression = r.vec8();
    if (!r.ok()) {
        return client_hello_errc::truncated;
    }
    if (compression.empty()) {
        return client_hello_errc::bad_length;
    }
    h.compression_methods.assign(compression.begin(), compression.end());

    // Extensions are optional (a TLS 1.2 hello may end here).
    if (r.empty()) {
        return h;
    }
    auto extensions = r.vec16();
    if (!r.ok()) {
        return client_hello_errc::truncated;
    }
    if (!r.empty()) {
        return client_hello_errc::bad_length;  // bytes after the extensions block
    }
    std::unordered_set<std::uint16_t> seen;
    reader er(extensions);
    while (!er.empty()) {
        extension e;
        e.type = er.u16();
        auto ext_body = er.vec16();
        if (!er.ok()) {
            return client_hello_errc::bad_length;  // an extension overruns the block
        }
        if (!seen.insert(e.type).second) {
            return client_hello_errc::duplicate_extension;
        }
        e.body.assign(ext_body.begin(), ext_body.end());
        h.extensions.push_back(std::move(e));
    }
    for (const auto& e : h.extensions) {
        if (!decode_extension(e, h)) {
            return client_hello_errc::bad_extension;
        }
    }
    return h;
}

}  // namespace

bool client_hello::has_extension(std::uint16_t type) const noexcept {
    return find_extension(type) != nullptr;
}

const extension* client_hello::find_extension(std::uint16_t type) const noexcept {
    for (const auto& e : extensions) {
        if (e.type == type) {
            return &e;
        }
    }
    return nullptr;
}

std::vector<std::uint16_t> client_hello::extension_types() const {
    std::vector<std::uint16_t> out;
    out.reserve(extensions.size());
    for (const auto& e : extensions) {
        out.push_back(e.type);
    }
    return out;
}

result<client_hello> parse_client_hello_message(std::span<const std::uint8_t> bytes,
                                                const parse_options& options) {
    reader r(bytes);
    const std::uint8_t msg_type = r.u8();
    const std::uint32_t length = r.u24();
    if (!r.ok()) {
        return client_hello_errc::truncated;
    }
    if (msg_type != 1) {
        return client_hello_errc::not_client_hello;
    }
    if (std::size_t{length} + 4 > options.max_message_size) {
        return client_hello_errc::too_large;
    }
    auto body = r.take(length);
    if (!r.ok()) {
        return client_hello_errc::truncated;
    }
    if (!r.empty()) {
        return client_hello_errc::bad_length;
    }
    auto h = parse_body(body);
    if (h) {
        h->wire_size = bytes.size();
    }
    return h;
}

result<client_hello> parse_client_hello_record(std::span<const std::uint8_t> bytes,
                                               const parse_options& options) {
    reader r(bytes);
    const std::uint8_t content_type = r.u8();
    const std::uint16_t version = r.u16();
    const std::uint16_t length = r.u16();
    if (!r.ok()) {
        return client_hello_errc::truncated;
    }
    if (content_type != 22) {
        return client_hello_errc::not_handshake;
    }
    if ((version >> 8) != 3) {
        return client_hello_errc::bad_record;
    }
    if (length > max_record_payload) {
        return client_hello_errc::too_large;
    }
    auto payload = r.take(length);
    if (!r.ok()) {
        return client_hello_errc::truncated;
    }

    // The handshake header, then the whole message inside this record.
    reader hr(payload);
    const std::uint8_t msg_type = hr.u8();
    const std::uint32_t msg_length = hr.u24();
    if (!hr.ok()) {
        // A record too short for the handshake header: the message continues
        // elsewhere, or the record is empty.
        return length == 0 ? client_hello_errc::bad_length : client_hello_errc::fragmented;
    }
    if (msg_type != 1) {
        return client_hello_errc::not_client_hello;
    }
    if (std::size_t{msg_length} + 4 > options.max_message_size) {
        return client_hello_errc::too_large;
    }
    if (msg_length > hr.remaining()) {
        return client_hello_errc::fragmented;
    }
    if (msg_length < hr.remaining()) {
        return client_hello_errc::bad_length;  // another message after the hello
    }
    auto h = parse_client_hello_message(payload, options);
    if (h) {
        h->record_version = version;
        h->wire_size = record_header_size + length;
    }
    return h;
}

}  // namespace corvid::tls_wire
