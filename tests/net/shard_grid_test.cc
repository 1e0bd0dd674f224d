#include "net/server/shard_grid.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <variant>
#include <vector>

namespace lepus::server {
namespace {

// Each thread plays a shard: it sends `per_pair` messages to every other shard, numbered in
// order, takes what the others send it, and sleeps on its wake-up eventfd the way Shard::run
// does (announce sleep, check the rings once more, wait) whenever it has nothing to do. A
// wake-up lost between the check and the wait leaves a message in a ring while its shard
// sleeps out the whole timeout: that is counted, and must never happen.
struct ShardThread {
    static constexpr int sleep_timeout_ms = 5000;

    ShardGrid& grid;
    u32 id;
    u64 per_pair;
    std::vector<u64> sent;
    std::vector<u64> received;
    u64 out_of_order = 0;
    u64 lost_wakeups = 0;
    u64 sleeps = 0;

    ShardThread(ShardGrid& g, u32 i, u64 n)
        : grid(g), id(i), per_pair(n), sent(g.shard_count()), received(g.shard_count()) {}

    bool done() const {
        for (u32 other = 0; other < grid.shard_count(); other++) {
            if (other == id) continue;
            if (sent[other] < per_pair || received[other] < per_pair) return false;
        }
        return true;
    }

    bool all_sent() const {
        for (u32 other = 0; other < grid.shard_count(); other++) {
            if (other != id && sent[other] < per_pair) return false;
        }
        return true;
    }

    bool send_some() {
        bool progressed = false;
        for (u32 to = 0; to < grid.shard_count(); to++) {
            if (to == id) continue;
            bool pushed = false;
            while (sent[to] < per_pair) {
                core::ShardMessage message = core::Persisted{{}, sent[to]};
                if (!grid.ring(id, to).try_push(message)) break;
                sent[to]++;
                pushed = true;
            }
            if (pushed) grid.wake_if_sleeping(to);
            progressed = progressed || pushed;
        }
        return progressed;
    }

    bool receive_some() {
        bool progressed = false;
        for (u32 from = 0; from < grid.shard_count(); from++) {
            if (from == id) continue;
            while (auto message = grid.ring(from, id).try_pop()) {
                const auto* persisted = std::get_if<core::Persisted>(&*message);
                if (persisted == nullptr || persisted->sequence != received[from]) out_of_order++;
                received[from]++;
                progressed = true;
            }
        }
        return progressed;
    }

    void sleep() {
        sleeps++;
        pollfd fd{grid.wake_fd(id), POLLIN, 0};
        int ready = ::poll(&fd, 1, sleep_timeout_ms);
        if (ready == 0 && grid.has_incoming(id)) lost_wakeups++;
        u64 value;
        ssize_t n = ::read(grid.wake_fd(id), &value, sizeof value);
        (void)n;  // EAGAIN: woken by nothing, or the count was read already
    }

    void run() {
        while (!done()) {
            bool progressed = send_some();
            progressed = receive_some() || progressed;
            // A shard with output still queued for a full ring keeps turning (Shard::run).
            if (progressed || !all_sent()) continue;
            grid.set_sleeping(id, true);
            if (!grid.has_incoming(id)) sleep();
            grid.set_sleeping(id, false);
        }
    }
};

TEST(ShardGridTest, MessagesArriveInOrderAndNoSleeperMissesItsWakeUp) {
    constexpr u32 shard_count = 3;
    constexpr u64 per_pair = 100'000;
    ShardGrid grid(shard_count);
    std::vector<ShardThread> shards;
    for (u32 i = 0; i < shard_count; i++) shards.emplace_back(grid, i, per_pair);
    std::vector<std::thread> threads;
    for (ShardThread& shard : shards) threads.emplace_back([&shard] { shard.run(); });
    for (std::thread& thread : threads) thread.join();

    for (const ShardThread& shard : shards) {
        for (u32 from = 0; from < shard_count; from++) {
            if (from == shard.id) continue;
            EXPECT_EQ(shard.received[from], per_pair) << "shard " << shard.id << " from " << from;
        }
        EXPECT_EQ(shard.out_of_order, 0u) << "shard " << shard.id;
        EXPECT_EQ(shard.lost_wakeups, 0u) << "shard " << shard.id << " of " << shard.sleeps;
        EXPECT_FALSE(grid.has_incoming(shard.id));
    }
}

TEST(ShardGridTest, WakesOnlyAShardThatSaidItSleeps) {
    ShardGrid grid(2);
    pollfd fd{grid.wake_fd(1), POLLIN, 0};
    grid.wake_if_sleeping(1);
    EXPECT_EQ(::poll(&fd, 1, 0), 0) << "a busy shard is never woken by a syscall";
    grid.set_sleeping(1, true);
    grid.wake_if_sleeping(1);
    EXPECT_EQ(::poll(&fd, 1, 0), 1);
}

}  // namespace
}  // namespace lepus::server
