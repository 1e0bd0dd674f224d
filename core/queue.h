#pragma once
// A queue on its home shard: the ready messages in order, the messages delivered and not yet
// settled, and the consumers it dispatches to round-robin. Owned by the home shard's Broker;
// everything here runs on that shard.
//
// Flow control: a consumer receives a message only while (a) its prefetch allows (unsettled
// deliveries < prefetch, for consumers that ack) and (b) fewer than consumer_transit_max of its
// deliveries are still travelling to its socket; the consumer's shard returns Credit as it
// writes them. So a slow consumer holds back its queue instead of filling memory.
//
// The x-* arguments (QueueArguments), as RabbitMQ 3.10 applies them:
// - Order: ready messages live in one band per priority (x-max-priority; one band otherwise),
//   highest band first, sequence order within a band. A requeue returns to its old place.
// - Message TTL: a message's deadline is its arrival here plus the smaller of x-message-ttl and
//   its expiration property; a requeue keeps it. Expiry happens at the head of each band, as in
//   RabbitMQ, and nothing expired is ever delivered or fetched. A message with TTL 0 is kept
//   only if a consumer can take it at once, that is, by the next dispatch.
// - Length limits (x-max-length, x-max-length-bytes of ready bodies; drop-head): the head is
//   dropped until the queue fits. When a consumer has room the check waits until after the next
//   dispatch, since RabbitMQ hands such a message straight to the consumer, past the limit.
// - Dead letters: with x-dead-letter-exchange, messages rejected without requeue, expired or
//   dropped for length are collected in dead_letters() for the Broker to republish; without
//   it they are discarded.
// - x-single-active-consumer: only the first registered consumer receives messages; when it
//   goes, the next in registration order takes over.
// - x-expires: the queue is due for deletion once it has had no consumer and no basic.get or
//   redeclare (touch) for that long; the Broker asks shard 0 to delete it.
// - Paging (deep queues, as RabbitMQ's lazy queues): a ready message that is in the journal is
//   kept in memory only while the queue's resident bodies stay under
//   limits::queue_resident_bytes_max; past that only its index entry stays, and the body is
//   read back from the journal when it nears the head (limits::queue_read_ahead_max entries).
//   A paged head holds dispatch and basic.get until its read completes. Queues with a
//   dead-letter exchange keep bodies in memory, since dead-lettering republishes the body.
// Time is the Broker's monotonic clock, set with set_time before each operation.
#include <deque>
#include <memory_resource>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/limits.h"
#include "core/dead_letter.h"
#include "core/journal_sink.h"
#include "core/message.h"
#include "core/message_stats.h"
#include "core/queue_arguments.h"
#include "core/shard_message.h"

namespace lepus::core {

// Where a queued message is in its shard's journal, for a durable queue holding a persistent
// message; message_sequence 0 means it is not in the journal.
struct Stored {
    u64 message_sequence = 0;  // the message record's sequence: its identity in the journal
    u64 segment = 0;           // the record that put it in this queue (message or enqueue)
    RecordPlace body;          // the message record's payload
    bool journaled() const { return message_sequence != 0; }
};

// Told when a stored message leaves its queue for good (acked, rejected, expired, dropped,
// purged, delivered without ack), so the journal can record that it is gone; and asked to read
// back the body of a paged-out message, answered later through Queue::fill.
class QueueStore {
public:
    virtual ~QueueStore() = default;
    virtual void message_gone(QueueId queue, const Stored& stored) = 0;
    virtual void read_message(QueueId queue, const Stored& stored) = 0;
};

class Queue {
public:
    struct Consumer {
        ConsumerKey key;
        std::string tag;
        bool no_ack = false;
        bool exclusive = false;
        u16 prefetch = 0;  // 0: unlimited
        i32 priority = 0;
        u32 unsettled = 0;
        u32 in_transit = 0;
        u64 in_transit_bytes = 0;  // their transit_size, summed
    };
    struct DeadLetter {
        MessageRef message;
        DeathReason reason = DeathReason::rejected;
    };
    static constexpr u64 never = UINT64_MAX;

    // The arguments in `info` were validated by shard 0; they parse here by the same code.
    Queue(std::string vhost, QueueInfo info, u64 now_ms = 0);

    const QueueInfo& info() const { return info_; }
    const std::string& vhost() const { return vhost_; }
    // The settings the queue runs with: its own x-arguments resolved against its policies.
    const QueueArguments& arguments() const { return arguments_; }
    // Its x-arguments alone, as declared.
    const QueueArguments& own_arguments() const { return own_arguments_; }
    // The policies that apply, as resolved by its home shard (resolve_queue_policy).
    const QueuePolicy& policy() const { return policy_; }
    // A policy was set, changed or cleared: the queue runs with these settings from now on, as
    // RabbitMQ's process_args_policy applies them. A lower length limit drops the excess at
    // once; a message TTL applies to messages enqueued from now on (those queued keep their
    // deadline), and expiry at the head runs now.
    void set_policy(QueuePolicy policy);
    u32 ready_count() const { return static_cast<u32>(ready_count_); }
    u64 ready_bytes() const { return ready_bytes_; }
    u64 resident_bytes() const { return resident_bytes_; }
    u32 paged_count() const { return static_cast<u32>(paged_count_); }
    u32 unsettled_count() const { return static_cast<u32>(unsettled_.size()); }
    u32 consumer_count() const { return static_cast<u32>(consumers_.size()); }
    // Deliveries, gets, acks and redeliveries so far, and the messages that entered.
    const MessageStats& stats() const { return stats_; }
    bool has_had_consumers() const { return had_consumers_; }
    const std::vector<Consumer>& consumers() const { return consumers_; }

    void set_time(u64 now_ms) { now_ms_ = now_ms; }
    u64 now_ms() const { return now_ms_; }

    void enqueue(MessageRef message, Stored stored = {});
    // Start-up: a message recovered from the journal joins the tail, marked redelivered, as it
    // may have been delivered before the restart. `message` is empty for one recovered as an
    // index entry only (its body is read back when it nears the head).
    void recover(MessageRef message, Stored stored, u8 priority, u64 body_size);
    // A read asked of the store has completed: the paged message gets its body back. False when
    // the queue no longer holds it (acked, purged or expired meanwhile).
    bool fill(u64 message_sequence, MessageRef message);
    // A read failed: the message cannot be delivered and leaves the queue.
    void drop_unreadable(u64 message_sequence);
    void set_store(QueueStore* store) { store_ = store; }
    // Paging thresholds; the defaults are limits::queue_resident_bytes_max and
    // limits::queue_read_ahead_max (tests use small ones).
    void set_paging(u64 resident_bytes_max, u32 read_ahead_max) {
        resident_bytes_max_ = resident_bytes_max;
        read_ahead_max_ = read_ahead_max;
    }
    // Calls f(const Stored&) for every journaled message it holds, ready or unsettled.
    template <typename F>
    void for_each_stored(F&& f) const;

    // Adds a consumer; returns reply_success, or the reply code with `text` when refused.
    amqp::ReplyCode add_consumer(const ConsumeRequest& request, std::string& text);
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
    // A no-ack delivery whose channel went before it reached the client. The queue no longer
    // knows its deadline, so its TTL counts again from now. `stored`: where the broker wrote
    // it again (its leaving was written at delivery), or nothing for a transient message.
    void return_undelivered(u64 sequence, MessageRef message, bool redelivered,
                            const Stored& stored);
    // The consumer's shard wrote `count` deliveries of `bytes` (transit_size) to its socket.
    void credit(const ConsumerKey& key, u32 count, u64 bytes);

    // basic.get: the next ready message, moved to unsettled unless no_ack. `waiting` when the
    // head is paged out and being read back: ask again after the next fill.
    struct Got {
        MessageRef message;
        u64 sequence = 0;
        bool redelivered = false;
    };
    enum class GetResult : u8 { got, empty, waiting };
    GetResult fetch(bool no_ack, Got& out);
    bool get(bool no_ack, Got& out) { return fetch(no_ack, out) == GetResult::got; }

    // Drops every ready message; returns how many (unsettled ones stay, as in RabbitMQ).
    u32 purge();

    // Hands ready messages to consumers that have room, calling emit(Deliver&&) for each.
    template <typename Emit>
    void dispatch(Emit&& emit);

    // Drops the expired messages at the head of each band (dead-lettering them).
    void expire_messages();
    // Redeclaration and queue.declare's counts use the queue: x-expires starts again.
    void touch();
    // True when x-expires says the queue should go now.
    bool expiry_due() const;
    // The Broker has asked shard 0 to delete the queue; no deadline for that until touched.
    void note_expiry_requested() { expiry_requested_ = true; }
    // When expire_messages or expiry_due next has work, or `never`.
    u64 next_deadline_ms() const;

    // Messages to dead-letter, oldest first; the Broker republishes and clears them.
    std::vector<DeadLetter>& dead_letters() { return dead_letters_; }

    // True when a consumer could take more but its deliveries are all still travelling to its
    // socket: the queue is limited by delivery, not by acks (limits::queue_pressure_high).
    bool delivery_bound() const;
    // True when it has a consumer that was handed a message in the last
    // limits::queue_consumer_stall_ms: its backlog is one consumers are working through.
    bool consumers_progressing() const;
    // Whether the Broker counts this queue as delivery-bound with a backlog.
    bool pressured = false;

    // The deadline under which the Broker's timer set holds this queue (`never`: none).
    u64 scheduled_deadline_ms = never;

private:
    struct Ready {
        u64 sequence = 0;
        MessageRef message;
        u64 expires_at_ms = never;  // the last millisecond it may be delivered in
        bool redelivered = false;
        // TTL 0 with a consumer that had room: the next dispatch delivers it or it expires,
        // whatever the clock says by then.
        bool until_dispatch = false;
        bool read_requested = false;  // paged out (message empty) and asked of the store
        u8 priority = 0;
        u64 body_size = 0;
        Stored stored;
    };
    struct Unsettled {
        MessageRef message;
        ConsumerKey consumer;  // empty id for basic.get
        u64 expires_at_ms = never;
        bool redelivered = false;
        Stored stored;
    };
    // Bands and the unsettled map draw their memory from the queue's pool, so a steady flow
    // through the queue reuses freed blocks instead of allocating (a deque allocates a block
    // every few entries, the map a node per delivery that awaits an ack).
    using Band = std::pmr::deque<Ready>;

    Consumer* find_consumer(const ConsumerKey& key);
    bool has_room(const Consumer& c) const;
    // Its deliveries on the way to its socket reached the count or byte limit.
    static bool transit_full(const Consumer& c);
    // Round-robin within the highest-priority group of consumers that has one with room, as
    // RabbitMQ's consumer priorities do; nullptr when every eligible consumer is full.
    Consumer* next_consumer_with_room();
    // Consumers that may receive: all of them, or the first with x-single-active-consumer.
    usize eligible_consumer_count() const;
    bool some_consumer_has_room() const;
    u32 band_of(const Message& message) const { return band_of_priority(message.priority()); }
    u32 band_of_priority(u8 priority) const;
    // Whether a new ready entry keeps its body in memory (see Paging above).
    void page_if_over_budget(Ready& entry);
    // Asks the store for the paged entries near the head of each band.
    void request_reads();
    bool may_page() const { return store_ != nullptr && !arguments_.dead_letter_exchange; }
    Band* head_band();
    bool expired(const Ready& r) const { return !r.until_dispatch && r.expires_at_ms < now_ms_; }
    // Pops the next deliverable message, dropping expired ones on the way.
    bool take_head(Ready& out);
    void push_ready(u32 band, Ready entry);
    void put_back(u64 sequence, MessageRef message, u64 expires_at_ms, bool redelivered,
                  const Stored& stored);
    // The message has left the queue for good.
    void gone(const Stored& stored) {
        if (stored.journaled() && store_ != nullptr) store_->message_gone(info_.id, stored);
    }
    Ready pop_front(Band& band);
    void drop_expired_heads();
    // After a dispatch: TTL-0 messages no consumer took expire.
    void drop_undispatched();
    void enforce_length_limits();
    bool over_length_limits() const;
    void dead_letter(MessageRef message, DeathReason reason, const Stored& stored);
    u64 expires_at(const Message& message) const;
    void deliver_to(Consumer& c, Ready entry, Deliver& d);

    std::string vhost_;
    QueueInfo info_;
    QueueArguments own_arguments_;
    QueueArguments arguments_;
    QueuePolicy policy_;
    std::pmr::unsynchronized_pool_resource pool_;  // declared before what uses it
    std::vector<Band> bands_;                      // index = priority; the highest is the head
    usize ready_count_ = 0;
    u64 ready_bytes_ = 0;
    u64 last_delivered_ms_ = 0;  // the last time a consumer was handed a message
    u64 resident_bytes_ = 0;     // bodies of ready messages held in memory
    usize paged_count_ = 0;
    std::pmr::unordered_map<u64, Unsettled> unsettled_{&pool_};
    std::vector<Consumer> consumers_;
    usize next_consumer_ = 0;
    u64 next_sequence_ = 1;
    bool had_consumers_ = false;
    bool length_check_pending_ = false;
    usize until_dispatch_count_ = 0;  // ready entries with until_dispatch set
    u64 now_ms_ = 0;
    u64 last_used_ms_ = 0;
    bool expiry_requested_ = false;
    std::vector<DeadLetter> dead_letters_;
    QueueStore* store_ = nullptr;
    u64 resident_bytes_max_ = limits::queue_resident_bytes_max;
    u32 read_ahead_max_ = limits::queue_read_ahead_max;
    // Last: counters touched once per message, kept off the lines of the fields above.
    MessageStats stats_;
};

template <typename F>
void Queue::for_each_stored(F&& f) const {
    for (const Band& band : bands_) {
        for (const Ready& r : band) {
            if (r.stored.journaled()) f(r.stored);
        }
    }
    for (const auto& [sequence, u] : unsettled_) {
        if (u.stored.journaled()) f(u.stored);
    }
}

template <typename Emit>
void Queue::dispatch(Emit&& emit) {
    drop_expired_heads();
    while (ready_count_ > 0) {
        Consumer* c = next_consumer_with_room();
        if (c == nullptr) break;
        Ready entry;
        if (!take_head(entry)) break;
        Deliver d;
        deliver_to(*c, std::move(entry), d);
        emit(std::move(d));
    }
    if (until_dispatch_count_ > 0) drop_undispatched();
    if (length_check_pending_) enforce_length_limits();
    if (paged_count_ > 0 && !consumers_.empty()) request_reads();  // read ahead of delivery
}

}  // namespace lepus::core
