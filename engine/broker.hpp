#pragma once

// The in-process broker of corvid-server: cross-worker fan-out, per-channel
// offsets, epochs and history (DESIGN.md "Scale-out": the embedded default).
//
// Model. corvid-server runs one worker thread per core, each with its own
// io_context. The engine keeps, per worker, the local subscribers of every
// channel (channel -> sessions); the broker only counts, per channel and
// worker, how many local subscribers there are ("interest"). A publication
// is queued once to every worker with interest on its channel, never once
// per subscriber: the worker delivers it to its local sessions itself.
//
// Channels. A channel's state is created by its first subscribe() or
// publish() and holds a random epoch (nonzero, below 2^32, from BoringSSL's
// RAND_bytes), the last offset assigned (offsets are 1, 2, 3, ... per
// channel; 0 means "nothing published yet"), the last
// broker_options::history_size publications, and the interest counts.
// sweep() forgets a channel that has had no subscribers and no publish or
// unsubscribe for broker_options::history_ttl; if it comes back it has a new
// epoch and starts again at offset 1, so a client's stale `since` fails to
// recover instead of silently skipping messages.
//
// Ordering and exactly-once. Offset assignment, the history append and the
// queueing to the workers' inboxes happen under the channel's lock, so per
// channel every worker receives publications in offset order. subscribe()
// takes the same lock: a worker that gains interest receives every
// publication with an offset above subscription_start::offset, and none at
// or below it that was published while it had no interest. Each worker has
// one inbox (a mutex and a vector); the publish that makes it non-empty
// posts one drain to the worker's executor, which hands the whole batch to
// the worker's deliver_fn. The inbox is a FIFO across channels too: on one
// worker, a publication is delivered before any publication that was
// published after it returned.
//
// Threading. Every member function may be called from any thread, including
// from inside a deliver_fn, except attach() (once per worker, before that
// worker subscribes) and the destructor. The channel's lock is the lock of
// its shard (the channel map is split into broker::shard_count shards by
// hash), so publishers on different channels rarely contend.
//
// Lifetime. The broker must outlive every run of the workers' executors
// that can execute its drains: destroy it only after the worker io_contexts
// have stopped for good (or been destroyed). Publications still queued in an
// inbox at that point are dropped, never delivered; posted drains left in a
// stopped io_context refer to the broker and must not run after it is gone.
//
// Memory. A channel's history grows to history_size entries and no further;
// publications are shared (std::shared_ptr<const publication>) by the
// history, the inboxes and the engine's queues, never copied. An inbox is
// bounded only by how fast its worker drains it: a worker that does not run
// its io_context accumulates publications (the per-connection limits are the
// engine's business, after delivery).
//
// Errors. subscribe() and publish() fail with
// std::errc::resource_unavailable_try_again when the channel has no state
// yet and broker_options::max_channels states already exist (the engine
// answers that with an `err` frame; sweep() makes room again), and with
// std::errc::invalid_argument for a worker index out of range (subscribe)
// or a make function that returned no publication (publish). The broker sits
// below the wire protocol and deliberately reports resource conditions with
// the generic category; the engine maps them to protocol_errc codes.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <asio/any_io_executor.hpp>

#include "corvid/result.hpp"
#include "engine/protocol.hpp"
#include "engine/wire_format.hpp"

namespace corvid::engine {

struct broker_options {
    /// Publications kept per channel for recovery (subscribe with `since`); 0: none.
    std::size_t history_size = 100;
    /// How long a channel without subscribers is remembered after its last publish or
    /// unsubscribe (its offsets, epoch and history), as observed by sweep().
    std::chrono::seconds history_ttl{300};
    /// The most channel states held at once; a new channel beyond it is refused.
    std::size_t max_channels = 100'000;
};

/// One publication, immutable once published and shared by every worker.
struct publication {
    std::string channel;
    std::uint64_t epoch = 0;
    std::uint64_t offset = 0;
    std::string id;
    /// The complete `msg` frame per wire format, indexed by index(wire_format).
    std::array<std::string, wire_format_count> frames;
    /// The data's JSON text (for SSE events, which carry epoch:offset ids).
    std::string data_json;
};

/// Counters for /metrics; each is a snapshot, read without stopping the broker.
struct broker_stats {
    std::size_t channels = 0;              // channel states held now
    std::uint64_t publications = 0;        // successful publish() calls
    std::uint64_t deliveries = 0;          // publications queued to a worker (one per worker)
    std::uint64_t batches = 0;             // drains run (deliver_fn calls)
    std::uint64_t channels_created = 0;    // channel states created
    std::uint64_t channels_forgotten = 0;  // channel states removed by sweep()
    std::uint64_t channels_refused = 0;    // subscribe/publish refused by max_channels
};

class broker {
  public:
    using publication_ptr = std::shared_ptr<const publication>;
    /// Receives a batch of publications on the worker's executor. The span is valid for
    /// the call only; copy the pointers to keep them.
    using deliver_fn = std::function<void(std::span<const publication_ptr>)>;
    using make_fn =
        std::function<std::shared_ptr<publication>(std::uint64_t epoch, std::uint64_t offset)>;

    /// The channel map is split in this many shards, each with its own lock.
    static constexpr std::size_t shard_count = 64;

    /// A broker for `workers` workers (indices 0 .. workers-1).
    explicit broker(std::size_t workers, broker_options options = {});
    ~broker();
    broker(const broker&) = delete;
    broker& operator=(const broker&) = delete;

    /// Exactly once per worker, before it subscribes: deliveries for worker w run on
    /// `executor` (the worker's io_context), in batches, in publish order per channel.
    /// Publications queued before attach() (if w subscribed early) are drained once it is
    /// attached. Attaching a worker twice is not supported (a drain may be reading the
    /// executor). Precondition: w < worker_count().
    void attach(std::size_t w, asio::any_io_executor executor, deliver_fn deliver);

    struct subscription_start {
        std::uint64_t epoch = 0;
        /// The last offset published at subscribe time (0: none yet).
        std::uint64_t offset = 0;
        bool recovered = false;
        /// With recovered, the publications with offsets in (since->offset, offset], in order.
        std::vector<publication_ptr> missed;
    };

    /// Worker w gains one local subscriber on `channel`. From now on every publication with
    /// an offset above start.offset is delivered to w once (per worker, not per
    /// subscriber), until as many unsubscribe() calls as subscribe() calls for (w, channel).
    /// since: if since->epoch is the channel's epoch and the history still holds every
    /// offset in (since->offset, offset], then missed = those and recovered = true;
    /// otherwise missed is empty and recovered is false (also without since).
    /// Errors: std::errc::resource_unavailable_try_again (max_channels reached and the
    /// channel is new), std::errc::invalid_argument (w out of range). Thread-safe.
    result<subscription_start> subscribe(std::size_t w, std::string_view channel,
                                         std::optional<stream_position> since);

    /// One local subscriber fewer on worker w. Publications already queued to w are still
    /// delivered (the engine skips them for sessions that left). Unknown channels, workers
    /// without interest and w out of range are ignored. Thread-safe.
    void unsubscribe(std::size_t w, std::string_view channel);

    /// Assigns the channel's next offset, stores the publication in its history and queues
    /// it to every worker with interest on the channel. `make(epoch, offset)` builds the
    /// publication (frames, id, data_json); it is called under the channel's lock, so keep
    /// it cheap, and it must not call the broker. The broker then sets its epoch and offset
    /// (and its channel, if make left it empty). If make throws, nothing is published and
    /// the exception propagates.
    /// Errors: std::errc::resource_unavailable_try_again (max_channels reached and the
    /// channel is new), std::errc::invalid_argument (make returned null). Thread-safe.
    result<publication_ptr> publish(std::string_view channel, const make_fn& make);

    /// Forgets the channels without subscribers that had no publish or unsubscribe for
    /// history_ttl. The broker reads no clock: activity is noticed by the next sweep, and a
    /// channel goes once `now` is history_ttl past the first sweep that saw it idle-after-
    /// activity; call it periodically (e.g. every few seconds). Thread-safe.
    void sweep(std::chrono::steady_clock::time_point now);

    /// The number of channel states held. Thread-safe.
    std::size_t channel_count() const noexcept;
    std::size_t worker_count() const noexcept { return workers_.size(); }
    const broker_options& options() const noexcept { return options_; }
    broker_stats stats() const;

  private:
    struct channel_state;
    struct worker_slot;
    struct shard;
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    shard& shard_of(std::string_view channel) noexcept;
    // Finds the channel's state or creates it; null when max_channels refuses it.
    // Call with the shard locked.
    channel_state* find_or_create(shard& s, std::string_view channel);
    // Queues p to worker w; true when the inbox was empty (the caller posts a drain).
    bool enqueue(std::size_t w, const publication_ptr& p);
    void post_drain(std::size_t w);
    void drain(std::size_t w);

    broker_options options_;
    std::vector<std::unique_ptr<worker_slot>> workers_;
    std::array<std::unique_ptr<shard>, shard_count> shards_;
    std::atomic<std::size_t> channels_{0};
    std::atomic<std::uint64_t> channels_refused_{0};
};

}  // namespace corvid::engine
