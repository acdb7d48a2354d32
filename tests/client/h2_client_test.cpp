// The HTTP/2 client against real peers: nghttpd (TLS with ALPN h2, and h2c),
// nginx (h2 and http/1.1 offered, or http/1.1 only) and the python3-h2 test
// server (tests/support/h2_server.py) for the scenarios a plain server cannot
// produce on demand: concurrency limits, resets, GOAWAY in flight, a server
// that never reads, trailers, CONTINUATION, a server that dies mid-stream.
// Each test asserts what a broken client would get wrong: connection counts,
// bodies byte for byte, error codes, and that the connection survives what
// should only end one stream. Waits are short; the file runs in a few seconds.

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "corvid/client.hpp"
#include "support/async.hpp"
#include "support/external_server.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

using namespace std::chrono_literals;

// h2_server.py's /bytes pattern: byte i is 'a' + i % 26.
std::string letters(std::size_t offset, std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>('a' + (offset + i) % 26);
    }
    return s;
}

bool is_letters(std::size_t offset, std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != static_cast<char>('a' + (offset + i) % 26)) {
            return false;
        }
    }
    return true;
}

std::string sha256_hex(std::string_view data) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    std::string hex;
    char two[3];
    for (unsigned char b : digest) {
        std::snprintf(two, sizeof two, "%02x", b);
        hex += two;
    }
    return hex;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// WINDOW_UPDATE frames the client sent for `stream_id`, counted in the
// /frames JSON (one frame object per line).
int window_updates_for(const std::string& frames_json, const std::string& stream_id) {
    std::istringstream lines(frames_json);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
        if (line.find("\"type\": \"WINDOW_UPDATE\"") != std::string::npos &&
            line.find("\"stream_id\": " + stream_id + ",") != std::string::npos) {
            ++n;
        }
    }
    return n;
}

// Lines of a log that contain `text`.
int count_lines(const std::string& log, const std::string& text) {
    std::istringstream lines(log);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
        n += line.find(text) != std::string::npos ? 1 : 0;
    }
    return n;
}

class H2Client : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ca_ = new tls::test_ca(tls::test_ca::create().value());
        cert_ = new tls::pem_pair(ca_->issue({}).value());
        root_ = new test::temp_dir("h2-client");
        std::filesystem::create_directories(root_->path() / "site");
        std::ofstream(root_->path() / "site/small.txt") << "hello over h2\n";
        std::ofstream(root_->path() / "site/big.bin", std::ios::binary) << letters(0, big_size);
        ca_file_ = new std::string((root_->path() / "ca.pem").string());
        ASSERT_TRUE(tls::write_file(*ca_file_, ca_->cert_pem()));
        nghttpd_ = new test::external_server(test::start_nghttpd(root_->path() / "site", *cert_));
        h2c_ = new test::external_server(test::start_h2_server({}));
    }
    static void TearDownTestSuite() {
        delete h2c_;
        delete nghttpd_;
        delete ca_file_;
        delete root_;
        delete cert_;
        delete ca_;
    }

    static std::string nghttpd(const std::string& path) {
        return "https://localhost:" + std::to_string(nghttpd_->port()) + path;
    }
    static std::string url(const test::external_server& s, const std::string& path) {
        return "http://127.0.0.1:" + std::to_string(s.port()) + path;
    }
    static std::string h2c(const std::string& path) { return url(*h2c_, path); }

    static client_options tls_opts() {
        client_options o;
        o.tls.ca_file = *ca_file_;
        return o;
    }
    static client_options h2c_opts() {
        client_options o;
        o.http_version = http_version_policy::http2_prior_knowledge;
        return o;
    }

    result<buffered_response> fetch(client& c, request req) {
        return test::run(io_, c.fetch(std::move(req)));
    }
    result<buffered_response> get(client& c, std::string u) {
        request req;
        req.url = std::move(u);
        return fetch(c, std::move(req));
    }

    // Runs `n` copies of `task(i)` concurrently on io_ until all are done.
    void run_concurrently(int n, const std::function<asio::awaitable<void>(int)>& task) {
        int done = 0;
        std::exception_ptr failure;
        for (int i = 0; i < n; ++i) {
            asio::co_spawn(io_, task(i), [&](std::exception_ptr e) {
                if (e && !failure) {
                    failure = e;
                }
                ++done;
            });
        }
        io_.restart();
        while (done < n && io_.run_one() > 0) {
        }
        ASSERT_EQ(done, n);
        if (failure) {
            std::rethrow_exception(failure);
        }
    }

    static constexpr std::size_t big_size = 8 * 1024 * 1024;

    asio::io_context io_{1};
    static inline tls::test_ca* ca_ = nullptr;
    static inline tls::pem_pair* cert_ = nullptr;
    static inline test::temp_dir* root_ = nullptr;
    static inline std::string* ca_file_ = nullptr;
    static inline test::external_server* nghttpd_ = nullptr;
    static inline test::external_server* h2c_ = nullptr;
};

// ------------------------------------------------------------------ ALPN ---

TEST_F(H2Client, HttpsNegotiatesH2WithNghttpd) {
    client c(io_.get_executor(), tls_opts());
    auto res = get(c, nghttpd("/small.txt"));
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->version, 20);
    EXPECT_EQ(res->connection.alpn, "h2");
    EXPECT_TRUE(res->connection.tls);
    EXPECT_EQ(res->body, "hello over h2\n");
    EXPECT_EQ(res->request_head.rfind("GET /small.txt HTTP/2\r\n", 0), 0u) << res->request_head;
    EXPECT_EQ(res->connects, 1u);
}

TEST_F(H2Client, Http11PolicyAndDefaultAgainstNginxOfferingBoth) {
    test::nginx_site_options o;
    o.certificate = *cert_;
    o.http2 = true;
    o.extra_locations = "location = /v { return 200 \"$server_protocol\\n\"; }";
    auto site = test::start_nginx_site(o);
    const std::string u = "https://localhost:" + std::to_string(site.https_port) + "/v";

    client_options only11 = tls_opts();
    only11.http_version = http_version_policy::http1_1;
    client c11(io_.get_executor(), only11);
    auto res = get(c11, u);
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->version, 11);
    EXPECT_EQ(res->connection.alpn, "http/1.1");
    EXPECT_EQ(res->body, "HTTP/1.1\n");

    client any(io_.get_executor(), tls_opts());
    auto h2 = get(any, u);
    ASSERT_TRUE(h2) << h2.error().message();
    EXPECT_EQ(h2->version, 20);
    EXPECT_EQ(h2->connection.alpn, "h2");
    EXPECT_EQ(h2->body, "HTTP/2.0\n");
}

TEST_F(H2Client, RedirectBetweenH2OriginsKeepsTheDeadline) {
    // nginx (TLS, h2) redirects to the python server (h2c), whose answer
    // is slower than the request's total timeout.
    test::nginx_site_options o;
    o.certificate = *cert_;
    o.http2 = true;
    o.extra_locations = "location = /r { return 302 " + h2c("/slow/3/50") +
                        "; }\n"
                        "location = /r-slow { return 302 " +
                        h2c("/slow/20/100") + "; }";
    auto site = test::start_nginx_site(o);
    const std::string origin = "https://localhost:" + std::to_string(site.https_port);
    client_options opts = tls_opts();
    opts.http_version = http_version_policy::http2_prior_knowledge;  // ALPN h2 only, then h2c
    opts.follow_redirects = true;
    opts.total_timeout = 300ms;
    client c(io_.get_executor(), opts);

    auto res = get(c, origin + "/r");
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->version, 20);
    EXPECT_EQ(res->redirect_count, 1);
    EXPECT_EQ(res->body, "chunk 0\nchunk 1\nchunk 2\n");
    EXPECT_EQ(res->connects, 2u);

    auto slow = get(c, origin + "/r-slow");
    ASSERT_FALSE(slow);
    EXPECT_EQ(slow.error(), net_errc::total_timeout) << slow.error().message();
}

TEST_F(H2Client, Http2PolicyFailsAgainstHttp11OnlyTlsServer) {
    test::nginx_site_options o;
    o.certificate = *cert_;
    o.http2 = false;
    auto site = test::start_nginx_site(o);
    client_options opts = tls_opts();
    opts.http_version = http_version_policy::http2;
    client c(io_.get_executor(), opts);
    auto res = get(c, "https://localhost:" + std::to_string(site.https_port) + "/");
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error(), tls_errc::alpn_mismatch) << res.error().message();
}

TEST_F(H2Client, PriorKnowledgeOverH2c) {
    client c(io_.get_executor(), h2c_opts());
    auto res = get(c, h2c("/hello"));
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->version, 20);
    EXPECT_FALSE(res->connection.tls);
    EXPECT_EQ(res->body, "hello from h2_server\n");
}

TEST_F(H2Client, PriorKnowledgeAgainstAnHttp11ServerFailsClearly) {
    auto site = test::start_nginx_site({});
    client_options opts = h2c_opts();
    std::vector<std::string> trace;
    opts.trace = [&](std::string_view line) { trace.emplace_back(line); };
    client c(io_.get_executor(), opts);
    auto res = get(c, "http://127.0.0.1:" + std::to_string(site.http_port) + "/");
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error(), http2_errc::protocol_error) << res.error().message();
    EXPECT_NE(std::find(trace.begin(), trace.end(),
                        "The server answered in HTTP/1.x: it does not speak HTTP/2 here"),
              trace.end());
}

TEST_F(H2Client, HeadResponseIsCompleteAtOnce) {
    client c(io_.get_executor(), h2c_opts());
    test::run(io_, [&]() -> asio::awaitable<void> {
        request req;
        req.method = "HEAD";
        req.url = h2c("/bytes/5000");
        auto res = co_await c.send(std::move(req));
        EXPECT_TRUE(res) << res.error().message();
        if (!res) {
            co_return;
        }
        EXPECT_EQ(res->version, 20);
        EXPECT_EQ(res->headers.get("content-length"), "5000");
        EXPECT_TRUE(res->body_complete());
        auto body = co_await res->read_all();
        EXPECT_TRUE(body && body->empty());
    }());
}

// ---------------------------------------------------------- multiplexing ---

TEST_F(H2Client, SequentialRequestsShareOneConnection) {
    client c(io_.get_executor(), tls_opts());
    for (int i = 0; i < 20; ++i) {
        auto res = get(c, nghttpd("/small.txt"));
        ASSERT_TRUE(res) << i << ": " << res.error().message();
        EXPECT_EQ(res->version, 20);
        EXPECT_EQ(res->connects, i == 0 ? 1u : 0u) << i;
        EXPECT_EQ(res->connection.reused, i != 0) << i;
    }
    EXPECT_EQ(c.total_connects(), 1u);
}

TEST_F(H2Client, ConcurrentRequestsShareOneConnection) {
    client c(io_.get_executor(), h2c_opts());
    std::set<std::string> connection_ids;
    int ok = 0;
    std::size_t connects = 0;
    run_concurrently(50, [&](int i) -> asio::awaitable<void> {
        request req;
        req.url = h2c("/bytes/" + std::to_string(1000 + i));
        auto res = co_await c.fetch(std::move(req));
        EXPECT_TRUE(res) << res.error().message();
        if (res) {
            EXPECT_EQ(res->body, letters(0, 1000 + i));
            connection_ids.insert(std::string(res->headers.get("x-connection-id").value_or("?")));
            connects += res->connects;
            ++ok;
        }
    });
    EXPECT_EQ(ok, 50);
    EXPECT_EQ(connection_ids.size(), 1u);
    EXPECT_EQ(connects, 1u);
    EXPECT_EQ(c.total_connects(), 1u);
}

TEST_F(H2Client, MaxConcurrentStreamsOpensMoreConnectionsOnlyAtTheLimit) {
    test::h2_server_options so;
    so.max_concurrent_streams = 5;
    auto server = test::start_h2_server(so);
    client c(io_.get_executor(), h2c_opts());

    // Five at once fit the limit: one connection.
    run_concurrently(5, [&](int) -> asio::awaitable<void> {
        request req;
        req.url = url(server, "/slow/2/50");
        auto res = co_await c.fetch(std::move(req));
        EXPECT_TRUE(res) << res.error().message();
    });
    EXPECT_EQ(c.total_connects(), 1u);

    // Twenty at once: all succeed, each connection carries at most five
    // (the server refused none), so at most four connections are open.
    std::map<std::string, int> per_connection;
    int ok = 0;
    run_concurrently(20, [&](int) -> asio::awaitable<void> {
        request req;
        req.url = url(server, "/slow/2/50");
        auto res = co_await c.fetch(std::move(req));
        EXPECT_TRUE(res) << res.error().message();
        if (res) {
            EXPECT_EQ(res->body, "chunk 0\nchunk 1\n");
            ++per_connection[std::string(res->headers.get("x-connection-id").value_or("?"))];
            ++ok;
        }
    });
    EXPECT_EQ(ok, 20);
    EXPECT_GE(c.total_connects(), 2u);
    EXPECT_LE(c.total_connects(), 4u);
    EXPECT_EQ(per_connection.size(), c.total_connects());
    EXPECT_EQ(count_lines(server.log(), "over MAX_CONCURRENT_STREAMS"), 0) << server.log();

    // At the origin's connection limit too: requests wait for a stream to
    // close instead of opening a third connection (or waiting for one).
    client_options two = h2c_opts();
    two.max_connections_per_origin = 2;
    client limited(io_.get_executor(), two);
    ok = 0;
    run_concurrently(20, [&](int) -> asio::awaitable<void> {
        request req;
        req.url = url(server, "/slow/2/30");
        req.timeout = 5s;  // a failure, not a hang
        auto res = co_await limited.fetch(std::move(req));
        EXPECT_TRUE(res) << res.error().message();
        ok += res ? 1 : 0;
    });
    EXPECT_EQ(ok, 20);
    EXPECT_EQ(limited.total_connects(), 2u);
    EXPECT_EQ(count_lines(server.log(), "over MAX_CONCURRENT_STREAMS"), 0) << server.log();
}

// ------------------------------------------------------------- streaming ---

TEST_F(H2Client, LargeDownloadWithSlowReaderIsIntact) {
    client c(io_.get_executor(), tls_opts());
    auto body = test::run(io_, [&]() -> asio::awaitable<result<std::string>> {
        request req;
        req.url = nghttpd("/big.bin");
        auto res = co_await c.send(std::move(req));
        if (!res) {
            co_return res.error();
        }
        EXPECT_EQ(res->version, 20);
        std::string all;
        std::size_t since_pause = 0;
        for (;;) {
            auto piece = co_await res->read_some();
            if (!piece) {
                co_return piece.error();
            }
            if (piece->empty()) {
                break;
            }
            all.append(*piece);
            since_pause += piece->size();
            if (since_pause >= 512 * 1024) {
                since_pause = 0;
                co_await sleep_for(5ms);  // the reader falls behind the server
            }
        }
        EXPECT_TRUE(res->body_complete());
        co_return all;
    }());
    ASSERT_TRUE(body) << body.error().message();
    ASSERT_EQ(body->size(), big_size);
    EXPECT_TRUE(is_letters(0, *body));
}

TEST_F(H2Client, WindowUpdatesOnlyFollowReads) {
    client_options o = h2c_opts();
    o.http2.stream_window = 1 << 20;
    client c(io_.get_executor(), o);
    test::run(io_, [&]() -> asio::awaitable<void> {
        request req;
        req.url = h2c("/bytes/" + std::to_string(big_size));
        auto res = co_await c.send(std::move(req));
        EXPECT_TRUE(res) << res.error().message();
        if (!res) {
            co_return;
        }
        const std::string sid(res->headers.get("x-stream-id").value_or("?"));
        // Not reading: the server stops at the stream window (1 MiB), and
        // nothing tells it to go on.
        co_await sleep_for(100ms);
        request frames;
        frames.url = h2c("/frames");
        auto before = co_await c.fetch(frames);
        EXPECT_TRUE(before) << before.error().message();
        if (!before) {
            co_return;
        }
        EXPECT_EQ(before->connects, 0u);  // the same connection
        EXPECT_EQ(window_updates_for(before->body, sid), 0) << before->body;
        EXPECT_EQ(window_updates_for(before->body, "0"), 1) << before->body;  // the initial one

        // Reading reopens the window: the rest arrives, intact.
        std::size_t got = 0;
        for (;;) {
            auto piece = co_await res->read_some();
            EXPECT_TRUE(piece) << piece.error().message();
            if (!piece || piece->empty()) {
                break;
            }
            EXPECT_TRUE(is_letters(got, *piece));
            got += piece->size();
        }
        EXPECT_EQ(got, big_size);
        auto after = co_await c.fetch(frames);
        EXPECT_TRUE(after) << after.error().message();
        if (after) {
            // At least one per MiB read beyond the first window (nghttp2
            // updates after half a window is consumed).
            EXPECT_GE(window_updates_for(after->body, sid), 7) << after->body;
        }
    }());
    EXPECT_EQ(c.total_connects(), 1u);
}

TEST_F(H2Client, DroppedResponsesGiveTheirWindowBack) {
    // Each dropped response leaves up to a stream window (1 MiB) received
    // and unread; twenty of them exceed the connection window (15 MiB), so
    // the connection would stall if their bytes were not counted consumed.
    client c(io_.get_executor(), h2c_opts());
    test::run(io_, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 20; ++i) {
            request req;
            req.url = h2c("/bytes/4194304");
            req.timeout = 5s;  // a failure, not a hang, if the window leaked
            auto res = co_await c.send(std::move(req));
            EXPECT_TRUE(res) << res.error().message();
            if (!res) {
                co_return;
            }
            auto piece = co_await res->read_some();
            if (!piece || piece->empty()) {
                ADD_FAILURE() << i << ": " << (piece ? "empty" : piece.error().message());
                co_return;
            }
            co_await sleep_for(10ms);  // the rest of the window arrives, unread
        }                              // each response is destroyed here: RST_STREAM(CANCEL)
    }());
    request last;
    last.url = h2c("/bytes/3000000");
    last.timeout = 5s;  // a failure, not a hang, if the window leaked
    auto res = fetch(c, std::move(last));
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->body.size(), 3000000u);
    EXPECT_TRUE(is_letters(0, res->body));
    EXPECT_EQ(c.total_connects(), 1u);
}

TEST_F(H2Client, StreamedUploadInSmallChunksComesBackIntact) {
    client c(io_.get_executor(), h2c_opts());
    constexpr std::size_t chunk = 1000;
    constexpr int chunks = 500;
    int next = 0;
    std::string piece;
    request req;
    req.method = "POST";
    req.url = h2c("/echo");
    req.headers.add("Content-Type", "application/x-test");
    req.body_stream = [&]() -> asio::awaitable<result<std::string_view>> {
        if (next == chunks) {
            co_return std::string_view{};
        }
        piece = letters(static_cast<std::size_t>(next++) * chunk, chunk);
        co_return std::string_view(piece);
    };
    auto res = fetch(c, std::move(req));
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->headers.get("content-type"), "application/x-test");
    ASSERT_EQ(res->body.size(), chunk * chunks);
    EXPECT_TRUE(is_letters(0, res->body));
}

TEST_F(H2Client, UploadToServerThatNeverReadsBlocksThenTimesOut) {
    client c(io_.get_executor(), h2c_opts());
    for (bool use_cancel : {false, true}) {
        SCOPED_TRACE(use_cancel ? "cancel" : "timeout");
        std::size_t pulled = 0;
        const std::string block(16 * 1024, 'u');
        request req;
        req.method = "POST";
        req.url = h2c("/never-read");
        req.body_stream = [&]() -> asio::awaitable<result<std::string_view>> {
            if (pulled >= 64 * 1024 * 1024) {
                co_return std::string_view{};
            }
            pulled += block.size();
            co_return std::string_view(block);
        };
        cancel_token token = req.cancel;
        asio::steady_timer timer(io_, 200ms);
        if (use_cancel) {
            timer.async_wait([token](std::error_code ec) mutable {
                if (!ec) {
                    token.cancel();
                }
            });
        } else {
            req.timeout = 200ms;
        }
        auto res = fetch(c, std::move(req));
        ASSERT_FALSE(res);
        EXPECT_EQ(res.error(), use_cancel ? std::error_code(net_errc::cancelled)
                                          : std::error_code(net_errc::total_timeout))
            << res.error().message();
        // The server's window (65535) plus the stream's send buffer
        // (256 KiB) plus one piece: never the whole body.
        EXPECT_LE(pulled, 65535u + 256 * 1024 + 2 * block.size());
        EXPECT_GE(pulled, 65535u);

        // The connection outlives the stream.
        auto after = get(c, h2c("/hello"));
        ASSERT_TRUE(after) << after.error().message();
        EXPECT_EQ(after->connects, 0u);
    }
    EXPECT_EQ(c.total_connects(), 1u);
}

TEST_F(H2Client, CompleteResponseBeforeTheUploadEndsIsKept) {
    // RFC 9113 section 8.1: the server answers, then RST_STREAM(NO_ERROR)
    // asks the client to stop sending; the response is not discarded.
    client c(io_.get_executor(), h2c_opts());
    std::size_t pulled = 0;
    const std::string block(16 * 1024, 'e');
    request req;
    req.method = "POST";
    req.url = h2c("/respond-early");
    req.timeout = 5s;  // a failure, not a hang, if the upload never stops
    req.body_stream = [&]() -> asio::awaitable<result<std::string_view>> {
        if (pulled >= 64 * 1024 * 1024) {
            co_return std::string_view{};
        }
        pulled += block.size();
        co_return std::string_view(block);
    };
    auto res = fetch(c, std::move(req));
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "early response\n");
    EXPECT_LT(pulled, 64u * 1024 * 1024);
    EXPECT_GE(count_lines(h2c_->log(), "RST_STREAM(NO_ERROR) to stop the request body"), 1);

    auto after = get(c, h2c("/hello"));
    ASSERT_TRUE(after) << after.error().message();
    EXPECT_EQ(after->connects, 0u);
}

// ---------------------------------------------- trailers, CONTINUATION ---

TEST_F(H2Client, TrailersAfterTheBody) {
    client c(io_.get_executor(), h2c_opts());
    test::run(io_, [&]() -> asio::awaitable<void> {
        request req;
        req.url = h2c("/trailers/5000");
        auto res = co_await c.send(std::move(req));
        EXPECT_TRUE(res) << res.error().message();
        if (!res) {
            co_return;
        }
        EXPECT_TRUE(res->trailers().empty());
        auto body = co_await res->read_all();
        EXPECT_TRUE(body) << body.error().message();
        if (!body) {
            co_return;
        }
        EXPECT_EQ(*body, letters(0, 5000));
        EXPECT_EQ(res->trailers().get("x-checksum"), sha256_hex(*body));
        EXPECT_EQ(res->trailers().get("x-trailer"), "done");
        EXPECT_FALSE(res->headers.contains("x-checksum"));
    }());
}

TEST_F(H2Client, HeadersSplitIntoContinuationFrames) {
    client c(io_.get_executor(), h2c_opts());
    auto res = get(c, h2c("/big-headers/40000"));
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "big headers\n");
    for (int i = 0; i < 10; ++i) {
        auto v = res->headers.get("x-big-" + std::to_string(i));
        ASSERT_TRUE(v) << i;
        EXPECT_EQ(v->size(), 4000u);
    }
}

TEST_F(H2Client, HeadersOverTheLimitFailThatRequestOnly) {
    client_options o = h2c_opts();
    o.max_header_bytes = 16 * 1024;
    client c(io_.get_executor(), o);
    auto big = get(c, h2c("/big-headers/20000"));
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error(), http2_errc::header_list_too_large) << big.error().message();
    auto fits = get(c, h2c("/big-headers/12000"));
    ASSERT_TRUE(fits) << fits.error().message();
    EXPECT_EQ(fits->connects, 0u);
    // The limit is advertised too.
    auto frames = get(c, h2c("/frames"));
    ASSERT_TRUE(frames) << frames.error().message();
    EXPECT_NE(frames->body.find("\"name\": \"MAX_HEADER_LIST_SIZE\", \"value\": 16384}"),
              std::string::npos)
        << frames->body;
}

// ------------------------------------------------------ RST_STREAM, GOAWAY ---

TEST_F(H2Client, ResetFailsOnlyThatRequest) {
    client_options o = h2c_opts();
    std::vector<std::string> trace;
    o.trace = [&](std::string_view line) { trace.emplace_back(line); };
    client c(io_.get_executor(), o);
    std::optional<result<buffered_response>> slow;
    std::optional<result<buffered_response>> reset;
    run_concurrently(2, [&](int i) -> asio::awaitable<void> {
        request req;
        req.url = h2c(i == 0 ? "/slow/3/50" : "/rst/2");
        auto res = co_await c.fetch(std::move(req));
        (i == 0 ? slow : reset).emplace(std::move(res));
    });
    ASSERT_TRUE(*slow) << slow->error().message();
    EXPECT_EQ((*slow)->body, "chunk 0\nchunk 1\nchunk 2\n");
    ASSERT_FALSE(*reset);
    EXPECT_EQ(reset->error(), http2_errc::stream_reset);
    EXPECT_NE(reset->error().message().find("reset"), std::string::npos);
    // -v names the code the server sent.
    EXPECT_EQ(std::count_if(trace.begin(), trace.end(),
                            [](const std::string& line) {
                                return line.find("reset by the server: INTERNAL_ERROR (0x2)") !=
                                       std::string::npos;
                            }),
              1);
    EXPECT_EQ(c.total_connects(), 1u);
}

TEST_F(H2Client, RefusedStreamIsRetriedOnANewConnection) {
    test::h2_server_options so;
    so.extra_args = {"--refuse-connections", "1"};
    auto server = test::start_h2_server(so);
    client c(io_.get_executor(), h2c_opts());
    auto res = get(c, url(server, "/hello"));
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->body, "hello from h2_server\n");
    EXPECT_EQ(res->connects, 2u);
    EXPECT_EQ(c.total_connects(), 2u);
    EXPECT_EQ(count_lines(server.log(), "refused (--refuse-connections)"), 1) << server.log();
}

TEST_F(H2Client, AlwaysRefusedStreamFailsAfterBoundedRetries) {
    client c(io_.get_executor(), h2c_opts());
    auto res = get(c, h2c("/rst/7"));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error(), http2_errc::stream_refused) << res.error().message();
    EXPECT_LE(c.total_connects(), 3u);
}

TEST_F(H2Client, GoawayInFlightRetriesUnprocessedRequests) {
    test::h2_server_options so;
    so.goaway_after = 4;
    auto server = test::start_h2_server(so);
    client c(io_.get_executor(), h2c_opts());
    std::map<std::string, int> per_connection;
    int ok = 0;
    run_concurrently(7, [&](int) -> asio::awaitable<void> {
        request req;
        req.url = url(server, "/slow/2/50");
        auto res = co_await c.fetch(std::move(req));
        EXPECT_TRUE(res) << res.error().message();
        if (res) {
            EXPECT_EQ(res->body, "chunk 0\nchunk 1\n");
            ++per_connection[std::string(res->headers.get("x-connection-id").value_or("?"))];
            ++ok;
        }
    });
    EXPECT_EQ(ok, 7);
    // Four answered before the GOAWAY, three retried on the next connection
    // (ids in accept order, single digits here).
    ASSERT_EQ(per_connection.size(), 2u);
    EXPECT_EQ(per_connection.begin()->second, 4);
    EXPECT_EQ(per_connection.rbegin()->second, 3);
    EXPECT_EQ(c.total_connects(), 2u);
}

// ------------------------------------------------ timeouts, cancel, close ---

TEST_F(H2Client, TimeoutAndCancelEndOneStreamOnly) {
    client c(io_.get_executor(), h2c_opts());
    std::optional<result<std::string>> timed_out;
    std::optional<result<std::string>> cancelled;
    std::optional<result<std::string>> survivor;
    cancel_token token;
    run_concurrently(3, [&](int i) -> asio::awaitable<void> {
        request req;
        req.url = h2c(i == 2 ? "/slow/4/50" : "/slow/20/50");
        if (i == 0) {
            req.timeout = 120ms;
        }
        if (i == 1) {
            req.cancel = token;
        }
        auto res = co_await c.send(std::move(req));
        EXPECT_TRUE(res) << res.error().message();
        if (!res) {
            co_return;
        }
        if (i == 1) {
            co_await res->read_some();  // the head and a chunk are in
            token.cancel();
        }
        auto body = co_await res->read_all();
        (i == 0 ? timed_out : i == 1 ? cancelled : survivor).emplace(std::move(body));
    });
    ASSERT_TRUE(timed_out && cancelled && survivor);
    ASSERT_FALSE(*timed_out);
    EXPECT_EQ(timed_out->error(), net_errc::total_timeout);
    ASSERT_FALSE(*cancelled);
    EXPECT_EQ(cancelled->error(), net_errc::cancelled);
    ASSERT_TRUE(*survivor) << survivor->error().message();
    EXPECT_EQ(**survivor, "chunk 0\nchunk 1\nchunk 2\nchunk 3\n");

    auto after = get(c, h2c("/hello"));
    ASSERT_TRUE(after) << after.error().message();
    EXPECT_EQ(after->connects, 0u);
    EXPECT_EQ(c.total_connects(), 1u);
}

TEST_F(H2Client, ConnectionLostDuringAnUploadKeepsTheCompleteResponse) {
    // /hello answers at once; a 100-byte stream window keeps the upload
    // crawling; then the server dies. The response was complete: the
    // upload stops and the caller gets it.
    test::h2_server_options so;
    so.initial_window = 100;
    auto server = test::start_h2_server(so);
    client c(io_.get_executor(), h2c_opts());
    std::size_t pulled = 0;
    const std::string block(4096, 'p');
    request req;
    req.method = "POST";
    req.url = url(server, "/hello");
    req.timeout = 5s;  // a failure, not a hang
    req.body_stream = [&]() -> asio::awaitable<result<std::string_view>> {
        if (pulled >= 16 * 1024 * 1024) {
            co_return std::string_view{};
        }
        pulled += block.size();
        if (pulled == 64 * block.size()) {  // the stream's send buffer is full
            co_await sleep_for(100ms);      // the response arrives meanwhile
            server.stop();
        }
        co_return std::string_view(block);
    };
    auto res = fetch(c, std::move(req));
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "hello from h2_server\n");
    EXPECT_LT(pulled, 16u * 1024 * 1024);
}

TEST_F(H2Client, TimeoutWithTheBodyBufferedFailsInsteadOfTruncating) {
    // The whole body has arrived (it fits the window) but is read too
    // slowly: the request times out; the part not yet read must not
    // disappear into a short "complete" body.
    client c(io_.get_executor(), h2c_opts());
    test::run(io_, [&]() -> asio::awaitable<void> {
        request req;
        req.url = h2c("/bytes/200000");
        req.timeout = 150ms;
        auto res = co_await c.send(std::move(req));
        EXPECT_TRUE(res) << res.error().message();
        if (!res) {
            co_return;
        }
        auto first = co_await res->read_some();
        EXPECT_TRUE(first && !first->empty());
        co_await sleep_for(250ms);
        auto rest = co_await res->read_all();
        EXPECT_FALSE(rest) << "a body of "
                           << (first ? first->size() : 0) + (rest ? rest->size() : 0)
                           << " bytes instead of 200000";
        if (!rest) {
            EXPECT_EQ(rest.error(), net_errc::total_timeout) << rest.error().message();
        }
    }());
}

TEST_F(H2Client, ServerClosingMidStreamFailsItsRequests) {
    auto server = test::start_h2_server({});
    const std::string base = url(server, "");
    client c(io_.get_executor(), h2c_opts());
    std::vector<std::error_code> errors;
    test::run(io_, [&]() -> asio::awaitable<void> {
        request a;
        a.url = base + "/slow/100/20";
        auto first = co_await c.send(a);
        auto second = co_await c.send(a);
        EXPECT_TRUE(first && second);
        if (!first || !second) {
            co_return;
        }
        EXPECT_EQ(second->connects, 0u);
        auto piece = co_await first->read_some();
        EXPECT_TRUE(piece && !piece->empty());
        server.stop();  // kills the process: its sockets close mid-stream
        for (auto* res : {&*first, &*second}) {
            auto rest = co_await res->read_all();
            EXPECT_FALSE(rest);
            if (!rest) {
                errors.push_back(rest.error());
            }
        }
    }());
    ASSERT_EQ(errors.size(), 2u);
    for (auto ec : errors) {
        EXPECT_EQ(ec, net_errc::connection_closed) << ec.message();
    }
    // The dead connection is gone: a new request tries to connect again.
    auto again = get(c, base + "/hello");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), net_errc::connect_failed) << again.error().message();
    EXPECT_EQ(c.total_connects(), 1u);
}

}  // namespace
}  // namespace corvid
