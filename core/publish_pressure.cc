#include "core/publish_pressure.h"

#include <algorithm>

namespace lepus::core {

void PublishPressure::change(Queue& queue, bool pressured) {
    queue.pressured = pressured;
    set(queue.info().id, pressured);
    changes_.push_back(Pressure{queue.info().id, pressured});
}

void PublishPressure::queue_gone(const Queue& queue) {
    if (!queue.pressured) return;
    set(queue.info().id, false);
    changes_.push_back(Pressure{queue.info().id, false});
}

void PublishPressure::announce(Outbox& outbox, ShardId self, u32 shard_count) {
    for (const Pressure& change : changes_) {
        for (u32 shard = 0; shard < shard_count; shard++) {
            if (ShardId(shard) != self) outbox.send(ShardId(shard), change);
        }
    }
    changes_.clear();
}

bool PublishPressure::pressured(QueueId queue) const {
    return std::find(pressured_.begin(), pressured_.end(), queue) != pressured_.end();
}

void PublishPressure::set(QueueId queue, bool on) {
    auto it = std::find(pressured_.begin(), pressured_.end(), queue);
    if (on && it == pressured_.end()) {
        pressured_.push_back(queue);
    } else if (!on && it != pressured_.end()) {
        *it = pressured_.back();
        pressured_.pop_back();
        lifts_++;
    }
}

}  // namespace lepus::core
