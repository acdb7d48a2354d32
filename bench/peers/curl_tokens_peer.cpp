// bench-peer-curl-tokens: libcurl (OpenSSL) in the `tokens` workload's
// server-sent events cases, with the token mode of token_peer.hpp. A
// separate executable because OpenSSL and BoringSSL must never share a
// process; it links libcurl and nothing of corvid.
//
// libcurl has no server-sent events API: it hands the body to a write
// callback in whatever pieces the socket delivered. So this peer carries
// what a libcurl user has to write to get events: sse_parser below, a
// minimal but correct incremental parser of the event stream format (HTML
// Living Standard, section 9.2.6): lines ending in CR, LF or CRLF (a CR at
// the end of one piece and an LF at the start of the next are one line end),
// comments, "field: value" with one leading space stripped, data lines
// joined with LF, an empty line dispatching the event (an event without
// data is not dispatched), and a bound on the line length. It runs inside
// the write callback, so an event reaches the caller as soon as the piece
// that completes it does, as corvid::event_source's do.
//
// One easy handle is reused across samples, configured like
// bench-peer-curl's (no progress meter, no signals, no decoding, no cookies,
// no redirects, verification against --cacert alone), HTTP/1.1, or HTTP/2
// over TLS with --http2, and the request headers event_source sends (Accept:
// text/event-stream, Cache-Control: no-cache). The connection is kept across
// samples over both versions (corvid-fixture keeps an HTTP/1.1 connection
// after a streamed body); a sample that opens one is an error.

#include <curl/curl.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "bench/peers/token_peer.hpp"

namespace {

namespace peer = corvid::bench::peer;
namespace tokens = corvid::bench::tokens;

// The event stream parser a libcurl user writes (see the top of the file).
class sse_parser {
  public:
    static constexpr std::size_t max_line = 64 * 1024;
    using on_event = std::function<void(std::string_view type, std::string_view data)>;

    explicit sse_parser(on_event handler) : handler_(std::move(handler)) {}

    /// Feeds one piece of the body; false once a line broke the bound.
    bool feed(std::string_view bytes) {
        for (char c : bytes) {
            if (after_cr_ && c == '\n') {
                after_cr_ = false;  // the LF of a CRLF
                continue;
            }
            after_cr_ = false;
            if (c == '\r' || c == '\n') {
                after_cr_ = c == '\r';
                line_end();
                continue;
            }
            if (line_.size() == max_line) {
                return false;
            }
            line_.push_back(c);
        }
        return true;
    }

    /// Starts over for a new stream.
    void reset() {
        line_.clear();
        data_.clear();
        type_.clear();
        after_cr_ = false;
    }

  private:
    void line_end() {
        if (line_.empty()) {
            dispatch();
            return;
        }
        std::string_view line = line_;
        if (line.front() == ':') {
            line_.clear();  // a comment
            return;
        }
        const std::size_t colon = line.find(':');
        const std::string_view field = line.substr(0, colon);
        std::string_view value;
        if (colon != std::string_view::npos) {
            value = line.substr(colon + 1);
            if (!value.empty() && value.front() == ' ') {
                value.remove_prefix(1);
            }
        }
        if (field == "data") {
            data_.append(value);
            data_.push_back('\n');
        } else if (field == "event") {
            type_.assign(value);
        }
        // "id" and "retry" matter only to reconnection, which a benchmark
        // stream does not do; unknown fields are ignored, as the standard says.
        line_.clear();
    }

    void dispatch() {
        if (data_.empty()) {
            type_.clear();
            return;
        }
        data_.pop_back();  // the last LF
        handler_(type_.empty() ? std::string_view("message") : std::string_view(type_), data_);
        data_.clear();
        type_.clear();
    }

    on_event handler_;
    std::string line_;
    std::string data_;
    std::string type_;
    bool after_cr_ = false;
};

// What one sample saw.
struct stream_state {
    explicit stream_state(std::uint64_t n)
        : check(n), parser([this](auto type, auto data) { on_event(type, data); }) {}

    void on_event(std::string_view type, std::string_view data) {
        const std::int64_t now = peer::now_ns();
        if (done) {
            error = "an event after \"done\"";
        } else if (type == "message") {
            timing.stamp(now, check.count() == 0);
            check.add(data);
        } else if (type == "done") {
            done = true;
            done_data = data;
        } else {
            error = "an event of type " + std::string(type);
        }
    }

    tokens::stream_check check;
    sse_parser parser;
    peer::token_timing timing;
    bool done = false;
    std::string done_data;
    std::string error;
    bool too_long = false;
};

extern "C" std::size_t on_body(char* bytes, std::size_t size, std::size_t count, void* user) {
    auto* s = static_cast<stream_state*>(user);
    const std::size_t n = size * count;
    if (!s->parser.feed(std::string_view(bytes, n))) {
        s->too_long = true;
        return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    }
    return n;
}

bool set(CURL* h, CURLoption opt, long v) {
    return curl_easy_setopt(h, opt, v) == CURLE_OK;
}

}  // namespace

int main(int argc, char** argv) {
    const peer::token_options o =
        peer::parse_token_options(argc, argv, /*sse=*/true, /*websocket=*/false);
    if (o.version) {
        std::printf("libcurl/%s\n", curl_version_info(CURLVERSION_NOW)->version);
        return 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL* h = curl_easy_init();
    curl_slist* headers = curl_slist_append(nullptr, "Accept: text/event-stream");
    headers = curl_slist_append(headers, "Cache-Control: no-cache");
    const std::string url = o.sse_url();
    bool ok = h != nullptr && headers != nullptr;
    ok = ok && curl_easy_setopt(h, CURLOPT_URL, url.c_str()) == CURLE_OK;
    ok = ok &&
         set(h, CURLOPT_HTTP_VERSION, o.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
    ok = ok && set(h, CURLOPT_NOPROGRESS, 1L);
    ok = ok && set(h, CURLOPT_NOSIGNAL, 1L);
    ok = ok && set(h, CURLOPT_FOLLOWLOCATION, 0L);
    ok = ok && set(h, CURLOPT_SSL_VERIFYPEER, 1L);
    ok = ok && set(h, CURLOPT_SSL_VERIFYHOST, 2L);
    ok = ok && curl_easy_setopt(h, CURLOPT_CAINFO, o.cacert.c_str()) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_CAPATH, nullptr) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body) == CURLE_OK;
    if (!ok) {
        peer::print_error("cannot configure libcurl");
        return 1;
    }
    bool first_sample = true;
    while (peer::next_run()) {
        stream_state s(o.tokens);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        const std::int64_t cpu_start = peer::cpu_ns();
        const std::int64_t start = peer::now_ns();
        const CURLcode rc = curl_easy_perform(h);
        const std::int64_t cpu = peer::cpu_ns() - cpu_start;
        long status = 0;
        long version = 0;
        long connects = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
        std::string error = s.error;
        if (error.empty() && s.too_long) {
            error = "a line longer than 64 KiB";
        } else if (error.empty() && rc != CURLE_OK) {
            error = curl_easy_strerror(rc);
        } else if (error.empty() && status != 200) {
            error = "HTTP status " + std::to_string(status);
        } else if (error.empty() &&
                   version != (o.http2 ? CURL_HTTP_VERSION_2_0 : CURL_HTTP_VERSION_1_1)) {
            error = "the stream did not come over the HTTP version asked for";
        } else if (error.empty() && !first_sample && connects != 0) {
            error = "the sample opened a connection; the connection was not kept";
        } else if (error.empty() && !s.done) {
            error = "no \"done\" event";
        } else if (error.empty() && s.done_data != std::to_string(o.tokens)) {
            error = "\"done\" carries " + s.done_data;
        }
        if (error.empty()) {
            error = s.check.finish();
        }
        if (!error.empty()) {
            peer::print_error(error);
        } else {
            peer::print_sample(s.timing.first_ns - start, s.timing.last_ns - start, s.check.chars(),
                               cpu);
        }
        first_sample = false;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    return 0;
}
