// corvid::event_source against corvid's own in-process server, over HTTP/1.1
// (plain) and HTTP/2 (TLS, ALPN h2): events, multi-line data, the retry
// field, reconnection with Last-Event-ID (after the body ends and across a
// server restart on the same port), 204, wrong status and content type,
// limits, close().

#include "corvid/sse.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "server/http1_server.hpp"
#include "support/async.hpp"
#include "support/external_server.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

using server::incoming_request;
using server::outgoing_response;
using namespace std::chrono_literals;

// What the server saw of each request.
struct seen_request {
    std::string target;
    int version = 0;
    corvid::headers fields;
};

struct collected {
    std::vector<sse_event> events;
    std::error_code error;  // why collecting stopped early (or the final error)
};

outgoing_response event_stream(std::vector<std::string> chunks,
                               std::chrono::milliseconds interval = 0ms) {
    outgoing_response res;
    res.fields.add("Content-Type", "text/event-stream");
    res.fields.add("Cache-Control", "no-cache");
    res.chunks = std::move(chunks);
    res.chunk_interval = interval;
    return res;
}

std::string ids(const std::vector<sse_event>& events) {
    std::string out;
    for (const auto& e : events) {
        out += (out.empty() ? "" : ",") + e.id;
    }
    return out;
}

// Parameter: true for HTTP/2 over TLS, false for HTTP/1.1 over TCP.
class SseClient : public ::testing::TestWithParam<bool> {
  protected:
    using respond_fn = std::function<outgoing_response(const seen_request&, std::size_t index)>;

    bool h2() const { return GetParam(); }

    // Starts (or restarts, on `port`) the server; `respond` is given each
    // request and its index among all requests the fixture has served.
    void start(respond_fn respond, std::uint16_t port = 0) {
        respond_ = std::move(respond);
        std::shared_ptr<tls::server_context> ctx;
        if (h2()) {
            auto leaf = ca_.issue({});
            ASSERT_TRUE(leaf);
            auto created =
                tls::server_context::create({leaf->cert_pem, leaf->key_pem, {"h2", "http/1.1"}});
            ASSERT_TRUE(created);
            ctx = *created;
        }
        auto h = [this](const incoming_request& req) -> asio::awaitable<outgoing_response> {
            seen_request seen{req.target, req.version, req.fields};
            requests_.push_back(seen);
            co_return respond_(seen, requests_.size() - 1);
        };
        server_ = server::http1_server::create(io_.get_executor(), h, ctx);
        auto listening = server_->listen("127.0.0.1", port);
        ASSERT_TRUE(listening) << listening.error().message();
        base_ = std::string(h2() ? "https" : "http") +
                "://localhost:" + std::to_string(server_->port());
    }

    client_options options() {
        client_options o;
        if (h2()) {
            ca_file_ = std::make_unique<test::temp_dir>("sse-client");
            auto path = ca_file_->file("ca.pem");
            EXPECT_TRUE(tls::write_file(path, ca_.cert_pem()));
            o.tls.ca_file = path;
            o.http_version = http_version_policy::http2;
        } else {
            o.http_version = http_version_policy::http1_1;
        }
        return o;
    }

    // Reads up to `n` events, or until an error; closes the source after
    // `limit` so a broken reconnection fails the test instead of hanging it.
    collected collect(event_source& es, std::size_t n, std::chrono::milliseconds limit = 10s) {
        return test::run(io_, [&]() -> asio::awaitable<collected> {
            asio::steady_timer guard(io_, limit);
            guard.async_wait([&](std::error_code ec) {
                if (!ec) {
                    ADD_FAILURE() << "timed out after " << limit.count() << " ms";
                    es.close();
                }
            });
            collected out;
            while (out.events.size() < n) {
                auto ev = co_await es.next_event();
                if (!ev) {
                    out.error = ev.error();
                    break;
                }
                out.events.push_back(std::move(*ev));
            }
            guard.cancel();
            co_return out;
        }());
    }

    void TearDown() override {
        if (server_) {
            server_->stop();
        }
        // Let the stopped server's and the client's closing work run.
        io_.restart();
        io_.poll();
    }

    asio::io_context io_{1};
    tls::test_ca ca_ = tls::test_ca::create().value();
    std::unique_ptr<test::temp_dir> ca_file_;
    std::shared_ptr<server::http1_server> server_;
    respond_fn respond_;
    std::vector<seen_request> requests_;
    std::string base_;
};

TEST_P(SseClient, ReceivesEventsWithTheirFields) {
    start([](const seen_request&, std::size_t) {
        return event_stream({"data: first\n\n", "event: tick\nid: 7\ndata: second\n\n",
                             ": a comment\n\ndata: third\n\n"},
                            5ms);
    });
    client http(io_.get_executor(), options());
    event_source_options eo;
    eo.max_reconnects = 0;
    int version = 0;
    eo.on_response = [&](const response& r) { version = r.version; };
    event_source es(http, base_ + "/events", eo);
    auto got = collect(es, 10);
    EXPECT_EQ(got.error, sse_errc::stream_ended) << got.error.message();
    ASSERT_EQ(got.events.size(), 3u);
    EXPECT_EQ(got.events[0], (sse_event{"message", "first", "", 3000ms}));
    EXPECT_EQ(got.events[1], (sse_event{"tick", "second", "7", 3000ms}));
    // The ID stays until the server changes it.
    EXPECT_EQ(got.events[2], (sse_event{"message", "third", "7", 3000ms}));
    EXPECT_EQ(version, h2() ? 20 : 11);
    EXPECT_EQ(es.status(), 200);
    EXPECT_EQ(es.connections_opened(), 1u);

    ASSERT_EQ(requests_.size(), 1u);
    EXPECT_EQ(requests_[0].target, "/events");
    EXPECT_EQ(requests_[0].version, h2() ? 20 : 11);
    EXPECT_EQ(requests_[0].fields.get("Accept"), "text/event-stream");
    EXPECT_EQ(requests_[0].fields.get("Cache-Control"), "no-cache");
    EXPECT_FALSE(requests_[0].fields.contains("Last-Event-ID"));

    // Closed by the error: it stays.
    auto again = test::run(io_, es.next_event());
    EXPECT_EQ(again.error(), sse_errc::stream_ended);
    EXPECT_EQ(requests_.size(), 1u);
    http.close_idle();
}

TEST_P(SseClient, MultiLineDataAndEventsSplitAcrossChunks) {
    start([](const seen_request&, std::size_t) {
        std::string text =
            "data: line one\ndata: line two\r\ndata\r\ndata:  indented\r\r"
            "event: split\ndata: across\n\n";
        std::vector<std::string> chunks;
        for (char c : text) {
            chunks.emplace_back(1, c);  // one byte per chunk, CR and LF apart
        }
        return event_stream(chunks);
    });
    client http(io_.get_executor(), options());
    event_source_options eo;
    eo.max_reconnects = 0;
    event_source es(http, base_ + "/", eo);
    auto got = collect(es, 10);
    EXPECT_EQ(got.error, sse_errc::stream_ended);
    ASSERT_EQ(got.events.size(), 2u);
    EXPECT_EQ(got.events[0].data, "line one\nline two\n\n indented");
    EXPECT_EQ(got.events[1].type, "split");
    EXPECT_EQ(got.events[1].data, "across");
    http.close_idle();
}

TEST_P(SseClient, ReconnectsAfterTheServersRetryWithLastEventId) {
    start([](const seen_request&, std::size_t index) {
        if (index == 0) {
            return event_stream({"retry: 40\nid: 1\ndata: a\n\n", "id: 2\ndata: b\n\n"});
        }
        if (index == 1) {
            // No id field: the carried-over ID stays (as Chromium does).
            return event_stream({"data: c\n\n"});
        }
        if (index == 2) {
            return event_stream({"id: 3\ndata: d\n\n"});
        }
        outgoing_response stop;
        stop.status = 204;
        return stop;
    });
    client http(io_.get_executor(), options());
    event_source_options eo;
    eo.default_retry = 20s;  // a test that waited for this would time out
    std::vector<std::chrono::milliseconds> waits;
    std::vector<std::error_code> reasons;
    eo.on_reconnect = [&](std::error_code why, std::chrono::milliseconds delay) {
        reasons.push_back(why);
        waits.push_back(delay);
    };
    event_source es(http, base_ + "/events", eo);
    auto got = collect(es, 10);
    EXPECT_EQ(got.error, sse_errc::no_content) << got.error.message();
    EXPECT_EQ(ids(got.events), "1,2,2,3");
    ASSERT_EQ(got.events.size(), 4u);
    EXPECT_EQ(got.events[0].retry, 40ms);
    EXPECT_EQ(got.events[2].data, "c");
    EXPECT_EQ(es.retry(), 40ms);
    // Each stream ended cleanly and the next opened: no backoff.
    EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{40ms, 40ms, 40ms}));
    for (auto why : reasons) {
        EXPECT_EQ(why, sse_errc::stream_ended);
    }
    ASSERT_EQ(requests_.size(), 4u);
    EXPECT_FALSE(requests_[0].fields.contains("Last-Event-ID"));
    EXPECT_EQ(requests_[1].fields.get("Last-Event-ID"), "2");
    EXPECT_EQ(requests_[2].fields.get("Last-Event-ID"), "2");
    EXPECT_EQ(requests_[3].fields.get("Last-Event-ID"), "3");
    EXPECT_EQ(es.status(), 204);
    EXPECT_EQ(es.connections_opened(), 3u);
    http.close_idle();
}

// The "done when" scenario: the server goes away mid-stream and a new one
// comes up on the same port; the client resumes with Last-Event-ID and gets
// exactly the remaining events.
TEST_P(SseClient, ResumesAcrossAServerRestart) {
    constexpr int total = 6;
    // The server's history: it sends every event after Last-Event-ID, paced.
    auto respond = [](const seen_request& req, std::size_t) {
        int after = 0;
        if (auto last = req.fields.get("Last-Event-ID")) {
            after = std::stoi(std::string(*last));
        }
        if (after >= total) {
            outgoing_response done;
            done.status = 204;
            return done;
        }
        std::vector<std::string> chunks{"retry: 50\n\n"};
        for (int i = after + 1; i <= total; ++i) {
            chunks.push_back("id: " + std::to_string(i) + "\ndata: event " + std::to_string(i) +
                             "\n\n");
        }
        return event_stream(chunks, 30ms);
    };
    start(respond);
    const auto port = server_->port();
    client http(io_.get_executor(), options());
    event_source_options eo;
    std::vector<std::error_code> reasons;
    eo.on_reconnect = [&](std::error_code why, std::chrono::milliseconds) {
        reasons.push_back(why);
    };
    event_source es(http, base_ + "/events", eo);

    auto first = collect(es, 2);
    ASSERT_FALSE(first.error) << first.error.message();
    ASSERT_EQ(ids(first.events), "1,2");

    // The server goes away with the stream open; a new one listens on the
    // same port 300 ms later, while the client is retrying.
    server_->stop();
    const std::size_t before_restart = requests_.size();
    asio::steady_timer later(io_, 300ms);
    later.async_wait([&](std::error_code ec) {
        if (!ec) {
            start(respond, port);
        }
    });

    auto rest = collect(es, 10);
    EXPECT_EQ(rest.error, sse_errc::no_content) << rest.error.message();
    EXPECT_EQ(ids(rest.events), "3,4,5,6");
    for (const auto& e : rest.events) {
        EXPECT_EQ(e.data, "event " + e.id);
    }
    ASSERT_GE(requests_.size(), before_restart + 2);
    // The first request to the new server resumed after event 2.
    EXPECT_EQ(requests_[before_restart].fields.get("Last-Event-ID"), "2");
    EXPECT_EQ(requests_.back().fields.get("Last-Event-ID"), "6");
    // The drop, then refused connections while no server listened.
    ASSERT_GE(reasons.size(), 2u);
    EXPECT_NE(reasons[0], sse_errc::stream_ended);  // a dropped connection
    EXPECT_EQ(es.connections_opened(), 2u);
    http.close_idle();
}

TEST_P(SseClient, NoContentStopsWithoutReconnecting) {
    start([](const seen_request&, std::size_t) {
        outgoing_response res;
        res.status = 204;
        return res;
    });
    client http(io_.get_executor(), options());
    event_source es(http, base_ + "/events");
    auto got = collect(es, 1);
    EXPECT_EQ(got.error, sse_errc::no_content);
    EXPECT_TRUE(es.closed());
    EXPECT_EQ(es.status(), 204);
    EXPECT_EQ(requests_.size(), 1u);
    http.close_idle();
}

TEST_P(SseClient, OtherStatusFailsTheConnection) {
    start([](const seen_request&, std::size_t) {
        auto res = event_stream({"data: x\n\n"});
        res.status = 503;
        return res;
    });
    client http(io_.get_executor(), options());
    event_source es(http, base_ + "/events");
    auto got = collect(es, 1);
    EXPECT_EQ(got.error, sse_errc::bad_status);
    EXPECT_EQ(es.status(), 503);
    EXPECT_EQ(requests_.size(), 1u);
    http.close_idle();
}

TEST_P(SseClient, WrongContentTypeFailsTheConnection) {
    start([](const seen_request&, std::size_t) {
        outgoing_response res;
        res.fields.add("Content-Type", "text/plain");
        res.body = "data: not an event stream\n\n";
        return res;
    });
    client http(io_.get_executor(), options());
    event_source es(http, base_ + "/events");
    auto got = collect(es, 1);
    EXPECT_EQ(got.error, sse_errc::bad_content_type);
    EXPECT_TRUE(got.events.empty());
    EXPECT_EQ(es.content_type(), "text/plain");
    EXPECT_EQ(requests_.size(), 1u);
    EXPECT_NE(got.error.message().find("text/event-stream"), std::string::npos);
    http.close_idle();
}

TEST_P(SseClient, ContentTypeParametersAndCaseAreAccepted) {
    start([](const seen_request&, std::size_t) {
        auto res = event_stream({"data: ok\n\n"});
        res.fields.set("Content-Type", "Text/Event-Stream ; charset=utf-8");
        return res;
    });
    client http(io_.get_executor(), options());
    event_source_options eo;
    eo.max_reconnects = 0;
    event_source es(http, base_ + "/events", eo);
    auto got = collect(es, 1);
    ASSERT_EQ(got.events.size(), 1u) << got.error.message();
    EXPECT_EQ(got.events[0].data, "ok");
    http.close_idle();
}

TEST_P(SseClient, OversizedEventFailsClearlyWithoutReconnecting) {
    start([](const seen_request&, std::size_t) {
        return event_stream({"data: small\n\n", "data: " + std::string(300, 'x') + "\n",
                             "data: " + std::string(300, 'y') + "\n\n"});
    });
    client http(io_.get_executor(), options());
    event_source_options eo;
    eo.max_event_bytes = 500;
    eo.default_retry = 10ms;
    event_source es(http, base_ + "/events", eo);
    auto got = collect(es, 10);
    ASSERT_EQ(got.events.size(), 1u);
    EXPECT_EQ(got.error, sse_errc::event_too_large);
    EXPECT_EQ(got.error.message(), "a server-sent event's data is larger than the limit");
    EXPECT_EQ(requests_.size(), 1u);
    http.close_idle();
}

TEST_P(SseClient, OverlongLineFails) {
    start([](const seen_request&, std::size_t) {
        return event_stream({": " + std::string(2000, 'c') + "\n"});
    });
    client http(io_.get_executor(), options());
    event_source_options eo;
    eo.max_line_bytes = 1000;
    event_source es(http, base_ + "/events", eo);
    auto got = collect(es, 1);
    EXPECT_EQ(got.error, sse_errc::line_too_long);
    EXPECT_EQ(requests_.size(), 1u);
    http.close_idle();
}

TEST_P(SseClient, ExtraHeadersAndInitialLastEventIdAreSent) {
    start([](const seen_request&, std::size_t) { return event_stream({"data: x\n\n"}); });
    client http(io_.get_executor(), options());
    event_source_options eo;
    eo.max_reconnects = 0;
    eo.last_event_id = "resume-42";
    eo.headers.add("Authorization", "Bearer abc");
    eo.headers.add("Cache-Control", "no-store");  // replaces corvid's
    event_source es(http, base_ + "/events", eo);
    EXPECT_EQ(es.last_event_id(), "resume-42");
    auto got = collect(es, 1);
    ASSERT_EQ(got.events.size(), 1u);
    EXPECT_EQ(got.events[0].id, "resume-42");
    ASSERT_EQ(requests_.size(), 1u);
    EXPECT_EQ(requests_[0].fields.get("Last-Event-ID"), "resume-42");
    EXPECT_EQ(requests_[0].fields.get("Authorization"), "Bearer abc");
    EXPECT_EQ(requests_[0].fields.get_all("Cache-Control"),
              (std::vector<std::string_view>{"no-store"}));
    http.close_idle();
}

TEST_P(SseClient, BadHeaderIsRefusedUpFront) {
    start([](const seen_request&, std::size_t) { return event_stream({"data: x\n\n"}); });
    client http(io_.get_executor(), options());
    event_source_options eo;
    eo.headers.add("X-Bad", "a\r\nInjected: 1");
    event_source es(http, base_ + "/events", eo);
    auto got = collect(es, 1);
    EXPECT_EQ(got.error, http1_errc::bad_header);
    EXPECT_TRUE(requests_.empty());
}

TEST_P(SseClient, GivesUpAfterMaxReconnectsWithTheNetworkError) {
    start([](const seen_request&, std::size_t) { return event_stream({}); });
    const std::string url = base_ + "/events";
    server_->stop();  // nothing listens on the port any more
    server_.reset();
    client http(io_.get_executor(), options());
    event_source_options eo;
    eo.default_retry = 10ms;
    eo.backoff = 3.0;
    eo.max_retry_delay = 50ms;
    eo.max_reconnects = 4;
    std::vector<std::chrono::milliseconds> waits;
    eo.on_reconnect = [&](std::error_code, std::chrono::milliseconds d) { waits.push_back(d); };
    event_source es(http, url, eo);
    auto got = collect(es, 1);
    EXPECT_EQ(got.error, net_errc::connect_failed) << got.error.message();
    // 10, then x3 per consecutive failure, capped at 50.
    EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{10ms, 30ms, 50ms, 50ms}));
}

TEST_P(SseClient, CloseEndsAPendingRead) {
    // The server paces its chunks from the head on: nothing comes for 10 s.
    start([](const seen_request&, std::size_t) {
        return event_stream({"data: one\n\n", "data: two\n\n"}, 10s);
    });
    client http(io_.get_executor(), options());
    event_source es(http, base_ + "/events");
    asio::steady_timer closer(io_, 200ms);
    std::size_t opened_before_close = 0;
    closer.async_wait([&](std::error_code ec) {
        if (ec) {
            return;
        }
        opened_before_close = es.connections_opened();
        es.close();
    });
    auto got = collect(es, 5);
    EXPECT_EQ(got.error, sse_errc::closed);
    EXPECT_TRUE(got.events.empty());
    EXPECT_EQ(opened_before_close, 1u);  // the close came during the read
    EXPECT_TRUE(es.closed());
    EXPECT_EQ(requests_.size(), 1u);
    auto again = test::run(io_, es.next_event());
    EXPECT_EQ(again.error(), sse_errc::closed);
    http.close_idle();
}

TEST_P(SseClient, CloseEndsAReconnectionWait) {
    start([](const seen_request&, std::size_t) { return event_stream({"data: one\n\n"}); });
    client http(io_.get_executor(), options());
    event_source_options eo;
    eo.default_retry = 60s;
    bool waiting = false;
    eo.on_reconnect = [&](std::error_code, std::chrono::milliseconds) { waiting = true; };
    event_source es(http, base_ + "/events", eo);
    asio::steady_timer closer(io_, 200ms);
    closer.async_wait([&](std::error_code ec) {
        if (!ec) {
            es.close();
        }
    });
    auto got = collect(es, 5);
    EXPECT_EQ(got.error, sse_errc::closed);
    EXPECT_EQ(got.events.size(), 1u);
    EXPECT_TRUE(waiting);
    EXPECT_EQ(requests_.size(), 1u);
    http.close_idle();
}

// An independent peer: Python's http.server (tests/support/sse_server.py),
// CRLF lines, close-delimited HTTP/1.0 bodies, two events per connection.
TEST(SseClientInterop, FollowsPythonServerAcrossConnections) {
    const auto port = test::free_port();
    test::process_spec spec{
        "sse_server",
        "/usr/bin/python3",
        "python3",
        {std::string(CORVID_SOURCE_DIR) + "/tests/support/sse_server.py", "--port",
         std::to_string(port), "--total", "5", "--per-connection", "2", "--retry", "20"}};
    auto server = test::external_server::start(spec, test::temp_dir("sse-py"), {port});
    asio::io_context io(1);
    client http(io.get_executor());
    event_source_options eo;
    eo.default_retry = 20s;  // the server's retry (20 ms) must be used
    event_source es(http, "http://127.0.0.1:" + std::to_string(port) + "/events", eo);
    std::vector<sse_event> events;
    std::error_code end;
    test::run(io, [&]() -> asio::awaitable<void> {
        asio::steady_timer guard(io, 20s);
        guard.async_wait([&](std::error_code ec) {
            if (!ec) {
                ADD_FAILURE() << "timed out";
                es.close();
            }
        });
        for (;;) {
            auto ev = co_await es.next_event();
            if (!ev) {
                end = ev.error();
                break;
            }
            events.push_back(std::move(*ev));
        }
        guard.cancel();
    }());
    EXPECT_EQ(end, sse_errc::no_content) << end.message();
    EXPECT_EQ(ids(events), "1,2,3,4,5");
    ASSERT_EQ(events.size(), 5u);
    EXPECT_EQ(events[0], (sse_event{"count", "event 1\nresumed after none", "1", 20ms}));
    EXPECT_EQ(events[2].data, "event 3\nresumed after 2");
    EXPECT_EQ(events[4].data, "event 5\nresumed after 4");
    EXPECT_EQ(es.connections_opened(), 3u);
}

// try_next_event() hands out what the last read holds, without I/O, and
// leaves reads, the end of the stream and errors to next_event().
TEST_P(SseClient, TryNextEventDrainsBufferedEventsAndLeavesTheRestToNextEvent) {
    start([](const seen_request&, std::size_t) {
        return event_stream({"data: a\n\nid: 1\ndata: b\n\nevent: t\ndata: c\n\ndata: d", "\n\n"},
                            5ms);
    });
    client http(io_.get_executor(), options());
    event_source_options eo;
    eo.max_reconnects = 0;
    event_source es(http, base_ + "/events", eo);
    sse_event ev;
    EXPECT_FALSE(es.try_next_event(ev));  // nothing read before next_event()
    std::vector<sse_event> got;
    std::size_t drained = 0;
    const auto end = test::run(io_, [&]() -> asio::awaitable<std::error_code> {
        for (;;) {
            if (es.try_next_event(ev)) {
                ++drained;
            } else {
                auto next = co_await es.next_event();
                if (!next) {
                    co_return next.error();
                }
                ev = std::move(*next);
            }
            got.push_back(ev);
        }
    }());
    EXPECT_EQ(end, sse_errc::stream_ended);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0], (sse_event{"message", "a", "", 3000ms}));
    EXPECT_EQ(got[1], (sse_event{"message", "b", "1", 3000ms}));
    EXPECT_EQ(got[2], (sse_event{"t", "c", "1", 3000ms}));
    EXPECT_EQ(got[3], (sse_event{"message", "d", "1", 3000ms}));
    // The server wrote the first three events at once; the fourth needed
    // the second chunk, which next_event() read.
    EXPECT_GE(drained, 1u);
    EXPECT_LE(drained, 2u);
    EXPECT_FALSE(es.try_next_event(ev));  // closed by the end of the stream
    http.close_idle();
}

// A parse error met by try_next_event() closes the source; next_event()
// reports it.
TEST_P(SseClient, TryNextEventLeavesAParseErrorToNextEvent) {
    start([](const seen_request&, std::size_t) {
        return event_stream({"data: ok\n\ndata: " + std::string(200, 'x') + "\n\n"});
    });
    client http(io_.get_executor(), options());
    event_source_options eo;
    eo.max_line_bytes = 100;
    event_source es(http, base_ + "/events", eo);
    auto first = test::run(io_, es.next_event());
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(first->data, "ok");
    sse_event ev;
    EXPECT_FALSE(es.try_next_event(ev));
    auto second = test::run(io_, es.next_event());
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error(), sse_errc::line_too_long);
    EXPECT_TRUE(es.closed());
    EXPECT_EQ(requests_.size(), 1u);
    http.close_idle();
}

INSTANTIATE_TEST_SUITE_P(Transports, SseClient, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param) {
                             return param.param ? std::string("Http2") : std::string("Http1");
                         });

}  // namespace
}  // namespace corvid
