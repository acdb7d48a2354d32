#pragma once

// A TLS ClientHello as it appears on the wire, parsed into its fields so that
// a client's fingerprint can be observed and compared (`corvid fingerprint`).
// Sans-I/O and pure: bytes in, a value out. Nothing here negotiates TLS.
//
// Two entry points:
//   - parse_client_hello_record(): one TLS record, the 5-byte header
//     (content type 22, version 3.x, length) followed by a handshake message
//     of type client_hello (1) that fills the record exactly;
//   - parse_client_hello_message(): a bare handshake message (type, 24-bit
//     length, body), as a TLS library's message callback shows it.
//
// Limits (every size the peer controls):
//   - a record payload is at most 2^14 bytes (RFC 8446 5.1), else too_large;
//   - a handshake message is at most parse_options::max_message_size bytes
//     (16 KiB by default), else too_large;
//   - every vector inside the hello is checked against its container.
// A ClientHello that continues in a second record (possible, since a
// handshake message may be fragmented over records, but no browser does it
// for hellos under 16 KiB) is reported as `fragmented`: it is not supported.
// Bytes after the one record are not examined (a capture may hold more);
// `client_hello::wire_size` says how many were used.
//
// Strictness: every length is checked; a duplicate extension type is an
// error (RFC 8446 4.2); the known extensions listed in `client_hello` are
// decoded and a malformed body among them is `bad_extension`. Other
// extensions are kept as raw bytes without interpretation. Nothing checks
// that values are sensible (a hello offering only GREASE parses fine).
//
// Errors (client_hello_errc): truncated, not_handshake, bad_record,
// not_client_hello, bad_length, fragmented, too_large, duplicate_extension,
// bad_extension. See include/corvid/error.hpp.
//
// @par Thread Safety
// Free functions on immutable input; the result is a plain value.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "corvid/result.hpp"

namespace corvid::tls_wire {

/// Extension code points that the parser decodes (IANA "TLS ExtensionType
/// Values"; 17513 and 17613 are ALPS' old and new code points, 65037 is ECH).
namespace ext {
inline constexpr std::uint16_t server_name = 0;
inline constexpr std::uint16_t status_request = 5;
inline constexpr std::uint16_t supported_groups = 10;
inline constexpr std::uint16_t ec_point_formats = 11;
inline constexpr std::uint16_t signature_algorithms = 13;
inline constexpr std::uint16_t alpn = 16;
inline constexpr std::uint16_t signed_certificate_timestamp = 18;
inline constexpr std::uint16_t padding = 21;
inline constexpr std::uint16_t extended_master_secret = 23;
inline constexpr std::uint16_t compress_certificate = 27;
inline constexpr std::uint16_t record_size_limit = 28;
inline constexpr std::uint16_t delegated_credentials = 34;
inline constexpr std::uint16_t session_ticket = 35;
inline constexpr std::uint16_t pre_shared_key = 41;
inline constexpr std::uint16_t supported_versions = 43;
inline constexpr std::uint16_t psk_key_exchange_modes = 45;
inline constexpr std::uint16_t key_share = 51;
inline constexpr std::uint16_t alps_old = 17513;
inline constexpr std::uint16_t alps_new = 17613;
inline constexpr std::uint16_t encrypted_client_hello = 65037;
inline constexpr std::uint16_t renegotiation_info = 65281;
}  // namespace ext

/// True for the 16 GREASE values of RFC 8701 (0x0a0a, 0x1a1a, ... 0xfafa),
/// which may appear as cipher suites, extension types, groups, signature
/// algorithms and versions.
constexpr bool is_grease(std::uint16_t v) noexcept {
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/// One extension in wire order, with a copy of its body.
struct extension {
    std::uint16_t type = 0;
    std::vector<std::uint8_t> body;
};

/// One KeyShareEntry: the group and the length of its key_exchange.
struct key_share_entry {
    std::uint16_t group = 0;
    std::size_t key_length = 0;
};

/// A parsed ClientHello. Lists keep wire order and GREASE values. A decoded
/// field is empty (or false / nullopt) when its extension is absent; use
/// has_extension() to tell "absent" from "present but empty".
struct client_hello {
    std::uint16_t record_version = 0;  ///< record header version; 0 for a bare message
    std::uint16_t legacy_version = 0;  ///< ClientHello.legacy_version (0x0303 in TLS 1.3)
    std::array<std::uint8_t, 32> random{};
    std::vector<std::uint8_t> session_id;  ///< 0 to 32 bytes
    std::vector<std::uint16_t> cipher_suites;
    std::vector<std::uint8_t> compression_methods;
    std::vector<extension> extensions;  ///< wire order, GREASE kept

    // Decoded extensions.
    std::optional<std::string> server_name;           ///< first host_name of SNI (0), raw bytes
    bool status_request = false;                      ///< 5 present
    std::vector<std::uint16_t> supported_groups;      ///< 10
    std::vector<std::uint8_t> ec_point_formats;       ///< 11
    std::vector<std::uint16_t> signature_algorithms;  ///< 13
    std::vector<std::string> alpn;                    ///< 16, protocol names in order
    bool signed_certificate_timestamp = false;        ///< 18 present
    std::optional<std::size_t> padding_length;        ///< 21: body length
    std::vector<std::uint16_t> cert_compression_algorithms;                ///< 27
    std::optional<std::uint16_t> record_size_limit;                        ///< 28
    bool delegated_credentials = false;                                    ///< 34 present
    std::vector<std::uint16_t> delegated_credential_signature_algorithms;  ///< 34
    bool session_ticket = false;                                           ///< 35 present
    std::vector<std::uint16_t> supported_versions;                         ///< 43
    std::vector<std::uint8_t> psk_key_exchange_modes;                      ///< 45
    std::vector<key_share_entry> key_shares;                               ///< 51
    std::vector<std::string> alps_old;    ///< 17513 (application_settings)
    std::vector<std::string> alps_new;    ///< 17613
    bool encrypted_client_hello = false;  ///< 65037 present (real or GREASE)

    /// Bytes of the input used: the record (header included) or the message.
    std::size_t wire_size = 0;

    /// True when an extension of this type is present.
    bool has_extension(std::uint16_t type) const noexcept;
    /// The extension of this type, or nullptr.
    const extension* find_extension(std::uint16_t type) const noexcept;
    /// Extension types in wire order (GREASE kept).
    std::vector<std::uint16_t> extension_types() const;
};

/// Limits for the parser.
struct parse_options {
    /// Largest handshake message accepted (header included). A record cannot
    /// carry more than 2^14 bytes anyway; this bounds bare messages.
    std::size_t max_message_size = 16 * 1024;
};

/// Largest TLS record payload (RFC 8446 5.1) and the record header size.
inline constexpr std::size_t max_record_payload = 16 * 1024;
inline constexpr std::size_t record_header_size = 5;

/// Parse one TLS record holding a whole ClientHello. Bytes after the record
/// are ignored. Errors: every client_hello_errc.
result<client_hello> parse_client_hello_record(std::span<const std::uint8_t> bytes,
                                               const parse_options& options = {});

/// Parse a bare handshake message (msg_type 1, uint24 length, body) that
/// fills `bytes` exactly. Errors: every client_hello_errc but not_handshake,
/// bad_record and fragmented.
result<client_hello> parse_client_hello_message(std::span<const std::uint8_t> bytes,
                                                const parse_options& options = {});

}  // namespace corvid::tls_wire
