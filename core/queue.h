#pragma once
// A queue on its home shard: the ready messages in order, the messages delivered and not yet
// settled, and the consumers it dispatches to round-robin. Owned by the home shard's Broker;
// everything here runs on that shard.
//
// Flow control: a consumer receives a message only while (a) its prefetch allows (unsettled
// deliveries < prefetch, for consumers that ack) and (b) fewer than consumer_transit_max of its
// deliveries are still travelling to its socket; the consumer's shard returns Credit as it
// writes them. So a slow consumer holds back its queue instead of filling memory.
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/message.h"
#include "core/shard_message.h"

namespace lepus::core {

class Queue {
public:
    struct Consumer {
        ConsumerKey key;
        std::string tag;
        bool no_ack = false;
        bool exclusive = false;
        u16 prefetch = 0;  // 0: unlimited
        u32 unsettled = 0;
        u32 in_transit = 0;
    };

    Queue(std::string vhost, QueueInfo info) : vhost_(std::move(vhost)), info_(std::move(info)) {}

    const QueueInfo& info() const { return info_; }
    const std::string& vhost() const { return vhost_; }
    u32 ready_count() const { return static_cast<u32>(ready_.size()); }
    u32 unsettled_count() const { return static_cast<u32>(unsettled_.size()); }
    u32 consumer_count() const { return static_cast<u32>(consumers_.size()); }
    bool has_had_consumers() const { return had_consumers_; }

    void enqueue(MessageRef message);

    // Adds a consumer; returns 0 or the reply code with `text` when refused.
    u16 add_consumer(const ConsumeRequest& request, std::string& text);
    // True when the consumer was there.
    bool remove_consumer(const ConsumerKey& key);
    // Removes every consumer, calling `on_removed` for each (the queue is being deleted).
    template <typename F>
    void remove_all_consumers(F&& on_removed) {
        for (const Consumer& c : consumers_) on_removed(c);
        consumers_.clear();
    }

    // False when the sequence is not awaiting settlement (a duplicate, or a no-ack delivery).
    bool settle(u64 sequence, SettleKind kind);
    // A no-ack delivery whose channel went before it reached the client.
    void return_undelivered(u64 sequence, MessageRef message, bool redelivered) {
        put_back(sequence, std::move(message), redelivered);
    }
    void credit(const ConsumerKey& key, u32 count);

    // basic.get: the next ready message, moved to unsettled unless no_ack.
    struct Got {
        MessageRef message;
        u64 sequence = 0;
        bool redelivered = false;
    };
    bool get(bool no_ack, Got& out);

    // Drops every ready message; returns how many (unsettled ones stay, as in RabbitMQ).
    u32 purge();

    // Hands ready messages to consumers that have room, calling emit(Deliver&&) for each.
    template <typename Emit>
    void dispatch(Emit&& emit);

private:
    struct Ready {
        u64 sequence;
        MessageRef message;
        bool redelivered;
    };
    struct Unsettled {
        MessageRef message;
        ConsumerKey consumer;  // empty id for basic.get
        bool redelivered;
    };

    Consumer* find_consumer(const ConsumerKey& key);
    bool has_room(const Consumer& c) const;
    // Puts a message back in sequence order: requeued messages return to their old place.
    void put_back(u64 sequence, MessageRef message, bool redelivered);

    std::string vhost_;
    QueueInfo info_;
    std::deque<Ready> ready_;
    std::unordered_map<u64, Unsettled> unsettled_;
    std::vector<Consumer> consumers_;
    usize next_consumer_ = 0;
    u64 next_sequence_ = 1;
    bool had_consumers_ = false;
};

template <typename Emit>
void Queue::dispatch(Emit&& emit) {
    if (consumers_.empty()) return;
    usize blocked_in_a_row = 0;
    while (!ready_.empty() && blocked_in_a_row < consumers_.size()) {
        if (next_consumer_ >= consumers_.size()) next_consumer_ = 0;
        Consumer& c = consumers_[next_consumer_++];
        if (!has_room(c)) {
            blocked_in_a_row++;
            continue;
        }
        blocked_in_a_row = 0;
        Ready entry = std::move(ready_.front());
        ready_.pop_front();
        c.in_transit++;
        Deliver d;
        d.consumer = c.key;
        d.queue = info_.id;
        d.home = info_.home;
        d.sequence = entry.sequence;
        d.redelivered = entry.redelivered;
        d.no_ack = c.no_ack;
        if (c.no_ack) {
            d.message = std::move(entry.message);
        } else {
            c.unsettled++;
            d.message = entry.message;
            unsettled_.emplace(entry.sequence,
                               Unsettled{std::move(entry.message), c.key, entry.redelivered});
        }
        emit(std::move(d));
    }
}

}  // namespace lepus::core
