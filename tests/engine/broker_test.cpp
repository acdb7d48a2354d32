// The in-process broker (engine/broker.hpp) with real worker threads, each
// running its own io_context, and real publisher threads: fan-out exactly
// once and in order, subscribe atomic with publish, unsubscribe, history
// recovery, sweep and max_channels. Nothing waits on a sleep: the tests wait
// on counters with a generous limit and fail with a message instead of
// hanging.

#include "engine/broker.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

namespace {

using corvid::engine::broker;
using corvid::engine::broker_options;
using corvid::engine::publication;
using corvid::engine::stream_position;
using corvid::engine::wire_format;
using namespace std::chrono_literals;

// Long enough for a loaded 2-core machine running sanitizers; reaching it is a failure.
constexpr auto wait_limit = 60s;

// What publish() is given: the frame says which offset it was built for, so a delivery
// can be checked against its offset.
broker::make_fn make_text(std::string id = {}) {
    return [id](std::uint64_t epoch, std::uint64_t offset) {
        auto p = std::make_shared<publication>();
        p->id = id;
        p->frames[corvid::engine::index(wire_format::json)] =
            "msg " + std::to_string(epoch) + ":" + std::to_string(offset);
        p->frames[corvid::engine::index(wire_format::msgpack)] = "mp";
        p->data_json = "{}";
        return p;
    };
}

// One worker: a thread running its own io_context, recording what the broker delivers.
struct worker {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::thread thread;

    std::mutex mu;
    std::condition_variable cv;
    std::map<std::string, std::vector<broker::publication_ptr>> received;
    std::size_t total = 0;
    std::size_t batches = 0;

    void record(std::span<const broker::publication_ptr> batch) {
        std::lock_guard lock(mu);
        ++batches;
        for (const auto& p : batch) {
            received[p->channel].push_back(p);
            ++total;
        }
        cv.notify_all();
    }
    std::vector<std::uint64_t> offsets(const std::string& ch) {
        std::lock_guard lock(mu);
        std::vector<std::uint64_t> out;
        for (const auto& p : received[ch]) {
            out.push_back(p->offset);
        }
        return out;
    }
    std::size_t count(const std::string& ch) {
        std::lock_guard lock(mu);
        return received[ch].size();
    }
    std::size_t total_count() {
        std::lock_guard lock(mu);
        return total;
    }
    // Waits until `ch` has received at least n publications; false after wait_limit.
    bool wait_for(const std::string& ch, std::size_t n) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, wait_limit, [&] { return received[ch].size() >= n; });
    }
};

// N workers attached to one broker. The broker is declared first, so it is destroyed
// after the workers' io_contexts (whose threads the destructor has stopped).
class cluster {
  public:
    explicit cluster(std::size_t n, broker_options options = {}) : broker_(n, options) {
        for (std::size_t i = 0; i < n; ++i) {
            workers_.push_back(std::make_unique<worker>());
        }
        for (std::size_t i = 0; i < n; ++i) {
            worker* w = workers_[i].get();
            broker_.attach(i, w->io.get_executor(),
                           [w](std::span<const broker::publication_ptr> b) { w->record(b); });
            w->thread = std::thread([w] { w->io.run(); });
        }
    }
    ~cluster() {
        for (auto& w : workers_) {
            w->guard.reset();
            w->io.stop();
        }
        for (auto& w : workers_) {
            w->thread.join();
        }
    }
    cluster(const cluster&) = delete;
    cluster& operator=(const cluster&) = delete;

    broker& b() { return broker_; }
    worker& at(std::size_t i) { return *workers_[i]; }

    // Runs f on worker i's thread and returns its result (as the engine calls the broker).
    template <typename F>
    auto on_worker(std::size_t i, F f) -> decltype(f()) {
        std::packaged_task<decltype(f())()> task(std::move(f));
        auto done = task.get_future();
        asio::post(workers_[i]->io, [&task] { task(); });
        if (done.wait_for(wait_limit) != std::future_status::ready) {
            ADD_FAILURE() << "worker " << i << " did not run a posted task within the limit";
            std::abort();  // the task refers to this frame; nothing safe is left to do
        }
        return done.get();
    }

    // Every drain posted to worker i before this call has run when it returns.
    void barrier(std::size_t i) {
        on_worker(i, [] { return 0; });
    }

    broker::subscription_start subscribe(std::size_t w, const std::string& ch,
                                         std::optional<stream_position> since = {}) {
        auto r = on_worker(w, [&] { return broker_.subscribe(w, ch, since); });
        EXPECT_TRUE(r.has_value()) << r.error().message();
        return std::move(r).value();
    }

  private:
    broker broker_;
    std::vector<std::unique_ptr<worker>> workers_;
};

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t i = first; i <= last; ++i) {
        out.push_back(i);
    }
    return out;
}

TEST(Broker, FanOutReachesEveryInterestedWorkerOnceAndInOrder) {
    constexpr std::size_t workers = 4;
    constexpr std::size_t channels = 6;
    constexpr std::size_t publishers = 3;
    constexpr std::size_t per_publisher_per_channel = 400;
    cluster c(workers);

    // Worker w subscribes to channel k unless (k + w) % 3 == 0; worker 3 to nothing.
    auto interested = [](std::size_t w, std::size_t k) { return w != 3 && (k + w) % 3 != 0; };
    std::vector<std::string> names;
    std::map<std::string, std::uint64_t> epochs;
    for (std::size_t k = 0; k < channels; ++k) {
        names.push_back("fan." + std::to_string(k));
    }
    for (std::size_t w = 0; w < workers; ++w) {
        for (std::size_t k = 0; k < channels; ++k) {
            if (interested(w, k)) {
                auto start = c.subscribe(w, names[k]);
                EXPECT_EQ(start.offset, 0u);
                EXPECT_FALSE(start.recovered);
                EXPECT_NE(start.epoch, 0u);
                EXPECT_LT(start.epoch, std::uint64_t{1} << 32);
                auto [it, fresh] = epochs.emplace(names[k], start.epoch);
                EXPECT_EQ(it->second, start.epoch) << "one epoch per channel";
            }
        }
    }

    // Publishers interleave channels; each keeps what publish() returned per channel.
    std::vector<std::map<std::string, std::vector<broker::publication_ptr>>> returned(publishers);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < publishers; ++t) {
        threads.emplace_back([&, t] {
            for (std::size_t i = 0; i < per_publisher_per_channel; ++i) {
                for (std::size_t k = 0; k < channels; ++k) {
                    auto r = c.b().publish(names[(k + t) % channels], make_text());
                    ASSERT_TRUE(r.has_value()) << r.error().message();
                    returned[t][names[(k + t) % channels]].push_back(*r);
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }

    constexpr std::size_t per_channel = publishers * per_publisher_per_channel;
    std::size_t expected_deliveries = 0;
    for (std::size_t w = 0; w < workers; ++w) {
        for (std::size_t k = 0; k < channels; ++k) {
            if (!interested(w, k)) {
                continue;
            }
            ++expected_deliveries;
            ASSERT_TRUE(c.at(w).wait_for(names[k], per_channel))
                << "worker " << w << " received only " << c.at(w).count(names[k]) << " of "
                << per_channel << " publications on " << names[k];
        }
    }
    expected_deliveries *= per_channel;
    for (std::size_t w = 0; w < workers; ++w) {
        c.barrier(w);  // anything still queued (a duplicate, say) has arrived now
    }

    // Every publication as publish() returned it, by channel and offset.
    std::map<std::string, std::map<std::uint64_t, broker::publication_ptr>> by_offset;
    for (auto& per_thread : returned) {
        for (auto& [ch, list] : per_thread) {
            for (auto& p : list) {
                EXPECT_TRUE(by_offset[ch].emplace(p->offset, p).second)
                    << "offset " << p->offset << " assigned twice on " << ch;
            }
        }
    }
    for (std::size_t w = 0; w < workers; ++w) {
        for (std::size_t k = 0; k < channels; ++k) {
            if (!interested(w, k)) {
                EXPECT_EQ(c.at(w).count(names[k]), 0u)
                    << "worker " << w << " has no subscriber on " << names[k];
                continue;
            }
            EXPECT_EQ(c.at(w).offsets(names[k]), range(1, per_channel))
                << "worker " << w << " on " << names[k];
            std::lock_guard lock(c.at(w).mu);
            for (const auto& p : c.at(w).received[names[k]]) {
                // The very object publish() returned, shared, with the channel's epoch.
                EXPECT_EQ(p, by_offset[names[k]][p->offset]);
                EXPECT_EQ(p->epoch, epochs[names[k]]);
                EXPECT_EQ(p->frames[0],
                          "msg " + std::to_string(p->epoch) + ":" + std::to_string(p->offset));
            }
        }
    }
    EXPECT_EQ(c.at(3).total_count(), 0u);

    auto stats = c.b().stats();
    EXPECT_EQ(stats.publications, channels * per_channel);
    EXPECT_EQ(stats.deliveries, expected_deliveries);
    EXPECT_EQ(stats.channels, channels);
    EXPECT_EQ(stats.channels_created, channels);
    EXPECT_GE(stats.batches, 1u);
    EXPECT_LE(stats.batches, stats.deliveries);
}

TEST(Broker, SubscribeDuringPublishingHasNoGapAndNoDuplicate) {
    constexpr std::size_t publishers = 2;
    cluster c(3);
    const std::string ch = "live";
    c.subscribe(0, ch);

    std::atomic<std::size_t> published{0};
    std::atomic<bool> late_subscribed{false};
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < publishers; ++t) {
        threads.emplace_back([&] {
            // Publish until the late subscriptions happened, then 500 more each, so both
            // sides of every subscribe see concurrent publishing.
            std::size_t after = 0;
            while (after < 500) {
                auto r = c.b().publish(ch, make_text());
                ASSERT_TRUE(r.has_value()) << r.error().message();
                published.fetch_add(1);
                if (late_subscribed.load()) {
                    ++after;
                }
            }
        });
    }
    // Wait until publishing is well under way (a counter, not a sleep).
    ASSERT_TRUE(c.at(0).wait_for(ch, 300)) << "worker 0 got nothing from the publishers";
    auto late1 = c.subscribe(1, ch);
    auto late2 = c.subscribe(2, ch);
    late_subscribed.store(true);
    for (auto& t : threads) {
        t.join();
    }
    const std::uint64_t total = published.load();
    EXPECT_GT(late1.offset, 0u);
    EXPECT_LT(late2.offset, total);

    ASSERT_TRUE(c.at(0).wait_for(ch, total)) << "worker 0: " << c.at(0).count(ch) << "/" << total;
    ASSERT_TRUE(c.at(1).wait_for(ch, total - late1.offset))
        << "worker 1: " << c.at(1).count(ch) << "/" << total - late1.offset;
    ASSERT_TRUE(c.at(2).wait_for(ch, total - late2.offset))
        << "worker 2: " << c.at(2).count(ch) << "/" << total - late2.offset;
    for (std::size_t w = 0; w < 3; ++w) {
        c.barrier(w);
    }
    EXPECT_EQ(c.at(0).offsets(ch), range(1, total));
    // Exactly the publications after the offset subscribe returned: none before, no gap.
    EXPECT_EQ(c.at(1).offsets(ch), range(late1.offset + 1, total));
    EXPECT_EQ(c.at(2).offsets(ch), range(late2.offset + 1, total));
}

TEST(Broker, SeveralSubscribersOnOneWorkerShareOneDelivery) {
    cluster c(2);
    c.subscribe(0, "multi");
    c.subscribe(0, "multi");
    c.subscribe(1, "multi");
    ASSERT_TRUE(c.b().publish("multi", make_text()).has_value());
    c.b().unsubscribe(0, "multi");  // one of two left: still interested
    ASSERT_TRUE(c.b().publish("multi", make_text()).has_value());
    c.b().unsubscribe(0, "multi");  // none left on worker 0
    ASSERT_TRUE(c.b().publish("multi", make_text()).has_value());
    ASSERT_TRUE(c.at(1).wait_for("multi", 3)) << "worker 1: " << c.at(1).count("multi");
    c.barrier(0);
    c.barrier(1);
    EXPECT_EQ(c.at(0).offsets("multi"), range(1, 2));
    EXPECT_EQ(c.at(1).offsets("multi"), range(1, 3));
    c.b().unsubscribe(0, "multi");  // more unsubscribes than subscribes: ignored
    c.b().unsubscribe(1, "never-seen");
    c.b().unsubscribe(7, "multi");  // no such worker: ignored
    ASSERT_TRUE(c.b().publish("multi", make_text()).has_value());
    ASSERT_TRUE(c.at(1).wait_for("multi", 4));
    EXPECT_EQ(c.b().channel_count(), 1u) << "unsubscribe never creates a channel";
}

TEST(Broker, UnsubscribeStopsDelivery) {
    cluster c(2);
    for (std::size_t w = 0; w < 2; ++w) {
        c.subscribe(w, "a");
        c.subscribe(w, "b");
    }
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(c.b().publish("a", make_text()).has_value());
    }
    c.on_worker(1, [&] {
        c.b().unsubscribe(1, "a");
        return 0;
    });
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(c.b().publish("a", make_text()).has_value());
    }
    // A later publication on a channel worker 1 still follows: once it arrived, anything
    // queued on "a" before it would have arrived too (the inbox is one FIFO).
    ASSERT_TRUE(c.b().publish("b", make_text()).has_value());
    ASSERT_TRUE(c.at(1).wait_for("b", 1));
    ASSERT_TRUE(c.at(0).wait_for("b", 1));
    ASSERT_TRUE(c.at(0).wait_for("a", 10));
    EXPECT_EQ(c.at(1).offsets("a"), range(1, 5));
    EXPECT_EQ(c.at(0).offsets("a"), range(1, 10));
}

TEST(Broker, HistoryRecoversWithinHistorySize) {
    broker_options options;
    options.history_size = 5;
    cluster c(2, options);
    auto first = c.subscribe(0, "h");
    EXPECT_EQ(first.offset, 0u);
    const std::uint64_t epoch = first.epoch;
    std::vector<broker::publication_ptr> published;
    for (int i = 0; i < 8; ++i) {
        auto r = c.b().publish("h", make_text("id" + std::to_string(i + 1)));
        ASSERT_TRUE(r.has_value());
        published.push_back(*r);
    }
    auto missed_offsets = [](const broker::subscription_start& s) {
        std::vector<std::uint64_t> out;
        for (const auto& p : s.missed) {
            out.push_back(p->offset);
        }
        return out;
    };

    auto s5 = c.subscribe(1, "h", stream_position{epoch, 5});
    EXPECT_TRUE(s5.recovered);
    EXPECT_EQ(s5.epoch, epoch);
    EXPECT_EQ(s5.offset, 8u);
    EXPECT_EQ(missed_offsets(s5), range(6, 8));
    for (const auto& p : s5.missed) {
        EXPECT_EQ(p, published[p->offset - 1]) << "history shares the published object";
        EXPECT_EQ(p->id, "id" + std::to_string(p->offset));
    }

    auto s3 = c.subscribe(1, "h", stream_position{epoch, 3});  // exactly history_size missed
    EXPECT_TRUE(s3.recovered);
    EXPECT_EQ(missed_offsets(s3), range(4, 8));

    auto s8 = c.subscribe(1, "h", stream_position{epoch, 8});  // nothing missed
    EXPECT_TRUE(s8.recovered);
    EXPECT_TRUE(s8.missed.empty());

    auto s2 = c.subscribe(1, "h", stream_position{epoch, 2});  // offset 3 is gone
    EXPECT_FALSE(s2.recovered);
    EXPECT_TRUE(s2.missed.empty());
    EXPECT_EQ(s2.offset, 8u);

    auto s0 = c.subscribe(1, "h", stream_position{epoch, 0});
    EXPECT_FALSE(s0.recovered);

    auto future = c.subscribe(1, "h", stream_position{epoch, 9});  // never published
    EXPECT_FALSE(future.recovered);
    EXPECT_TRUE(future.missed.empty());

    const std::uint64_t other_epoch = epoch == 1 ? 2 : epoch - 1;
    auto wrong = c.subscribe(1, "h", stream_position{other_epoch, 6});
    EXPECT_FALSE(wrong.recovered);
    EXPECT_TRUE(wrong.missed.empty());
    EXPECT_EQ(wrong.epoch, epoch);

    auto none = c.subscribe(1, "h");
    EXPECT_FALSE(none.recovered);
    EXPECT_TRUE(none.missed.empty());

    // Recovery on a channel that had fewer publications than history_size, from the start.
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(c.b().publish("short", make_text()).has_value());
    }
    auto probe = c.subscribe(0, "short");
    auto from_start = c.subscribe(0, "short", stream_position{probe.epoch, 0});
    EXPECT_TRUE(from_start.recovered);
    EXPECT_EQ(missed_offsets(from_start), range(1, 3));
}

TEST(Broker, NoHistoryRecoversOnlyWhenNothingWasMissed) {
    broker_options options;
    options.history_size = 0;
    cluster c(1, options);
    ASSERT_TRUE(c.b().publish("n", make_text()).has_value());
    ASSERT_TRUE(c.b().publish("n", make_text()).has_value());
    auto probe = c.subscribe(0, "n");
    EXPECT_EQ(probe.offset, 2u);
    auto up_to_date = c.subscribe(0, "n", stream_position{probe.epoch, 2});
    EXPECT_TRUE(up_to_date.recovered);
    EXPECT_TRUE(up_to_date.missed.empty());
    auto behind = c.subscribe(0, "n", stream_position{probe.epoch, 1});
    EXPECT_FALSE(behind.recovered);
}

TEST(Broker, SweepForgetsIdleChannelsAndTheEpochChanges) {
    broker_options options;
    options.history_ttl = 10s;
    cluster c(2, options);
    const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;

    auto idle_start = c.subscribe(0, "idle");
    ASSERT_TRUE(c.b().publish("idle", make_text()).has_value());
    c.b().unsubscribe(0, "idle");
    c.subscribe(1, "busy");
    ASSERT_TRUE(c.b().publish("kept", make_text()).has_value());
    ASSERT_TRUE(c.b().publish("left", make_text()).has_value());
    c.subscribe(0, "left");
    EXPECT_EQ(c.b().channel_count(), 4u);

    c.b().sweep(t0);  // notices the activity: idle from t0
    c.b().sweep(t0 + 5s);
    EXPECT_EQ(c.b().channel_count(), 4u);
    ASSERT_TRUE(c.b().publish("kept", make_text()).has_value());  // activity again
    c.b().sweep(t0 + 9s);
    c.b().sweep(t0 + 10s);  // "idle" has been idle for 10 s; "kept" since 9 s
    EXPECT_EQ(c.b().channel_count(), 3u);
    EXPECT_EQ(c.b().stats().channels_forgotten, 1u);

    // "idle" comes back as a new channel: a new epoch, offsets from 1, no recovery.
    auto back = c.subscribe(0, "idle", stream_position{idle_start.epoch, 1});
    EXPECT_NE(back.epoch, idle_start.epoch);
    EXPECT_EQ(back.offset, 0u);
    EXPECT_FALSE(back.recovered);
    auto r = c.b().publish("idle", make_text());
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ((*r)->offset, 1u);
    EXPECT_EQ((*r)->epoch, back.epoch);

    c.b().sweep(t0 + 18s);
    EXPECT_EQ(c.b().channel_count(), 4u) << "\"kept\" is idle only since t0 + 9 s";
    c.b().sweep(t0 + 19s);
    EXPECT_EQ(c.b().channel_count(), 3u) << "\"kept\" forgotten";

    // A channel with subscribers is never forgotten; its idle time starts when the last
    // subscriber leaves.
    c.b().sweep(t0 + 500s);
    c.b().unsubscribe(0, "left");
    c.b().sweep(t0 + 501s);
    c.b().sweep(t0 + 510s);
    EXPECT_EQ(c.b().channel_count(), 3u);
    c.b().sweep(t0 + 511s);
    EXPECT_EQ(c.b().channel_count(), 2u) << "\"left\" forgotten";

    auto busy = c.subscribe(1, "busy");
    EXPECT_EQ(busy.offset, 0u);
    auto again = c.subscribe(0, "idle");
    EXPECT_EQ(again.epoch, back.epoch) << "\"idle\" has a subscriber again and was kept";
    EXPECT_EQ(c.b().stats().channels_forgotten, 3u);
}

TEST(Broker, MaxChannelsRefusesNewChannels) {
    broker_options options;
    options.max_channels = 3;
    options.history_ttl = 0s;
    cluster c(1, options);
    for (const char* ch : {"c1", "c2", "c3"}) {
        ASSERT_TRUE(c.b().publish(ch, make_text()).has_value());
    }
    auto refused = c.b().publish("c4", make_text());
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error(), std::make_error_code(std::errc::resource_unavailable_try_again));
    auto refused_sub = c.b().subscribe(0, "c4", std::nullopt);
    ASSERT_FALSE(refused_sub.has_value());
    EXPECT_EQ(refused_sub.error(), std::errc::resource_unavailable_try_again);
    EXPECT_TRUE(c.b().publish("c2", make_text()).has_value()) << "existing channels still work";
    EXPECT_TRUE(c.b().subscribe(0, "c3", std::nullopt).has_value());
    EXPECT_EQ(c.b().channel_count(), 3u);
    EXPECT_EQ(c.b().stats().channels_refused, 2u);

    c.b().sweep(std::chrono::steady_clock::time_point{} + 1s);
    c.b().sweep(std::chrono::steady_clock::time_point{} + 2s);  // c1, c2 go; c3 is subscribed
    EXPECT_EQ(c.b().channel_count(), 1u);
    EXPECT_TRUE(c.b().publish("c4", make_text()).has_value());
}

TEST(Broker, MaxChannelsHoldsUnderConcurrentCreation) {
    broker_options options;
    options.max_channels = 150;
    broker b(1, options);
    std::atomic<std::size_t> created{0};
    std::atomic<std::size_t> refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 100; ++i) {
                auto r = b.publish("t" + std::to_string(t) + "." + std::to_string(i), make_text());
                (r.has_value() ? created : refused).fetch_add(1);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(created.load(), 150u);
    EXPECT_EQ(refused.load(), 250u);
    EXPECT_EQ(b.channel_count(), 150u);
}

TEST(Broker, BadArguments) {
    broker b(2);
    auto bad_worker = b.subscribe(2, "x", std::nullopt);
    ASSERT_FALSE(bad_worker.has_value());
    EXPECT_EQ(bad_worker.error(), std::errc::invalid_argument);

    auto null_make =
        b.publish("x", [](std::uint64_t, std::uint64_t) { return std::shared_ptr<publication>{}; });
    ASSERT_FALSE(null_make.has_value());
    EXPECT_EQ(null_make.error(), std::errc::invalid_argument);
    EXPECT_THROW((void)b.publish("x",
                                 [](std::uint64_t, std::uint64_t) -> std::shared_ptr<publication> {
                                     throw std::runtime_error("make failed");
                                 }),
                 std::runtime_error);
    auto first = b.publish("x", make_text());
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ((*first)->offset, 1u) << "failed publishes use no offset";
    EXPECT_EQ((*first)->channel, "x") << "the broker names the channel when make did not";
}

TEST(Broker, DestroyedAfterStoppedWorkersDropsPendingDeliveries) {
    // The io_context outlives the broker and never runs the drain posted to it: the
    // queued publications are dropped with the broker and the handler is destroyed unrun.
    asio::io_context io;
    std::size_t delivered = 0;
    {
        broker b(1);
        b.attach(0, io.get_executor(),
                 [&](std::span<const broker::publication_ptr> s) { delivered += s.size(); });
        ASSERT_TRUE(b.subscribe(0, "x", std::nullopt).has_value());
        for (int i = 0; i < 10; ++i) {
            ASSERT_TRUE(b.publish("x", make_text()).has_value());
        }
        io.stop();
    }
    EXPECT_EQ(delivered, 0u);
}

TEST(Broker, DeliveriesAreBatched) {
    // The worker's io_context is not running while 100 publications are queued: they
    // arrive in one batch from one posted drain.
    asio::io_context io;
    std::vector<std::size_t> batch_sizes;
    broker b(1);
    b.attach(0, io.get_executor(),
             [&](std::span<const broker::publication_ptr> s) { batch_sizes.push_back(s.size()); });
    ASSERT_TRUE(b.subscribe(0, "x", std::nullopt).has_value());
    for (int i = 0; i < 100; ++i) {
        ASSERT_TRUE(b.publish("x", make_text()).has_value());
    }
    EXPECT_EQ(io.poll(), 1u) << "one drain for the whole burst";
    EXPECT_EQ(batch_sizes, std::vector<std::size_t>{100});
    ASSERT_TRUE(b.publish("x", make_text()).has_value());
    io.restart();
    EXPECT_EQ(io.poll(), 1u);
    EXPECT_EQ(batch_sizes, (std::vector<std::size_t>{100, 1}));
    EXPECT_EQ(b.stats().batches, 2u);
}

TEST(Broker, DeliverMayCallTheBroker) {
    // A deliver_fn that publishes (to another channel this worker follows) and subscribes:
    // no deadlock, and the nested publication arrives in a later batch.
    asio::io_context io;
    broker b(1);
    std::vector<std::string> seen;
    b.attach(0, io.get_executor(), [&](std::span<const broker::publication_ptr> s) {
        for (const auto& p : s) {
            seen.push_back(p->channel + ":" + std::to_string(p->offset));
            if (p->channel == "in") {
                ASSERT_TRUE(b.subscribe(0, "extra", std::nullopt).has_value());
                ASSERT_TRUE(b.publish("out", make_text()).has_value());
            }
        }
    });
    ASSERT_TRUE(b.subscribe(0, "in", std::nullopt).has_value());
    ASSERT_TRUE(b.subscribe(0, "out", std::nullopt).has_value());
    ASSERT_TRUE(b.publish("in", make_text()).has_value());
    io.poll();
    EXPECT_EQ(seen, (std::vector<std::string>{"in:1", "out:1"}));
}

}  // namespace
