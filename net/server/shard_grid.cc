#include "net/server/shard_grid.h"

#include "core/base/assert.h"

namespace lepus::server {

ShardGrid::ShardGrid(u32 shard_count) : shard_count_(shard_count) {
    for (u32 i = 0; i < shard_count * shard_count; i++) {
        rings_.push_back(
            std::make_unique<SpscRing<core::ShardMessage>>(limits::shard_ring_capacity));
    }
    for (u32 i = 0; i < shard_count; i++) {
        auto w = std::make_unique<Wakeup>();
        w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        LEPUS_ASSERT_MSG(w->fd >= 0, "eventfd");
        wakeups_.push_back(std::move(w));
    }
}

ShardGrid::~ShardGrid() {
    for (auto& w : wakeups_) ::close(w->fd);
}

void ShardGrid::wake(u32 shard) {
    u64 one = 1;
    ssize_t n = ::write(wakeups_[shard]->fd, &one, sizeof one);
    (void)n;  // EAGAIN means a wake-up is already pending
}

void ShardGrid::wake_if_sleeping(u32 shard) {
    // Pairs with set_sleeping's seq_cst store and the consumer's re-check of its rings.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (wakeups_[shard]->sleeping.load(std::memory_order_seq_cst)) wake(shard);
}

bool ShardGrid::has_incoming(u32 shard) {
    for (u32 from = 0; from < shard_count_; from++) {
        if (from != shard && !ring(from, shard).empty()) return true;
    }
    return false;
}

}  // namespace lepus::server
