#include "tls/cert_compression.hpp"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <openssl/bytestring.h>
#include <openssl/pool.h>
#include <zlib.h>
#include <zstd.h>

#include <array>
#include <atomic>
#include <climits>
#include <vector>

namespace corvid::tls {

namespace {

std::array<std::atomic<std::uint64_t>, 4> decompressed_count{};

int counted(int ok, std::uint16_t algorithm) {
    if (ok == 1) {
        decompressed_count[algorithm].fetch_add(1, std::memory_order_relaxed);
    }
    return ok;
}

// Every decompressor writes into a buffer of exactly the declared size and
// fails unless the input decodes to exactly that many bytes.
CRYPTO_BUFFER* alloc_output(std::size_t uncompressed_len, std::uint8_t** data) {
    if (uncompressed_len == 0 || uncompressed_len > max_decompressed_certificate) {
        return nullptr;
    }
    return CRYPTO_BUFFER_alloc(data, uncompressed_len);
}

int zlib_decompress(SSL*, CRYPTO_BUFFER** out, std::size_t uncompressed_len, const std::uint8_t* in,
                    std::size_t in_len) {
    std::uint8_t* data = nullptr;
    CRYPTO_BUFFER* buffer = alloc_output(uncompressed_len, &data);
    if (buffer == nullptr || in_len > UINT_MAX) {
        CRYPTO_BUFFER_free(buffer);
        return 0;
    }
    uLongf produced = static_cast<uLongf>(uncompressed_len);
    // uncompress() stops at the end of the output: Z_BUF_ERROR if the input
    // wanted more room, so an oversized payload is refused, not truncated.
    const int rc = uncompress(data, &produced, in, static_cast<uLong>(in_len));
    if (rc != Z_OK || produced != uncompressed_len) {
        CRYPTO_BUFFER_free(buffer);
        return 0;
    }
    *out = buffer;
    return counted(1, cert_compression_zlib);
}

int brotli_decompress(SSL*, CRYPTO_BUFFER** out, std::size_t uncompressed_len,
                      const std::uint8_t* in, std::size_t in_len) {
    std::uint8_t* data = nullptr;
    CRYPTO_BUFFER* buffer = alloc_output(uncompressed_len, &data);
    if (buffer == nullptr) {
        return 0;
    }
    std::size_t produced = uncompressed_len;
    if (BrotliDecoderDecompress(in_len, in, &produced, data) != BROTLI_DECODER_RESULT_SUCCESS ||
        produced != uncompressed_len) {
        CRYPTO_BUFFER_free(buffer);
        return 0;
    }
    *out = buffer;
    return counted(1, cert_compression_brotli);
}

int zstd_decompress(SSL*, CRYPTO_BUFFER** out, std::size_t uncompressed_len, const std::uint8_t* in,
                    std::size_t in_len) {
    std::uint8_t* data = nullptr;
    CRYPTO_BUFFER* buffer = alloc_output(uncompressed_len, &data);
    if (buffer == nullptr) {
        return 0;
    }
    const std::size_t produced = ZSTD_decompress(data, uncompressed_len, in, in_len);
    if (ZSTD_isError(produced) || produced != uncompressed_len) {
        CRYPTO_BUFFER_free(buffer);
        return 0;
    }
    *out = buffer;
    return counted(1, cert_compression_zstd);
}

int zlib_compress(SSL*, CBB* out, const std::uint8_t* in, std::size_t in_len) {
    if (in_len > UINT_MAX) {
        return 0;
    }
    uLongf size = compressBound(static_cast<uLong>(in_len));
    std::uint8_t* dst = nullptr;
    if (!CBB_reserve(out, &dst, size) ||
        compress2(dst, &size, in, static_cast<uLong>(in_len), Z_BEST_COMPRESSION) != Z_OK) {
        return 0;
    }
    return CBB_did_write(out, size);
}

int brotli_compress(SSL*, CBB* out, const std::uint8_t* in, std::size_t in_len) {
    std::size_t size = BrotliEncoderMaxCompressedSize(in_len);
    std::uint8_t* dst = nullptr;
    if (size == 0 || !CBB_reserve(out, &dst, size) ||
        !BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC,
                               in_len, in, &size, dst)) {
        return 0;
    }
    return CBB_did_write(out, size);
}

int zstd_compress(SSL*, CBB* out, const std::uint8_t* in, std::size_t in_len) {
    const std::size_t bound = ZSTD_compressBound(in_len);
    std::uint8_t* dst = nullptr;
    if (!CBB_reserve(out, &dst, bound)) {
        return 0;
    }
    const std::size_t size = ZSTD_compress(dst, bound, in, in_len, ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(size)) {
        return 0;
    }
    return CBB_did_write(out, size);
}

}  // namespace

std::uint64_t certificates_decompressed(std::uint16_t algorithm) noexcept {
    return algorithm < decompressed_count.size()
               ? decompressed_count[algorithm].load(std::memory_order_relaxed)
               : 0;
}

bool cert_compression_supported(std::uint16_t algorithm) noexcept {
    return algorithm == cert_compression_zlib || algorithm == cert_compression_brotli ||
           algorithm == cert_compression_zstd;
}

bool add_cert_decompressors(SSL_CTX* ctx, std::span<const std::uint16_t> algorithms) {
    for (auto alg : algorithms) {
        ssl_cert_decompression_func_t fn = alg == cert_compression_zlib     ? zlib_decompress
                                           : alg == cert_compression_brotli ? brotli_decompress
                                           : alg == cert_compression_zstd   ? zstd_decompress
                                                                            : nullptr;
        if (fn == nullptr || !SSL_CTX_add_cert_compression_alg(ctx, alg, nullptr, fn)) {
            return false;
        }
    }
    return true;
}

bool add_cert_compressors(SSL_CTX* ctx, std::span<const std::uint16_t> algorithms) {
    for (auto alg : algorithms) {
        ssl_cert_compression_func_t fn = alg == cert_compression_zlib     ? zlib_compress
                                         : alg == cert_compression_brotli ? brotli_compress
                                         : alg == cert_compression_zstd   ? zstd_compress
                                                                          : nullptr;
        if (fn == nullptr || !SSL_CTX_add_cert_compression_alg(ctx, alg, fn, nullptr)) {
            return false;
        }
    }
    return true;
}

}  // namespace corvid::tls
