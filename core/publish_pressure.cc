#include "core/publish_pressure.h"

#include <algorithm>

#include "core/base/limits.h"

namespace lepus::core {

void PublishPressure::update(Queue& queue) {
    u32 mark = queue.pressured ? limits::queue_pressure_low : limits::queue_pressure_high;
    u64 mark_bytes =
        queue.pressured ? limits::queue_pressure_low_bytes : limits::queue_pressure_high_bytes;
    bool backlog = queue.ready_count() >= mark || queue.resident_bytes() >= mark_bytes;
    bool pressured = backlog && (queue.delivery_bound() || queue.consumers_progressing());
    if (pressured == queue.pressured) return;
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
