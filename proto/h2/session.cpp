#include "proto/h2/session.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <new>
#include <unordered_map>

namespace corvid::h2 {

namespace {

constexpr std::size_t frame_header_size = 9;
constexpr std::int32_t max_window = 0x7fffffff;
constexpr std::uint32_t default_connection_window = 65535;

std::error_code fatal_from_wire(std::uint32_t code) {
    switch (static_cast<wire_error>(code)) {
        case wire_error::flow_control_error:
            return http2_errc::flow_control_error;
        case wire_error::frame_size_error:
            return http2_errc::frame_size_error;
        case wire_error::compression_error:
            return http2_errc::compression_error;
        case wire_error::enhance_your_calm:
            return http2_errc::flooded;
        case wire_error::internal_error:
            return http2_errc::internal_error;
        default:
            return http2_errc::protocol_error;
    }
}

// A fatal return of nghttp2_session_mem_recv/mem_send: the corvid error and
// the GOAWAY code that goes out with it.
std::pair<std::error_code, wire_error> fatal_from_lib(long rv) {
    switch (rv) {
        case NGHTTP2_ERR_FLOODED:
        case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
            return {http2_errc::flooded, wire_error::enhance_your_calm};
        case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
            return {http2_errc::bad_preface, wire_error::protocol_error};
        default:
            return {http2_errc::internal_error, wire_error::internal_error};
    }
}

bool equals_ascii_lower(std::string_view lower, std::string_view s) {
    return iequals(lower, s);
}

bool is_connection_specific(std::string_view lower_name) {
    return lower_name == "connection" || lower_name == "keep-alive" ||
           lower_name == "proxy-connection" || lower_name == "transfer-encoding" ||
           lower_name == "upgrade";
}

}  // namespace

namespace detail {

struct send_chunk {
    std::string bytes;
    bool owned = false;  // moved in by the caller: never appended to
};

struct stream_state {
    std::int32_t id = 0;

    // Sending: body bytes not yet serialised, front chunk from front_offset.
    std::deque<send_chunk> chunks;
    std::size_t front_offset = 0;
    std::size_t queued = 0;
    bool can_send = false;    // a data provider is attached and the end not queued
    bool end_queued = false;  // the body ends after the queued bytes
    bool head_sent = false;   // server: the final response head is queued
    headers trailers;         // filtered, lower-cased; sent after the last DATA
    bool deferred = false;    // the read callback returned NGHTTP2_ERR_DEFERRED
    bool want_writable = false;

    // Receiving.
    bool announced = false;  // the application knows the stream
    bool head_done = false;  // final response head / request head received
    bool reset_by_peer = false;
    bool reset_sent = false;
    wire_error local_reset_code = wire_error::no_error;
    std::error_code local_error;
    std::size_t rx_header_bytes = 0;
    int status = 0;
    request_head rx;  // client: only rx.fields is used

    void reset_for_reuse() {
        id = 0;
        if (chunks.size() == 1 && !chunks.front().owned) {
            chunks.front().bytes.clear();  // keep one copy buffer's capacity
        } else {
            chunks.clear();
        }
        front_offset = 0;
        queued = 0;
        can_send = end_queued = head_sent = deferred = want_writable = false;
        trailers.clear();
        announced = head_done = reset_by_peer = reset_sent = false;
        local_reset_code = wire_error::no_error;
        local_error = {};
        rx_header_bytes = 0;
        status = 0;
        rx = request_head{};
    }
};

class session_impl {
  public:
    explicit session_impl(bool server) : server_(server) {}
    ~session_impl() {
        if (session_ != nullptr) {
            nghttp2_session_del(session_);
        }
    }
    session_impl(const session_impl&) = delete;
    session_impl& operator=(const session_impl&) = delete;

    std::error_code init(const std::vector<setting>& settings, std::uint32_t window_increment,
                         const session_limits& limits);

    // --- input -------------------------------------------------------------
    std::error_code receive(const std::uint8_t* data, std::size_t size);
    std::optional<event> next_event();

    // --- output ------------------------------------------------------------
    std::string_view pending_output();
    void consume_output(std::size_t n) noexcept;

    // --- submissions -------------------------------------------------------
    result<std::int32_t> submit_request(const request_head& head, bool end_stream,
                                        const std::optional<priority_spec>& priority);
    std::error_code submit_response(std::int32_t stream_id, int status, const headers& fields,
                                    bool end_stream);
    result<std::size_t> submit_data(std::int32_t stream_id, std::string_view bytes,
                                    bool end_stream);
    std::error_code submit_data(std::int32_t stream_id, std::string&& bytes, bool end_stream);
    std::error_code submit_trailers(std::int32_t stream_id, const headers& fields);
    std::error_code reset_stream(std::int32_t stream_id, wire_error code);
    std::error_code ping(std::uint64_t opaque);
    std::error_code goaway(wire_error code, std::string_view debug);
    std::error_code shutdown_notice();
    std::error_code submit_priority(std::int32_t stream_id, const priority_spec& p);
    void consume(std::int32_t stream_id, std::size_t n) noexcept;

    std::size_t queued(std::int32_t stream_id) const noexcept {
        const stream_state* st = find(stream_id);
        return st == nullptr ? 0 : st->queued;
    }

    bool want_read() const noexcept { return !error_ && nghttp2_session_want_read(session_) != 0; }
    bool want_write() const noexcept {
        return out_pos_ < out_.size() || !staged_.empty() || !blocked_.empty() ||
               nghttp2_session_want_write(session_) != 0;
    }
    bool is_closing() const noexcept {
        return static_cast<bool>(error_) || goaway_sent_ || goaway_received_ ||
               local_goaway_code_.has_value();
    }
    std::error_code error() const noexcept { return error_; }
    const peer_settings& peer() const noexcept { return peer_; }
    bool peer_settings_received() const noexcept { return peer_settings_received_; }
    std::size_t open_streams() const noexcept { return streams_.size(); }
    std::string_view error_detail() const noexcept { return error_detail_; }

    pseudo_header_order pseudo_order{};
    std::optional<priority_spec> default_priority;
    std::uint32_t stream_window_increment =
        0;  // client: WINDOW_UPDATE after each request's HEADERS

  private:
    // nghttp2 callbacks: each wraps its work in try/catch (no exception may
    // cross into C) and only records state or queues events.
    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user);
    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                         std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                         std::uint8_t flags, void* user);
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user);
    static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t stream_id,
                             const std::uint8_t* data, std::size_t len, void* user);
    static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t code,
                               void* user);
    static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user);
    static int on_frame_not_send(nghttp2_session*, const nghttp2_frame* frame, int lib_error,
                                 void* user);
    static int on_error(nghttp2_session*, int lib_error, const char* msg, std::size_t len,
                        void* user);
    static ssize_t read_data(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf,
                             std::size_t length, std::uint32_t* flags, nghttp2_data_source* src,
                             void* user);
    static int send_data(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* framehd,
                         std::size_t length, nghttp2_data_source* src, void* user);

    void handle_headers_frame(const nghttp2_frame* frame);
    void handle_data_frame_end(std::int32_t stream_id);
    void update_peer_settings();
    void close_stream(stream_state* st, std::uint32_t code);

    stream_state* find(std::int32_t id) const noexcept {
        auto it = streams_.find(id);
        return it == streams_.end() ? nullptr : it->second.get();
    }
    std::unique_ptr<stream_state> acquire_stream();
    void release_stream(std::int32_t id);
    void push_event(event e) {
        if (std::holds_alternative<data_event>(e)) {
            ++data_events_queued_;
        }
        events_.push_back(std::move(e));
    }

    void fail(std::error_code ec, wire_error code);
    void serialize(std::string& sink, std::size_t base, bool control_only);
    std::size_t unsent(const std::string& sink) const noexcept { return sink.size() - sink_base_; }
    std::error_code resume(stream_state* st);

    // Builds nva_ from pseudo-header fields already in nva_ plus `fields`
    // (lower-cased into names_, filtered, validated).
    std::error_code append_fields(const headers& fields, bool drop_host, bool trailers,
                                  std::string& names);
    std::error_code check_send_size() const;

    bool server_;
    nghttp2_session* session_ = nullptr;
    session_limits limits_;

    std::unordered_map<std::int32_t, std::unique_ptr<stream_state>> streams_;
    std::vector<std::unique_ptr<stream_state>> free_streams_;
    std::vector<std::int32_t> blocked_;  // deferred because the output was full

    std::deque<event> events_;
    std::size_t data_events_queued_ = 0;

    // out_ is what pending_output() hands out (from out_pos_); staged_ holds
    // frames receive() serialised meanwhile, so out_ never moves under a
    // write in flight.
    std::string out_;
    std::size_t out_pos_ = 0;
    std::string staged_;
    std::string* sink_ = nullptr;  // the buffer serialize() fills
    std::size_t sink_base_ = 0;    // bytes of *sink_ already sent
    bool control_only_ = false;
    std::size_t auto_consume_ = 0;  // DATA the application never sees

    std::vector<nghttp2_nv> nva_;
    std::string names_;
    std::array<char, 4> status_text_{};

    peer_settings peer_;
    bool peer_settings_received_ = false;
    bool goaway_sent_ = false;
    bool goaway_received_ = false;
    std::int32_t goaway_last_stream_id_ = 0;
    std::optional<std::uint32_t> local_goaway_code_;
    std::error_code error_;
    std::string error_detail_;
    std::string last_lib_message_;
};

// --- setup ------------------------------------------------------------------

std::error_code session_impl::init(const std::vector<setting>& settings,
                                   std::uint32_t window_increment, const session_limits& limits) {
    limits_ = limits;
    if (limits_.output_buffer_limit == 0) {
        limits_.output_buffer_limit = 1;
    }
    if (window_increment > static_cast<std::uint32_t>(max_window) - default_connection_window) {
        return http2_errc::invalid_settings;
    }

    nghttp2_session_callbacks* cbs = nullptr;
    if (nghttp2_session_callbacks_new(&cbs) != 0) {
        return http2_errc::internal_error;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, on_frame_not_send);
    nghttp2_session_callbacks_set_error_callback2(cbs, on_error);
    nghttp2_session_callbacks_set_send_data_callback(cbs, send_data);

    nghttp2_option* opt = nullptr;
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cbs);
        return http2_errc::internal_error;
    }
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_send_header_block_length(opt, limits_.max_send_header_block_length);
    nghttp2_option_set_max_outbound_ack(opt, limits_.max_outbound_ack);
    nghttp2_option_set_max_settings(opt, limits_.max_settings);
    nghttp2_option_set_stream_reset_rate_limit(opt, limits_.stream_reset_burst,
                                               limits_.stream_reset_rate);
    nghttp2_option_set_max_continuations(opt, limits_.max_continuations);
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, limits_.max_deflate_dynamic_table_size);
    // Closed streams are kept only for the RFC 7540 priority tree, which
    // corvid does not use: free them at once.
    nghttp2_option_set_no_closed_streams(opt, 1);
    // Server push is never used: refuse every pushed stream.
    nghttp2_option_set_max_reserved_remote_streams(opt, 0);

    int rv = server_ ? nghttp2_session_server_new2(&session_, cbs, this, opt)
                     : nghttp2_session_client_new2(&session_, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) {
        session_ = nullptr;
        return http2_errc::internal_error;
    }

    std::vector<nghttp2_settings_entry> iv;
    iv.reserve(settings.size());
    for (const auto& s : settings) {
        iv.push_back({s.id, s.value});
    }
    rv = nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv.data(), iv.size());
    if (rv != 0) {
        return rv == NGHTTP2_ERR_NOMEM ? make_error_code(http2_errc::internal_error)
                                       : make_error_code(http2_errc::invalid_settings);
    }
    if (window_increment > 0) {
        // Exactly one WINDOW_UPDATE with this increment: nothing has been
        // received yet, so nghttp2 has no consumed bytes to fold into it.
        rv = nghttp2_session_set_local_window_size(
            session_, NGHTTP2_FLAG_NONE, 0,
            static_cast<std::int32_t>(default_connection_window + window_increment));
        if (rv != 0) {
            return http2_errc::internal_error;
        }
    }
    return {};
}

std::unique_ptr<stream_state> session_impl::acquire_stream() {
    if (!free_streams_.empty()) {
        auto st = std::move(free_streams_.back());
        free_streams_.pop_back();
        return st;
    }
    return std::make_unique<stream_state>();
}

void session_impl::release_stream(std::int32_t id) {
    auto it = streams_.find(id);
    if (it == streams_.end()) {
        return;
    }
    std::unique_ptr<stream_state> st = std::move(it->second);
    streams_.erase(it);
    // A few states are kept for reuse: streams come and go at request rate.
    if (free_streams_.size() < 32) {
        st->reset_for_reuse();
        free_streams_.push_back(std::move(st));
    }
}

// --- errors -----------------------------------------------------------------

void session_impl::fail(std::error_code ec, wire_error code) {
    if (error_) {
        return;
    }
    error_ = ec;
    if (error_detail_.empty()) {
        error_detail_ = last_lib_message_;
    }
    // Queues a GOAWAY unless nghttp2 already did (it then ignores this).
    nghttp2_session_terminate_session(session_, static_cast<std::uint32_t>(code));
}

// --- input ------------------------------------------------------------------

std::error_code session_impl::receive(const std::uint8_t* data, std::size_t size) {
    if (error_) {
        return error_;
    }
    if (data_events_queued_ > 0) {
        return http2_errc::events_pending;
    }
    ssize_t rv = nghttp2_session_mem_recv(session_, data, size);
    if (auto_consume_ > 0) {
        nghttp2_session_consume_connection(session_, auto_consume_);
        auto_consume_ = 0;
    }
    if (rv < 0) {
        auto [ec, code] = fatal_from_lib(rv);
        fail(ec, code);
    }
    // Serialise the control frames this input caused (ACKs, RST_STREAM,
    // WINDOW_UPDATE, and above all a GOAWAY nghttp2 queued on a connection
    // error, which is how that error becomes visible here). Bounded, so that
    // a peer flooding us while we do not write trips nghttp2's limits.
    if (staged_.size() < limits_.output_buffer_limit) {
        serialize(staged_, 0, true);
    }
    return error_;
}

std::optional<event> session_impl::next_event() {
    if (events_.empty()) {
        return std::nullopt;
    }
    event e = std::move(events_.front());
    events_.pop_front();
    if (std::holds_alternative<data_event>(e)) {
        --data_events_queued_;
    }
    return e;
}

int session_impl::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<session_impl*>(user);
    if (frame->hd.type != NGHTTP2_HEADERS) {
        return 0;
    }
    try {
        const std::int32_t id = frame->hd.stream_id;
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST && self->server_) {
            auto st = self->acquire_stream();
            st->id = id;
            self->streams_.emplace(id, std::move(st));
            return 0;
        }
        stream_state* st = self->find(id);
        if (st != nullptr) {
            st->rx_header_bytes = 0;
            st->rx.fields.clear();
        }
        return 0;
    } catch (...) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
}

int session_impl::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                            std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                            std::uint8_t, void* user) {
    auto* self = static_cast<session_impl*>(user);
    if (frame->hd.type != NGHTTP2_HEADERS) {
        return 0;
    }
    stream_state* st = self->find(frame->hd.stream_id);
    if (st == nullptr) {
        return 0;
    }
    st->rx_header_bytes += namelen + valuelen + 32;
    if (st->rx_header_bytes > self->limits_.max_header_list_size) {
        // nghttp2 resets the stream (INTERNAL_ERROR) and skips the rest of
        // the block; on_stream_close reports why.
        st->local_error = http2_errc::header_list_too_large;
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    try {
        if (!n.empty() && n.front() == ':') {
            // nghttp2 has validated the pseudo-header fields (names, order,
            // duplicates, role) before calling us.
            if (n == ":status") {
                int status = 0;
                std::from_chars(v.data(), v.data() + v.size(), status);
                st->status = status;
            } else if (n == ":method") {
                st->rx.method.assign(v);
            } else if (n == ":scheme") {
                st->rx.scheme.assign(v);
            } else if (n == ":authority") {
                st->rx.authority.assign(v);
            } else if (n == ":path") {
                st->rx.path.assign(v);
            } else if (n == ":protocol") {
                st->rx.protocol.assign(v);
            }
            return 0;
        }
        if (st->rx.fields.size() >= self->limits_.max_header_fields) {
            st->local_error = http2_errc::too_many_headers;
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        st->rx.fields.add(n, v);
        return 0;
    } catch (...) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
}

void session_impl::handle_headers_frame(const nghttp2_frame* frame) {
    stream_state* st = find(frame->hd.stream_id);
    if (st == nullptr || st->reset_sent) {
        return;
    }
    const std::int32_t id = st->id;
    const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (st->head_done) {
        push_event(trailers_event{id, std::move(st->rx.fields)});
    } else if (server_) {
        st->head_done = true;
        st->announced = true;
        push_event(request_event{id, std::move(st->rx), end});
    } else {
        push_event(response_event{id, st->status, std::move(st->rx.fields), end});
        st->head_done = st->status >= 200;
    }
    st->rx = request_head{};
    st->rx_header_bytes = 0;
}

void session_impl::handle_data_frame_end(std::int32_t stream_id) {
    // Mark the chunk event that carried the frame's last bytes, when it is
    // still queued; otherwise a separate (empty) event says the body ended.
    if (!events_.empty()) {
        if (auto* d = std::get_if<data_event>(&events_.back()); d && d->stream_id == stream_id) {
            d->end_stream = true;
            return;
        }
    }
    push_event(data_event{stream_id, {}, true});
}

void session_impl::update_peer_settings() {
    auto get = [this](nghttp2_settings_id id) {
        return nghttp2_session_get_remote_settings(session_, id);
    };
    peer_.header_table_size = get(NGHTTP2_SETTINGS_HEADER_TABLE_SIZE);
    peer_.enable_push = get(NGHTTP2_SETTINGS_ENABLE_PUSH) == 1;
    peer_.max_concurrent_streams = get(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    peer_.initial_window_size = get(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE);
    peer_.max_frame_size = get(NGHTTP2_SETTINGS_MAX_FRAME_SIZE);
    peer_.max_header_list_size = get(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE);
    peer_.enable_connect_protocol = get(NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1;
    peer_.no_rfc7540_priorities = get(NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES) == 1;
}

int session_impl::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<session_impl*>(user);
    try {
        switch (frame->hd.type) {
            case NGHTTP2_HEADERS:
                self->handle_headers_frame(frame);
                break;
            case NGHTTP2_DATA:
                if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
                    stream_state* st = self->find(frame->hd.stream_id);
                    if (st != nullptr && !st->reset_sent) {
                        self->handle_data_frame_end(st->id);
                    }
                }
                break;
            case NGHTTP2_RST_STREAM:
                if (stream_state* st = self->find(frame->hd.stream_id)) {
                    st->reset_by_peer = true;
                }
                break;
            case NGHTTP2_SETTINGS:
                if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
                    self->update_peer_settings();
                    self->peer_settings_received_ = true;
                    self->push_event(settings_event{self->peer_});
                }
                break;
            case NGHTTP2_PING:
                if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) {
                    std::uint64_t v = 0;
                    for (std::uint8_t b : frame->ping.opaque_data) {
                        v = (v << 8) | b;
                    }
                    self->push_event(ping_ack_event{v});
                }
                break;
            case NGHTTP2_GOAWAY: {
                self->goaway_received_ = true;
                self->goaway_last_stream_id_ = frame->goaway.last_stream_id;
                goaway_event g;
                g.last_stream_id = frame->goaway.last_stream_id;
                g.code = static_cast<wire_error>(frame->goaway.error_code);
                g.debug_data.assign(reinterpret_cast<const char*>(frame->goaway.opaque_data),
                                    frame->goaway.opaque_data_len);
                self->push_event(std::move(g));
                break;
            }
            default:
                break;
        }
        return 0;
    } catch (...) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
}

int session_impl::on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t stream_id,
                                const std::uint8_t* data, std::size_t len, void* user) {
    auto* self = static_cast<session_impl*>(user);
    stream_state* st = self->find(stream_id);
    if (st == nullptr || st->reset_sent || !st->announced) {
        self->auto_consume_ += len;  // the application never sees these bytes
        return 0;
    }
    try {
        self->push_event(data_event{stream_id, {reinterpret_cast<const char*>(data), len}, false});
        return 0;
    } catch (...) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
}

void session_impl::close_stream(stream_state* st, std::uint32_t code) {
    if (st->announced) {
        stream_closed_event e;
        e.stream_id = st->id;
        e.reset_by_peer = st->reset_by_peer;
        e.code = static_cast<wire_error>(code);
        if (st->local_error) {
            e.error = st->local_error;
        } else if (st->reset_sent && !st->reset_by_peer) {
            e.code = st->local_reset_code;
            if (st->local_reset_code != wire_error::no_error) {
                e.error = http2_errc::stream_reset;
            }
        } else if (code == NGHTTP2_NO_ERROR) {
            e.error = {};
        } else if (code == NGHTTP2_REFUSED_STREAM) {
            const bool above_goaway = goaway_received_ && st->id > goaway_last_stream_id_ &&
                                      ((st->id & 1) == 1) != server_;
            e.error = above_goaway ? make_error_code(http2_errc::goaway)
                                   : make_error_code(http2_errc::stream_refused);
        } else {
            e.error = http2_errc::stream_reset;
        }
        push_event(std::move(e));
    }
    release_stream(st->id);
}

int session_impl::on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t code,
                                  void* user) {
    auto* self = static_cast<session_impl*>(user);
    stream_state* st = self->find(stream_id);
    if (st == nullptr) {
        return 0;
    }
    try {
        self->close_stream(st, code);
        return 0;
    } catch (...) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
}

int session_impl::on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<session_impl*>(user);
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST &&
        self->stream_window_increment > 0) {
        // The profile's stream WINDOW_UPDATE goes right behind the request's
        // HEADERS, as Firefox sends it. nghttp2 opens the stream only when
        // its HEADERS is sent, so this is the first moment it can be
        // submitted. The increment was checked against the window at create().
        return nghttp2_submit_window_update(
                   session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                   static_cast<std::int32_t>(self->stream_window_increment)) == 0
                   ? 0
                   : NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (frame->hd.type != NGHTTP2_GOAWAY) {
        return 0;
    }
    try {
        self->goaway_sent_ = true;
        const std::uint32_t code = frame->goaway.error_code;
        const bool ours = self->local_goaway_code_ && *self->local_goaway_code_ == code;
        if (!ours && code != NGHTTP2_NO_ERROR && !self->error_) {
            // nghttp2 ended the session on its own: a connection error. On
            // a server, the one GOAWAY nghttp2 sends with INTERNAL_ERROR by
            // itself is the rapid-reset limiter's
            // (nghttp2_option_set_stream_reset_rate_limit).
            self->error_ = self->server_ && code == NGHTTP2_INTERNAL_ERROR
                               ? make_error_code(http2_errc::flooded)
                               : fatal_from_wire(code);
            self->error_detail_.assign(reinterpret_cast<const char*>(frame->goaway.opaque_data),
                                       frame->goaway.opaque_data_len);
            if (self->error_detail_.empty()) {
                self->error_detail_ = self->last_lib_message_;
            }
        }
        return 0;
    } catch (...) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
}

int session_impl::on_frame_not_send(nghttp2_session*, const nghttp2_frame* frame, int, void* user) {
    auto* self = static_cast<session_impl*>(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0;
    }
    // A request that never left: nghttp2 may not know the stream, so it
    // would not report its close. The peer never saw it: retryable.
    stream_state* st = self->find(frame->hd.stream_id);
    if (st == nullptr) {
        return 0;
    }
    try {
        if (!st->reset_sent && !st->local_error) {
            st->local_error = self->goaway_received_ ? make_error_code(http2_errc::goaway)
                                                     : make_error_code(http2_errc::stream_refused);
        }
        self->close_stream(st, NGHTTP2_REFUSED_STREAM);
        return 0;
    } catch (...) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
}

int session_impl::on_error(nghttp2_session*, int, const char* msg, std::size_t len, void* user) {
    auto* self = static_cast<session_impl*>(user);
    try {
        self->last_lib_message_.assign(msg, len);
    } catch (...) {
        // The message is only a diagnostic.
    }
    return 0;
}

// --- output -----------------------------------------------------------------

void session_impl::serialize(std::string& sink, std::size_t base, bool control_only) {
    sink_ = &sink;
    sink_base_ = base;
    control_only_ = control_only;
    try {
        while (unsent(sink) < limits_.output_buffer_limit) {
            const std::uint8_t* p = nullptr;
            const ssize_t n = nghttp2_session_mem_send(session_, &p);
            if (n < 0) {
                auto [ec, code] = fatal_from_lib(n);
                fail(ec, code);
                break;
            }
            if (n == 0) {
                break;
            }
            sink.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
        }
    } catch (const std::bad_alloc&) {
        fail(http2_errc::internal_error, wire_error::internal_error);
    }
    sink_ = nullptr;
}

std::string_view session_impl::pending_output() {
    if (out_pos_ == out_.size()) {
        out_.clear();
        out_pos_ = 0;
        out_.swap(staged_);
    } else {
        if (out_pos_ >= out_.size() / 2) {
            out_.erase(0, out_pos_);
            out_pos_ = 0;
        }
        out_.append(staged_);
        staged_.clear();
    }
    if (!blocked_.empty()) {
        std::vector<std::int32_t> ids;
        ids.swap(blocked_);
        for (std::int32_t id : ids) {
            if (stream_state* st = find(id); st != nullptr && st->deferred) {
                st->deferred = false;
                nghttp2_session_resume_data(session_, id);
            }
        }
    }
    serialize(out_, out_pos_, false);
    return std::string_view(out_).substr(out_pos_);
}

void session_impl::consume_output(std::size_t n) noexcept {
    out_pos_ += std::min(n, out_.size() - out_pos_);
    if (out_pos_ == out_.size()) {
        out_.clear();
        out_pos_ = 0;
    }
}

ssize_t session_impl::read_data(nghttp2_session* session, std::int32_t stream_id, std::uint8_t*,
                                std::size_t length, std::uint32_t* flags, nghttp2_data_source* src,
                                void* user) {
    auto* self = static_cast<session_impl*>(user);
    auto* st = static_cast<stream_state*>(src->ptr);
    if (self->sink_ == nullptr || self->control_only_ ||
        self->unsent(*self->sink_) >= self->limits_.output_buffer_limit) {
        // Not now: receive() only serialises control frames, and the output
        // is full. pending_output() resumes the stream.
        st->deferred = true;
        try {
            self->blocked_.push_back(stream_id);
        } catch (...) {
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        return NGHTTP2_ERR_DEFERRED;
    }
    if (st->queued == 0 && !st->end_queued) {
        st->deferred = true;  // submit_data() resumes it
        return NGHTTP2_ERR_DEFERRED;
    }
    const std::size_t n = std::min(length, st->queued);
    if (n > 0) {
        *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    }
    if (n == st->queued && st->end_queued) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        st->can_send = false;
        if (!st->trailers.empty()) {
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            std::vector<nghttp2_nv> nva;
            try {
                nva.reserve(st->trailers.size());
                for (const auto& f : st->trailers) {
                    nva.push_back(
                        {reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.name.data())),
                         reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.value.data())),
                         f.name.size(), f.value.size(), NGHTTP2_NV_FLAG_NONE});
                }
            } catch (...) {
                return NGHTTP2_ERR_CALLBACK_FAILURE;
            }
            if (nghttp2_submit_trailer(session, stream_id, nva.data(), nva.size()) != 0) {
                return NGHTTP2_ERR_CALLBACK_FAILURE;
            }
        }
    }
    return static_cast<ssize_t>(n);
}

int session_impl::send_data(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* framehd,
                            std::size_t length, nghttp2_data_source* src, void* user) {
    auto* self = static_cast<session_impl*>(user);
    auto* st = static_cast<stream_state*>(src->ptr);
    std::string& out = *self->sink_;
    try {
        out.append(reinterpret_cast<const char*>(framehd), frame_header_size);
        const std::size_t padlen = frame->data.padlen;
        if (padlen > 0) {
            out.push_back(static_cast<char>(padlen - 1));
        }
        std::size_t left = length;
        while (left > 0) {
            send_chunk& c = st->chunks.front();
            const std::size_t take = std::min(left, c.bytes.size() - st->front_offset);
            out.append(c.bytes, st->front_offset, take);
            st->front_offset += take;
            left -= take;
            if (st->front_offset == c.bytes.size()) {
                st->front_offset = 0;
                if (st->chunks.size() == 1 && !c.owned) {
                    c.bytes.clear();  // keep the copy buffer's capacity
                } else {
                    st->chunks.pop_front();
                }
            }
        }
        if (padlen > 1) {
            out.append(padlen - 1, '\0');
        }
        st->queued -= length;
        if (st->want_writable && st->queued <= self->limits_.stream_send_buffer / 2) {
            st->want_writable = false;
            self->push_event(stream_writable_event{st->id, st->queued});
        }
        return 0;
    } catch (...) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
}

// --- submissions ------------------------------------------------------------

std::error_code session_impl::append_fields(const headers& fields, bool drop_host, bool trailers,
                                            std::string& names) {
    std::size_t total = names.size();
    for (const auto& f : fields) {
        total += f.name.size();
    }
    names.reserve(total);  // nva_ points into names: no reallocation below
    for (const auto& f : fields) {
        if (f.name.empty() || f.name.front() == ':') {
            return http2_errc::invalid_header;
        }
        // Appended whole, then lower-cased in place: a push_back per byte
        // was almost half of this loop's own cost with a browser profile's
        // fields (profiles.profile.md).
        const std::size_t pos = names.size();
        names.append(f.name);
        for (auto it = names.begin() + static_cast<std::ptrdiff_t>(pos); it != names.end(); ++it) {
            if (*it >= 'A' && *it <= 'Z') {
                *it = static_cast<char>(*it - 'A' + 'a');
            }
        }
        const std::string_view lower(names.data() + pos, f.name.size());
        if (is_connection_specific(lower) || (drop_host && lower == "host")) {
            names.resize(pos);
            continue;
        }
        if (lower == "te") {
            if (trailers || !equals_ascii_lower("trailers", trim_ows(f.value))) {
                names.resize(pos);
                continue;
            }
        }
        const auto* value = reinterpret_cast<const std::uint8_t*>(f.value.data());
        if (nghttp2_check_header_name(reinterpret_cast<const std::uint8_t*>(lower.data()),
                                      lower.size()) == 0 ||
            nghttp2_check_header_value_rfc9113(value, f.value.size()) == 0) {
            return http2_errc::invalid_header;
        }
        nva_.push_back({reinterpret_cast<std::uint8_t*>(names.data() + pos),
                        const_cast<std::uint8_t*>(value), lower.size(), f.value.size(),
                        NGHTTP2_NV_FLAG_NONE});
    }
    return {};
}

std::error_code session_impl::check_send_size() const {
    // nghttp2_hd_deflate_bound's formula: nghttp2 refuses the frame at send
    // time beyond the limit; checking here makes it a synchronous error.
    std::size_t bound = 12 + 12 * nva_.size();
    for (const auto& nv : nva_) {
        bound += nv.namelen + nv.valuelen;
    }
    if (bound > limits_.max_send_header_block_length) {
        return http2_errc::header_list_too_large;
    }
    return {};
}

std::error_code session_impl::resume(stream_state* st) {
    if (st->deferred) {
        st->deferred = false;
        const int rv = nghttp2_session_resume_data(session_, st->id);
        if (nghttp2_is_fatal(rv)) {
            fail(http2_errc::internal_error, wire_error::internal_error);
            return error_;
        }
    }
    return {};
}

result<std::int32_t> session_impl::submit_request(const request_head& head, bool end_stream,
                                                  const std::optional<priority_spec>& priority) {
    if (is_closing()) {
        return http2_errc::session_closing;
    }
    if (nghttp2_session_get_next_stream_id(session_) > static_cast<std::uint32_t>(max_window)) {
        return http2_errc::stream_ids_exhausted;
    }
    const bool connect = head.method == "CONNECT";
    if (head.method.empty()) {
        return http2_errc::invalid_header;
    }
    if (!head.protocol.empty()) {
        if (!connect || head.scheme.empty() || head.path.empty() || head.authority.empty()) {
            return http2_errc::invalid_header;
        }
        if (!peer_.enable_connect_protocol) {
            return http2_errc::connect_protocol_not_enabled;
        }
    } else if (connect) {
        if (head.authority.empty() || !head.scheme.empty() || !head.path.empty()) {
            return http2_errc::invalid_header;
        }
    } else if (head.scheme.empty() || head.path.empty()) {
        return http2_errc::invalid_header;
    }
    if (priority && (priority->weight < 1 || priority->weight > 256 || priority->depends_on < 0)) {
        return http2_errc::invalid_argument;
    }

    nva_.clear();
    names_.clear();
    auto pseudo = [this](std::string_view name, const std::string& value) {
        if (value.empty()) {
            return;
        }
        nva_.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                        reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())),
                        name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
    };
    for (pseudo_header p : pseudo_order) {
        switch (p) {
            case pseudo_header::method:
                pseudo(":method", head.method);
                break;
            case pseudo_header::scheme:
                pseudo(":scheme", head.scheme);
                break;
            case pseudo_header::authority:
                pseudo(":authority", head.authority);
                break;
            case pseudo_header::path:
                pseudo(":path", head.path);
                break;
            case pseudo_header::protocol:
                pseudo(":protocol", head.protocol);
                break;
        }
    }
    for (const std::string* v : {&head.method, &head.scheme, &head.authority, &head.path}) {
        if (nghttp2_check_header_value(reinterpret_cast<const std::uint8_t*>(v->data()),
                                       v->size()) == 0) {
            return http2_errc::invalid_header;
        }
    }
    if (auto ec = append_fields(head.fields, !head.authority.empty(), false, names_)) {
        return ec;
    }
    if (auto ec = check_send_size()) {
        return ec;
    }

    auto st = acquire_stream();
    nghttp2_data_provider prd{};
    prd.source.ptr = st.get();
    prd.read_callback = read_data;
    nghttp2_priority_spec spec{};
    if (priority) {
        nghttp2_priority_spec_init(&spec, priority->depends_on, priority->weight,
                                   priority->exclusive ? 1 : 0);
    }
    const std::int32_t id =
        nghttp2_submit_request(session_, priority ? &spec : nullptr, nva_.data(), nva_.size(),
                               end_stream ? nullptr : &prd, st.get());
    if (id < 0) {
        free_streams_.push_back(std::move(st));
        switch (id) {
            case NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE:
                return http2_errc::stream_ids_exhausted;
            case NGHTTP2_ERR_INVALID_ARGUMENT:
                return http2_errc::invalid_argument;
            default:
                return http2_errc::internal_error;
        }
    }
    st->id = id;
    st->announced = true;
    st->can_send = !end_stream;
    streams_.emplace(id, std::move(st));
    return id;
}

std::error_code session_impl::submit_response(std::int32_t stream_id, int status,
                                              const headers& fields, bool end_stream) {
    if (error_) {
        return http2_errc::session_closing;
    }
    stream_state* st = find(stream_id);
    if (st == nullptr || !st->announced || st->reset_sent || st->head_sent) {
        return http2_errc::stream_closed;
    }
    if (status < 100 || status > 599 || status == 101 || (status < 200 && end_stream)) {
        return http2_errc::invalid_argument;
    }
    std::to_chars(status_text_.data(), status_text_.data() + 3, status);
    nva_.clear();
    names_.clear();
    nva_.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(":status")),
                    reinterpret_cast<std::uint8_t*>(status_text_.data()), 7, 3,
                    NGHTTP2_NV_FLAG_NONE});
    if (auto ec = append_fields(fields, false, false, names_)) {
        return ec;
    }
    if (auto ec = check_send_size()) {
        return ec;
    }
    int rv = 0;
    if (status < 200) {
        rv = nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, stream_id, nullptr, nva_.data(),
                                    nva_.size(), nullptr);
    } else {
        nghttp2_data_provider prd{};
        prd.source.ptr = st;
        prd.read_callback = read_data;
        rv = nghttp2_submit_response(session_, stream_id, nva_.data(), nva_.size(),
                                     end_stream ? nullptr : &prd);
        if (rv == 0) {
            st->head_sent = true;
            st->can_send = !end_stream;
        }
    }
    if (rv != 0) {
        return rv == NGHTTP2_ERR_NOMEM ? make_error_code(http2_errc::internal_error)
                                       : make_error_code(http2_errc::stream_closed);
    }
    return {};
}

result<std::size_t> session_impl::submit_data(std::int32_t stream_id, std::string_view bytes,
                                              bool end_stream) {
    if (error_) {
        return http2_errc::session_closing;
    }
    stream_state* st = find(stream_id);
    if (st == nullptr || !st->can_send || st->end_queued || st->reset_sent) {
        return http2_errc::stream_closed;
    }
    const std::size_t room =
        limits_.stream_send_buffer > st->queued ? limits_.stream_send_buffer - st->queued : 0;
    const std::size_t take = std::min(room, bytes.size());
    if (take > 0) {
        if (st->chunks.empty() || st->chunks.back().owned) {
            st->chunks.push_back(send_chunk{std::string(bytes.substr(0, take)), false});
        } else {
            st->chunks.back().bytes.append(bytes.data(), take);
        }
        st->queued += take;
    }
    if (take < bytes.size()) {
        st->want_writable = true;
    } else if (end_stream) {
        st->end_queued = true;
    }
    if (take > 0 || st->end_queued) {
        if (auto ec = resume(st)) {
            return ec;
        }
    }
    return take;
}

std::error_code session_impl::submit_data(std::int32_t stream_id, std::string&& bytes,
                                          bool end_stream) {
    if (error_) {
        return http2_errc::session_closing;
    }
    stream_state* st = find(stream_id);
    if (st == nullptr || !st->can_send || st->end_queued || st->reset_sent) {
        return http2_errc::stream_closed;
    }
    if (!bytes.empty()) {
        st->queued += bytes.size();
        st->chunks.push_back(send_chunk{std::move(bytes), true});
    }
    st->end_queued = end_stream;
    if (st->queued > 0 || st->end_queued) {
        return resume(st);
    }
    return {};
}

std::error_code session_impl::submit_trailers(std::int32_t stream_id, const headers& fields) {
    if (error_) {
        return http2_errc::session_closing;
    }
    stream_state* st = find(stream_id);
    if (st == nullptr || !st->can_send || st->end_queued || st->reset_sent) {
        return http2_errc::stream_closed;
    }
    nva_.clear();
    names_.clear();
    if (auto ec = append_fields(fields, false, true, names_)) {
        return ec;
    }
    if (auto ec = check_send_size()) {
        return ec;
    }
    // Kept (filtered, lower-cased) until the read callback submits them
    // right after the last DATA frame: submitting them now could let the
    // HEADERS overtake queued DATA.
    headers kept;
    kept.reserve(nva_.size());
    for (const auto& nv : nva_) {
        kept.add(std::string_view(reinterpret_cast<const char*>(nv.name), nv.namelen),
                 std::string_view(reinterpret_cast<const char*>(nv.value), nv.valuelen));
    }
    st->trailers = std::move(kept);
    st->end_queued = true;
    return resume(st);
}

std::error_code session_impl::reset_stream(std::int32_t stream_id, wire_error code) {
    stream_state* st = find(stream_id);
    if (st == nullptr || st->reset_sent) {
        return http2_errc::stream_closed;
    }
    if (error_) {
        return http2_errc::session_closing;
    }
    const int rv = nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id,
                                             static_cast<std::uint32_t>(code));
    if (rv != 0) {
        return rv == NGHTTP2_ERR_NOMEM ? make_error_code(http2_errc::internal_error)
                                       : make_error_code(http2_errc::invalid_argument);
    }
    st->reset_sent = true;
    st->local_reset_code = code;
    st->can_send = false;
    st->chunks.clear();
    st->front_offset = 0;
    st->queued = 0;
    return {};
}

std::error_code session_impl::ping(std::uint64_t opaque) {
    if (error_) {
        return http2_errc::session_closing;
    }
    std::uint8_t data[8];
    for (int i = 7; i >= 0; --i) {
        data[i] = static_cast<std::uint8_t>(opaque & 0xff);
        opaque >>= 8;
    }
    return nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, data) == 0
               ? std::error_code{}
               : make_error_code(http2_errc::internal_error);
}

std::error_code session_impl::goaway(wire_error code, std::string_view debug) {
    if (error_) {
        return http2_errc::session_closing;
    }
    local_goaway_code_ = static_cast<std::uint32_t>(code);
    const int rv = nghttp2_submit_goaway(
        session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
        static_cast<std::uint32_t>(code), reinterpret_cast<const std::uint8_t*>(debug.data()),
        debug.size());
    if (rv != 0) {
        return rv == NGHTTP2_ERR_NOMEM ? make_error_code(http2_errc::internal_error)
                                       : make_error_code(http2_errc::invalid_argument);
    }
    return {};
}

std::error_code session_impl::shutdown_notice() {
    if (error_) {
        return http2_errc::session_closing;
    }
    local_goaway_code_ = NGHTTP2_NO_ERROR;
    const int rv = nghttp2_submit_shutdown_notice(session_);
    return rv == 0 ? std::error_code{} : make_error_code(http2_errc::internal_error);
}

std::error_code session_impl::submit_priority(std::int32_t stream_id, const priority_spec& p) {
    if (error_) {
        return http2_errc::session_closing;
    }
    if (stream_id <= 0 || p.weight < 1 || p.weight > 256 || p.depends_on < 0) {
        return http2_errc::invalid_argument;
    }
    nghttp2_priority_spec spec{};
    nghttp2_priority_spec_init(&spec, p.depends_on, p.weight, p.exclusive ? 1 : 0);
    const int rv = nghttp2_submit_priority(session_, NGHTTP2_FLAG_NONE, stream_id, &spec);
    if (rv != 0) {
        return rv == NGHTTP2_ERR_NOMEM ? make_error_code(http2_errc::internal_error)
                                       : make_error_code(http2_errc::invalid_argument);
    }
    return {};
}

void session_impl::consume(std::int32_t stream_id, std::size_t n) noexcept {
    if (n == 0 || stream_id <= 0 || session_ == nullptr) {
        return;
    }
    if (nghttp2_is_fatal(nghttp2_session_consume(session_, stream_id, n))) {
        fail(http2_errc::internal_error, wire_error::internal_error);
    }
}

}  // namespace detail

// --- public API ---------------------------------------------------------------

connection_profile connection_profile::corvid_default() {
    connection_profile p;
    p.settings = {{setting_id::enable_push, 0},
                  {setting_id::initial_window_size, 6 * 1024 * 1024},
                  {setting_id::max_header_list_size, 64 * 1024}};
    p.connection_window_increment = 15 * 1024 * 1024 - 65535;
    return p;
}

bool is_connection_error(std::error_code ec) noexcept {
    if (ec.category() != http2_category()) {
        return false;
    }
    switch (static_cast<http2_errc>(ec.value())) {
        case http2_errc::protocol_error:
        case http2_errc::flow_control_error:
        case http2_errc::frame_size_error:
        case http2_errc::compression_error:
        case http2_errc::flooded:
        case http2_errc::bad_preface:
        case http2_errc::internal_error:
        case http2_errc::ping_timeout:
            return true;
        default:
            return false;
    }
}

bool is_retryable(std::error_code ec) noexcept {
    return ec == http2_errc::stream_refused || ec == http2_errc::goaway;
}

session::session(std::unique_ptr<detail::session_impl> impl) noexcept : impl_(std::move(impl)) {}
session::session(session&&) noexcept = default;
session& session::operator=(session&&) noexcept = default;
session::~session() = default;

std::error_code session::receive(std::string_view bytes) {
    return impl_->receive(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}
std::error_code session::receive(std::span<const std::uint8_t> bytes) {
    return impl_->receive(bytes.data(), bytes.size());
}
std::optional<event> session::next_event() {
    return impl_->next_event();
}
std::string_view session::pending_output() {
    return impl_->pending_output();
}
void session::consume_output(std::size_t n) noexcept {
    impl_->consume_output(n);
}
bool session::want_read() const noexcept {
    return impl_->want_read();
}
bool session::want_write() const noexcept {
    return impl_->want_write();
}
bool session::is_closing() const noexcept {
    return impl_->is_closing();
}
std::error_code session::error() const noexcept {
    return impl_->error();
}
void session::consume(std::int32_t stream_id, std::size_t n) noexcept {
    impl_->consume(stream_id, n);
}
result<std::size_t> session::submit_data(std::int32_t stream_id, std::string_view bytes,
                                         bool end_stream) {
    return impl_->submit_data(stream_id, bytes, end_stream);
}
std::error_code session::submit_data(std::int32_t stream_id, std::string&& bytes, bool end_stream) {
    return impl_->submit_data(stream_id, std::move(bytes), end_stream);
}
std::error_code session::submit_trailers(std::int32_t stream_id, const headers& fields) {
    return impl_->submit_trailers(stream_id, fields);
}
std::size_t session::queued(std::int32_t stream_id) const noexcept {
    return impl_->queued(stream_id);
}
std::error_code session::reset_stream(std::int32_t stream_id, wire_error code) {
    return impl_->reset_stream(stream_id, code);
}
std::error_code session::ping(std::uint64_t opaque) {
    return impl_->ping(opaque);
}
std::error_code session::goaway(wire_error code, std::string_view debug_data) {
    return impl_->goaway(code, debug_data);
}
const peer_settings& session::peer() const noexcept {
    return impl_->peer();
}
bool session::peer_settings_received() const noexcept {
    return impl_->peer_settings_received();
}
std::size_t session::open_streams() const noexcept {
    return impl_->open_streams();
}
std::string_view session::error_detail() const noexcept {
    return impl_->error_detail();
}

result<client_session> client_session::create(const client_options& options) {
    pseudo_header_order order = options.profile.pseudo_order;
    std::array<bool, 5> seen{};
    for (pseudo_header p : order) {
        const auto i = static_cast<std::size_t>(p);
        if (i >= seen.size() || seen[i]) {
            return http2_errc::invalid_settings;
        }
        seen[i] = true;
    }
    if (const auto& p = options.profile.headers_priority;
        p && (p->weight < 1 || p->weight > 256 || p->depends_on < 0)) {
        return http2_errc::invalid_settings;
    }
    // A stream window may not exceed 2^31-1 (RFC 9113 6.9.1).
    std::uint64_t initial_window = 65535;
    for (const auto& s : options.profile.settings) {
        if (s.id == setting_id::initial_window_size) {
            initial_window = s.value;
        }
    }
    if (initial_window + options.profile.stream_window_increment > 0x7fffffff) {
        return http2_errc::invalid_settings;
    }
    std::unique_ptr<detail::session_impl> impl;
    try {
        impl = std::make_unique<detail::session_impl>(false);
        impl->pseudo_order = order;
        impl->default_priority = options.profile.headers_priority;
        impl->stream_window_increment = options.profile.stream_window_increment;
        if (auto ec = impl->init(options.profile.settings,
                                 options.profile.connection_window_increment, options.limits)) {
            return ec;
        }
    } catch (const std::bad_alloc&) {
        return http2_errc::internal_error;
    }
    return client_session(std::move(impl));
}

result<std::int32_t> client_session::submit_request(const request_head& head, bool end_stream) {
    return impl_->submit_request(head, end_stream, impl_->default_priority);
}

result<std::int32_t> client_session::submit_request(const request_head& head, bool end_stream,
                                                    std::optional<priority_spec> priority) {
    return impl_->submit_request(head, end_stream, priority);
}

std::error_code client_session::submit_priority(std::int32_t stream_id,
                                                const priority_spec& priority) {
    return impl_->submit_priority(stream_id, priority);
}

result<server_session> server_session::create(const server_options& options) {
    std::vector<setting> settings = options.settings;
    auto has = [&settings](std::uint16_t id) {
        return std::any_of(settings.begin(), settings.end(),
                           [id](const setting& s) { return s.id == id; });
    };
    if (!has(setting_id::max_concurrent_streams)) {
        settings.push_back(
            {setting_id::max_concurrent_streams, options.limits.max_concurrent_streams});
    }
    if (options.enable_connect_protocol && !has(setting_id::enable_connect_protocol)) {
        settings.push_back({setting_id::enable_connect_protocol, 1});
    }
    std::unique_ptr<detail::session_impl> impl;
    try {
        impl = std::make_unique<detail::session_impl>(true);
        if (auto ec = impl->init(settings, options.connection_window_increment, options.limits)) {
            return ec;
        }
    } catch (const std::bad_alloc&) {
        return http2_errc::internal_error;
    }
    return server_session(std::move(impl));
}

std::error_code server_session::submit_response(std::int32_t stream_id, int status,
                                                const headers& fields, bool end_stream) {
    return impl_->submit_response(stream_id, status, fields, end_stream);
}

std::error_code server_session::shutdown_notice() {
    return impl_->shutdown_notice();
}

}  // namespace corvid::h2
