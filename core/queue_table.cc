#include "core/queue_table.h"

#include "core/base/assert.h"

namespace lepus::core {

void QueueTable::advance(u64 now_ms) {
    LEPUS_ASSERT(now_ms >= now_ms_);
    now_ms_ = now_ms;
}

const Queue* QueueTable::peek(QueueId id) const {
    auto it = queues_.find(id);
    return it == queues_.end() ? nullptr : it->second.get();
}

bool QueueTable::holds_durable(QueueId id) const {
    const Queue* queue = peek(id);
    return queue != nullptr && queue->info().durable && !queue->info().exclusive;
}

Queue& QueueTable::add(std::unique_ptr<Queue> queue) {
    QueueId id = queue->info().id;
    auto [it, inserted] = queues_.emplace(id, std::move(queue));
    LEPUS_ASSERT_MSG(inserted, "a queue id is created once");
    return *it->second;
}

void QueueTable::erase(QueueId id) {
    auto it = queues_.find(id);
    LEPUS_ASSERT(it != queues_.end());
    u64 scheduled = it->second->scheduled_deadline_ms;
    if (scheduled != Queue::never) deadlines_.erase({scheduled, id});
    queues_.erase(it);
}

void QueueTable::refile(Queue& queue, u64 deadline) {
    QueueId id = queue.info().id;
    if (queue.scheduled_deadline_ms != Queue::never) {
        deadlines_.erase({queue.scheduled_deadline_ms, id});
    }
    if (deadline != Queue::never) deadlines_.insert({deadline, id});
    queue.scheduled_deadline_ms = deadline;
}

const std::vector<QueueId>& QueueTable::due() {
    due_.clear();
    for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now_ms_; ++it) {
        due_.push_back(it->second);
    }
    return due_;
}

}  // namespace lepus::core
