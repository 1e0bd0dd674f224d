#include "core/queue.h"

#include <algorithm>

#include "core/base/assert.h"
#include "core/base/limits.h"

namespace lepus::core {

void Queue::enqueue(MessageRef message) {
    ready_.push_back(Ready{next_sequence_++, std::move(message), false});
}

u16 Queue::add_consumer(const ConsumeRequest& request, std::string& text) {
    bool exclusive_taken =
        std::any_of(consumers_.begin(), consumers_.end(), [](const Consumer& c) {
            return c.exclusive;
        });
    if (exclusive_taken || (request.exclusive && !consumers_.empty())) {
        text = "ACCESS_REFUSED - queue '" + info_.name + "' in vhost '" + vhost_ +
               "' in exclusive use";
        return 403;
    }
    Consumer c;
    c.key = request.consumer;
    c.tag = request.tag;
    c.no_ack = request.no_ack;
    c.exclusive = request.exclusive;
    c.prefetch = request.prefetch;
    consumers_.push_back(std::move(c));
    had_consumers_ = true;
    return 0;
}

Queue::Consumer* Queue::find_consumer(const ConsumerKey& key) {
    for (Consumer& c : consumers_) {
        if (c.key == key) return &c;
    }
    return nullptr;
}

bool Queue::remove_consumer(const ConsumerKey& key) {
    auto it = std::find_if(consumers_.begin(), consumers_.end(),
                           [&](const Consumer& c) { return c.key == key; });
    if (it == consumers_.end()) return false;
    usize index = static_cast<usize>(it - consumers_.begin());
    consumers_.erase(it);
    if (next_consumer_ > index) next_consumer_--;
    return true;
}

bool Queue::has_room(const Consumer& c) const {
    if (c.in_transit >= limits::consumer_transit_max) return false;
    if (c.no_ack || c.prefetch == 0) return true;
    return c.unsettled < c.prefetch;
}

void Queue::put_back(u64 sequence, MessageRef message, bool redelivered) {
    // Requeues are usually of the oldest messages, so search from the front.
    auto it = std::lower_bound(ready_.begin(), ready_.end(), sequence,
                               [](const Ready& r, u64 s) { return r.sequence < s; });
    ready_.insert(it, Ready{sequence, std::move(message), redelivered});
}

bool Queue::settle(u64 sequence, SettleKind kind) {
    auto it = unsettled_.find(sequence);
    if (it == unsettled_.end()) return false;
    Unsettled entry = std::move(it->second);
    unsettled_.erase(it);
    if (Consumer* c = find_consumer(entry.consumer)) {
        LEPUS_ASSERT(c->unsettled > 0);
        c->unsettled--;
    }
    switch (kind) {
        case SettleKind::ack:
        case SettleKind::drop: break;
        case SettleKind::requeue: put_back(sequence, std::move(entry.message), true); break;
        case SettleKind::undelivered:
            put_back(sequence, std::move(entry.message), entry.redelivered);
            break;
    }
    return true;
}

void Queue::credit(const ConsumerKey& key, u32 count) {
    Consumer* c = find_consumer(key);
    if (c == nullptr) return;
    c->in_transit = c->in_transit > count ? c->in_transit - count : 0;
}

bool Queue::get(bool no_ack, Got& out) {
    if (ready_.empty()) return false;
    Ready entry = std::move(ready_.front());
    ready_.pop_front();
    out.sequence = entry.sequence;
    out.redelivered = entry.redelivered;
    if (no_ack) {
        out.message = std::move(entry.message);
    } else {
        out.message = entry.message;
        unsettled_.emplace(entry.sequence,
                           Unsettled{std::move(entry.message), ConsumerKey{}, entry.redelivered});
    }
    return true;
}

u32 Queue::purge() {
    u32 count = static_cast<u32>(ready_.size());
    ready_.clear();
    return count;
}

}  // namespace lepus::core
