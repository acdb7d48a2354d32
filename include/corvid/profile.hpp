#pragma once

// Browser profiles: what a client sends so that it looks like a given browser
// on the wire — the TLS ClientHello, the HTTP/2 connection preface and
// HEADERS frames, and the default request headers in order.
//
// A profile is data. The built-in ones (`chrome`, `firefox`) are JSON files
// in the source tree (client/profiles/*.json) compiled into the library; a
// user's own file in the same format is loaded with profile::load(path). The
// format is documented in docs/profiles.md. The default, `none`, is no
// profile at all: corvid's own plain, fast client (client_options::profile
// left empty).
//
// What the TLS library cannot produce is recorded in the profile too
// (profile::gaps): those fields are left out of the ClientHello, never
// advertised — a server that picked an algorithm the stack cannot then
// negotiate would break the connection — and every fingerprint report lists
// them as gaps.
//
// @par Threading
// A profile is an immutable value once loaded; share it freely (clients hold
// it by shared_ptr<const profile>).
//
// @par Errors
// Loading returns profile_errc (error.hpp): not_found for an unknown name or
// an unreadable file, and invalid for a file that is not a valid profile (the
// message names the field; see profile::load).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "corvid/headers.hpp"
#include "corvid/result.hpp"

namespace corvid {

/// The ClientHello of a profile. Numbers are IANA code points.
struct tls_profile {
    /// Cipher suites in order, TLS 1.3 suites included. BoringSSL orders the
    /// TLS 1.3 suites itself (AES-128-GCM, AES-256-GCM, ChaCha20 on machines
    /// with AES instructions); a profile whose TLS 1.3 order differs records
    /// that as a gap.
    std::vector<std::uint16_t> cipher_suites;
    /// supported_groups in order; the first is also the one key share sent.
    std::vector<std::uint16_t> groups;
    /// signature_algorithms in order.
    std::vector<std::uint16_t> signature_algorithms;
    std::vector<std::string> alpn;  ///< e.g. {"h2", "http/1.1"}
    /// Protocols for which ALPS (application_settings, codepoint 17513) is
    /// offered, e.g. {"h2"}; empty: no ALPS extension.
    std::vector<std::string> alps;
    /// compress_certificate algorithms (1 zlib, 2 brotli, 3 zstd), each with
    /// a real decompressor behind it.
    std::vector<std::uint16_t> cert_compression;
    bool grease = false;              ///< RFC 8701 GREASE values
    bool permute_extensions = false;  ///< shuffle extensions per connection (Chrome)
    bool ech_grease = false;          ///< a GREASE encrypted_client_hello extension
    bool ocsp_stapling = false;       ///< status_request
    bool signed_cert_timestamps = false;
    bool session_tickets = true;
    std::uint16_t min_version = 0x0303;  ///< TLS 1.2
    std::uint16_t max_version = 0x0304;  ///< TLS 1.3
};

/// HTTP/2 connection and HEADERS settings of a profile.
struct http2_profile {
    struct setting {
        std::uint16_t id = 0;
        std::uint32_t value = 0;
    };
    std::vector<setting> settings;  ///< the first SETTINGS frame, in order
    /// Connection WINDOW_UPDATE increment sent right after SETTINGS; 0: none.
    std::uint32_t connection_window_increment = 0;
    /// WINDOW_UPDATE increment sent on each request stream right after its
    /// HEADERS (Firefox); 0: none.
    std::uint32_t stream_window_increment = 0;
    /// RFC 7540 priority on every request's HEADERS frame; nullopt: none.
    struct priority {
        std::int32_t depends_on = 0;
        std::uint16_t weight = 16;  ///< 1..256
        bool exclusive = false;
    };
    std::optional<priority> headers_priority;
    /// Pseudo-header order, as the Akamai fingerprint writes it: "m,a,s,p"
    /// (method, authority, scheme, path). Parsed when the profile loads.
    std::string pseudo_header_order = "m,s,a,p";
};

/// What kind of request the default headers are for.
enum class request_kind {
    navigation,  ///< a top-level page load (the default)
    fetch,       ///< an API call made by a page's script (fetch/XHR)
    websocket    ///< a WebSocket handshake
};

/// The default request headers of one request kind, in wire order.
struct header_template {
    /// Names as the browser sends them over HTTP/2 (lower case) in the
    /// file; when the profile loads, each name listed in http1_names takes
    /// that spelling, which HTTP/1.1 sends as is and HTTP/2 lower-cases. A field with an empty
    /// value is a slot: it is sent only when the request (or the client, e.g. Origin and
    /// Sec-WebSocket-Key of a WebSocket) supplies it, and then in this
    /// position. HTTP/1.1-only fields (connection, upgrade, ...) are dropped
    /// over HTTP/2.
    corvid::headers fields;
    /// Where a header the user adds that the template does not have goes:
    /// before this field (empty or absent from `fields`: at the end). A
    /// header the template has is replaced in its own position instead.
    std::string user_headers_before;
    /// Where a Cookie header from the jar goes (same rule).
    std::string cookie_before;
    /// HEADERS priority of this kind of request over HTTP/2 (Chrome and
    /// Firefox weigh a fetch lower than a navigation); nullopt: the
    /// connection-wide http2_profile::headers_priority.
    std::optional<http2_profile::priority> http2_priority;
};

/// Something the captured browser sends that this TLS library cannot.
struct profile_gap {
    std::string field;  ///< "groups", "extensions", "signature_algorithms", ...
    std::string item;   ///< e.g. "4588" or "17613"
    std::string why;    ///< e.g. "X25519MLKEM768 is not in Debian's BoringSSL (API 17)"
};

struct profile {
    std::string name;         ///< e.g. "chrome"
    std::string description;  ///< e.g. "Chromium 156 on Linux (Debian 12)"
    /// The reference JA4 of the captured browser and the JA4 this profile
    /// produces with this TLS library (informational).
    std::string reference_ja4;
    std::string expected_ja4;

    tls_profile tls;
    /// The ClientHello of a WebSocket over HTTP/1.1: `tls` with these ALPN
    /// and ALPS lists (Chrome: {"http/1.1"} and no ALPS).
    std::vector<std::string> websocket_alpn;
    std::vector<std::string> websocket_alps;

    http2_profile http2;

    header_template navigation;
    header_template fetch;
    header_template websocket;
    /// HTTP/1.1 spelling of header names, e.g. "user-agent" -> "User-Agent".
    corvid::headers http1_names;

    std::vector<profile_gap> gaps;

    const header_template& headers_for(request_kind kind) const noexcept;

    /// Parses a profile file (JSON, format in docs/profiles.md). Every field
    /// is checked: unknown keys, wrong types, out-of-range numbers, a cipher,
    /// group or signature algorithm BoringSSL does not implement, a
    /// compression algorithm without a decompressor, or a malformed pseudo
    /// order give profile_errc::invalid with the field named in `detail`.
    /// Input above 1 MiB is refused (invalid).
    static result<profile> parse(std::string_view json, std::string* detail = nullptr);

    /// A built-in profile by name ("chrome", "firefox"), or a file when
    /// `name_or_path` contains a '/' or ends in ".json". "none" is not a
    /// profile: callers treat it as "no profile". profile_errc::not_found
    /// when neither exists.
    static result<std::shared_ptr<const profile>> load(std::string_view name_or_path,
                                                       std::string* detail = nullptr);

    /// Names of the built-in profiles, "none" first.
    static std::vector<std::string> builtin_names();
};

}  // namespace corvid
