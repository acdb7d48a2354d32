#include "engine/broker.hpp"

#include <openssl/rand.h>

#include <cassert>
#include <utility>

#include <asio/post.hpp>

namespace corvid::engine {

namespace {

// A random epoch, nonzero and below 2^32 (so epoch:offset ids stay far below 2^53 and
// safe in JavaScript). RAND_bytes is thread-safe and needs no seeding; a channel state is
// created rarely enough for its cost not to matter.
std::uint64_t new_epoch() {
    for (;;) {
        std::uint8_t b[4];
        RAND_bytes(b, sizeof b);
        std::uint64_t e = (std::uint64_t{b[0]} << 24) | (std::uint64_t{b[1]} << 16) |
                          (std::uint64_t{b[2]} << 8) | std::uint64_t{b[3]};
        if (e != 0) {
            return e;
        }
    }
}

// The last `capacity` publications of a channel, oldest first. Grows with use up to
// capacity (most channels never hold a full history), then overwrites the oldest.
class history_ring {
  public:
    void push(broker::publication_ptr p, std::size_t capacity) {
        if (capacity == 0) {
            return;
        }
        if (items_.size() < capacity) {
            items_.push_back(std::move(p));
            return;
        }
        items_[head_] = std::move(p);
        head_ = (head_ + 1) % items_.size();
    }
    std::size_t size() const noexcept { return items_.size(); }
    // The i-th oldest entry, i < size().
    const broker::publication_ptr& at(std::size_t i) const noexcept {
        return items_[(head_ + i) % items_.size()];
    }

  private:
    std::vector<broker::publication_ptr> items_;
    std::size_t head_ = 0;  // index of the oldest entry once full; 0 before
};

}  // namespace

struct broker::channel_state {
    std::uint64_t epoch = 0;
    std::uint64_t offset = 0;  // the last offset assigned
    history_ring history;
    std::vector<std::uint32_t> interest;  // local subscribers per worker
    std::size_t subscribers = 0;          // sum of interest
    // Activity (publish, unsubscribe, creation) since the last sweep; sweep() turns it into
    // idle_since, so the publish path never reads a clock.
    bool touched = true;
    std::chrono::steady_clock::time_point idle_since{};
};

// One shard of the channel map. Its mutex is the lock of every channel in it.
struct alignas(64) broker::shard {
    std::mutex mu;
    std::unordered_map<std::string, std::unique_ptr<channel_state>, string_hash, std::equal_to<>>
        channels;
    std::uint64_t publications = 0;
    std::uint64_t created = 0;
    std::uint64_t forgotten = 0;
};

struct alignas(64) broker::worker_slot {
    std::mutex mu;
    std::vector<publication_ptr> inbox;  // queued, not yet drained
    std::vector<publication_ptr> spare;  // an emptied batch kept for its capacity
    asio::any_io_executor executor;
    deliver_fn deliver;
    bool attached = false;
    std::uint64_t deliveries = 0;
    std::uint64_t batches = 0;
};

broker::broker(std::size_t workers, broker_options options) : options_(options) {
    workers_.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) {
        workers_.push_back(std::make_unique<worker_slot>());
    }
    for (auto& s : shards_) {
        s = std::make_unique<shard>();
    }
}

broker::~broker() = default;

void broker::attach(std::size_t w, asio::any_io_executor executor, deliver_fn deliver) {
    assert(w < workers_.size());
    auto& slot = *workers_[w];
    bool pending = false;
    {
        std::lock_guard lock(slot.mu);
        slot.executor = std::move(executor);
        slot.deliver = std::move(deliver);
        slot.attached = true;
        pending = !slot.inbox.empty();
    }
    if (pending) {
        post_drain(w);
    }
}

broker::shard& broker::shard_of(std::string_view channel) noexcept {
    std::size_t h = string_hash{}(channel);
    // The map inside the shard uses the same hash modulo a prime bucket count; fold the
    // high bits in so the shard index does not depend on the low bits alone.
    return *shards_[(h ^ (h >> 32)) % shard_count];
}

broker::channel_state* broker::find_or_create(shard& s, std::string_view channel) {
    if (auto it = s.channels.find(channel); it != s.channels.end()) {
        return it->second.get();
    }
    // Reserve a slot first: the count is shared by all shards, whose locks are independent.
    if (channels_.fetch_add(1, std::memory_order_relaxed) >= options_.max_channels) {
        channels_.fetch_sub(1, std::memory_order_relaxed);
        channels_refused_.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
    }
    auto state = std::make_unique<channel_state>();
    state->epoch = new_epoch();
    state->interest.assign(workers_.size(), 0);
    auto* raw = state.get();
    try {
        s.channels.emplace(std::string(channel), std::move(state));
    } catch (...) {
        channels_.fetch_sub(1, std::memory_order_relaxed);
        throw;
    }
    ++s.created;
    return raw;
}

result<broker::subscription_start> broker::subscribe(std::size_t w, std::string_view channel,
                                                     std::optional<stream_position> since) {
    if (w >= workers_.size()) {
        return std::make_error_code(std::errc::invalid_argument);
    }
    auto& s = shard_of(channel);
    std::lock_guard lock(s.mu);
    channel_state* ch = find_or_create(s, channel);
    if (ch == nullptr) {
        return std::make_error_code(std::errc::resource_unavailable_try_again);
    }
    subscription_start start;
    start.epoch = ch->epoch;
    start.offset = ch->offset;
    if (since && since->epoch == ch->epoch && since->offset <= ch->offset) {
        // The history holds offsets (offset - size, offset]; every missed one must be there.
        std::size_t held = ch->history.size();
        std::uint64_t oldest_missing = since->offset + 1;
        std::uint64_t oldest_held = ch->offset - held + 1;
        if (oldest_missing >= oldest_held) {
            std::size_t first = static_cast<std::size_t>(oldest_missing - oldest_held);
            start.missed.reserve(held - first);
            for (std::size_t i = first; i < held; ++i) {
                start.missed.push_back(ch->history.at(i));
            }
            start.recovered = true;
        }
    }
    // Last, so an allocation failure above leaves the interest unchanged.
    ++ch->interest[w];
    ++ch->subscribers;
    return start;
}

void broker::unsubscribe(std::size_t w, std::string_view channel) {
    if (w >= workers_.size()) {
        return;
    }
    auto& s = shard_of(channel);
    std::lock_guard lock(s.mu);
    auto it = s.channels.find(channel);
    if (it == s.channels.end()) {
        return;
    }
    channel_state& ch = *it->second;
    if (ch.interest[w] == 0) {
        return;
    }
    --ch.interest[w];
    --ch.subscribers;
    ch.touched = true;  // the ttl counts from the last subscriber leaving too
}

bool broker::enqueue(std::size_t w, const publication_ptr& p) {
    auto& slot = *workers_[w];
    std::lock_guard lock(slot.mu);
    bool was_empty = slot.inbox.empty();
    slot.inbox.push_back(p);
    ++slot.deliveries;
    // Before attach() nothing is posted; attach() posts if the inbox is not empty.
    return was_empty && slot.attached;
}

void broker::post_drain(std::size_t w) {
    auto& slot = *workers_[w];
    // The executor is set once by attach() before it is read here (attach's lock and the
    // attached flag read under the same lock in enqueue order it).
    asio::post(slot.executor, [this, w] { drain(w); });
}

void broker::drain(std::size_t w) {
    auto& slot = *workers_[w];
    std::vector<publication_ptr> batch;
    {
        std::lock_guard lock(slot.mu);
        batch.swap(slot.spare);  // reuse the capacity of an earlier batch
        batch.swap(slot.inbox);
        if (batch.empty()) {
            slot.spare.swap(batch);
            return;
        }
        ++slot.batches;
    }
    // Run without the lock: deliver may publish or subscribe (to this worker too).
    slot.deliver(std::span<const publication_ptr>(batch.data(), batch.size()));
    batch.clear();
    std::lock_guard lock(slot.mu);
    if (slot.spare.capacity() < batch.capacity()) {
        slot.spare.swap(batch);
    }
}

result<broker::publication_ptr> broker::publish(std::string_view channel, const make_fn& make) {
    // Workers whose inbox this publish made non-empty; reused per thread so the publish
    // path allocates nothing per worker. post_drain() never runs handlers inline, so this
    // is not reentered while in use.
    thread_local std::vector<std::size_t> to_wake;
    to_wake.clear();
    publication_ptr published;
    {
        auto& s = shard_of(channel);
        std::lock_guard lock(s.mu);
        channel_state* ch = find_or_create(s, channel);
        if (ch == nullptr) {
            return std::make_error_code(std::errc::resource_unavailable_try_again);
        }
        std::uint64_t offset = ch->offset + 1;
        std::shared_ptr<publication> p = make(ch->epoch, offset);
        if (!p) {
            return std::make_error_code(std::errc::invalid_argument);
        }
        p->epoch = ch->epoch;
        p->offset = offset;
        if (p->channel.empty()) {
            p->channel = std::string(channel);
        }
        published = std::move(p);
        ch->history.push(published, options_.history_size);
        ch->offset = offset;
        ch->touched = true;
        ++s.publications;
        if (ch->subscribers > 0) {
            for (std::size_t w = 0; w < ch->interest.size(); ++w) {
                if (ch->interest[w] > 0 && enqueue(w, published)) {
                    to_wake.push_back(w);
                }
            }
        }
    }
    // Posting after the channel's lock keeps the io_context's wake-up out of it; the inbox,
    // not the post, carries the order.
    for (std::size_t w : to_wake) {
        post_drain(w);
    }
    return published;
}

void broker::sweep(std::chrono::steady_clock::time_point now) {
    for (auto& sp : shards_) {
        shard& s = *sp;
        std::lock_guard lock(s.mu);
        for (auto it = s.channels.begin(); it != s.channels.end();) {
            channel_state& ch = *it->second;
            if (ch.subscribers > 0) {
                ch.touched = true;  // idle time starts when the last one leaves
                ++it;
            } else if (ch.touched) {
                ch.touched = false;
                ch.idle_since = now;
                ++it;
            } else if (now - ch.idle_since >= options_.history_ttl) {
                it = s.channels.erase(it);
                ++s.forgotten;
                channels_.fetch_sub(1, std::memory_order_relaxed);
            } else {
                ++it;
            }
        }
    }
}

std::size_t broker::channel_count() const noexcept {
    return channels_.load(std::memory_order_relaxed);
}

broker_stats broker::stats() const {
    broker_stats out;
    out.channels = channel_count();
    out.channels_refused = channels_refused_.load(std::memory_order_relaxed);
    for (const auto& sp : shards_) {
        std::lock_guard lock(sp->mu);
        out.publications += sp->publications;
        out.channels_created += sp->created;
        out.channels_forgotten += sp->forgotten;
    }
    for (const auto& wp : workers_) {
        std::lock_guard lock(wp->mu);
        out.deliveries += wp->deliveries;
        out.batches += wp->batches;
    }
    return out;
}

}  // namespace corvid::engine
