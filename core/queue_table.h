#pragma once
// The queues whose home is this shard, with the two lists the broker's loop runs over: the
// queues that may be able to dispatch since the last turn (dirty), and the queues with timed
// work (message or queue expiry), earliest deadline first. It also holds the shard's clock:
// a queue found through the table has its time set to now.
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/queue.h"

namespace lepus::core {

class QueueTable {
public:
    // The monotonic clock in milliseconds; never goes back.
    void advance(u64 now_ms);
    u64 now_ms() const { return now_ms_; }

    // A queue with its clock set to now, or nullptr. Inline: once per message that reaches a
    // queue.
    Queue* find(QueueId id) {
        auto it = queues_.find(id);
        if (it == queues_.end()) return nullptr;
        it->second->set_time(now_ms_);
        return it->second.get();
    }
    // Without touching the queue's clock: for statistics and tests.
    const Queue* peek(QueueId id) const;
    // A durable, non-exclusive queue here: one whose messages the journal keeps.
    bool holds_durable(QueueId id) const;
    usize size() const { return queues_.size(); }
    // Every queue here, in no particular order, for statistics.
    template <typename F>
    void for_each(F&& f) const {
        for (const auto& [id, queue] : queues_) f(static_cast<const Queue&>(*queue));
    }

    Queue& add(std::unique_ptr<Queue> queue);
    // Forgets the queue and its deadline.
    void erase(QueueId id);

    void mark_dirty(const Queue& queue) {
        QueueId id = queue.info().id;
        if (dirty_.empty() || dirty_.back() != id) dirty_.push_back(id);
    }
    // The dirty list: the caller walks it by index (walking may add to it), then clears it.
    const std::vector<QueueId>& dirty() const { return dirty_; }
    void clear_dirty() { dirty_.clear(); }

    // Files the queue under its current next deadline (after anything changed it). Inline
    // for the usual case, a deadline that did not move.
    void reschedule(Queue& queue) {
        u64 deadline = queue.next_deadline_ms();
        if (deadline != queue.scheduled_deadline_ms) refile(queue, deadline);
    }
    // The queues whose deadline has come by now, earliest first.
    const std::vector<QueueId>& due();
    // When the earliest deadline falls, or UINT64_MAX.
    u64 next_deadline_ms() const {
        return deadlines_.empty() ? UINT64_MAX : deadlines_.begin()->first;
    }

private:
    void refile(Queue& queue, u64 deadline);

    std::unordered_map<QueueId, std::unique_ptr<Queue>> queues_;
    std::vector<QueueId> dirty_;
    // Each queue records the deadline it is filed under (Queue::scheduled_deadline_ms).
    std::set<std::pair<u64, QueueId>> deadlines_;
    std::vector<QueueId> due_;  // scratch for due()
    u64 now_ms_ = 0;
};

}  // namespace lepus::core
