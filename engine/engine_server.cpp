// corvid-server's engine (include/corvid/engine.hpp): workers, routes,
// WebSocket and SSE clients, the HTTP API.
//
// Routes (docs/protocol.md has the wire details):
//   /ws            WebSocket: HTTP/1.1 upgrade, or HTTP/2 extended CONNECT
//   /sse?ch=C      server-sent events (GET), several ch allowed
//   /api/publish   POST {"ch":C,"data":ANY[,"id":S]} with an admin token
//   /metrics       Prometheus text
//   /healthz       "ok"
//
// One worker = one thread, one io_context, one http1_server per listen
// address (SO_REUSEPORT). Everything a connection touches lives on its
// worker; the broker (engine/broker.hpp) is the only thing shared, plus the
// verifier (const), the connection limiter and the counters (one block per
// worker).
//
// Fan-out: the broker delivers each publication once per worker; the worker
// walks its local subscriber list for the channel and hands each subscriber
// the frame of its format with websocket_session::try_send(), which never
// waits: a client whose send queue is over max_queued_bytes is a slow
// consumer and is closed with 1008 (SSE: its stream ends). Subscribing is
// synchronous on the worker (broker subscribe, local list, subok and missed
// messages queued) with no suspension in between, so a subscriber sees every
// publication after its subok's offset exactly once.

#include <algorithm>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <charconv>
#include <fstream>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "corvid/engine.hpp"
#include "engine/auth.hpp"
#include "engine/broker.hpp"
#include "engine/jwt.hpp"
#include "engine/metrics.hpp"
#include "engine/protocol.hpp"
#include "server/http1_server.hpp"
#include "server/limits.hpp"
#include "server/websocket.hpp"
#include "tls/context.hpp"

namespace corvid {

namespace engine {
namespace {

using server::incoming_request;
using server::outgoing_response;

constexpr std::string_view json_subprotocol = "corvid.json";
constexpr std::string_view msgpack_subprotocol = "corvid.msgpack";

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::optional<std::string> slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

error_kind kind_of(protocol_errc e) {
    switch (e) {
        case protocol_errc::malformed:
            return error_kind::malformed;
        case protocol_errc::unknown_op:
            return error_kind::unknown_op;
        case protocol_errc::bad_field:
            return error_kind::bad_field;
        case protocol_errc::bad_channel:
            return error_kind::bad_channel;
        case protocol_errc::too_large:
            return error_kind::too_large;
        case protocol_errc::not_allowed:
            return error_kind::not_allowed;
        default:
            return error_kind::subscription;
    }
}

outgoing_response text_response(int status, std::string body) {
    outgoing_response res;
    res.status = status;
    res.fields.add("Content-Type", "text/plain; charset=utf-8");
    res.fields.add("Cache-Control", "no-store");
    res.body = std::move(body);
    if (!res.body.empty() && res.body.back() != '\n') {
        res.body += '\n';
    }
    return res;
}

// `s` as a JSON string literal, quotes included.
std::string json_quoted(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

// 405 for a route that takes only `allowed` (e.g. "GET").
outgoing_response wrong_method(std::string_view path, std::string_view allowed) {
    auto res = text_response(405, "405: " + std::string(path) + " takes " + std::string(allowed));
    res.fields.add("Allow", std::string(allowed));
    return res;
}

// A JSON error body for the HTTP API: {"code":N,"reason":"..."}.
outgoing_response api_error(int status, int code, std::string_view reason) {
    outgoing_response res;
    res.status = status;
    res.fields.add("Content-Type", "application/json");
    res.fields.add("Cache-Control", "no-store");
    res.body = "{\"code\":" + std::to_string(code) + ",\"reason\":" + json_quoted(reason) + "}";
    return res;
}

// CORS (the Fetch standard): a page on another origin may read /sse and
// call /api/publish. A request authenticated by a header or query token
// carries its credential in the request itself, so "*" is safe; a cookie
// request (already refused when cross-site and not allowed) gets its origin
// echoed with credentials allowed.
void add_cors(outgoing_response& res, const incoming_request& req, bool by_cookie) {
    auto origin = req.fields.get("origin");
    if (!origin) {
        return;
    }
    if (by_cookie) {
        res.fields.add("Access-Control-Allow-Origin", std::string(*origin));
        res.fields.add("Access-Control-Allow-Credentials", "true");
        res.fields.add("Vary", "Origin");
    } else {
        res.fields.add("Access-Control-Allow-Origin", "*");
    }
}

// The answer to a CORS preflight (OPTIONS with Access-Control-Request-Method).
outgoing_response preflight(const incoming_request& req, std::string_view methods) {
    outgoing_response res;
    res.status = 204;
    res.fields.add("Access-Control-Allow-Origin", "*");
    res.fields.add("Access-Control-Allow-Methods", std::string(methods));
    res.fields.add("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID");
    res.fields.add("Access-Control-Max-Age", "600");
    (void)req;
    return res;
}

struct worker;

// A local subscriber: a WebSocket or SSE client on one worker.
class subscriber {
  public:
    virtual ~subscriber() = default;
    /// Hands over one publication (on the worker's thread; never suspends,
    /// never changes the worker's subscriber lists).
    virtual void deliver(const publication& p) = 0;
    /// Starts ending the connection for a shutdown.
    virtual void shut_down() = 0;
};

struct local_entry {
    subscriber* who;
    std::uint64_t start_offset;  // deliver offsets above this only
};

}  // namespace

class server_core;

namespace {

struct worker {
    worker(server_core& owner, std::size_t i) : core(owner), index(i), io(1) {}
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    server_core& core;
    std::size_t index;
    std::unordered_map<std::string, std::vector<local_entry>> local;
    std::unordered_set<subscriber*> clients;
    std::atomic<std::size_t> client_count{0};
    std::uint64_t next_conn = 0;
    bool shutting_down = false;
    worker_counters counters;
    std::thread thread;
    // Destroyed first (declared last): coroutine frames still queued in the
    // io_context are destroyed while the members above are alive.
    asio::io_context io;
    std::vector<std::shared_ptr<server::http1_server>> servers;
    std::optional<asio::steady_timer> sweep_timer;  // worker 0 only

    void add_local(const std::string& ch, subscriber* s, std::uint64_t start) {
        local[ch].push_back({s, start});
    }
    void remove_local(const std::string& ch, subscriber* s) {
        auto it = local.find(ch);
        if (it == local.end()) {
            return;
        }
        auto& v = it->second;
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (v[i].who == s) {
                v[i] = v.back();
                v.pop_back();
                break;
            }
        }
        if (v.empty()) {
            local.erase(it);
        }
    }
    void deliver(std::span<const broker::publication_ptr> batch) {
        for (const auto& p : batch) {
            auto it = local.find(p->channel);
            if (it == local.end()) {
                continue;
            }
            for (const auto& e : it->second) {
                if (p->offset > e.start_offset) {
                    e.who->deliver(*p);
                }
            }
        }
    }
};

}  // namespace

// The shared part of the server and the workers' request handling.
class server_core {
  public:
    explicit server_core(engine_config config) : config_(std::move(config)) {}

    engine_config config_;
    std::optional<jwt_verifier> verifier_;
    auth_settings auth_;
    protocol_limits limits_;
    std::shared_ptr<tls::server_context> tls_;
    std::shared_ptr<server::connection_limiter> limiter_;
    std::unique_ptr<broker> broker_;
    std::vector<std::unique_ptr<worker>> workers_;
    server::websocket_options ws_options_;
    std::vector<std::uint16_t> ports_;

    asio::awaitable<outgoing_response> handle(worker& w, const incoming_request& req);

    std::string metrics_text() const {
        std::vector<const worker_counters*> blocks;
        for (const auto& w : workers_) {
            blocks.push_back(&w->counters);
        }
        std::uint64_t refused = limiter_ ? limiter_->refused() : 0;
        return render_metrics(blocks, broker_ ? broker_->channel_count() : 0, refused);
    }

    // Publishes `op` (kind pub) on its channel; the frames of both formats
    // are built once here.
    result<broker::publication_ptr> publish(worker& w, const client_op& op) {
        auto p = broker_->publish(op.channel, [&](std::uint64_t epoch, std::uint64_t offset) {
            auto pub = std::make_shared<publication>();
            pub->channel = op.channel;
            pub->epoch = epoch;
            pub->offset = offset;
            pub->id = op.id;
            encode_msg(wire_format::json, pub->frames[index(wire_format::json)], op.channel, offset,
                       op.id, op.data);
            encode_msg(wire_format::msgpack, pub->frames[index(wire_format::msgpack)], op.channel,
                       offset, op.id, op.data);
            pub->data_json = op.data.json;
            return pub;
        });
        if (p) {
            worker_counters::add(w.counters.publications);
        }
        return p;
    }

  private:
    result<principal> authenticate_request(worker& w, const incoming_request& req,
                                           outgoing_response& refusal);
    outgoing_response open_websocket(worker& w, const incoming_request& req);
    outgoing_response open_sse(worker& w, const incoming_request& req);
    outgoing_response open_sse_stream(worker& w, const incoming_request& req);
    outgoing_response api_publish(worker& w, const incoming_request& req);
    outgoing_response api_publish_request(worker& w, const incoming_request& req);
};

namespace {

// ---------------------------------------------------------------- WebSocket

class ws_client final : public subscriber {
  public:
    ws_client(worker& w, std::shared_ptr<server::websocket_session> s, principal who)
        : w_(w),
          session_(std::move(s)),
          who_(std::move(who)),
          format_(session_->subprotocol() == msgpack_subprotocol ? wire_format::msgpack
                                                                 : wire_format::json),
          type_(format_ == wire_format::msgpack ? ws::message_type::binary
                                                : ws::message_type::text),
          id_(std::to_string(w.index) + "-" + std::to_string(++w.next_conn)) {}

    void deliver(const publication& p) override { send(p.frames[index(format_)]); }

    void shut_down() override {
        (void)session_->close(ws::close_code::going_away, "server shutting down");
    }

    asio::awaitable<void> run() {
        auto& c = w_.counters;
        worker_counters::add(c.ws_open);
        worker_counters::add(c.ws_total);
        w_.clients.insert(this);
        w_.client_count.fetch_add(1, std::memory_order_relaxed);
        if (w_.shutting_down) {
            shut_down();
        }
        std::string frame;
        encode_ready(format_, frame, id_);
        send(frame);
        for (;;) {
            auto m = co_await session_->receive();
            if (!m) {
                if (m.error() != make_error_code(websocket_errc::closed) &&
                    m.error().category() == websocket_category()) {
                    c.error(error_kind::ws_protocol);
                }
                break;
            }
            worker_counters::add(c.messages_in);
            worker_counters::add(c.bytes_in, m->data.size());
            on_frame(m->data);
        }
        for (const auto& ch : channels_) {
            w_.remove_local(ch, this);
            w_.core.broker_->unsubscribe(w_.index, ch);
        }
        worker_counters::sub(c.subscriptions, channels_.size());
        channels_.clear();
        w_.clients.erase(this);
        w_.client_count.fetch_sub(1, std::memory_order_relaxed);
        worker_counters::sub(c.ws_open);
    }

  private:
    void send(std::string_view frame) {
        if (slow_) {
            return;
        }
        auto ec = session_->try_send(type_, frame);
        if (!ec) {
            worker_counters::add(w_.counters.messages_out);
            worker_counters::add(w_.counters.bytes_out, frame.size());
            return;
        }
        if (ec == make_error_code(websocket_errc::queue_full)) {
            slow_ = true;
            w_.counters.error(error_kind::slow_consumer);
            (void)session_->close(ws::close_code::policy_violation,
                                  "slow consumer: send queue over max-queued-bytes");
        }
    }

    void reply_error(protocol_errc code, std::string_view reason) {
        w_.counters.error(kind_of(code));
        std::string frame;
        encode_err(format_, frame, code, reason);
        send(frame);
    }

    void on_frame(std::string_view data) {
        std::string_view reason;
        auto op = decode_client_op(format_, data, w_.core.limits_, reason);
        if (!op) {
            auto code = static_cast<protocol_errc>(op.error().value());
            if (op.error().category() != protocol_category()) {
                code = protocol_errc::internal;
            }
            reply_error(code, reason.empty() ? op.error().message() : reason);
            return;
        }
        std::string frame;
        switch (op->kind) {
            case op_kind::ping:
                encode_pong(format_, frame);
                send(frame);
                return;
            case op_kind::sub:
                subscribe(*op);
                return;
            case op_kind::unsub:
                if (!channels_.erase(op->channel)) {
                    reply_error(protocol_errc::not_subscribed,
                                "not subscribed to this channel: nothing to unsubscribe");
                    return;
                }
                w_.remove_local(op->channel, this);
                w_.core.broker_->unsubscribe(w_.index, op->channel);
                worker_counters::sub(w_.counters.subscriptions);
                return;
            case op_kind::pub: {
                if (!channel_allowed(who_.claims.publish, op->channel)) {
                    reply_error(protocol_errc::not_allowed,
                                "the token's publish claim does not cover this channel");
                    return;
                }
                auto p = w_.core.publish(w_, *op);
                if (!p) {
                    reply_error(protocol_errc::internal,
                                "the server holds too many channels; try again later");
                }
                return;
            }
        }
    }

    void subscribe(const client_op& op) {
        if (!channel_allowed(who_.claims.channels, op.channel)) {
            reply_error(protocol_errc::not_allowed,
                        "the token's channels claim does not cover this channel");
            return;
        }
        if (channels_.contains(op.channel)) {
            reply_error(protocol_errc::already_subscribed, "already subscribed to this channel");
            return;
        }
        if (channels_.size() >= w_.core.config_.max_subscriptions) {
            reply_error(protocol_errc::too_many_subscriptions,
                        "too many subscriptions on this connection: unsubscribe first");
            return;
        }
        auto start = w_.core.broker_->subscribe(w_.index, op.channel, op.since);
        if (!start) {
            reply_error(protocol_errc::internal,
                        "the server holds too many channels; try again later");
            return;
        }
        channels_.insert(op.channel);
        w_.add_local(op.channel, this, start->offset);
        worker_counters::add(w_.counters.subscriptions);
        std::string frame;
        encode_subok(format_, frame, op.channel, {start->epoch, start->offset},
                     op.since ? std::optional<bool>(start->recovered) : std::nullopt);
        send(frame);
        for (const auto& p : start->missed) {
            send(p->frames[index(format_)]);
        }
    }

    worker& w_;
    std::shared_ptr<server::websocket_session> session_;
    principal who_;
    wire_format format_;
    ws::message_type type_;
    std::string id_;
    std::unordered_set<std::string> channels_;
    bool slow_ = false;
};

// ---------------------------------------------------------------- SSE

// One SSE stream. Events are appended to `pending_` by deliver() and written
// by the stream's coroutine; a watcher coroutine notices the client leaving.
class sse_client final : public subscriber {
  public:
    sse_client(worker& w, principal who, std::vector<std::string> channels,
               std::optional<std::pair<std::uint64_t, std::uint64_t>> last_event)
        : w_(w),
          who_(std::move(who)),
          channels_(std::move(channels)),
          last_event_(last_event),
          wake_(w.io.get_executor()),
          id_(std::to_string(w.index) + "-" + std::to_string(++w.next_conn)) {
        wake_.expires_at(asio::steady_timer::time_point::max());
    }

    void deliver(const publication& p) override {
        if (ended_) {
            return;
        }
        if (pending_.size() > w_.core.config_.max_queued_bytes) {
            // A slow consumer: drop it now, even in the middle of a write
            // the client is not reading.
            ended_ = true;
            abandoned_ = true;
            w_.counters.error(error_kind::slow_consumer);
            if (out_ != nullptr) {
                out_->close();
            }
            wake_.cancel();
            return;
        }
        append_event(p);
        wake_.cancel();
    }

    void shut_down() override {
        ended_ = true;
        wake_.cancel();
    }

    asio::awaitable<void> run(server::byte_stream& out) {
        auto& c = w_.counters;
        worker_counters::add(c.sse_open);
        worker_counters::add(c.sse_total);
        w_.clients.insert(this);
        w_.client_count.fetch_add(1, std::memory_order_relaxed);
        ended_ = w_.shutting_down;
        out_ = &out;

        // The client's departure: read_some() completes only then. The
        // watcher's read is cancelled (per-operation cancellation) when the
        // stream ends first, so the body can still end properly.
        auto gone = std::make_shared<bool>(false);
        auto watcher_done = std::make_shared<asio::steady_timer>(w_.io.get_executor());
        watcher_done->expires_at(asio::steady_timer::time_point::max());
        auto watching = std::make_shared<bool>(true);
        auto stopping = std::make_shared<bool>(false);
        asio::cancellation_signal stop_watching;
        asio::co_spawn(
            w_.io,
            [&out, gone, watcher_done, watching, stopping, this]() -> asio::awaitable<void> {
                char buf[512];
                for (;;) {
                    auto n = co_await out.read_some(std::span(buf, sizeof buf));
                    if (!n || *n == 0) {
                        // Unless cancelled by the stream's end, the client left.
                        *gone = !*stopping;
                        break;
                    }
                }
                // Nothing below suspends: once `watching` is false the
                // watcher no longer touches the client.
                if (*gone) {
                    wake_.cancel();
                }
                *watching = false;
                watcher_done->cancel();
            },
            asio::bind_cancellation_slot(stop_watching.slot(), asio::detached));

        // The opening: retry, ready, one subok per channel, recovered events.
        pending_ = "retry: 1000\n\n";
        std::string json;
        encode_ready(wire_format::json, json, id_);
        pending_ += "event: ready\ndata: " + json + "\n\n";
        for (const auto& ch : channels_) {
            std::optional<stream_position> since;
            if (last_event_) {
                // One Last-Event-ID names one channel's position: the channel
                // whose epoch it carries (epochs are random per channel).
                since = stream_position{last_event_->first, last_event_->second};
            }
            auto start = w_.core.broker_->subscribe(w_.index, ch, since);
            if (!start) {
                continue;
            }
            subscribed_.push_back(ch);
            w_.add_local(ch, this, start->offset);
            worker_counters::add(c.subscriptions);
            const bool mine = since && (channels_.size() == 1 || since->epoch == start->epoch);
            json.clear();
            encode_subok(wire_format::json, json, ch, {start->epoch, start->offset},
                         mine ? std::optional<bool>(start->recovered) : std::nullopt);
            pending_ += "event: subok\ndata: " + json + "\n\n";
            for (const auto& p : start->missed) {
                append_event(*p);
            }
        }

        std::error_code ignored;
        while (!*gone) {
            if (pending_.empty() && !ended_) {
                wake_.expires_after(w_.core.config_.sse_keepalive);
                co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
                if (pending_.empty() && !ended_ && !*gone) {
                    pending_ = ": keepalive\n\n";
                }
                continue;
            }
            if (pending_.empty() || abandoned_) {
                break;  // ended and everything written, or dropped
            }
            writing_.swap(pending_);
            pending_.clear();
            std::array<asio::const_buffer, 1> b{asio::buffer(writing_)};
            auto written = co_await out.write(b);
            if (!written) {
                break;
            }
            worker_counters::add(c.bytes_out, writing_.size());
            writing_.clear();
        }

        for (const auto& ch : subscribed_) {
            w_.remove_local(ch, this);
            w_.core.broker_->unsubscribe(w_.index, ch);
        }
        worker_counters::sub(c.subscriptions, subscribed_.size());
        w_.clients.erase(this);
        w_.client_count.fetch_sub(1, std::memory_order_relaxed);
        worker_counters::sub(c.sse_open);
        out_ = nullptr;
        if (*watching) {
            // The client is still there (shutdown, slow consumer): stop the
            // watcher's read, then return so the body ends (last chunk or
            // END_STREAM); a dropped slow consumer was already closed.
            *stopping = true;
            stop_watching.emit(asio::cancellation_type::terminal);
            co_await watcher_done->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
    }

  private:
    void append_event(const publication& p) {
        pending_ += "event: msg\nid: ";
        pending_ += std::to_string(p.epoch);
        pending_ += ':';
        pending_ += std::to_string(p.offset);
        pending_ += "\ndata: ";
        pending_ += p.frames[index(wire_format::json)];
        pending_ += "\n\n";
        worker_counters::add(w_.counters.messages_out);
    }

    worker& w_;
    principal who_;
    std::vector<std::string> channels_;
    std::vector<std::string> subscribed_;
    std::optional<std::pair<std::uint64_t, std::uint64_t>> last_event_;
    asio::steady_timer wake_;
    std::string id_;
    std::string pending_;
    std::string writing_;
    server::byte_stream* out_ = nullptr;  // while run() runs
    bool ended_ = false;
    bool abandoned_ = false;
};

// "EPOCH:OFFSET" -> the pair; nullopt when malformed.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_event_id(std::string_view s) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    std::uint64_t e = 0;
    std::uint64_t o = 0;
    auto a = s.substr(0, colon);
    auto b = s.substr(colon + 1);
    auto [pa, ea] = std::from_chars(a.data(), a.data() + a.size(), e);
    auto [pb, eb] = std::from_chars(b.data(), b.data() + b.size(), o);
    if (ea != std::errc{} || eb != std::errc{} || pa != a.data() + a.size() ||
        pb != b.data() + b.size() || a.empty() || b.empty()) {
        return std::nullopt;
    }
    return std::pair{e, o};
}

}  // namespace

// ---------------------------------------------------------------- routes

result<principal> server_core::authenticate_request(worker& w, const incoming_request& req,
                                                    outgoing_response& refusal) {
    auto p = authenticate(req.fields, req.target, auth_, unix_now());
    if (!p) {
        w.counters.error(error_kind::auth);
        std::string reason = p.error() == std::errc::permission_denied
                                 ? "no token: send Authorization: Bearer <JWT>, the "
                                   "access_token cookie or ?token=<JWT>"
                                 : "invalid token: " + p.error().message();
        refusal = text_response(401, "401 Unauthorized: " + reason);
        refusal.fields.add("WWW-Authenticate",
                           p.error() == std::errc::permission_denied
                               ? std::string("Bearer realm=\"corvid\"")
                               : "Bearer realm=\"corvid\", error=\"invalid_token\", "
                                 "error_description=" +
                                     json_quoted(p.error().message()));
        return p.error();
    }
    if (cross_site_cookie(*p, req.fields, config_.allowed_origins)) {
        w.counters.error(error_kind::forbidden);
        refusal = text_response(403,
                                "403 Forbidden: a cookie-authenticated request from another "
                                "origin; add the origin with --allowed-origin or send the "
                                "token in the Authorization header or ?token=");
        return std::make_error_code(std::errc::permission_denied);
    }
    return p;
}

outgoing_response server_core::open_websocket(worker& w, const incoming_request& req) {
    outgoing_response refusal;
    auto who = authenticate_request(w, req, refusal);
    if (!who) {
        return refusal;
    }
    return server::accept_websocket(
        req, ws_options_,
        [&w, p = std::move(*who)](
            std::shared_ptr<server::websocket_session> s) mutable -> asio::awaitable<void> {
            ws_client client(w, std::move(s), std::move(p));
            co_await client.run();
        });
}

outgoing_response server_core::open_sse(worker& w, const incoming_request& req) {
    if (req.method == "OPTIONS") {
        return preflight(req, "GET");
    }
    auto res = open_sse_stream(w, req);
    if (res.status != 200 && !res.fields.contains("Access-Control-Allow-Origin")) {
        add_cors(res, req, false);  // so a page can read why it was refused
    }
    return res;
}

outgoing_response server_core::open_sse_stream(worker& w, const incoming_request& req) {
    if (req.method != "GET") {
        return wrong_method("/sse", "GET");
    }
    outgoing_response refusal;
    auto who = authenticate_request(w, req, refusal);
    if (!who) {
        return refusal;
    }
    auto channels = query_values(req.target, "ch");
    if (channels.empty()) {
        return text_response(400, "400: name the channels with ?ch=NAME (repeatable)");
    }
    if (channels.size() > config_.max_subscriptions) {
        return text_response(400, "400: more channels than max-subscriptions");
    }
    std::sort(channels.begin(), channels.end());
    channels.erase(std::unique(channels.begin(), channels.end()), channels.end());
    for (const auto& ch : channels) {
        if (!valid_channel_name(ch, limits_)) {
            w.counters.error(error_kind::bad_channel);
            return text_response(400, "400: invalid channel name '" + ch + "'");
        }
        if (!channel_allowed(who->claims.channels, ch)) {
            w.counters.error(error_kind::not_allowed);
            return text_response(403,
                                 "403: the token's channels claim does not cover '" + ch + "'");
        }
    }
    std::optional<std::pair<std::uint64_t, std::uint64_t>> last;
    if (auto id = req.fields.get("last-event-id")) {
        last = parse_event_id(*id);
    } else if (auto q = query_values(req.target, "lastEventId"); !q.empty()) {
        last = parse_event_id(q.front());
    }
    outgoing_response res;
    add_cors(res, req, who->source == token_source::cookie);
    res.fields.add("Content-Type", "text/event-stream");
    res.fields.add("Cache-Control", "no-store");
    res.fields.add("X-Accel-Buffering", "no");
    res.stream_body = [&w, p = std::move(*who), channels = std::move(channels),
                       last](server::byte_stream& out) mutable -> asio::awaitable<void> {
        sse_client client(w, std::move(p), std::move(channels), last);
        co_await client.run(out);
    };
    return res;
}

outgoing_response server_core::api_publish(worker& w, const incoming_request& req) {
    if (req.method == "OPTIONS") {
        return preflight(req, "POST");
    }
    auto res = api_publish_request(w, req);
    add_cors(res, req, false);
    return res;
}

outgoing_response server_core::api_publish_request(worker& w, const incoming_request& req) {
    if (req.method != "POST") {
        return wrong_method("/api/publish", "POST");
    }
    outgoing_response refusal;
    auto who = authenticate_request(w, req, refusal);
    if (!who) {
        return refusal;
    }
    if (!who->claims.admin) {
        w.counters.error(error_kind::forbidden);
        return api_error(403, static_cast<int>(protocol_errc::not_allowed),
                         "the HTTP API needs a token with \"admin\": true");
    }
    worker_counters::add(w.counters.messages_in);
    worker_counters::add(w.counters.bytes_in, req.body.size());
    std::string_view reason;
    auto op = decode_publish_request(req.body, limits_, reason);
    if (!op) {
        auto code = static_cast<protocol_errc>(op.error().value());
        w.counters.error(kind_of(code));
        return api_error(code == protocol_errc::too_large ? 413 : 400, op.error().value(),
                         reason.empty() ? op.error().message() : reason);
    }
    auto p = publish(w, *op);
    if (!p) {
        return api_error(503, static_cast<int>(protocol_errc::internal),
                         "the server holds too many channels; try again later");
    }
    outgoing_response res;
    res.fields.add("Content-Type", "application/json");
    res.fields.add("Cache-Control", "no-store");
    res.body = "{\"ch\":" + json_quoted((*p)->channel) +
               ",\"epoch\":" + std::to_string((*p)->epoch) +
               ",\"offset\":" + std::to_string((*p)->offset) + "}";
    return res;
}

asio::awaitable<outgoing_response> server_core::handle(worker& w, const incoming_request& req) {
    std::string_view path = target_path(req.target);
    if (path == "/ws") {
        co_return open_websocket(w, req);
    }
    if (path == "/sse") {
        co_return open_sse(w, req);
    }
    if (path == "/api/publish") {
        co_return api_publish(w, req);
    }
    if ((path == "/metrics" || path == "/healthz") && req.method != "GET" && req.method != "HEAD") {
        co_return wrong_method(path, "GET, HEAD");
    }
    if (path == "/metrics") {
        auto res = text_response(200, metrics_text());
        res.fields.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        co_return res;
    }
    if (path == "/healthz") {
        co_return text_response(w.shutting_down ? 503 : 200,
                                w.shutting_down ? "shutting down" : "ok");
    }
    co_return text_response(404,
                            "404: corvid-server serves /ws, /sse, /api/publish, /metrics and "
                            "/healthz");
}

}  // namespace engine

// ---------------------------------------------------------------- engine_server

class engine_server::impl {
  public:
    explicit impl(engine_config config) : core(std::move(config)) {}
    engine::server_core core;
    bool started = false;
    bool stopped = false;
};

engine_server::engine_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

engine_server::~engine_server() {
    shutdown(std::chrono::milliseconds(0));
}

namespace {

// "host:port" or "[v6]:port".
bool split_host_port(const std::string& s, std::string& host, std::uint16_t& port) {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) {
        return false;
    }
    host = s.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    unsigned long v = 0;
    auto digits = std::string_view(s).substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty() || v > 65535 ||
        host.empty()) {
        return false;
    }
    port = static_cast<std::uint16_t>(v);
    return true;
}

// Binds (and releases) a socket without SO_REUSEPORT: EADDRINUSE when
// anything listens there already.
std::error_code probe_port(const std::string& host, std::uint16_t port) {
    asio::io_context io;
    std::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) {
        return ec;
    }
    asio::ip::tcp::acceptor probe(io);
    asio::ip::tcp::endpoint ep(address, port);
    probe.open(ep.protocol(), ec);
    if (!ec) {
        probe.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        probe.bind(ep, ec);
    }
    return ec;
}

}  // namespace

result<std::unique_ptr<engine_server>> engine_server::create(const engine_config& config,
                                                             std::string* detail) {
    auto fail = [&](std::error_code ec, std::string why) -> result<std::unique_ptr<engine_server>> {
        if (detail != nullptr) {
            *detail = std::move(why);
        }
        return ec;
    };
    auto p = std::make_unique<impl>(config);
    auto& core = p->core;
    const auto& c = core.config_;

    for (const auto& l : c.listen) {
        std::string host;
        std::uint16_t port = 0;
        if (!split_host_port(l, host, port)) {
            return fail(std::make_error_code(std::errc::invalid_argument),
                        "--listen '" + l + "': expected HOST:PORT, e.g. 127.0.0.1:8080");
        }
    }
    int key_sources = int(!c.jwt_secret.empty()) + int(!c.jwt_public_key_file.empty()) +
                      int(!c.jwks_file.empty());
    if (key_sources > 1) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "give one of --jwt-secret, --jwt-public-key and --jwks, not several");
    }
    if (key_sources == 0 && !c.allow_anonymous) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "no JWT key: give --jwt-secret (or CORVID_JWT_SECRET), --jwt-public-key "
                    "or --jwks, or --allow-anonymous to run without authentication");
    }
    engine::jwt_options jo;
    jo.leeway_seconds = c.jwt_leeway.count();
    jo.issuer = c.jwt_issuer;
    jo.audiences = c.jwt_audiences;
    if (!c.jwt_secret.empty()) {
        auto v = engine::jwt_verifier::from_secret(c.jwt_secret, jo);
        if (!v) {
            return fail(v.error(), "--jwt-secret: " + v.error().message());
        }
        core.verifier_ = std::move(*v);
    } else if (!c.jwt_public_key_file.empty() || !c.jwks_file.empty()) {
        const bool pem = !c.jwt_public_key_file.empty();
        const auto& file = pem ? c.jwt_public_key_file : c.jwks_file;
        auto text = engine::slurp(file);
        if (!text) {
            return fail(std::make_error_code(std::errc::no_such_file_or_directory),
                        "cannot read " + file);
        }
        std::string why;
        auto v = pem ? engine::jwt_verifier::from_public_key_pem(*text, jo, &why)
                     : engine::jwt_verifier::from_jwks(*text, jo, &why);
        if (!v) {
            return fail(v.error(), file + ": " + v.error().message() +
                                       (why.empty() ? std::string() : " (" + why + ")"));
        }
        core.verifier_ = std::move(*v);
    }
    core.auth_.verifier = core.verifier_ ? &*core.verifier_ : nullptr;
    core.auth_.allow_anonymous = c.allow_anonymous;
    core.auth_.anonymous_channels = c.anonymous_channels;
    core.auth_.anonymous_publish = c.anonymous_publish;

    if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "give both --tls-cert and --tls-key, or neither");
    }
    if (!c.tls_cert_file.empty()) {
        auto t =
            tls::server_context::from_files(c.tls_cert_file, c.tls_key_file, {"h2", "http/1.1"});
        if (!t) {
            return fail(t.error(), "--tls-cert/--tls-key: " + t.error().message());
        }
        core.tls_ = std::move(*t);
    }
    if (c.max_message_bytes < 128) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "--max-message-bytes must be at least 128");
    }
    core.limits_.max_data_bytes = c.max_data_bytes;
    core.ws_options_.subprotocols = {std::string(engine::json_subprotocol),
                                     std::string(engine::msgpack_subprotocol)};
    core.ws_options_.permessage_deflate = c.ws_deflate;
    core.ws_options_.limits = ws::codec_limits{c.max_message_bytes, c.max_message_bytes};
    core.ws_options_.max_queued_bytes = c.max_queued_bytes;
    core.ws_options_.ping_interval = c.ws_ping_interval;
    core.ws_options_.idle_timeout = c.ws_idle_timeout;
    core.ws_options_.read_buffer_size = std::min<std::size_t>(64 * 1024, c.max_message_bytes + 14);
    core.limiter_ =
        std::make_shared<server::connection_limiter>(c.max_connections, c.max_connections_per_ip);
    return std::unique_ptr<engine_server>(new engine_server(std::move(p)));
}

result<void> engine_server::start() {
    auto& core = impl_->core;
    if (impl_->started || !core.workers_.empty()) {
        return std::make_error_code(std::errc::operation_in_progress);
    }
    const auto& c = core.config_;
    std::size_t n =
        c.workers != 0 ? c.workers : std::max<std::size_t>(1, std::thread::hardware_concurrency());
    engine::broker_options bo;
    bo.history_size = c.history_size;
    bo.history_ttl = c.history_ttl;
    core.broker_ = std::make_unique<engine::broker>(n, bo);
    for (std::size_t i = 0; i < n; ++i) {
        core.workers_.push_back(std::make_unique<engine::worker>(core, i));
        auto& w = *core.workers_.back();
        core.broker_->attach(
            i, w.io.get_executor(),
            [&w](std::span<const engine::broker::publication_ptr> batch) { w.deliver(batch); });
    }
    server::server_options so;
    so.limits.max_header_bytes = c.max_header_bytes;
    so.max_request_body = c.max_body_bytes;
    so.idle_timeout = c.http_idle_timeout;
    so.enable_connect_protocol = true;
    so.reuse_port = true;
    so.limiter = core.limiter_;
    core.ports_.assign(c.listen.size(), 0);
    for (std::size_t a = 0; a < c.listen.size(); ++a) {
        std::string host;
        std::uint16_t port = 0;
        (void)split_host_port(c.listen[a], host, port);
        if (port != 0) {
            // SO_REUSEPORT would let this process share a port another
            // process (of the same user) listens on, splitting clients
            // between two brokers. A bind without it finds such a listener.
            auto busy = probe_port(host, port);
            if (busy) {
                return busy;
            }
        }
        for (auto& wp : core.workers_) {
            auto& w = *wp;
            auto srv = server::http1_server::create(
                w.io.get_executor(),
                [&core, &w](const server::incoming_request& req) { return core.handle(w, req); },
                core.tls_, so);
            // Port 0: the first worker's bind picks the port, the others share it.
            auto ok = srv->listen(host, core.ports_[a] != 0 ? core.ports_[a] : port);
            if (!ok) {
                for (auto& other : core.workers_) {
                    for (auto& s : other->servers) {
                        s->stop();
                    }
                }
                return ok.error();
            }
            core.ports_[a] = srv->port();
            w.servers.push_back(std::move(srv));
        }
    }
    // Worker 0 sweeps idle channels out of the broker.
    auto& w0 = *core.workers_.front();
    w0.sweep_timer.emplace(w0.io);
    asio::co_spawn(
        w0.io,
        [&core, &w0]() -> asio::awaitable<void> {
            std::error_code ec;
            while (!w0.shutting_down) {
                w0.sweep_timer->expires_after(std::chrono::seconds(5));
                co_await w0.sweep_timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
                core.broker_->sweep(std::chrono::steady_clock::now());
            }
        },
        asio::detached);
    for (auto& wp : core.workers_) {
        auto* w = wp.get();
        w->thread = std::thread([w] { w->io.run(); });
    }
    impl_->started = true;
    return {};
}

void engine_server::shutdown(std::chrono::milliseconds grace) {
    auto& core = impl_->core;
    if (impl_->stopped || !impl_->started) {
        impl_->stopped = true;
        return;
    }
    impl_->stopped = true;
    for (auto& wp : core.workers_) {
        auto* w = wp.get();
        asio::post(w->io, [w] {
            w->shutting_down = true;
            if (w->sweep_timer) {
                w->sweep_timer->cancel();
            }
            for (auto& s : w->servers) {
                s->stop_accepting();
            }
            // shut_down() does not remove clients; copy anyway (run() may).
            std::vector<engine::subscriber*> clients(w->clients.begin(), w->clients.end());
            for (auto* c : clients) {
                c->shut_down();
            }
        });
    }
    auto deadline = std::chrono::steady_clock::now() + grace;
    for (;;) {
        std::size_t open = 0;
        for (auto& wp : core.workers_) {
            open += wp->client_count.load(std::memory_order_relaxed);
        }
        if (open == 0 || std::chrono::steady_clock::now() >= deadline) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (auto& wp : core.workers_) {
        auto* w = wp.get();
        asio::post(w->io, [w] {
            for (auto& s : w->servers) {
                s->stop();
            }
        });
    }
    // Connections closed, the clients' coroutines finish (they unsubscribe
    // and count themselves out); then the workers stop. Frames still queued
    // are destroyed with their io_context.
    auto hard = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (auto& wp : core.workers_) {
        while (wp->client_count.load(std::memory_order_relaxed) != 0 &&
               std::chrono::steady_clock::now() < hard) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        // One more round trip through the worker: what stop() queued has run.
        std::atomic<bool> flushed{false};
        asio::post(wp->io, [&flushed] { flushed = true; });
        while (!flushed && !wp->io.stopped() && std::chrono::steady_clock::now() < hard) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        wp->io.stop();
    }
    for (auto& wp : core.workers_) {
        if (wp->thread.joinable()) {
            wp->thread.join();
        }
    }
}

std::vector<std::uint16_t> engine_server::ports() const {
    return impl_->core.ports_;
}

std::size_t engine_server::workers() const noexcept {
    return impl_->core.workers_.size();
}

std::string engine_server::metrics_text() const {
    return impl_->core.metrics_text();
}

}  // namespace corvid
