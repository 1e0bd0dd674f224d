#pragma once
// What holds publishers back, as one shard knows it: the queues under pressure (this shard's,
// decided here from their backlog and consumers, and the ones other shards announced) and the
// memory alarm that shard 0 raises for all. Publishing connections consult it per publish;
// the shard loop looks at paused connections again only when pressure lifted.
#include <vector>

#include "core/base/limits.h"
#include "core/base/types.h"
#include "core/queue.h"
#include "core/shard_message.h"

namespace lepus::core {

class PublishPressure {
public:
    // One of this shard's queues changed: decides whether it is under pressure, with the
    // hysteresis of limits::queue_pressure_high and _low, and notes a change to announce.
    // Inline: once per message that enters or leaves a queue.
    void update(Queue& queue) {
        u32 mark = queue.pressured ? limits::queue_pressure_low : limits::queue_pressure_high;
        u64 mark_bytes =
            queue.pressured ? limits::queue_pressure_low_bytes : limits::queue_pressure_high_bytes;
        bool backlog = queue.ready_count() >= mark || queue.resident_bytes() >= mark_bytes;
        bool pressured = backlog && (queue.delivery_bound() || queue.consumers_progressing());
        if (pressured != queue.pressured) change(queue, pressured);
    }
    // One of this shard's queues is going away: it holds no publisher back any longer.
    void queue_gone(const Queue& queue);
    // Another shard announced a change of one of its queues.
    void on(const Pressure& change) { set(change.queue, change.on); }
    // Tells the other shards about this shard's changes since the last call.
    void announce(Outbox& outbox, ShardId self, u32 shard_count);

    // Few queues are under pressure at a time: a plain vector, checked per publish only when
    // not empty.
    bool any() const { return !pressured_.empty(); }
    bool pressured(QueueId queue) const;
    // Counts the ends of pressure: paused connections need a look only when it moved.
    u64 lifts() const { return lifts_; }

    void set_alarm(Resource resource, bool on) {
        (resource == Resource::memory ? memory_alarm_ : disk_alarm_) = on;
    }
    // Either alarm: connections that publish are blocked.
    bool alarm() const { return memory_alarm_ || disk_alarm_; }
    bool alarm(Resource resource) const {
        return resource == Resource::memory ? memory_alarm_ : disk_alarm_;
    }

private:
    void change(Queue& queue, bool pressured);
    void set(QueueId queue, bool on);

    std::vector<QueueId> pressured_;
    std::vector<Pressure> changes_;  // this shard's, not yet announced
    u64 lifts_ = 0;
    bool memory_alarm_ = false;
    bool disk_alarm_ = false;
};

}  // namespace lepus::core
