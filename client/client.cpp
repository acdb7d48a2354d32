// The request pipeline: URL -> headers -> pooled connection -> request bytes
// -> response head (1xx, redirects, cookies, decoding) -> streamed body.

#include <algorithm>
#include <limits>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "client/impl.hpp"
#include "core/encoding.hpp"
#include "proto/h1/serializer.hpp"

namespace corvid {

// ------------------------------------------------------------ cancel_token ---

cancel_token::cancel_token() : state_(std::make_shared<detail::cancel_state>()) {}

void cancel_token::cancel() {
    if (state_->cancelled) {
        return;
    }
    state_->cancelled = true;
    if (auto hook = state_->hook) {
        hook();
    }
}

bool cancel_token::cancelled() const noexcept {
    return state_->cancelled;
}

namespace detail {

namespace {

constexpr std::uint64_t redirect_drain_limit = 1024 * 1024;

bool is_redirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

std::string pool_key_for(const corvid::url& target, const proxy_config& proxy) {
    std::string key = target.origin();
    if (proxy.type != proxy_config::kind::none) {
        key += " via ";
        key +=
            proxy.address.scheme + "://" + proxy.address.userinfo + "@" + proxy.address.authority();
    }
    return key;
}

// ---------------------------------------------------------------- exchange ---

asio::awaitable<result<std::string_view>> exchange::next_chunk() {
    for (;;) {
        if (error) {
            co_return error;
        }
        if (decoder_finished) {
            co_return std::string_view{};
        }
        auto raw = co_await next_wire_chunk();
        if (!raw || !decoder) {
            co_return raw;
        }
        decoded.clear();
        if (raw->empty()) {
            decoder_finished = true;
            if (auto ec = decoder->finish(decoded)) {
                co_return fail(ec);
            }
            co_return std::string_view(decoded);  // may be empty: the end
        }
        if (auto ec = decoder->decode(*raw, decoded)) {
            co_return fail(ec);
        }
        if (!decoded.empty()) {
            co_return std::string_view(decoded);
        }
    }
}

h1_exchange::~h1_exchange() {
    if (conn) {
        // Unread body: the connection cannot be reused half-read.
        conn->stream->close();
        if (auto o = owner.lock()) {
            o->pool.release(conn->pool_key);
        }
    }
    if (dog) {
        dog->disarm();
    }
}

std::error_code h1_exchange::fail(std::error_code ec) {
    error = ec;
    complete = true;
    if (conn) {
        conn->stream->close();
        if (auto o = owner.lock()) {
            o->pool.release(conn->pool_key);
        }
        conn.reset();
    }
    dog->disarm();
    return ec;
}

void h1_exchange::finish_ok() {
    complete = true;
    timings.total = seconds_since(start);
    trailers = parser.trailers();
    bool reusable = !no_reuse && parser.keep_alive() && conn->pending().empty();
    if (auto o = owner.lock()) {
        o->recycle(std::move(conn), reusable);
    } else {
        conn->stream->close();
        conn.reset();
    }
    dog->disarm();
}

asio::awaitable<result<std::string_view>> h1_exchange::next_wire_chunk() {
    for (;;) {
        if (error) {
            co_return error;
        }
        if (complete) {
            co_return std::string_view{};
        }
        {
            // Parse even with nothing pending: the end of a body can be known
            // without another byte (Content-Length reached).
            std::error_code ec;
            auto ev = parser.parse(conn->pending(), ec);
            if (ec) {
                co_return fail(ec);
            }
            conn->consume(ev.consumed);
            if (ev.kind == h1::event_kind::body) {
                wire_bytes += ev.body.size();
                co_return ev.body;
            }
            if (ev.kind == h1::event_kind::done) {
                finish_ok();
                co_return std::string_view{};
            }
        }
        auto read = co_await conn->stream->read_some(conn->space());
        dog->touch();
        if (!read) {
            co_return fail(dog->translate(read.error()));
        }
        if (*read == 0) {
            if (dog->reason()) {
                co_return fail(dog->reason());
            }
            std::error_code ec;
            auto ev = parser.finish_eof(ec);
            if (ec) {
                co_return fail(ec);
            }
            if (ev.kind == h1::event_kind::done) {
                conn->stream->close();  // a close-delimited body: never reusable
                finish_ok();
                co_return std::string_view{};
            }
            co_return fail(http1_errc::partial_message);
        }
        conn->commit(*read);
    }
}

// -------------------------------------------------------------- client_impl ---

client_impl::client_impl(asio::any_io_executor ex, client_options opts)
    : executor(std::move(ex)),
      options(std::move(opts)),
      pool(executor, options.max_connections_per_origin, options.pool_idle_timeout) {
    auto parsed_proxy = parse_proxy(options.proxy);
    if (!parsed_proxy) {
        setup_error = parsed_proxy.error();
    } else {
        proxy = *parsed_proxy;
    }
    tls::client_config tls_config;
    tls_config.verify_peer = options.tls.verify_peer;
    tls_config.ca_file = options.tls.ca_file;
    tls_config.session_resumption = options.tls.session_resumption;
    if (options.profile) {
        tls_config.profile = options.profile->tls;
    }
    auto ctx = tls::client_context::create(tls_config);
    if (!ctx) {
        if (!setup_error) {
            setup_error = ctx.error();
        }
    } else {
        tls_context = *ctx;
    }
}

void client_impl::recycle(std::unique_ptr<connection> conn, bool reusable) {
    if (!conn) {
        return;
    }
    if (reusable && conn->stream->is_open()) {
        if (options.trace) {
            options.trace("Connection #" + std::to_string(conn->id) + " to host " + conn->host +
                          " left intact");
        }
        pool.put_idle(std::move(conn));
    } else {
        if (options.trace) {
            options.trace("Closing connection #" + std::to_string(conn->id));
        }
        conn->stream->close();
        pool.release(conn->pool_key);
    }
}

namespace {

// Content-Length or chunked coding for the body, unless the user framed it.
void add_body_framing(const outgoing& out, corvid::headers& fields) {
    const auto& user = out.user_headers;
    if (out.body_stream) {
        if (!user.contains("Content-Length") && !user.contains("Transfer-Encoding")) {
            fields.add("Transfer-Encoding", "chunked");
        }
    } else if (!user.contains("Content-Length") && (!out.body.empty() || out.method == "POST" ||
                                                    out.method == "PUT" || out.method == "PATCH")) {
        fields.add("Content-Length", std::to_string(out.body.size()));
    }
}

// The request's fields under a browser profile: Host, then the profile's
// template for the request kind with the user's headers merged in (a header
// the template has keeps its position; new ones go before
// user_headers_before; the jar's Cookie before cookie_before). Names are
// spelled as the profile says the browser spells them over HTTP/1.1; the
// HTTP/2 session lower-cases them and drops the connection-specific ones.
void add_profile_fields(const client_impl& c, const outgoing& out, corvid::headers& fields) {
    const profile& p = *c.options.profile;
    const header_template& t = p.headers_for(out.kind);
    const auto& user = out.user_headers;
    const std::string_view cookie_name = p.http1_names.get("cookie").value_or("cookie");
    std::string cookie;
    if (c.options.enable_cookies && !user.contains("Cookie")) {
        cookie = c.jar.header_for(out.target);
    }
    bool user_done = false;
    bool cookie_done = cookie.empty();
    auto add_user_new = [&] {
        for (const auto& f : user) {
            if (!iequals(f.name, "Host") && !t.fields.contains(f.name)) {
                fields.add(f.name, f.value);
            }
        }
        user_done = true;
    };
    for (const auto& f : t.fields) {
        if (!user_done && iequals(f.name, t.user_headers_before)) {
            add_user_new();
        }
        if (!cookie_done && iequals(f.name, t.cookie_before)) {
            fields.add(cookie_name, cookie);
            cookie_done = true;
        }
        if (user.contains(f.name)) {
            for (auto v : user.get_all(f.name)) {
                fields.add(f.name, v);
            }
        } else if (!f.value.empty()) {
            fields.add(f.name, f.value);
        }
    }
    if (!user_done) {
        add_user_new();
    }
    if (!cookie_done) {
        fields.add(cookie_name, cookie);
    }
}

}  // namespace

corvid::headers build_fields(const client_impl& c, const outgoing& out, bool absolute_form) {
    const auto& user = out.user_headers;
    corvid::headers fields;
    fields.reserve(user.size() + 24);
    if (auto host = user.get("Host")) {
        fields.add("Host", *host);
    } else {
        fields.add("Host", out.target.authority());
    }
    if (c.options.profile) {
        add_profile_fields(c, out, fields);
        if (absolute_form && !c.proxy.address.userinfo.empty() &&
            !user.contains("Proxy-Authorization")) {
            fields.add("Proxy-Authorization",
                       "Basic " + base64_encode(percent_decode(c.proxy.address.userinfo)));
        }
        add_body_framing(out, fields);
        return fields;
    }
    if (!c.options.user_agent.empty() && !user.contains("User-Agent")) {
        fields.add("User-Agent", c.options.user_agent);
    }
    if (!c.options.accept.empty() && !user.contains("Accept")) {
        fields.add("Accept", c.options.accept);
    }
    if (c.options.decompress && !user.contains("Accept-Encoding")) {
        fields.add("Accept-Encoding", "gzip, deflate, br, zstd");
    }
    if (c.options.enable_cookies && !user.contains("Cookie")) {
        auto cookie = c.jar.header_for(out.target);
        if (!cookie.empty()) {
            fields.add("Cookie", cookie);
        }
    }
    if (absolute_form && !c.proxy.address.userinfo.empty() &&
        !user.contains("Proxy-Authorization")) {
        fields.add("Proxy-Authorization",
                   "Basic " + base64_encode(percent_decode(c.proxy.address.userinfo)));
    }
    for (const auto& f : user) {
        if (iequals(f.name, "Host")) {
            continue;
        }
        fields.add(f.name, f.value);
    }
    add_body_framing(out, fields);
    return fields;
}

namespace {

// Waits up to one second for the server to answer an Expect: 100-continue
// (RFC 9110 10.1.1: a client need not wait indefinitely).
asio::awaitable<void> await_continue_or_timeout(connection& conn) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::seconds(1));
    std::error_code ignored;
    co_await (
        conn.stream->socket().async_wait(asio::ip::tcp::socket::wait_read,
                                         asio::redirect_error(asio::use_awaitable, ignored)) ||
        timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored)));
}

}  // namespace

// -------------------------------------------------------------- HTTP/2 ---

namespace {

void wake_all(std::vector<std::shared_ptr<asio::steady_timer>>& waiters) {
    for (auto& w : std::exchange(waiters, {})) {
        w->cancel();
    }
}

}  // namespace

h2_exchange::~h2_exchange() {
    if (!complete && conn && stream) {
        conn->cancel(stream);  // RST_STREAM CANCEL; the connection stays up
    }
    if (dog) {
        dog->disarm();
    }
}

std::error_code h2_exchange::fail(std::error_code ec) {
    error = ec;
    if (!complete && conn && stream) {
        conn->cancel(stream);
    }
    complete = true;
    if (dog) {
        dog->disarm();
    }
    return ec;
}

asio::awaitable<result<std::string_view>> h2_exchange::next_wire_chunk() {
    for (;;) {
        if (error) {
            co_return error;
        }
        if (complete) {
            co_return std::string_view{};
        }
        if (!stream->chunks.empty()) {
            current = std::move(stream->chunks.front());
            stream->chunks.pop_front();
            conn->consumed(stream, current.size());  // reopens the window
            wire_bytes += current.size();
            co_return std::string_view(current);
        }
        // An error first: a timeout or cancel drops the unread chunks of a
        // stream that may have ended, and the body must not look complete.
        if (stream->error) {
            co_return fail(dog->translate(stream->error));
        }
        if (stream->ended) {
            complete = true;
            trailers = std::move(stream->trailers);
            timings.total = seconds_since(start);
            dog->disarm();
            co_return std::string_view{};
        }
        co_await stream->wait();
        dog->touch();
    }
}

std::vector<std::string> client_impl::alpn_for(const corvid::url& target, request_kind kind) const {
    if (!target.is_tls()) {
        return {};
    }
    switch (options.http_version) {
        case http_version_policy::http1_1:
            return {"http/1.1"};
        case http_version_policy::http2_prior_knowledge:
            return {"h2"};
        default:
            if (options.profile) {
                return kind == request_kind::websocket ? options.profile->websocket_alpn
                                                       : options.profile->tls.alpn;
            }
            // A WebSocket over HTTP/1.1 needs an HTTP/1.1 connection.
            if (kind == request_kind::websocket) {
                return {"http/1.1"};
            }
            return {"h2", "http/1.1"};
    }
}

std::shared_ptr<h2_connection> client_impl::find_h2(const std::string& key,
                                                    const h2_connection* avoid) {
    auto it = h2_connections.find(key);
    if (it == h2_connections.end()) {
        return nullptr;
    }
    for (auto& c : it->second) {
        if (c.get() != avoid && c->can_open_stream()) {
            return c;
        }
    }
    return nullptr;
}

namespace {

h2::priority_spec to_spec(const http2_profile::priority& p) {
    return h2::priority_spec{p.depends_on, p.weight, p.exclusive};
}

// A browser profile's HTTP/2 preface and HEADERS settings. Its
// MAX_HEADER_LIST_SIZE, when it sends one, is also the limit enforced: a
// browser accepts what it advertises.
void apply_http2_profile(const http2_profile& p, h2::client_options& o) {
    o.profile.settings.clear();
    for (const auto& s : p.settings) {
        o.profile.settings.push_back({s.id, s.value});
        if (s.id == h2::setting_id::max_header_list_size) {
            o.limits.max_header_list_size = s.value;
        }
    }
    o.profile.connection_window_increment = p.connection_window_increment;
    o.profile.stream_window_increment = p.stream_window_increment;
    o.profile.headers_priority.reset();
    if (p.headers_priority) {
        o.profile.headers_priority = to_spec(*p.headers_priority);
    }
    // "m,a,s,p" (validated when the profile loaded); :protocol goes last.
    std::size_t i = 0;
    for (char c : p.pseudo_header_order) {
        const auto pseudo = c == 'm'   ? h2::pseudo_header::method
                            : c == 'a' ? h2::pseudo_header::authority
                            : c == 's' ? h2::pseudo_header::scheme
                            : c == 'p' ? h2::pseudo_header::path
                                       : h2::pseudo_header::protocol;
        if (pseudo != h2::pseudo_header::protocol && i < 4) {
            o.profile.pseudo_order[i++] = pseudo;
        }
    }
    o.profile.pseudo_order[4] = h2::pseudo_header::protocol;
}

}  // namespace

result<std::shared_ptr<h2_connection>> client_impl::adopt_h2(std::unique_ptr<connection> conn) {
    // The response header limit, enforced and advertised
    // (SETTINGS_MAX_HEADER_LIST_SIZE) as HTTP/2 counts it.
    // The windows are the profile's INITIAL_WINDOW_SIZE and connection
    // WINDOW_UPDATE.
    const auto& h2o = options.http2;
    constexpr std::uint32_t max_window = 0x7fffffff;
    if (h2o.stream_window == 0 || h2o.stream_window > max_window || h2o.connection_window < 65535 ||
        h2o.connection_window > max_window) {
        return make_error_code(http2_errc::invalid_settings);
    }
    h2::client_options h2_options;
    const auto header_limit = static_cast<std::uint32_t>(
        std::min<std::size_t>(options.max_header_bytes, std::numeric_limits<std::uint32_t>::max()));
    h2_options.limits.max_header_list_size = header_limit;
    h2_options.limits.max_header_fields = options.max_header_fields;
    for (auto& s : h2_options.profile.settings) {
        if (s.id == h2::setting_id::max_header_list_size) {
            s.value = header_limit;
        } else if (s.id == h2::setting_id::initial_window_size) {
            s.value = h2o.stream_window;
        }
    }
    h2_options.profile.connection_window_increment = h2o.connection_window - 65535;
    if (options.profile) {
        apply_http2_profile(options.profile->http2, h2_options);
    }
    auto session = h2::client_session::create(h2_options);
    if (!session) {
        return session.error();
    }
    auto h2c = std::make_shared<h2_connection>(executor, std::move(conn->stream),
                                               std::move(*session), conn->pool_key, conn->id);
    h2c->info = conn->info;
    h2c->host = conn->host;
    h2c->idle_timeout = options.pool_idle_timeout;
    h2c->ping_interval = h2o.ping_interval;
    h2c->ping_timeout = h2o.ping_timeout;
    h2c->trace = options.trace;
    std::weak_ptr<client_impl> weak = weak_from_this();
    // Requests waiting for room on this origin's connections look again
    // when there may be some, or when a connection slot frees up.
    h2c->on_capacity = [weak](h2_connection& c) {
        if (auto self = weak.lock()) {
            wake_all(self->h2_waiters[c.pool_key]);
        }
    };
    h2c->on_closed = [weak](h2_connection& closed) {
        auto self = weak.lock();
        if (!self) {
            return;
        }
        auto& list = self->h2_connections[closed.pool_key];
        std::erase_if(list, [&](const auto& c) { return c.get() == &closed; });
        self->pool.release(closed.pool_key);
        wake_all(self->h2_waiters[closed.pool_key]);
        if (self->options.trace) {
            self->options.trace("Connection #" + std::to_string(closed.id) + " (HTTP/2) closed");
        }
    };
    h2_connections[h2c->pool_key].push_back(h2c);
    h2c->start();
    if (options.trace) {
        options.trace("Using HTTP/2 on connection #" + std::to_string(h2c->id));
    }
    return h2c;
}

asio::awaitable<result<std::shared_ptr<exchange>>> client_impl::exchange_h2(
    std::shared_ptr<h2_connection> conn, outgoing& out, corvid::headers& fields,
    std::shared_ptr<net::watchdog> dog, clock::time_point start) {
    auto ex = std::make_shared<h2_exchange>();
    ex->conn = conn;
    ex->start = start;
    h2::request_head head;
    head.method = out.method;
    head.scheme = out.target.scheme;
    head.authority = std::string(fields.get("Host").value_or(out.target.authority()));
    head.path = out.target.target;
    // Moved, not copied (a browser profile's ~15 fields were copied per
    // request), and moved back right after the submission below. The
    // session drops Host, Transfer-Encoding and friends.
    head.fields = std::move(fields);
    head.protocol = out.protocol;
    // An extended CONNECT's stream stays open for the tunnel's bytes.
    const bool has_body =
        !out.body.empty() || static_cast<bool>(out.body_stream) || !out.protocol.empty();
    // A profile's request kind may carry its own HEADERS priority (a
    // browser weighs a fetch lower than a navigation).
    std::optional<std::optional<h2::priority_spec>> priority;
    if (options.profile) {
        if (const auto& p = options.profile->headers_for(out.kind).http2_priority) {
            priority = to_spec(*p);
        }
    }
    auto opened = conn->open(head, !has_body, priority);
    fields = std::move(head.fields);  // nghttp2 has its own copy now
    if (!opened) {
        co_return opened.error();
    }
    ex->stream = *opened;
    ex->dog = dog;  // only now: a discarded exchange disarms its watchdog
    auto stream = ex->stream;
    // A timeout or cancel ends this stream only: the connection is shared.
    dog->on_fire(
        [c = std::weak_ptr<h2_connection>(conn), stream, d = std::weak_ptr<net::watchdog>(dog)] {
            if (auto watchdog = d.lock()) {
                stream->error = watchdog->reason();
            }
            if (auto h2c = c.lock()) {
                h2c->cancel(stream);
            }
            stream->notify();
        });
    // Before the head, a failed stream is abandoned but the request may go on
    // (a retry on another connection) under the same watchdog: keep it armed.
    auto abandon = [&](std::error_code ec) {
        dog->on_fire(nullptr);
        ex->dog = nullptr;
        ex->fail(ec);
        return ec;
    };

    if (out.body_stream) {
        out.body_stream_started = true;
        for (;;) {
            auto piece = co_await out.body_stream();
            if (!piece) {
                abandon(client_errc::request_body_failed);
                co_return piece.error();
            }
            auto sent = co_await conn->send_body(stream, *piece, piece->empty());
            if (!sent) {
                co_return abandon(dog->translate(sent.error()));
            }
            if (piece->empty() || stream->closed) {
                break;  // the whole body, or all the server wanted of it
            }
        }
    } else if (!out.body.empty()) {
        if (auto sent = conn->send_body(stream, std::string(out.body)); !sent) {
            co_return abandon(sent.error());
        }
    }
    while (!stream->head_received && !stream->error) {
        co_await stream->wait();
    }
    if (!stream->head_received) {
        co_return abandon(dog->translate(stream->error));
    }
    ex->timings.start_transfer = seconds_since(start);
    ex->status = stream->status;
    ex->version = 20;
    ex->fields = stream->fields;
    ex->info = conn->info;
    ex->has_body = !(stream->ended && stream->chunks.empty());
    if (!ex->has_body) {
        // Nothing to read (HEAD, 204, 304): the exchange is over already.
        ex->complete = true;
        ex->trailers = std::move(stream->trailers);
        ex->timings.total = seconds_since(start);
        dog->disarm();
    }
    co_return std::shared_ptr<exchange>(ex);
}

asio::awaitable<result<std::shared_ptr<exchange>>> client_impl::exchange_h1(
    outgoing& out, const std::string& key, const std::string& head, bool expect_continue,
    std::shared_ptr<net::watchdog> dog, clock::time_point start, std::size_t& connects_total,
    std::shared_ptr<h2_connection>* upgraded) {
    const bool head_request = out.method == "HEAD";
    h1::parser_limits limits;
    limits.max_header_bytes = options.max_header_bytes;
    limits.max_fields = options.max_header_fields;
    auto ex = std::make_shared<h1_exchange>(limits);
    ex->owner = shared_from_this();
    ex->dog = dog;
    ex->start = start;
    // Up to two tries: a pooled connection the server closed while idle
    // fails before any response byte; then one fresh connection is used.
    std::error_code last_error;
    bool got_head = false;
    for (int attempt = 0; attempt < 2 && !got_head; ++attempt) {
        auto slot = co_await pool.checkout(key, *dog);
        if (!slot) {
            co_return slot.error();
        }
        std::unique_ptr<connection> conn = std::move(*slot);
        bool reused = conn != nullptr;
        if (!reused) {
            // A copy: set_profile() may replace the context while this
            // connection is being opened.
            const auto context = tls_context;
            auto opened =
                co_await open_connection(out.target, proxy, options, context.get(), *dog, start,
                                         ex->timings, alpn_for(out.target, out.kind));
            if (!opened) {
                pool.release(key);
                co_return opened.error();
            }
            conn = std::move(*opened);
            conn->pool_key = key;
            conn->host = out.target.host;
            conn->id = next_connection_id++;
            ++connects;
            ++connects_total;
            const bool prior_knowledge =
                options.http_version == http_version_policy::http2_prior_knowledge;
            if (upgraded != nullptr && (conn->info.alpn == "h2" || prior_knowledge)) {
                // HTTP/2: the connection becomes shared; the caller sends on it.
                auto adopted = adopt_h2(std::move(conn));
                if (!adopted) {
                    pool.release(key);
                    co_return adopted.error();
                }
                (*adopted)->setup_timings = ex->timings;  // lookup, connect, TLS of this request
                *upgraded = *adopted;
                ex->dog = nullptr;  // the request goes on under this watchdog: keep it armed
                co_return std::shared_ptr<exchange>{};
            }
        } else {
            conn->info.reused = true;
            auto now = seconds_since(start);
            ex->timings.name_lookup = ex->timings.connect = now;
            ex->timings.app_connect = conn->info.tls ? now : 0;
            if (options.trace) {
                options.trace("Re-using existing connection #" + std::to_string(conn->id) +
                              " with host " + out.target.host);
            }
        }
        ex->conn = std::move(conn);
        auto* stream = ex->conn->stream.get();
        dog->on_fire([stream] { stream->close(); });
        ex->parser.reset(head_request);

        // Send the head (and a whole body with it, in one gathered write).
        bool stale = false;
        std::error_code write_error;
        {
            std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(out.body)};
            std::size_t count = (out.body_stream || out.body.empty() || expect_continue) ? 1 : 2;
            auto w = co_await stream->write(std::span(bufs.data(), count));
            if (!w) {
                write_error = w.error();
            }
        }
        bool send_body = !expect_continue;
        bool body_sent = !expect_continue && !out.body_stream;
        if (!write_error && expect_continue) {
            co_await await_continue_or_timeout(*ex->conn);
            send_body = ex->conn->stream->socket().available() == 0;
            // Data waiting: read the interim or final response first.
        }

        // Read until the final head, sending the body when allowed.
        for (;;) {
            if (write_error) {
                break;
            }
            if (send_body && !body_sent) {
                body_sent = true;
                if (out.body_stream) {
                    out.body_stream_started = true;
                    const bool chunked = !out.user_headers.contains("Content-Length");
                    for (;;) {
                        auto piece = co_await out.body_stream();
                        if (!piece) {
                            ex->fail(client_errc::request_body_failed);
                            co_return piece.error();
                        }
                        if (chunked) {
                            std::string framing;
                            h1::append_chunk_header(framing, piece->size());
                            if (piece->empty()) {
                                framing += "\r\n";
                                std::array<asio::const_buffer, 1> last{asio::buffer(framing)};
                                auto w = co_await stream->write(last);
                                if (!w) {
                                    write_error = w.error();
                                }
                                break;
                            }
                            std::array<asio::const_buffer, 3> bufs{
                                asio::buffer(framing), asio::buffer(piece->data(), piece->size()),
                                asio::buffer("\r\n", 2)};
                            auto w = co_await stream->write(bufs);
                            if (!w) {
                                write_error = w.error();
                                break;
                            }
                        } else {
                            if (piece->empty()) {
                                break;
                            }
                            std::array<asio::const_buffer, 1> one{
                                asio::buffer(piece->data(), piece->size())};
                            auto w = co_await stream->write(one);
                            if (!w) {
                                write_error = w.error();
                                break;
                            }
                        }
                    }
                } else if (!out.body.empty()) {
                    std::array<asio::const_buffer, 1> one{asio::buffer(out.body)};
                    auto w = co_await stream->write(one);
                    if (!w) {
                        write_error = w.error();
                    }
                }
                if (write_error) {
                    break;
                }
            }
            if (auto pending = ex->conn->pending(); !pending.empty()) {
                std::error_code ec;
                auto ev = ex->parser.parse(pending, ec);
                if (ec) {
                    ex->fail(ec);
                    co_return ec;
                }
                ex->conn->consume(ev.consumed);
                if (ev.kind == h1::event_kind::head) {
                    ex->timings.start_transfer = seconds_since(start);
                    if (ex->parser.status() / 100 == 1 && ex->parser.status() != 101) {
                        if (options.trace) {
                            options.trace("Received interim response " +
                                          std::to_string(ex->parser.status()));
                        }
                        send_body = true;  // 100 Continue (or 103): go on
                        continue;
                    }
                    if (!body_sent) {
                        // A final response before we sent the body (e.g.
                        // 417 or 401): skip the body; the connection can't
                        // carry another request without it.
                        body_sent = true;
                        ex->no_reuse = true;
                    }
                    got_head = true;
                    break;
                }
            }
            auto read = co_await stream->read_some(ex->conn->space());
            dog->touch();
            if (!read || *read == 0) {
                if (dog->reason()) {
                    ex->fail(dog->reason());
                    co_return dog->reason();
                }
                bool nothing_received = ex->parser.idle();
                if (reused && nothing_received && !out.body_stream_started) {
                    stale = true;
                    break;
                }
                auto ec = !read ? read.error() : std::error_code(http1_errc::partial_message);
                if (read && nothing_received) {
                    ec = net_errc::connection_closed;
                }
                ex->fail(ec);
                co_return ec;
            }
            ex->conn->commit(*read);
        }
        if (got_head) {
            break;
        }
        if (write_error) {
            if (dog->reason()) {
                ex->fail(dog->reason());
                co_return dog->reason();
            }
            stale = reused && !out.body_stream_started;
            last_error = write_error;
        }
        // Drop this connection; retry only a stale pooled one.
        ex->conn->stream->close();
        pool.release(key);
        ex->conn.reset();
        if (!stale) {
            co_return last_error ? last_error : std::error_code(net_errc::connection_closed);
        }
        if (options.trace) {
            options.trace("Pooled connection was closed by the server; retrying on a new one");
        }
    }
    if (!got_head) {
        co_return net_errc::connection_closed;
    }
    // The protocol-independent view of the head.
    ex->status = ex->parser.status();
    ex->reason = std::string(ex->parser.reason());
    ex->version = ex->parser.version();
    ex->fields = ex->parser.fields();
    ex->info = ex->conn->info;
    ex->has_body = ex->parser.body() != h1::body_kind::none;
    if (!ex->has_body && ex->status != 101) {
        // (After a 101 the connection belongs to the new protocol.)
        // No body: finish now, so the connection goes back at once. Any
        // bytes of a following message would make it unreusable.
        std::error_code ec;
        auto ev = ex->parser.parse(ex->conn->pending(), ec);
        if (!ec && ev.kind == h1::event_kind::done) {
            ex->conn->consume(ev.consumed);
            ex->finish_ok();
        }
    }
    co_return std::shared_ptr<exchange>(ex);
}

asio::awaitable<result<response>> client_impl::send(request req) {
    auto self = shared_from_this();
    const auto start = clock::now();
    if (setup_error) {
        co_return setup_error;
    }
    auto parsed = url::parse(req.url);
    if (!parsed) {
        co_return parsed.error();
    }
    if (parsed->scheme != "http" && parsed->scheme != "https") {
        co_return client_errc::unsupported_scheme;
    }
    auto cancel = req.cancel.state();
    if (cancel->cancelled) {
        co_return net_errc::cancelled;
    }
    auto dog = std::make_shared<net::watchdog>(executor);
    auto total = req.timeout.value_or(options.total_timeout);
    if (total.count() > 0) {
        dog->set_deadline(start + total);
    }
    if (options.read_timeout.count() > 0) {
        dog->set_inactivity_timeout(options.read_timeout);
    }
    cancel->hook = [weak = std::weak_ptr<net::watchdog>(dog)] {
        if (auto d = weak.lock()) {
            d->cancel();
        }
    };

    outgoing out{req.method, *parsed, std::move(req.headers), std::move(req.body),
                 std::move(req.body_stream)};
    out.kind = req.kind;
    int redirects = 0;
    std::size_t connects_total = 0;
    double redirect_time = 0;

    for (;;) {
        const bool absolute_form = proxy.type == proxy_config::kind::http && !out.target.is_tls();
        const std::string key = pool_key_for(out.target, proxy);
        const bool head_request = out.method == "HEAD";
        auto fields = build_fields(*this, out, absolute_form);
        // A browser profile asks for compressed bodies: decode them, as the
        // browser does (unless the user set Accept-Encoding and so takes
        // the bytes as they come).
        const bool decode_body =
            options.decompress ||
            (options.profile && !out.user_headers.contains("Accept-Encoding") &&
             fields.contains("Accept-Encoding"));
        std::string head;
        if (auto bad = h1::try_serialize_request_head(
                head, out.method, absolute_form ? out.target.to_string() : out.target.target,
                fields)) {
            co_return bad;  // CR/LF/NUL or a bad token in the method or a header
        }
        const bool expect_continue =
            fields.has_token("Expect", "100-continue") && (!out.body.empty() || out.body_stream);
        // HTTP/2 when the origin's connection speaks it (ALPN h2, or prior
        // knowledge); through an HTTP proxy's absolute-form, HTTP/1.1 only.
        const bool h2_possible =
            !absolute_form && options.http_version != http_version_policy::http1_1 &&
            (out.target.is_tls() ||
             options.http_version == http_version_policy::http2_prior_knowledge);
        std::shared_ptr<exchange> ex;
        std::shared_ptr<h2_connection> refused_on;
        for (int attempt = 0; attempt < 3 && !ex; ++attempt) {
            std::shared_ptr<h2_connection> h2c;
            // An HTTP/2 connection of the origin with room for the stream
            // (not the one that refused it). Failing that, wait rather than
            // open another connection while one may soon have room: a
            // connection being opened (it may be HTTP/2), one whose SETTINGS
            // (the stream limit) have not arrived, or all of the origin's
            // connection slots in use (a stream will close).
            while (h2_possible) {
                h2c = find_h2(key, refused_on.get());
                if (h2c) {
                    break;
                }
                auto& open_h2 = h2_connections[key];
                const bool at_limit = open_h2.size() + h2_connecting[key] >=
                                      std::max<std::size_t>(options.max_connections_per_origin, 1);
                if (at_limit && refused_on && refused_on->can_open_stream()) {
                    h2c = refused_on;  // no other connection may open: try it again
                    break;
                }
                const bool settling = std::any_of(open_h2.begin(), open_h2.end(),
                                                  [](const auto& c) { return c->settling(); });
                if (h2_connecting[key] == 0 && !settling && !at_limit) {
                    break;  // open a new connection
                }
                auto waiter = std::make_shared<asio::steady_timer>(executor);
                waiter->expires_at(asio::steady_timer::time_point::max());
                h2_waiters[key].push_back(waiter);
                dog->on_fire([waiter] { waiter->cancel(); });
                std::error_code ignored;
                co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
                dog->on_fire(nullptr);
                if (dog->reason()) {
                    co_return dog->reason();
                }
            }
            const bool h2_reused = h2c != nullptr;
            if (!h2c) {
                if (h2_possible) {
                    ++h2_connecting[key];
                }
                auto sent = co_await exchange_h1(out, key, head, expect_continue, dog, start,
                                                 connects_total, h2_possible ? &h2c : nullptr);
                if (h2_possible) {
                    --h2_connecting[key];
                    wake_all(h2_waiters[key]);
                }
                if (!sent) {
                    co_return sent.error();
                }
                if (*sent) {
                    ex = std::move(*sent);  // served over HTTP/1.1
                    break;
                }
            } else if (options.trace) {
                options.trace("Re-using existing connection #" + std::to_string(h2c->id) +
                              " with host " + out.target.host + " (HTTP/2, multiplexed)");
            }
            auto sent = co_await exchange_h2(h2c, out, fields, dog, start);
            if (!sent) {
                if (h2::is_retryable(sent.error()) && !out.body_stream_started) {
                    if (options.trace) {
                        options.trace("HTTP/2 stream not processed by the server (" +
                                      sent.error().message() + "); retrying");
                    }
                    refused_on = h2c;
                    continue;
                }
                co_return sent.error();
            }
            ex = std::move(*sent);
            if (h2_reused) {
                auto now = seconds_since(start);
                ex->info.reused = true;
                ex->timings.name_lookup = ex->timings.connect = now;
                ex->timings.app_connect = ex->info.tls ? now : 0;
            } else {
                // This request opened the connection: report its setup times.
                ex->timings.name_lookup = h2c->setup_timings.name_lookup;
                ex->timings.connect = h2c->setup_timings.connect;
                ex->timings.app_connect = h2c->setup_timings.app_connect;
            }
        }
        if (!ex) {
            co_return http2_errc::stream_refused;
        }

        // Cookies from every hop.
        if (options.enable_cookies) {
            for (auto value : ex->fields.get_all("Set-Cookie")) {
                jar.store(out.target, value);
            }
        }

        const int status = ex->status;
        if (options.follow_redirects && is_redirect(status)) {
            auto location = ex->fields.get("Location");
            if (location) {
                if (redirects >= options.max_redirects) {
                    ex->fail(client_errc::too_many_redirects);
                    co_return client_errc::too_many_redirects;
                }
                auto next = out.target.resolve(*location);
                if (!next || (next->scheme != "http" && next->scheme != "https")) {
                    ex->fail(client_errc::bad_redirect);
                    co_return client_errc::bad_redirect;
                }
                const bool replayable = !out.body_stream;
                const bool to_get = ((status == 301 || status == 302) && out.method == "POST") ||
                                    (status == 303 && out.method != "GET" && out.method != "HEAD");
                if (to_get || replayable) {
                    // Drain the redirect's body so its connection can be reused.
                    std::uint64_t drained_bytes = 0;
                    while (!ex->complete && drained_bytes <= redirect_drain_limit) {
                        auto piece = co_await ex->next_chunk();
                        if (!piece || piece->empty()) {
                            break;
                        }
                        drained_bytes += piece->size();
                    }
                    redirect_time = seconds_since(start);
                    if (options.trace) {
                        options.trace("Issue another request to this URL: '" + next->to_string() +
                                      "'");
                    }
                    if (to_get) {
                        out.method = "GET";
                        out.body.clear();
                        out.body_stream = nullptr;
                        for (auto name :
                             {"Content-Type", "Content-Length", "Content-Encoding",
                              "Content-Language", "Content-Location", "Transfer-Encoding"}) {
                            out.user_headers.erase(name);
                        }
                    }
                    if (next->origin() != out.target.origin()) {
                        // Never leak credentials to another origin (Fetch 4.4).
                        out.user_headers.erase("Authorization");
                        out.user_headers.erase("Cookie");
                        out.user_headers.erase("Proxy-Authorization");
                    }
                    out.target = *next;
                    ++redirects;
                    // The hop's end disarmed the watchdog; the next hop runs
                    // under the same total deadline and read timeout.
                    ex.reset();
                    if (total.count() > 0) {
                        dog->set_deadline(start + total);
                    }
                    if (options.read_timeout.count() > 0) {
                        dog->set_inactivity_timeout(options.read_timeout);
                    }
                    continue;
                }
                // A streamed body cannot be replayed for 307/308: hand the
                // redirect to the caller instead of following it.
            }
        }

        response res;
        res.status = status;
        res.reason = ex->reason;
        res.version = ex->version;
        res.headers = ex->fields;
        res.effective_url = out.target.to_string();
        res.redirect_count = redirects;
        res.connection = ex->info;
        res.connects = connects_total;
        if (ex->version == 20) {
            // Shown as curl shows an HTTP/2 request: the HTTP/1.1 head's
            // fields under an "HTTP/2" request line (the wire has HPACK).
            head.replace(head.find(" HTTP/1.1\r\n"), 11, " HTTP/2\r\n");
        }
        res.request_head = std::move(head);
        ex->timings.redirect = redirect_time;

        if (decode_body && !head_request && status != 204 && status != 304 && ex->has_body) {
            // Several Content-Encoding lines form one list (RFC 9110 5.3).
            std::string coding;
            for (auto line : ex->fields.get_all("Content-Encoding")) {
                coding += coding.empty() ? "" : ", ";
                coding += line;
            }
            if (!coding.empty() && !iequals(coding, "identity")) {
                auto decoder = content_decoder::create(coding, options.max_decoded_bytes);
                if (!decoder) {
                    ex->fail(decoder.error());
                    co_return decoder.error();
                }
                ex->decoder = std::move(*decoder);
            }
        }
        res.exchange_ = std::move(ex);
        co_return res;
    }
}

}  // namespace detail

// ---------------------------------------------------------------- response ---

response::response() = default;
response::~response() = default;
response::response(response&&) noexcept = default;
response& response::operator=(response&&) noexcept = default;

const corvid::headers& response::trailers() const {
    static const corvid::headers empty;
    return exchange_ ? exchange_->trailers : empty;
}

corvid::timings response::timings() const {
    if (!exchange_) {
        return {};
    }
    auto t = exchange_->timings;
    if (!exchange_->complete) {
        t.total = detail::seconds_since(exchange_->start);
    }
    return t;
}

std::uint64_t response::wire_body_bytes() const {
    return exchange_ ? exchange_->wire_bytes : 0;
}

bool response::body_complete() const {
    return !exchange_ ||
           (exchange_->complete && (!exchange_->decoder || exchange_->decoder_finished));
}

asio::awaitable<result<std::string_view>> response::read_some() {
    if (!exchange_) {
        co_return std::string_view{};
    }
    co_return co_await exchange_->next_chunk();
}

asio::awaitable<result<std::string>> response::read_all(std::uint64_t limit) {
    std::string body;
    if (auto length = headers.get("Content-Length"); length && !exchange_->decoder) {
        std::uint64_t n = 0;
        for (char c : *length) {
            n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (n <= limit && n <= (std::uint64_t{1} << 31)) {
            body.reserve(n);
        }
    }
    for (;;) {
        auto piece = co_await read_some();
        if (!piece) {
            co_return piece.error();
        }
        if (piece->empty()) {
            co_return body;
        }
        if (body.size() + piece->size() > limit) {
            exchange_->fail(http1_errc::body_too_large);
            co_return http1_errc::body_too_large;
        }
        body.append(*piece);
    }
}

asio::awaitable<result<void>> response::discard() {
    for (;;) {
        auto piece = co_await read_some();
        if (!piece) {
            co_return piece.error();
        }
        if (piece->empty()) {
            co_return result<void>{};
        }
    }
}

// ------------------------------------------------------------------ client ---

client::client(asio::any_io_executor executor, client_options options)
    : impl_(std::make_shared<detail::client_impl>(std::move(executor), std::move(options))) {}

client::~client() {
    impl_->pool.close_idle();
    for (auto& [key, list] : std::map(impl_->h2_connections)) {
        for (auto& c : list) {
            c->close(net_errc::cancelled);
        }
    }
}

asio::awaitable<result<response>> client::send(request req) {
    co_return co_await impl_->send(std::move(req));
}

asio::awaitable<result<buffered_response>> client::fetch(request req) {
    auto res = co_await impl_->send(std::move(req));
    if (!res) {
        co_return res.error();
    }
    auto body = co_await res->read_all();
    if (!body) {
        co_return body.error();
    }
    buffered_response out;
    out.status = res->status;
    out.reason = std::move(res->reason);
    out.version = res->version;
    out.headers = std::move(res->headers);
    out.trailers = res->trailers();
    out.body = std::move(*body);
    out.effective_url = std::move(res->effective_url);
    out.redirect_count = res->redirect_count;
    out.connection = std::move(res->connection);
    out.timings = res->timings();
    out.connects = res->connects;
    out.request_head = std::move(res->request_head);
    co_return out;
}

cookie_jar& client::cookies() noexcept {
    return impl_->jar;
}
const client_options& client::options() const noexcept {
    return impl_->options;
}
std::size_t client::total_connects() const noexcept {
    return impl_->connects;
}
std::size_t client::idle_connections() const noexcept {
    std::size_t n = impl_->pool.idle_count();
    for (const auto& [key, list] : impl_->h2_connections) {
        for (const auto& c : list) {
            n += c->idle() ? 1 : 0;  // an HTTP/2 connection without streams
        }
    }
    return n;
}
result<void> client::set_profile(std::shared_ptr<const corvid::profile> browser) {
    tls::client_config config =
        impl_->tls_context ? impl_->tls_context->config() : tls::client_config{};
    config.verify_peer = impl_->options.tls.verify_peer;
    config.ca_file = impl_->options.tls.ca_file;
    config.session_resumption = impl_->options.tls.session_resumption;
    config.profile.reset();
    if (browser) {
        config.profile = browser->tls;
    }
    auto ctx = tls::client_context::create(config);
    if (!ctx) {
        return ctx.error();
    }
    impl_->tls_context = *ctx;
    impl_->options.profile = std::move(browser);
    close_idle();
    return {};
}

void client::close_idle() {
    impl_->pool.close_idle();
    // HTTP/2 connections without open streams are idle too.
    for (auto& [key, list] : std::map(impl_->h2_connections)) {
        for (auto& c : list) {
            if (c->idle()) {
                c->close(net_errc::cancelled);
            }
        }
    }
}

}  // namespace corvid
