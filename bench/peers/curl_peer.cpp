// bench-peer-curl: the libcurl (OpenSSL) side of corvid's HTTP client
// benchmarks. A separate executable because OpenSSL and BoringSSL must never
// share a process; it links libcurl and nothing of corvid.
//
// libcurl is configured to do no more work than corvid does: HTTP/1.1 only,
// no progress meter, no signals, no content decoding, no cookies, no
// redirects, verification against --cacert alone (CAPATH cleared), and, when
// corvid-bench passes --buffer-size, a receive buffer equal to corvid's read
// size so both deliver the body to the caller in pieces of the same size.
// One easy handle is reused across samples, so its connection is kept alive
// (and its TLS session cached) exactly like corvid's pool.

#include <curl/curl.h>

#include <cstdint>
#include <string>

#include "bench/peers/peer_protocol.hpp"

namespace {

namespace peer = corvid::bench::peer;

struct transfer {
    std::int64_t first_ns = 0;
    std::int64_t last_ns = 0;
    std::uint64_t bytes = 0;
};

// The caller's view of the body: stamp the first and every later piece, keep
// nothing.
extern "C" std::size_t on_body(char*, std::size_t size, std::size_t count, void* user) {
    const std::int64_t now = peer::now_ns();
    auto* t = static_cast<transfer*>(user);
    const std::size_t n = size * count;
    if (n == 0) {
        return 0;
    }
    if (t->bytes == 0) {
        t->first_ns = now;
    }
    t->last_ns = now;
    t->bytes += n;
    return n;
}

bool set(CURL* h, CURLoption opt, long v) {
    return curl_easy_setopt(h, opt, v) == CURLE_OK;
}

}  // namespace

int main(int argc, char** argv) {
    const peer::options opts = peer::parse_options(argc, argv);
    if (opts.version) {
        std::printf("%s\n", curl_version());
        return 0;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        peer::print_error("curl_global_init failed");
        return 1;
    }
    CURL* h = curl_easy_init();
    transfer t;
    bool ok = h != nullptr;
    ok = ok && curl_easy_setopt(h, CURLOPT_URL, opts.url.c_str()) == CURLE_OK;
    ok = ok && set(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    ok = ok && set(h, CURLOPT_NOPROGRESS, 1L);
    ok = ok && set(h, CURLOPT_NOSIGNAL, 1L);
    ok = ok && set(h, CURLOPT_FOLLOWLOCATION, 0L);
    ok = ok && curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_WRITEDATA, &t) == CURLE_OK;
    ok = ok && set(h, CURLOPT_SSL_VERIFYPEER, 1L);
    ok = ok && set(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!opts.cacert.empty()) {
        ok = ok && curl_easy_setopt(h, CURLOPT_CAINFO, opts.cacert.c_str()) == CURLE_OK;
        ok = ok && curl_easy_setopt(h, CURLOPT_CAPATH, nullptr) == CURLE_OK;
    }
    if (opts.buffer_size != 0) {
        ok = ok && set(h, CURLOPT_BUFFERSIZE, static_cast<long>(opts.buffer_size));
    }
    if (opts.fresh_connection) {
        ok = ok && set(h, CURLOPT_FRESH_CONNECT, 1L);
        ok = ok && set(h, CURLOPT_FORBID_REUSE, 1L);
    }
    if (!ok) {
        peer::print_error("libcurl refused an option");
        return 1;
    }

    while (peer::next_run()) {
        t = transfer{};
        const std::int64_t cpu_start = peer::cpu_ns();
        const std::int64_t start = peer::now_ns();
        const CURLcode rc = curl_easy_perform(h);
        const std::int64_t cpu = peer::cpu_ns() - cpu_start;
        if (rc != CURLE_OK) {
            peer::print_error(curl_easy_strerror(rc));
            continue;
        }
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) {
            peer::print_error("HTTP status " + std::to_string(status));
            continue;
        }
        if (t.bytes == 0) {
            peer::print_error("empty body");
            continue;
        }
        peer::print_sample(t.first_ns - start, t.last_ns - start, t.bytes, cpu);
    }
    curl_easy_cleanup(h);
    curl_global_cleanup();
    return 0;
}
