#pragma once
// The N x N grid of single-producer single-consumer rings between shards, and each shard's
// wake-up: an eventfd the shard keeps a read posted on while it sleeps in io_uring. A producer
// writes the eventfd only when the consumer said it is going to sleep, so a busy shard is
// never woken by a syscall.
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <vector>

#include "core/base/limits.h"
#include "core/base/spsc_ring.h"
#include "core/shard_message.h"

namespace lepus::server {

class ShardGrid {
public:
    explicit ShardGrid(u32 shard_count);
    ~ShardGrid();
    ShardGrid(const ShardGrid&) = delete;
    ShardGrid& operator=(const ShardGrid&) = delete;

    u32 shard_count() const { return shard_count_; }
    SpscRing<core::ShardMessage>& ring(u32 from, u32 to) {
        return *rings_[from * shard_count_ + to];
    }
    int wake_fd(u32 shard) const { return wakeups_[shard]->fd; }

    // Consumer side: announce sleep, then check the rings once more before sleeping.
    void set_sleeping(u32 shard, bool sleeping) {
        wakeups_[shard]->sleeping.store(sleeping, std::memory_order_seq_cst);
    }
    // Producer side, after pushing: wakes the consumer if it is (about to be) asleep.
    void wake_if_sleeping(u32 shard);
    void wake(u32 shard);
    bool has_incoming(u32 shard);

private:
    struct alignas(64) Wakeup {
        std::atomic<bool> sleeping{false};
        int fd = -1;
    };
    u32 shard_count_;
    std::vector<std::unique_ptr<SpscRing<core::ShardMessage>>> rings_;
    std::vector<std::unique_ptr<Wakeup>> wakeups_;
};

}  // namespace lepus::server
