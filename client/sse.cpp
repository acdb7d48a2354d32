#include "corvid/sse.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "proto/h1/fields.hpp"
#include "proto/sse/parser.hpp"
#include "proto/sse/writer.hpp"

namespace corvid {

namespace {

bool ascii_iequal(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

// "text/event-stream", any case, optionally followed by parameters
// ("; charset=utf-8"), with optional whitespace around the media type.
bool is_event_stream(std::string_view content_type) noexcept {
    auto semi = content_type.find(';');
    auto essence = content_type.substr(0, semi);
    while (!essence.empty() && (essence.front() == ' ' || essence.front() == '\t')) {
        essence.remove_prefix(1);
    }
    while (!essence.empty() && (essence.back() == ' ' || essence.back() == '\t')) {
        essence.remove_suffix(1);
    }
    return ascii_iequal(essence, "text/event-stream");
}

// Errors after which another attempt is futile: the request itself is
// wrong, or the server's identity cannot be trusted. Everything else counts
// as the standard's "network error" and is retried.
bool retry_futile(std::error_code ec) noexcept {
    if (ec.category() == client_category()) {
        // A proxy that broke the tunnel may recover; the rest will not.
        return ec != client_errc::proxy_failed;
    }
    if (ec.category() == tls_category()) {
        // A failed handshake may be a server going down mid-handshake.
        return ec != tls_errc::handshake_failed;
    }
    if (ec.category() == profile_category()) {
        return true;
    }
    return ec == http1_errc::bad_method || ec == http1_errc::bad_target;
}

}  // namespace

struct event_source::state {
    state(client& c, std::string u, event_source_options o)
        : http(c),
          url(std::move(u)),
          options(std::move(o)),
          parser(sse::parser::limits{options.max_line_bytes, options.max_event_bytes}) {
        if (options.backoff < 1.0 || !std::isfinite(options.backoff)) {
            options.backoff = 1.0;
        }
        if (sse::valid_event_id(options.last_event_id)) {
            parser.set_last_event_id(options.last_event_id);
        }
    }

    client& http;
    std::string url;
    event_source_options options;
    sse::parser parser;

    std::optional<response> stream;       // the open stream, if any
    std::string_view pending;             // unparsed bytes of stream's last read_some()
    cancel_token cancel;                  // of the request in flight
    asio::steady_timer* timer = nullptr;  // the reconnection wait in progress

    bool started = false;         // a first attempt was made
    bool busy = false;            // next() is running
    bool reconnect_due = false;   // the next attempt waits first
    int failed_attempts = 0;      // consecutive reconnections without a stream
    std::error_code last_reason;  // why the last stream or attempt ended
    std::error_code closed_with;  // set: closed, and every call returns it

    int status = 0;
    std::string content_type;
    std::size_t opened = 0;

    std::chrono::milliseconds reconnection_time() const {
        if (parser.has_retry()) {
            // Clamp to what a duration holds; a server may send any number.
            constexpr std::uint64_t max_ms = std::uint64_t{1} << 40;
            return std::chrono::milliseconds(
                static_cast<std::int64_t>(std::min(parser.retry_ms(), max_ms)));
        }
        return options.default_retry;
    }

    // The wait before the next attempt: the reconnection time, grown by
    // backoff for each consecutive failure before this one.
    std::chrono::milliseconds next_delay() const {
        const auto base = reconnection_time();
        if (failed_attempts <= 1) {
            return base;
        }
        const auto cap = std::max(base, options.max_retry_delay);
        double ms = static_cast<double>(base.count());
        for (int i = 1; i < failed_attempts && ms < static_cast<double>(cap.count()); ++i) {
            ms *= options.backoff;
        }
        return std::min(cap, std::chrono::milliseconds(static_cast<std::int64_t>(ms)));
    }

    void fail(std::error_code ec) {
        if (!closed_with) {
            closed_with = ec;
        }
        drop_stream();
    }

    void drop_stream() {
        pending = {};
        stream.reset();  // an unread body closes its connection
    }

    // The stream ended or the attempt failed with `why`: either schedule a
    // reconnection or give up.
    void lost(std::error_code why) {
        drop_stream();
        parser.end_of_stream();
        // Carry the ID into the next stream, as Chromium does (see sse.hpp).
        parser.set_last_event_id(std::string(parser.last_event_id()));
        last_reason = why;
        if (options.max_reconnects >= 0 && failed_attempts >= options.max_reconnects) {
            fail(why);
            return;
        }
        ++failed_attempts;
        reconnect_due = true;
    }

    // What the client would refuse to send is refused once, up front, so it
    // is not mistaken for a network error and retried.
    result<void> check_request() const {
        if (!sse::valid_event_id(options.last_event_id)) {
            return http1_errc::bad_header;
        }
        for (const auto& f : options.headers) {
            if (!h1::detail::is_token(f.name) || !h1::detail::is_field_value(f.value)) {
                return http1_errc::bad_header;
            }
        }
        return {};
    }

    request make_request() {
        request req;
        req.method = "GET";
        req.url = url;
        req.kind = options.kind;
        req.cancel = cancel;
        req.headers.add("Accept", "text/event-stream");
        req.headers.add("Cache-Control", "no-cache");
        if (!parser.last_event_id().empty()) {
            req.headers.add("Last-Event-ID", parser.last_event_id());
        }
        for (const auto& f : options.headers) {
            if (req.headers.contains(f.name)) {
                req.headers.set(f.name, f.value);
            } else {
                req.headers.add(f.name, f.value);
            }
        }
        return req;
    }

    asio::awaitable<void> wait(std::chrono::milliseconds delay) {
        asio::steady_timer t(co_await asio::this_coro::executor, delay);
        timer = &t;
        std::error_code ignored;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        timer = nullptr;
    }

    // One connection attempt. On return either `stream` is open, or the
    // source is closed, or a reconnection is due.
    asio::awaitable<void> connect() {
        if (reconnect_due) {
            const auto delay = next_delay();
            if (options.on_reconnect) {
                options.on_reconnect(last_reason, delay);
                if (closed_with) {
                    co_return;  // the callback closed the source
                }
            }
            co_await wait(delay);
            reconnect_due = false;
            if (closed_with) {
                co_return;
            }
        }
        cancel = cancel_token();
        // A named request: g++ 12 mishandles a temporary with a destructor
        // inside a co_await expression (it can be destroyed twice).
        auto req = make_request();
        auto sent = co_await http.send(std::move(req));
        if (closed_with) {
            co_return;
        }
        if (!sent) {
            if (retry_futile(sent.error())) {
                fail(sent.error());
            } else {
                lost(sent.error());
            }
            co_return;
        }
        if (options.on_response) {
            options.on_response(*sent);
        }
        status = sent->status;
        content_type = std::string(sent->headers.get("Content-Type").value_or(""));
        if (status != 200) {
            // The standard fails the connection on any other status; 204 is
            // the server's documented way to stop a client reconnecting.
            fail(status == 204 ? sse_errc::no_content : sse_errc::bad_status);
            co_return;
        }
        if (!is_event_stream(content_type)) {
            fail(sse_errc::bad_content_type);
            co_return;
        }
        stream.emplace(std::move(*sent));
        failed_attempts = 0;
        ++opened;
    }

    enum class ready { none, event, error };

    // Parses the bytes already read, without suspending, up to the next
    // event (ready::event: take() returns it) or a parse error (ready::error:
    // the source is closed, take() returns the error). ready::none: the
    // parser needs more bytes, or no stream is open, or the source was never
    // started or is closed (next() handles those).
    ready poll() {
        if (!started || closed_with || !stream) {
            return ready::none;
        }
        while (!pending.empty()) {
            std::error_code ec;
            auto out = parser.feed(pending, ec);
            if (ec) {
                fail(ec);
                return ready::error;
            }
            pending.remove_prefix(out.consumed);
            if (out.kind == sse::parser::output_kind::event) {
                return ready::event;
            }
        }
        return ready::none;
    }

    // What poll() found. The event's strings are moved straight from the
    // parser into the result: each move of a short string is a copy.
    result<sse_event> take(ready r) {
        if (r != ready::event) {
            return closed_with;
        }
        auto& ev = parser.current_event();
        return sse_event{std::move(ev.type), std::move(ev.data), std::move(ev.id),
                         reconnection_time()};
    }

    asio::awaitable<result<sse_event>> next() {
        if (!started) {
            started = true;
            if (auto ok = check_request(); !ok) {
                fail(ok.error());
            }
        }
        for (;;) {
            if (closed_with) {
                drop_stream();  // no read is pending on it here
                co_return closed_with;
            }
            if (!stream) {
                co_await connect();
                continue;
            }
            if (const auto r = poll(); r != ready::none) {
                co_return take(r);
            }
            auto piece = co_await stream->read_some();
            if (closed_with) {
                continue;
            }
            if (!piece) {
                if (retry_futile(piece.error())) {
                    fail(piece.error());
                } else {
                    lost(piece.error());
                }
                continue;
            }
            if (piece->empty()) {
                lost(sse_errc::stream_ended);
                continue;
            }
            pending = *piece;
        }
    }
};

event_source::event_source(client& http, std::string url, event_source_options options)
    : state_(std::make_unique<state>(http, std::move(url), std::move(options))) {}

event_source::~event_source() = default;

asio::awaitable<result<sse_event>> event_source::next_event() {
    // An event already in the bytes read is returned without the frame and
    // resumption of state::next(): in a burst that is nearly every event.
    if (const auto r = state_->poll(); r != state::ready::none) {
        co_return state_->take(r);
    }
    state_->busy = true;
    auto out = co_await state_->next();
    state_->busy = false;
    co_return out;
}

bool event_source::try_next_event(sse_event& out) {
    if (state_->busy) {
        return false;
    }
    if (state_->poll() != state::ready::event) {
        return false;  // an error closed the source: next_event() returns it
    }
    auto& ev = state_->parser.current_event();
    out.type = std::move(ev.type);
    out.data = std::move(ev.data);
    out.id = std::move(ev.id);
    out.retry = state_->reconnection_time();
    return true;
}

void event_source::close() {
    if (state_->closed_with) {
        return;
    }
    state_->closed_with = sse_errc::closed;
    // Wake whatever next_event() waits on; it sees closed_with and returns.
    state_->cancel.cancel();
    if (state_->timer != nullptr) {
        state_->timer->cancel();
    }
    // A stream being read is dropped by next_event() once it wakes: the
    // response must not be destroyed under its pending read.
    if (!state_->busy) {
        state_->drop_stream();
    }
}

bool event_source::closed() const noexcept {
    return static_cast<bool>(state_->closed_with);
}

const std::string& event_source::url() const noexcept {
    return state_->url;
}

const std::string& event_source::last_event_id() const noexcept {
    return state_->parser.last_event_id();
}

std::chrono::milliseconds event_source::retry() const noexcept {
    return state_->reconnection_time();
}

int event_source::status() const noexcept {
    return state_->status;
}

const std::string& event_source::content_type() const noexcept {
    return state_->content_type;
}

std::size_t event_source::connections_opened() const noexcept {
    return state_->opened;
}

}  // namespace corvid
