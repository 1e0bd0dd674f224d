#include "core/queue.h"

#include <algorithm>

#include "core/base/assert.h"
#include "core/base/limits.h"

namespace lepus::core {

Queue::Queue(std::string vhost, QueueInfo info, u64 now_ms)
    : vhost_(std::move(vhost)), info_(std::move(info)), now_ms_(now_ms), last_used_ms_(now_ms) {
    std::string text;
    amqp::ReplyCode code =
        parse_queue_arguments(info_.arguments, info_.name, vhost_, own_arguments_, text);
    LEPUS_ASSERT_MSG(code == amqp::ReplyCode::reply_success,
                     "queue arguments are validated on shard 0 before creation");
    arguments_ = own_arguments_;
    policy_.arguments = own_arguments_;
    u32 bands = arguments_.priority_band_count();
    bands_.reserve(bands);
    for (u32 i = 0; i < bands; i++) bands_.emplace_back(&pool_);
}

u32 Queue::band_of_priority(u8 priority) const {
    if (!arguments_.max_priority) return 0;
    return std::min<u32>(priority, *arguments_.max_priority);
}

u64 Queue::expires_at(const Message& message) const {
    u64 ttl = arguments_.message_ttl_ms.value_or(never);
    u64 per_message = 0;
    if (message.expiration_ms(per_message)) ttl = std::min(ttl, per_message);
    if (ttl == never) return never;
    // Both are at most expiry_ms_max, far from overflowing a monotonic millisecond clock.
    return now_ms_ + ttl;
}

void Queue::enqueue(MessageRef message, Stored stored) {
    stats_.publish++;
    u64 deadline = expires_at(*message);
    bool consumer_ready = some_consumer_has_room();
    if (deadline == now_ms_ && !consumer_ready) {
        // TTL 0: RabbitMQ keeps such a message only if it can be handed over at once.
        dead_letter(std::move(message), DeathReason::expired, stored);
        return;
    }
    u32 band = band_of(*message);
    bool until_dispatch = deadline == now_ms_;
    u8 priority = message->priority();
    u64 body_size = message->body_size();
    push_ready(band, Ready{next_sequence_++, std::move(message), deadline, false, until_dispatch,
                           false, priority, body_size, stored});
    if (!over_length_limits()) return;
    if (consumer_ready) {
        length_check_pending_ = true;  // after the dispatch that may take it past the limit
    } else {
        enforce_length_limits();
    }
}

void Queue::recover(MessageRef message, Stored stored, u8 priority, u64 body_size) {
    // An index-only entry has no expiration property at hand: only x-message-ttl applies.
    u64 deadline = message
                       ? expires_at(*message)
                       : (arguments_.message_ttl_ms ? now_ms_ + *arguments_.message_ttl_ms : never);
    push_ready(band_of_priority(priority), Ready{next_sequence_++, std::move(message), deadline,
                                                 true, false, false, priority, body_size, stored});
    if (over_length_limits()) enforce_length_limits();
}

void Queue::page_if_over_budget(Ready& entry) {
    if (!entry.message || !entry.stored.journaled() || !may_page() || entry.until_dispatch) return;
    if (resident_bytes_ + entry.body_size <= resident_bytes_max_) return;
    entry.message = MessageRef();  // the journal has the body
}

void Queue::request_reads() {
    for (Band& band : bands_) {
        usize limit = std::min<usize>(band.size(), read_ahead_max_);
        for (usize i = 0; i < limit; i++) {
            Ready& entry = band[i];
            if (entry.message || entry.read_requested) continue;
            entry.read_requested = true;
            store_->read_message(info_.id, entry.stored);
        }
    }
}

bool Queue::fill(u64 message_sequence, MessageRef message) {
    for (Band& band : bands_) {
        usize limit = std::min<usize>(band.size(), read_ahead_max_);
        for (usize i = 0; i < limit; i++) {
            Ready& entry = band[i];
            if (entry.message || entry.stored.message_sequence != message_sequence) continue;
            entry.message = std::move(message);
            entry.read_requested = false;
            LEPUS_ASSERT(paged_count_ > 0);
            paged_count_--;
            resident_bytes_ += entry.body_size;
            return true;
        }
    }
    return false;
}

void Queue::drop_unreadable(u64 message_sequence) {
    for (Band& band : bands_) {
        for (auto it = band.begin(); it != band.end(); ++it) {
            if (it->message || it->stored.message_sequence != message_sequence) continue;
            ready_count_--;
            ready_bytes_ -= it->body_size;
            paged_count_--;
            Stored stored = it->stored;
            band.erase(it);
            gone(stored);
            return;
        }
    }
}

amqp::ReplyCode Queue::add_consumer(const ConsumeRequest& request, std::string& text) {
    bool exclusive_taken = std::any_of(consumers_.begin(), consumers_.end(),
                                       [](const Consumer& c) { return c.exclusive; });
    if (exclusive_taken || (request.exclusive && !consumers_.empty())) {
        text = "ACCESS_REFUSED - queue '" + info_.name + "' in vhost '" + vhost_ +
               "' in exclusive use";
        return amqp::ReplyCode::access_refused;
    }
    Consumer c;
    c.key = request.consumer;
    c.tag = request.tag;
    c.no_ack = request.no_ack;
    c.exclusive = request.exclusive;
    c.prefetch = request.prefetch;
    c.priority = request.priority;
    // Consumers stay sorted by priority, highest first, in arrival order within a priority.
    // A single-active-consumer queue keeps arrival order: the first consumer is the active one.
    auto at = consumers_.end();
    if (!arguments_.single_active_consumer) {
        at = std::find_if(consumers_.begin(), consumers_.end(),
                          [&](const Consumer& other) { return other.priority < c.priority; });
    }
    usize index = static_cast<usize>(at - consumers_.begin());
    if (index < next_consumer_) next_consumer_++;
    consumers_.insert(at, std::move(c));
    had_consumers_ = true;
    touch();
    return amqp::ReplyCode::reply_success;
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
    if (consumers_.empty()) touch();  // x-expires counts from the last consumer's going
    return true;
}

bool Queue::transit_full(const Consumer& c) {
    return c.in_transit >= limits::consumer_transit_max ||
           c.in_transit_bytes >= limits::consumer_transit_bytes_max;
}

bool Queue::has_room(const Consumer& c) const {
    if (transit_full(c)) return false;
    if (c.no_ack || c.prefetch == 0) return true;
    return c.unsettled < c.prefetch;
}

usize Queue::eligible_consumer_count() const {
    if (consumers_.empty()) return 0;
    return arguments_.single_active_consumer ? 1 : consumers_.size();
}

Queue::Consumer* Queue::next_consumer_with_room() {
    usize eligible = eligible_consumer_count();
    for (usize group = 0; group < eligible;) {
        usize end = group + 1;
        while (end < eligible && consumers_[end].priority == consumers_[group].priority) end++;
        usize size = end - group;
        usize start = next_consumer_ >= group && next_consumer_ < end ? next_consumer_ - group : 0;
        for (usize k = 0; k < size; k++) {
            usize i = group + (start + k) % size;
            if (has_room(consumers_[i])) {
                next_consumer_ = i + 1 < end ? i + 1 : group;
                return &consumers_[i];
            }
        }
        group = end;
    }
    return nullptr;
}

bool Queue::delivery_bound() const {
    usize eligible = eligible_consumer_count();
    for (usize i = 0; i < eligible; i++) {
        const Consumer& c = consumers_[i];
        bool acks_allow = c.no_ack || c.prefetch == 0 || c.unsettled < c.prefetch;
        if (acks_allow && transit_full(c)) return true;
    }
    return false;
}

bool Queue::consumers_progressing() const {
    return eligible_consumer_count() > 0 &&
           now_ms_ < last_delivered_ms_ + limits::queue_consumer_stall_ms;
}

bool Queue::some_consumer_has_room() const {
    usize eligible = eligible_consumer_count();
    for (usize i = 0; i < eligible; i++) {
        if (has_room(consumers_[i])) return true;
    }
    return false;
}

Queue::Band* Queue::head_band() {
    for (usize i = bands_.size(); i-- > 0;) {
        if (!bands_[i].empty()) return &bands_[i];
    }
    return nullptr;
}

void Queue::push_ready(u32 band, Ready entry) {
    ready_count_++;
    if (entry.until_dispatch) until_dispatch_count_++;
    ready_bytes_ += entry.body_size;
    page_if_over_budget(entry);
    if (entry.message) {
        resident_bytes_ += entry.body_size;
    } else {
        paged_count_++;
    }
    bands_[band].push_back(std::move(entry));
}

Queue::Ready Queue::pop_front(Band& band) {
    LEPUS_ASSERT(!band.empty() && ready_count_ > 0);
    Ready entry = std::move(band.front());
    band.pop_front();
    ready_count_--;
    if (entry.until_dispatch) {
        LEPUS_ASSERT(until_dispatch_count_ > 0);
        until_dispatch_count_--;
        entry.until_dispatch = false;  // delivered now, or requeued later with its deadline
    }
    ready_bytes_ -= entry.body_size;
    if (entry.message) {
        resident_bytes_ -= entry.body_size;
    } else {
        paged_count_--;
    }
    return entry;
}

bool Queue::take_head(Ready& out) {
    while (Band* band = head_band()) {
        bool is_expired = expired(band->front());
        if (!is_expired && !band->front().message) {
            request_reads();  // the head is paged out: deliver once it is back
            return false;
        }
        Ready entry = pop_front(*band);
        if (is_expired) {
            dead_letter(std::move(entry.message), DeathReason::expired, entry.stored);
            continue;
        }
        out = std::move(entry);
        return true;
    }
    return false;
}

void Queue::put_back(u64 sequence, MessageRef message, u64 expires_at_ms, bool redelivered,
                     const Stored& stored) {
    Band& band = bands_[band_of(*message)];
    ready_count_++;
    u64 body_size = message->body_size();
    ready_bytes_ += body_size;
    resident_bytes_ += body_size;
    u8 priority = message->priority();
    // Requeues are usually of the oldest messages, so search from the front.
    auto it = std::lower_bound(band.begin(), band.end(), sequence,
                               [](const Ready& r, u64 s) { return r.sequence < s; });
    band.insert(it, Ready{sequence, std::move(message), expires_at_ms, redelivered, false, false,
                          priority, body_size, stored});
}

void Queue::return_undelivered(u64 sequence, MessageRef message, bool redelivered,
                               const Stored& stored) {
    u64 deadline = expires_at(*message);
    put_back(sequence, std::move(message), deadline, redelivered, stored);
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
            stats_.ack++;
            gone(entry.stored);
            break;
        case SettleKind::drop:
            dead_letter(std::move(entry.message), DeathReason::rejected, entry.stored);
            break;
        case SettleKind::requeue:
            put_back(sequence, std::move(entry.message), entry.expires_at_ms, true, entry.stored);
            break;
        case SettleKind::undelivered:
            put_back(sequence, std::move(entry.message), entry.expires_at_ms, entry.redelivered,
                     entry.stored);
            break;
    }
    return true;
}

void Queue::credit(const ConsumerKey& key, u32 count, u64 bytes) {
    Consumer* c = find_consumer(key);
    if (c == nullptr) return;
    c->in_transit = c->in_transit > count ? c->in_transit - count : 0;
    c->in_transit_bytes = c->in_transit_bytes > bytes ? c->in_transit_bytes - bytes : 0;
}

Queue::GetResult Queue::fetch(bool no_ack, Got& out) {
    touch();
    if (length_check_pending_) enforce_length_limits();
    Ready entry;
    if (!take_head(entry)) {
        if (ready_count_ > 0) return GetResult::waiting;
        stats_.get_empty++;
        return GetResult::empty;
    }
    out.sequence = entry.sequence;
    out.redelivered = entry.redelivered;
    (no_ack ? stats_.get_no_ack : stats_.get)++;
    if (entry.redelivered) stats_.redeliver++;
    if (no_ack) {
        out.message = std::move(entry.message);
        gone(entry.stored);
    } else {
        out.message = entry.message;
        unsettled_.emplace(entry.sequence,
                           Unsettled{std::move(entry.message), ConsumerKey{}, entry.expires_at_ms,
                                     entry.redelivered, entry.stored});
    }
    return GetResult::got;
}

u32 Queue::purge() {
    u32 count = ready_count();
    for (Band& band : bands_) {
        for (const Ready& r : band) gone(r.stored);
        band.clear();
    }
    ready_count_ = 0;
    ready_bytes_ = 0;
    resident_bytes_ = 0;
    paged_count_ = 0;
    until_dispatch_count_ = 0;
    length_check_pending_ = false;
    return count;
}

void Queue::deliver_to(Consumer& c, Ready entry, Deliver& d) {
    last_delivered_ms_ = now_ms_;
    c.in_transit++;
    c.in_transit_bytes += entry.message->transit_size();
    d.consumer = c.key;
    d.queue = info_.id;
    d.home = info_.home;
    d.sequence = entry.sequence;
    d.redelivered = entry.redelivered;
    d.no_ack = c.no_ack;
    (c.no_ack ? stats_.deliver_no_ack : stats_.deliver)++;
    if (entry.redelivered) stats_.redeliver++;
    if (c.no_ack) {
        d.message = std::move(entry.message);
        gone(entry.stored);
        return;
    }
    c.unsettled++;
    d.message = entry.message;
    unsettled_.emplace(entry.sequence,
                       Unsettled{std::move(entry.message), c.key, entry.expires_at_ms,
                                 entry.redelivered, entry.stored});
}

void Queue::drop_expired_heads() {
    for (Band& band : bands_) {
        while (!band.empty() && expired(band.front())) {
            Ready entry = pop_front(band);
            dead_letter(std::move(entry.message), DeathReason::expired, entry.stored);
        }
    }
}

void Queue::drop_undispatched() {
    for (Band& band : bands_) {
        for (auto it = band.begin(); it != band.end();) {
            if (!it->until_dispatch) {
                ++it;
                continue;
            }
            ready_count_--;
            ready_bytes_ -= it->body_size;
            resident_bytes_ -= it->body_size;  // TTL-0 entries are never paged
            MessageRef message = std::move(it->message);
            Stored stored = it->stored;
            it = band.erase(it);
            dead_letter(std::move(message), DeathReason::expired, stored);
        }
    }
    until_dispatch_count_ = 0;
}

bool Queue::over_length_limits() const {
    if (ready_count_ == 0) return false;
    if (arguments_.max_length && ready_count_ > *arguments_.max_length) return true;
    return arguments_.max_length_bytes && ready_bytes_ > *arguments_.max_length_bytes;
}

void Queue::enforce_length_limits() {
    length_check_pending_ = false;
    while (over_length_limits()) {
        Band* band = head_band();
        Ready entry = pop_front(*band);
        dead_letter(std::move(entry.message), DeathReason::maxlen, entry.stored);
    }
}

void Queue::dead_letter(MessageRef message, DeathReason reason, const Stored& stored) {
    gone(stored);
    if (!arguments_.dead_letter_exchange) return;  // discarded
    // A queue pages bodies out only while it has no dead-letter exchange; a message paged out
    // before a policy gave it one has no body here to republish, and is dropped.
    if (!message) return;
    dead_letters_.push_back(DeadLetter{std::move(message), reason});
}

void Queue::expire_messages() { drop_expired_heads(); }

void Queue::set_policy(QueuePolicy policy) {
    // Priority bands and single-active-consumer are fixed at declaration, as in RabbitMQ.
    LEPUS_ASSERT(policy.arguments.max_priority == own_arguments_.max_priority);
    policy_ = std::move(policy);
    arguments_ = policy_.arguments;
    drop_expired_heads();
    enforce_length_limits();
}

void Queue::touch() {
    last_used_ms_ = now_ms_;
    expiry_requested_ = false;
}

bool Queue::expiry_due() const {
    if (!arguments_.expires_ms || !consumers_.empty()) return false;
    return now_ms_ >= last_used_ms_ + *arguments_.expires_ms;
}

u64 Queue::next_deadline_ms() const {
    u64 deadline = never;
    for (const Band& band : bands_) {
        // A TTL-0 head is settled by the dispatch that follows its arrival, not by a timer.
        if (band.empty() || band.front().expires_at_ms == never || band.front().until_dispatch)
            continue;
        // A message may be delivered through its last millisecond; it expires after it.
        deadline = std::min(deadline, band.front().expires_at_ms + 1);
    }
    if (arguments_.expires_ms && consumers_.empty() && !expiry_requested_) {
        deadline = std::min(deadline, last_used_ms_ + *arguments_.expires_ms);
    }
    // Under pressure for its consumers' pace, the moment they count as stalled: the pressure
    // is looked at again then, even if nothing else happens to the queue.
    if (pressured && !delivery_bound()) {
        u64 stalled_at = last_delivered_ms_ + limits::queue_consumer_stall_ms;
        if (stalled_at > now_ms_) deadline = std::min(deadline, stalled_at);
    }
    return deadline;
}

}  // namespace lepus::core
