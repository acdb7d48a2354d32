#pragma once

// TLS certificate compression (RFC 8879) with real codecs: zlib (1), brotli
// (2) and zstd (3). A client registers decompressors, which makes BoringSSL
// offer the algorithms in its compress_certificate extension, in the order
// registered; a server registers compressors, in preference order.
//
// Limits: BoringSSL itself refuses a CompressedCertificate whose declared
// uncompressed length exceeds its certificate size limit; the decompressors
// here additionally refuse anything over max_decompressed_certificate bytes
// and any output whose length differs from the declared one (a lying peer
// fails the handshake, bad_certificate-style, without allocating more).
//
// @par Threading
// The callbacks are stateless and may run on any thread.

#include <cstddef>
#include <cstdint>
#include <span>

#include <openssl/ssl.h>

namespace corvid::tls {

inline constexpr std::uint16_t cert_compression_zlib = 1;
inline constexpr std::uint16_t cert_compression_brotli = 2;
inline constexpr std::uint16_t cert_compression_zstd = 3;

/// Largest certificate message a decompressor produces (1 MiB).
inline constexpr std::size_t max_decompressed_certificate = 1 << 20;

/// Certificates decompressed successfully by this process, per algorithm
/// (index 1 zlib, 2 brotli, 3 zstd; 0 unused): a diagnostic counter, e.g.
/// for `-v` and for tests that must know compression really happened.
std::uint64_t certificates_decompressed(std::uint16_t algorithm) noexcept;

/// Whether corvid has a codec for `algorithm`.
bool cert_compression_supported(std::uint16_t algorithm) noexcept;

/// Registers decompressors for `algorithms` on a client context, in order.
/// False (nothing more registered) on an unknown or repeated algorithm.
bool add_cert_decompressors(SSL_CTX* ctx, std::span<const std::uint16_t> algorithms);

/// Registers compressors for `algorithms` on a server context, most
/// preferred first. False on an unknown or repeated algorithm.
bool add_cert_compressors(SSL_CTX* ctx, std::span<const std::uint16_t> algorithms);

}  // namespace corvid::tls
