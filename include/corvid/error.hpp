#pragma once

// corvid's error convention: every layer reports failures as std::error_code,
// with one enum and one category per module (net, tls, http1, client). Codes
// compare equal to their enum (`ec == corvid::net_errc::connect_timeout`) and
// `ec.message()` is a sentence a user can act on. No exception crosses a layer
// boundary; the blocking convenience API turns an error_code into a
// corvid::error exception (see client.hpp).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>

namespace corvid {

/// Name resolution, connection establishment, timeouts, cancellation.
enum class net_errc {
    dns_failed = 1,     ///< the host name could not be resolved
    no_addresses,       ///< the name resolved to no usable address
    connect_failed,     ///< every address refused or was unreachable
    connect_timeout,    ///< no connection within the connect timeout
    read_timeout,       ///< the peer sent nothing within the read timeout
    total_timeout,      ///< the whole operation exceeded its total timeout
    cancelled,          ///< cancelled by the caller
    connection_closed,  ///< the peer closed the connection unexpectedly
};
const std::error_category& net_category() noexcept;
inline std::error_code make_error_code(net_errc e) noexcept {
    return {static_cast<int>(e), net_category()};
}

/// TLS handshake and certificate verification.
enum class tls_errc {
    handshake_failed = 1,    ///< the TLS handshake failed (protocol or alert)
    cert_untrusted,          ///< chain does not lead to a trusted CA
    cert_self_signed,        ///< the peer presented a self-signed certificate
    cert_expired,            ///< a certificate in the chain has expired
    cert_not_yet_valid,      ///< a certificate in the chain is not yet valid
    cert_hostname_mismatch,  ///< the certificate is not valid for the host name
    cert_verify_failed,      ///< any other verification failure
    bad_credentials,         ///< a certificate, key or CA file could not be loaded
    alpn_mismatch,           ///< the server did not select a required protocol
    bad_profile,             ///< BoringSSL refused a value of the browser profile's TLS settings
};
const std::error_category& tls_category() noexcept;
inline std::error_code make_error_code(tls_errc e) noexcept {
    return {static_cast<int>(e), tls_category()};
}

/// HTTP/1.1 message syntax (the proto/h1 codec). Every one of these ends the
/// connection: after a framing error the byte stream cannot be trusted.
enum class http1_errc {
    bad_status_line = 1,          ///< malformed status line
    bad_request_line,             ///< malformed request line
    bad_version,                  ///< not HTTP/1.0 or HTTP/1.1
    bad_header,                   ///< malformed field line (name, value or line end)
    obs_fold,                     ///< obsolete line folding (refused: smuggling vector)
    header_too_large,             ///< header section exceeds the configured limit
    too_many_headers,             ///< more fields than the configured limit
    bad_content_length,           ///< Content-Length is not a decimal number
    conflicting_content_length,   ///< several Content-Length values that differ
    chunked_with_content_length,  ///< both Transfer-Encoding and Content-Length
    bad_transfer_encoding,        ///< transfer coding other than a final "chunked"
    bad_chunk_size,               ///< chunk size line is not valid hex / too large
    bad_chunk,                    ///< missing CRLF after chunk data, bad extension
    body_too_large,               ///< body exceeds the configured limit
    partial_message,              ///< connection closed before the message ended
    bad_method,                   ///< invalid method token
    bad_target,                   ///< invalid request target
};
const std::error_category& http1_category() noexcept;
inline std::error_code make_error_code(http1_errc e) noexcept {
    return {static_cast<int>(e), http1_category()};
}

/// The client's request pipeline: URLs, redirects, decoding, proxies.
enum class client_errc {
    bad_url = 1,           ///< the URL cannot be parsed
    unsupported_scheme,    ///< only http and https are supported
    too_many_redirects,    ///< the redirect hop limit was reached
    bad_redirect,          ///< a redirect without a usable Location
    decode_failed,         ///< Content-Encoding data is corrupt
    decoded_too_large,     ///< decoded body exceeds the decompression limit
    unsupported_encoding,  ///< a Content-Encoding corvid cannot decode
    proxy_failed,          ///< the proxy refused or broke the tunnel
    proxy_auth_required,   ///< the proxy asked for credentials (407)
    body_in_progress,      ///< the previous response body is still being read
    request_body_failed,   ///< the request body source reported an error
    proxy_resolve_failed,  ///< the proxy's host name could not be resolved
};
const std::error_category& client_category() noexcept;
inline std::error_code make_error_code(client_errc e) noexcept {
    return {static_cast<int>(e), client_category()};
}

/// The SOCKS5 handshake (the proto/socks5 codec, RFC 1928 and RFC 1929).
/// The reply codes 1 to 8 of RFC 1928 section 6 map to general_failure ...
/// address_type_not_supported, in order. Every one of these ends the
/// handshake; the connection to the proxy cannot be used afterwards.
enum class socks5_errc {
    bad_version = 1,             ///< the proxy did not answer as SOCKS version 5
    no_acceptable_method,        ///< the proxy accepted none of the offered auth methods
    auth_failed,                 ///< the proxy rejected the username/password (RFC 1929)
    general_failure,             ///< REP 1: general SOCKS server failure
    not_allowed,                 ///< REP 2: connection not allowed by ruleset
    network_unreachable,         ///< REP 3: network unreachable
    host_unreachable,            ///< REP 4: host unreachable
    connection_refused,          ///< REP 5: connection refused by the target
    ttl_expired,                 ///< REP 6: TTL expired
    command_not_supported,       ///< REP 7: command not supported
    address_type_not_supported,  ///< REP 8: address type not supported
    bad_reply,                   ///< malformed reply, unassigned REP, or unoffered method
    host_too_long,               ///< the target host name exceeds 255 bytes
    empty_host,                  ///< the target host name is empty
    bad_credentials,             ///< username not 1-255 bytes, or password over 255
};
const std::error_category& socks5_category() noexcept;
inline std::error_code make_error_code(socks5_errc e) noexcept {
    return {static_cast<int>(e), socks5_category()};
}

/// HTTP/2 (the proto/h2 codec on nghttp2). Three kinds, kept apart:
/// connection errors end the session and a GOAWAY goes out (protocol_error,
/// flow_control_error, frame_size_error, compression_error, flooded,
/// bad_preface, internal_error: h2::is_connection_error() is true); stream
/// errors end one stream (stream_refused, stream_reset, goaway,
/// header_list_too_large on receipt; stream_refused and goaway mean the peer
/// did not process the request, safe to retry); the rest reject one call.
enum class http2_errc {
    protocol_error = 1,            ///< the peer violated HTTP/2 (GOAWAY PROTOCOL_ERROR)
    flow_control_error,            ///< the peer overran a flow-control window
    frame_size_error,              ///< a frame too large or of an invalid size
    compression_error,             ///< HPACK data that cannot be decoded
    flooded,                       ///< the peer tripped a flood or rate limit
    bad_preface,                   ///< the peer's connection preface is not HTTP/2
    internal_error,                ///< out of memory inside the codec
    stream_refused,                ///< REFUSED_STREAM: not processed, retryable
    stream_reset,                  ///< the stream was reset (code in the event)
    goaway,                        ///< stream above GOAWAY's last_stream_id: retryable
    connect_protocol_not_enabled,  ///< extended CONNECT without ENABLE_CONNECT_PROTOCOL
    header_list_too_large,         ///< a header list over the configured limit
    invalid_header,                ///< a field or pseudo-header HTTP/2 does not allow
    stream_closed,                 ///< the stream is unknown or closed for sending
    session_closing,               ///< GOAWAY sent or received, or the session failed
    stream_ids_exhausted,          ///< no stream ids left: use a new connection
    invalid_settings,              ///< a SETTINGS value or profile entry is invalid
    events_pending,                ///< receive() called before the events were pulled
    invalid_argument,              ///< an argument out of range (stream id, weight)
    too_many_headers,              ///< a received header list with more fields than the limit
    ping_timeout,                  ///< the peer did not answer a keepalive PING in time
};
const std::error_category& http2_category() noexcept;
inline std::error_code make_error_code(http2_errc e) noexcept {
    return {static_cast<int>(e), http2_category()};
}

/// Loading a browser profile (profile.hpp).
enum class profile_errc {
    not_found = 1,  ///< no built-in profile of that name and no such file
    invalid,        ///< not a valid profile file (the detail names the field)
};
const std::error_category& profile_category() noexcept;
inline std::error_code make_error_code(profile_errc e) noexcept {
    return {static_cast<int>(e), profile_category()};
}

/// Parsing a TLS ClientHello as captured off the wire (the proto/tls codec,
/// used to observe fingerprints). Every one of these rejects the whole input.
enum class client_hello_errc {
    truncated = 1,        ///< the input ends before a length says it should
    not_handshake,        ///< the record is not a TLS handshake record (content type 22)
    bad_record,           ///< the record header's protocol version is not 3.x
    not_client_hello,     ///< the handshake message is not a ClientHello (type 1)
    bad_length,           ///< a length field disagrees with the bytes that contain it
    fragmented,           ///< the ClientHello continues in a further record (unsupported)
    too_large,            ///< a record over 2^14 bytes or a message over the size limit
    duplicate_extension,  ///< the same extension type appears twice
    bad_extension,        ///< a known extension's body is malformed
};
const std::error_category& client_hello_category() noexcept;
inline std::error_code make_error_code(client_hello_errc e) noexcept {
    return {static_cast<int>(e), client_hello_category()};
}

/// WebSocket (RFC 6455, RFC 7692): the proto/ws codec and the clients and
/// servers on it. close_code_for() gives the close code each one fails the
/// connection with.
enum class websocket_errc {
    // Framing (close code 1002 unless noted).
    reserved_bits = 1,         ///< RSV1-3 set without a negotiated extension using them
    reserved_opcode,           ///< opcode 3-7 or 0xB-0xF
    unmasked_client_frame,     ///< a client frame without a mask (server role)
    masked_server_frame,       ///< a server frame with a mask (client role)
    control_frame_too_long,    ///< a control frame payload over 125 bytes
    fragmented_control_frame,  ///< a control frame without FIN
    unexpected_continuation,   ///< a continuation frame with no message started
    expected_continuation,     ///< a new data frame while a message is unfinished
    non_minimal_length,        ///< a payload length not in its shortest encoding
    length_too_large,          ///< a 64-bit length with the most significant bit set
    bad_close_payload,         ///< a close frame with a 1-byte payload
    invalid_close_code,  ///< a close code that may not be sent (1004-1006, 1015, <1000, 1016-2999)
    invalid_utf8,        ///< text or close reason that is not UTF-8 (1007)
    frame_too_large,     ///< a frame over the configured limit (1009)
    message_too_large,   ///< a message over the configured limit (1009)
    // permessage-deflate.
    bad_extension_offer,       ///< an extension header that cannot be parsed or accepted
    compressed_control_frame,  ///< RSV1 on a control frame (1002)
    rsv1_on_continuation,      ///< RSV1 on a continuation frame (1002)
    inflate_failed,            ///< a compressed message that does not inflate (1007)
    inflated_too_large,        ///< a message larger than the limit once inflated (1009)
    // Use.
    closed,        ///< the connection is closing or closed: nothing more can be sent
    ping_timeout,  ///< no pong within the keepalive timeout
    // Handshake (client).
    handshake_status,              ///< the server answered something other than 101
    handshake_accept,              ///< Sec-WebSocket-Accept missing or wrong
    handshake_upgrade,             ///< Upgrade/Connection headers missing or wrong
    handshake_extension,           ///< the server accepted an extension or parameter not offered
    handshake_subprotocol,         ///< the server chose a subprotocol not offered
    extended_connect_unsupported,  ///< HTTP/2 required, but no SETTINGS_ENABLE_CONNECT_PROTOCOL
    // Use (server), appended to keep the values above stable.
    queue_full,  ///< try_send(): the send queue is at its bound; nothing was queued
};
const std::error_category& websocket_category() noexcept;
inline std::error_code make_error_code(websocket_errc e) noexcept {
    return {static_cast<int>(e), websocket_category()};
}
/// The close code (RFC 6455 7.4.1) a connection failed with `e` sends:
/// 1002, 1007 or 1009 for codec errors; 1002 for anything else.
std::uint16_t close_code_for(websocket_errc e) noexcept;

/// Server-sent events: the proto/sse parser's limits, and the event source
/// (sse.hpp), which reconnects after none of these.
enum class sse_errc {
    line_too_long = 1,  ///< a line over the configured limit
    event_too_large,    ///< an event's data over the configured limit
    bad_status,         ///< the server answered a status other than 200 (and not 204)
    no_content,         ///< the server answered 204 No Content: do not reconnect
    bad_content_type,   ///< the response's Content-Type is not text/event-stream
    stream_ended,       ///< the stream ended and reconnection is off or used up
    closed,             ///< the event source was closed by its user
};
const std::error_category& sse_category() noexcept;
inline std::error_code make_error_code(sse_errc e) noexcept {
    return {static_cast<int>(e), sse_category()};
}

/// JWT verification (engine/jwt.hpp). Every one of these refuses the token
/// (or, for the key errors, the key at load time).
enum class jwt_errc {
    malformed = 1,    ///< not three dot-separated parts, or a header without a string alg
    bad_base64,       ///< a part is not strict unpadded base64url
    bad_json,         ///< the header or payload is not a JSON object (or has duplicate members)
    unsupported_alg,  ///< an alg other than HS256, RS256, ES256 (or a crit header)
    alg_none,         ///< alg "none": unsigned tokens are never accepted
    alg_mismatch,     ///< the token's alg is not the algorithm of the verifying key
    bad_signature,    ///< the signature does not verify with the key
    expired,          ///< exp is in the past (beyond the leeway)
    not_yet_valid,    ///< nbf is in the future (beyond the leeway)
    bad_issuer,       ///< iss missing or not the configured issuer
    bad_audience,     ///< aud missing or none of the configured audiences
    unknown_kid,      ///< no key in the key set has the token's kid
    kid_required,     ///< no kid, and several keys of the token's alg
    key_too_weak,     ///< an HMAC secret under 32 bytes or an RSA key under 2048 bits
    bad_key,          ///< a key (PEM or JWK) that cannot be parsed or used
    no_usable_key,    ///< a JWKS document with no key the verifier can use
    too_large,        ///< token, JSON nesting or key document over its limit
    bad_claim,        ///< a registered or corvid claim of the wrong JSON type
    missing_exp,      ///< no exp claim, and exp is required
};
const std::error_category& jwt_category() noexcept;
inline std::error_code make_error_code(jwt_errc e) noexcept {
    return {static_cast<int>(e), jwt_category()};
}

/// The engine protocol (engine/protocol.hpp). The enum value is the wire code
/// of the protocol's `err` frame ({"op":"err","code":N,...}): never renumber.
/// Decoding reports malformed ... too_large; the engine reports the rest.
enum class protocol_errc {
    malformed = 1,           ///< not valid JSON / MessagePack, or not an object/map
    unknown_op,              ///< "op" names no operation of this protocol version
    bad_field,               ///< a field is missing or of the wrong type or value
    bad_channel,             ///< the channel name is empty, too long or has bad characters
    too_large,               ///< data (or its nesting, or an id) over the configured limit
    not_allowed,             ///< the token does not allow this channel or operation
    not_subscribed,          ///< unsub of a channel the connection is not subscribed to
    already_subscribed,      ///< sub of a channel the connection is already subscribed to
    too_many_subscriptions,  ///< the connection's subscription limit is reached
    rate_limited,            ///< the connection sends faster than its rate limit
    internal,                ///< the server failed; not the client's fault
};
const std::error_category& protocol_category() noexcept;
inline std::error_code make_error_code(protocol_errc e) noexcept {
    return {static_cast<int>(e), protocol_category()};
}

/// Exception thrown only by the blocking convenience API.
class error : public std::system_error {
  public:
    explicit error(std::error_code ec) : std::system_error(ec) {}
    error(std::error_code ec, const std::string& what) : std::system_error(ec, what) {}
};

}  // namespace corvid

namespace std {
template <>
struct is_error_code_enum<corvid::net_errc> : true_type {};
template <>
struct is_error_code_enum<corvid::tls_errc> : true_type {};
template <>
struct is_error_code_enum<corvid::http1_errc> : true_type {};
template <>
struct is_error_code_enum<corvid::client_errc> : true_type {};
template <>
struct is_error_code_enum<corvid::socks5_errc> : true_type {};
template <>
struct is_error_code_enum<corvid::http2_errc> : true_type {};
template <>
struct is_error_code_enum<corvid::client_hello_errc> : true_type {};
template <>
struct is_error_code_enum<corvid::profile_errc> : true_type {};
template <>
struct is_error_code_enum<corvid::websocket_errc> : true_type {};
template <>
struct is_error_code_enum<corvid::sse_errc> : true_type {};
template <>
struct is_error_code_enum<corvid::jwt_errc> : true_type {};
template <>
struct is_error_code_enum<corvid::protocol_errc> : true_type {};
}  // namespace std
