// bench-peer-curl: the libcurl (OpenSSL) side of corvid's HTTP client
// benchmarks. A separate executable because OpenSSL and BoringSSL must never
// share a process; it links libcurl and nothing of corvid.
//
// libcurl is configured to do no more work than corvid does: HTTP/1.1 only
// (HTTP/2 over TLS only with --http2), no progress meter, no signals, no
// content decoding, no cookies, no redirects, verification against --cacert
// alone (CAPATH cleared), and, when corvid-bench passes --buffer-size, a
// receive buffer equal to corvid's read size so both deliver the body to the
// caller in pieces of the same size. One easy handle is reused across
// samples, so its connection is kept alive (and its TLS session cached)
// exactly like corvid's pool.
//
// --concurrent N uses the multi interface instead: N easy handles, reused
// across samples, added to one multi handle at once with CURLPIPE_MULTIPLEX
// and CURLOPT_PIPEWAIT, so they wait for one connection and share it as
// HTTP/2 streams rather than each opening its own.

#include <curl/curl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bench/peers/peer_protocol.hpp"

namespace {

namespace peer = corvid::bench::peer;

// What the caller saw of the response bodies of one sample (one request, or
// every request of a --concurrent batch).
struct transfer {
    std::int64_t first_ns = 0;
    std::int64_t last_ns = 0;
    std::uint64_t bytes = 0;
};

// The request body of one request: the same piece over and over.
struct upload {
    const std::string* piece = nullptr;
    std::uint64_t left = 0;
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

// Hands libcurl one piece (--upload-chunk bytes) per call, whatever room its
// upload buffer has beyond that: the body is produced as it goes out.
extern "C" std::size_t on_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* u = static_cast<upload*>(user);
    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>({u->left, u->piece->size(), size * count}));
    std::memcpy(buffer, u->piece->data(), n);
    u->left -= n;
    return n;
}

bool set(CURL* h, CURLoption opt, long v) {
    return curl_easy_setopt(h, opt, v) == CURLE_OK;
}

// Everything but the per-handle user data pointers.
bool configure(CURL* h, const peer::options& opts, curl_slist* headers) {
    bool ok = curl_easy_setopt(h, CURLOPT_URL, opts.url.c_str()) == CURLE_OK;
    ok = ok &&
         set(h, CURLOPT_HTTP_VERSION, opts.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
    ok = ok && set(h, CURLOPT_NOPROGRESS, 1L);
    ok = ok && set(h, CURLOPT_NOSIGNAL, 1L);
    ok = ok && set(h, CURLOPT_FOLLOWLOCATION, 0L);
    ok = ok && curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body) == CURLE_OK;
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
    if (opts.upload_size != 0) {
        // A POST whose size libcurl does not know: chunked over HTTP/1.1,
        // plain DATA frames over HTTP/2, like corvid's body_stream.
        ok = ok && set(h, CURLOPT_POST, 1L);
        ok = ok && curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t{-1}) == CURLE_OK;
        ok = ok && curl_easy_setopt(h, CURLOPT_READFUNCTION, &on_upload) == CURLE_OK;
    }
    if (headers != nullptr) {
        ok = ok && curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
    }
    if (opts.concurrent > 1) {
        ok = ok && set(h, CURLOPT_PIPEWAIT, 1L);
    }
    return ok;
}

// Status, protocol and body checks shared by both modes; empty when fine.
std::string check_response(CURL* h, const peer::options& opts) {
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        return "HTTP status " + std::to_string(status);
    }
    if (opts.http2) {
        long version = 0;
        curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
        if (version != CURL_HTTP_VERSION_2_0) {
            return "the response did not come over HTTP/2 (the server did not select h2)";
        }
    }
    return {};
}

int run_single(const peer::options& opts, curl_slist* headers, const std::string& piece) {
    CURL* h = curl_easy_init();
    transfer t;
    upload u{&piece, 0};
    bool ok = h != nullptr && configure(h, opts, headers);
    ok = ok && curl_easy_setopt(h, CURLOPT_WRITEDATA, &t) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_READDATA, &u) == CURLE_OK;
    if (!ok) {
        peer::print_error("libcurl refused an option");
        return 1;
    }
    while (peer::next_run()) {
        t = transfer{};
        u.left = opts.upload_size;
        const std::int64_t cpu_start = peer::cpu_ns();
        const std::int64_t start = peer::now_ns();
        const CURLcode rc = curl_easy_perform(h);
        const std::int64_t cpu = peer::cpu_ns() - cpu_start;
        if (rc != CURLE_OK) {
            peer::print_error(curl_easy_strerror(rc));
            continue;
        }
        if (const std::string why = check_response(h, opts); !why.empty()) {
            peer::print_error(why);
            continue;
        }
        if (u.left != 0) {
            peer::print_error("libcurl did not send the whole request body");
            continue;
        }
        if (t.bytes == 0) {
            peer::print_error("empty body");
            continue;
        }
        peer::print_sample(t.first_ns - start, t.last_ns - start, t.bytes, cpu);
    }
    curl_easy_cleanup(h);
    return 0;
}

int run_concurrent(const peer::options& opts, curl_slist* headers) {
    CURLM* m = curl_multi_init();
    bool ok =
        m != nullptr && curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX) == CURLM_OK;
    transfer t;  // shared: the batch's first and last body byte
    std::vector<CURL*> handles(opts.concurrent, nullptr);
    for (auto& h : handles) {
        h = curl_easy_init();
        ok = ok && h != nullptr && configure(h, opts, headers);
        ok = ok && curl_easy_setopt(h, CURLOPT_WRITEDATA, &t) == CURLE_OK;
    }
    if (!ok) {
        peer::print_error("libcurl refused an option");
        return 1;
    }
    while (peer::next_run()) {
        t = transfer{};
        const std::int64_t cpu_start = peer::cpu_ns();
        const std::int64_t start = peer::now_ns();
        for (CURL* h : handles) {
            curl_multi_add_handle(m, h);
        }
        int running = 0;
        CURLMcode mc = CURLM_OK;
        do {
            mc = curl_multi_perform(m, &running);
            if (mc == CURLM_OK && running > 0) {
                mc = curl_multi_poll(m, nullptr, 0, 1000, nullptr);
            }
        } while (mc == CURLM_OK && running > 0);
        const std::int64_t cpu = peer::cpu_ns() - cpu_start;

        std::string why = mc == CURLM_OK ? std::string() : curl_multi_strerror(mc);
        int queued = 0;
        while (CURLMsg* msg = curl_multi_info_read(m, &queued)) {
            if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK && why.empty()) {
                why = curl_easy_strerror(msg->data.result);
            }
        }
        long connects = 0;
        for (CURL* h : handles) {
            if (why.empty()) {
                why = check_response(h, opts);
            }
            long n = 0;
            curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &n);
            connects += n;
            curl_multi_remove_handle(m, h);
        }
        if (why.empty() && connects > 1) {
            why = "the batch opened " + std::to_string(connects) + " connections, not one";
        }
        if (!why.empty()) {
            peer::print_error(why);
            continue;
        }
        peer::print_sample(t.first_ns - start, t.last_ns - start, t.bytes, cpu);
    }
    for (CURL* h : handles) {
        curl_easy_cleanup(h);
    }
    curl_multi_cleanup(m);
    return 0;
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
    // Only uploads change the request head: the same Content-Type as
    // corvid's, and no "Expect: 100-continue" (libcurl adds it to HTTP/1.1
    // bodies of unknown size; corvid does not send it).
    curl_slist* headers = nullptr;
    if (opts.upload_size != 0) {
        headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
        headers = curl_slist_append(headers, "Expect:");
    }
    const std::string piece = peer::upload_piece(opts.upload_chunk);
    const int status =
        opts.concurrent > 1 ? run_concurrent(opts, headers) : run_single(opts, headers, piece);
    curl_slist_free_all(headers);
    curl_global_cleanup();
    return status;
}
