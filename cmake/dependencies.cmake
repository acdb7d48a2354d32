# Every dependency comes from a Debian 12 package that scripts/dev installs.

find_package(Threads REQUIRED)

# Standalone Asio (libasio-dev): header-only.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(corvid_asio INTERFACE)
target_include_directories(corvid_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
# ASIO_DISABLE_STD_ALIGNED_ALLOC: Asio 1.22 can pair operator new with free()
# in its handler allocator (aligned_new/aligned_delete disagree when
# ASIO_HAS_ALIGNOF is unset), which ASan rightly reports; plain operator
# new/delete on both sides avoids it.
target_compile_definitions(corvid_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
                                                 ASIO_DISABLE_STD_ALIGNED_ALLOC)
target_link_libraries(corvid_asio INTERFACE Threads::Threads)
# Asio 1.22 enables co_await for clang only with <experimental/coroutine>;
# clang 14 with libstdc++ 12 has the standard <coroutine>, so say so.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  target_compile_definitions(corvid_asio INTERFACE ASIO_HAS_CO_AWAIT=1 ASIO_HAS_STD_COROUTINE=1)
endif()

# BoringSSL (android-libboringssl-dev). Its symbols are unprefixed, so nothing
# that links it may also load OpenSSL: we use full paths to the android
# libraries and put their directory on the rpath.
set(CORVID_BORINGSSL_INCLUDE /usr/include/android CACHE PATH "BoringSSL headers")
set(CORVID_BORINGSSL_LIBDIR /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/android
    CACHE PATH "BoringSSL libraries")
if(NOT EXISTS ${CORVID_BORINGSSL_INCLUDE}/openssl/base.h)
  message(FATAL_ERROR "BoringSSL headers not found in ${CORVID_BORINGSSL_INCLUDE}: "
                      "run scripts/dev setup (installs android-libboringssl-dev)")
endif()
add_library(corvid_boringssl INTERFACE)
# -isystem dirs are searched before the standard /usr/include, so these
# headers win over an OpenSSL installed there (libssl-dev, pulled in by libcurl4-openssl-dev).
target_include_directories(corvid_boringssl SYSTEM BEFORE INTERFACE ${CORVID_BORINGSSL_INCLUDE})
target_link_libraries(corvid_boringssl INTERFACE ${CORVID_BORINGSSL_LIBDIR}/libssl.so
                                                 ${CORVID_BORINGSSL_LIBDIR}/libcrypto.so)
target_link_options(corvid_boringssl INTERFACE "LINKER:-rpath,${CORVID_BORINGSSL_LIBDIR}")

# Compression: zlib, brotli, zstd.
find_package(ZLIB REQUIRED)
find_library(BROTLIDEC_LIB brotlidec REQUIRED)
find_library(BROTLIENC_LIB brotlienc REQUIRED)
find_library(ZSTD_LIB zstd REQUIRED)
add_library(corvid_compression INTERFACE)
target_link_libraries(corvid_compression INTERFACE ZLIB::ZLIB ${BROTLIDEC_LIB} ${BROTLIENC_LIB}
                                                   ${ZSTD_LIB})

# HTTP/2: nghttp2 (libnghttp2-dev 1.52).
find_path(NGHTTP2_INCLUDE_DIR nghttp2/nghttp2.h REQUIRED)
find_library(NGHTTP2_LIB nghttp2 REQUIRED)
add_library(corvid_nghttp2 INTERFACE)
target_include_directories(corvid_nghttp2 SYSTEM INTERFACE ${NGHTTP2_INCLUDE_DIR})
target_link_libraries(corvid_nghttp2 INTERFACE ${NGHTTP2_LIB})

# JSON parsing: simdjson (libsimdjson-dev 3.0); browser profile files and,
# later, the engine's envelopes. Writing JSON is done by hand.
find_package(simdjson CONFIG REQUIRED)
add_library(corvid_simdjson INTERFACE)
target_link_libraries(corvid_simdjson INTERFACE simdjson::simdjson)

# MessagePack (libmsgpack-cxx-dev 4.1, header-only): the engine's binary
# envelopes. MSGPACK_NO_BOOST: the Boost-free configuration.
find_path(MSGPACK_INCLUDE_DIR msgpack.hpp REQUIRED)
add_library(corvid_msgpack INTERFACE)
target_include_directories(corvid_msgpack SYSTEM INTERFACE ${MSGPACK_INCLUDE_DIR})
target_compile_definitions(corvid_msgpack INTERFACE MSGPACK_NO_BOOST)
