#pragma once
// A deterministic multi-shard broker for tests: N core::Broker instances joined by in-memory
// FIFO queues, one per ordered pair of shards, as the server joins them with rings. A driver
// delivers the queued messages until nothing is left, either shard by shard in a fixed order
// or in a seeded random interleaving across pairs; both keep each pair FIFO, which is the only
// ordering the shard protocol relies on. Messages for channels (the ones Broker::handles()
// refuses) land in a per-shard inbox for the test to inspect.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/base/limits.h"
#include "core/broker.h"

namespace lepus::core::sim {

enum class Interleaving : u8 {
    in_order,  // every shard in turn drains each incoming pair, then dispatches
    random,    // a random non-empty pair delivers a random short batch
};

struct SimConfig {
    u32 shard_count = 2;
    Interleaving interleaving = Interleaving::in_order;
    u64 seed = 0;
};

inline void PrintTo(const SimConfig& config, std::ostream* out) {
    *out << config.shard_count << " shards, "
         << (config.interleaving == Interleaving::in_order ? "in order" : "random, seed ")
         << (config.interleaving == Interleaving::in_order ? "" : std::to_string(config.seed));
}

class Simulation {
public:
    // Called as each channel-bound message arrives, before it is queued in the inbox: this is
    // the moment a channel would act on it.
    using InboxHook = std::function<void(u32 shard, const ShardMessage& message)>;
    // Takes channel-bound messages instead of the inbox: a connection layer on top.
    using ChannelSink = std::function<void(u32 shard, ShardMessage message)>;

    Simulation(SimConfig config, const std::vector<std::string>& vhosts)
        : config_(config), rng_(config.seed) {
        u32 n = config.shard_count;
        pairs_.resize(usize{n} * n);
        inboxes_.resize(n);
        for (u32 shard = 0; shard < n; shard++) {
            outboxes_.push_back(std::make_unique<ShardOutbox>(this, shard));
        }
        for (u32 shard = 0; shard < n; shard++) {
            brokers_.push_back(
                std::make_unique<Broker>(ShardId(shard), n, *outboxes_[shard], vhosts));
        }
        // What a new data directory starts with: guest/guest with every permission in each
        // vhost, so connections on top log in as they would against a fresh lepusd.
        DefaultAccess defaults;
        defaults.vhosts = vhosts;
        for (const CatalogUpdate& update : default_definitions(defaults)) {
            for (auto& broker : brokers_) broker->catalog().apply(update);
        }
    }

    u32 shard_count() const { return config_.shard_count; }
    Broker& broker(u32 shard) { return *brokers_.at(shard); }
    std::deque<ShardMessage>& inbox(u32 shard) { return inboxes_.at(shard); }
    void set_inbox_hook(InboxHook hook) { hook_ = std::move(hook); }
    void set_channel_sink(ChannelSink sink) { sink_ = std::move(sink); }
    // What shard `shard` sends through, as its connections would.
    Outbox& outbox(u32 shard) { return *outboxes_.at(shard); }
    u64 delivered_count() const { return delivered_count_; }

    // A message from shard `from` to shard `to`, as a shard or one of its channels sends it.
    void post(u32 from, u32 to, ShardMessage message) {
        ASSERT_LT(from, shard_count());
        ASSERT_LT(to, shard_count());
        pairs_[from * shard_count() + to].push_back(std::move(message));
    }

    // Delivers until every pair is empty.
    // Sends `op` to shard 0 as channel 1 of a connection on shard `from` would, in `vhost`, runs
    // until nothing is left, and returns the one reply.
    MetaReply request(u32 from, MetaOp op, std::string vhost) {
        auto request = std::make_unique<MetaRequest>();
        request->vhost = std::move(vhost);
        request->requester.connection = ConnectionKey{ShardId(from), 3, 1};
        request->requester.channel = 1;
        request->op = std::move(op);
        post(from, 0, std::move(request));
        run();
        auto replies = take<std::unique_ptr<MetaReply>>(from);
        EXPECT_EQ(replies.size(), 1u);
        if (replies.empty()) return MetaReply{};
        return std::move(*replies[0]);
    }

    void run() {
        constexpr u64 step_max = 10'000'000;
        for (u64 step = 0; step < step_max; step++) {
            bool progressed =
                config_.interleaving == Interleaving::in_order ? step_in_order() : step_random();
            if (!progressed) return;
        }
        FAIL() << "the shards did not go quiet";
    }

    // Delivers one round (in order) or one random batch (random); false when all was quiet.
    bool step() {
        return config_.interleaving == Interleaving::in_order ? step_in_order() : step_random();
    }

    // Removes and returns the inbox messages of shard `shard` that hold a T.
    template <typename T>
    std::vector<T> take(u32 shard) {
        std::vector<T> out;
        std::deque<ShardMessage>& box = inbox(shard);
        for (auto it = box.begin(); it != box.end();) {
            if (T* m = std::get_if<T>(&*it)) {
                out.push_back(std::move(*m));
                it = box.erase(it);
            } else {
                ++it;
            }
        }
        return out;
    }

private:
    class ShardOutbox final : public Outbox {
    public:
        ShardOutbox(Simulation* simulation, u32 self) : simulation_(simulation), self_(self) {}
        void send(ShardId to, ShardMessage message) override {
            simulation_->post(self_, to.value, std::move(message));
        }

    private:
        Simulation* simulation_;
        u32 self_;
    };

    std::deque<ShardMessage>& pair(u32 from, u32 to) { return pairs_[from * shard_count() + to]; }

    // Delivers up to `count` messages of one pair, in order.
    void deliver(u32 from, u32 to, usize count) {
        std::deque<ShardMessage>& queue = pair(from, to);
        for (usize i = 0; i < count && !queue.empty(); i++) {
            ShardMessage message = std::move(queue.front());
            queue.pop_front();
            delivered_count_++;
            if (Broker::handles(message)) {
                broker(to).handle(std::move(message));
                continue;
            }
            if (sink_) {
                sink_(to, std::move(message));
                continue;
            }
            if (hook_) hook_(to, message);
            inboxes_[to].push_back(std::move(message));
        }
    }

    bool step_in_order() {
        bool progressed = false;
        for (u32 to = 0; to < shard_count(); to++) {
            bool any = false;
            for (u32 from = 0; from < shard_count(); from++) {
                if (pair(from, to).empty()) continue;
                deliver(from, to, limits::shard_mailbox_batch_max);
                any = true;
            }
            if (any) broker(to).dispatch_pending();
            progressed = progressed || any;
        }
        return progressed;
    }

    bool step_random() {
        std::vector<u32> busy;
        for (u32 i = 0; i < pairs_.size(); i++) {
            if (!pairs_[i].empty()) busy.push_back(i);
        }
        if (busy.empty()) return false;
        u32 chosen = busy[std::uniform_int_distribution<usize>(0, busy.size() - 1)(rng_)];
        u32 from = chosen / shard_count();
        u32 to = chosen % shard_count();
        deliver(from, to, std::uniform_int_distribution<usize>(1, 4)(rng_));
        broker(to).dispatch_pending();
        return true;
    }

    SimConfig config_;
    std::mt19937_64 rng_;
    std::vector<std::deque<ShardMessage>> pairs_;  // [from * n + to]
    std::vector<std::deque<ShardMessage>> inboxes_;
    // Outboxes outlive the brokers that hold references to them.
    std::vector<std::unique_ptr<ShardOutbox>> outboxes_;
    std::vector<std::unique_ptr<Broker>> brokers_;
    InboxHook hook_;
    ChannelSink sink_;
    u64 delivered_count_ = 0;
};

}  // namespace lepus::core::sim
