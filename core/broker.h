#pragma once
// The broker as one shard sees it: the catalog replica, the queues whose home this shard is,
// and, on shard 0, the metadata authority. Plain deterministic code: no syscalls, no threads.
// Inputs are method calls from this shard's channels and messages from other shards; outputs
// are messages in the Outbox (including messages to this shard's own channels).
//
// Its parts, each in its own file: the queue table (queues, what may dispatch, deadlines),
// publish pressure (what holds publishers back), the message journal (records, and what waits
// for them to be durable), and at start-up only, the message recovery. The broker itself
// routes, moves messages between shards, dead-letters, and answers the shard messages.
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/admission.h"
#include "core/catalog.h"
#include "core/definitions.h"
#include "core/journal_sink.h"
#include "core/message_journal.h"
#include "core/message_recovery.h"
#include "core/message_stats.h"
#include "core/metadata.h"
#include "core/publish_pressure.h"
#include "core/queue.h"
#include "core/queue_table.h"
#include "core/shard_message.h"

namespace lepus::core {

// Durability (with a journal set): a persistent message entering a durable queue here is
// written to this shard's journal (the body once per shard, see journal_records.h); its
// leaving is written too, batched per loop turn by flush_journal. A publish in confirm mode
// learns how many such copies it made (PublishConfirm::awaiting_disk); each queue's home shard
// answers each with one Persisted once the write holding it is durable.
class Broker : private ReadBack {
public:
    Broker(ShardId self, u32 shard_count, Outbox& outbox, const std::vector<std::string>& vhosts);
    ~Broker() override;

    // A publish in confirm mode: who to tell, and (out) how many Persisted will come back.
    struct PublishConfirm {
        ChannelKey channel;
        u64 sequence = 0;
        u32 awaiting_disk = 0;
    };

    ShardId shard() const { return self_; }
    u32 shard_count() const { return shard_count_; }
    Catalog& catalog() { return catalog_; }
    const Catalog& catalog() const { return catalog_; }

    // Routes a message published on this shard and hands it to every queue it reaches.
    // Returns how many queues that is (0: unroutable). When one of them is under pressure,
    // `pressured` (if given) is set to it: the publishing connection should pause until
    // pressured(that queue) is false.
    u32 publish(const VHost& vhost, const Exchange& exchange, const MessageRef& message,
                std::string_view headers, PublishConfirm* confirm = nullptr,
                std::optional<QueueId>* pressured = nullptr);

    // True for the messages the broker handles (queues, catalog, metadata); the others name
    // a channel on this shard and belong to the connection layer (channel_of is the rule).
    static bool handles(const ShardMessage& message) { return channel_of(message) == nullptr; }
    void handle(ShardMessage message);
    // Runs the dispatch that the messages handled since the last call made possible.
    void dispatch_pending();

    // The clock, passed in by the shard once per loop turn (monotonic milliseconds). Work that
    // falls due (message and queue expiry) runs here. system_time_ms is the wall clock (ms
    // since the epoch), used only for the time in x-death headers; the one-argument form
    // leaves it as it was.
    void advance_time(u64 now_ms);
    void advance_time(u64 now_ms, u64 system_time_ms);
    // When advance_time next has work, or UINT64_MAX: the shard sleeps no longer than that.
    u64 next_deadline_ms() const { return queues_.next_deadline_ms(); }

    // ---- durability (broker_durability.cc) ----
    // This shard's message journal; nullptr (the default) keeps nothing on disk.
    void set_journal(JournalSink* journal) { journal_.attach(journal); }
    bool durable() const { return journal_.on(); }
    // Paging thresholds for the queues created from now on (see Queue); tests use small ones.
    void set_paging(u64 resident_bytes_max, u32 read_ahead_max) {
        paging_resident_bytes_max_ = resident_bytes_max;
        paging_read_ahead_max_ = read_ahead_max;
    }
    // Shard 0: the definitions journal, and the first queue id of this start.
    void set_definitions_log(DefinitionsLog* log, JournalSink* journal, u64 queue_id_base);
    // Start-up, before any traffic: the durable definitions recovered from disk. Every shard
    // applies them to its catalog; each creates the queues whose home it is.
    void restore_definitions(const std::vector<CatalogUpdate>& updates);
    // Start-up, after restore_definitions: each valid record of this shard's journal, in
    // order, then finish_recovery, which fills the queues. Returns the messages recovered.
    void recover_record(u8 kind, u64 sequence, const RecordPlace& place, std::string_view payload);
    u64 finish_recovery();
    // Once per loop turn, before the journal's flush: writes what left queues this turn.
    // Returns the sequence of the last record written, or 0 when there was nothing.
    u64 flush_journal() { return journal_.flush(); }
    // After the journals made progress: releases the confirms and replies that waited.
    void on_journal_progress();

    // True while the queue (here or on another shard) is delivery-bound with a backlog: the
    // connections that publish to it pause (see limits::queue_pressure_high).
    bool pressured(QueueId queue) const { return pressure_.pressured(queue); }
    // Counts the ends of pressure: paused connections need a look only when it moved.
    u64 pressure_lifts() const { return pressure_.lifts(); }

    // Shard 0, whose memory and disk monitors decide: tells every shard (itself too) that an
    // alarm went on or off.
    void raise_alarm(Resource resource, bool on);
    // While true, connections that publish are blocked (see ResourceAlarm).
    bool resource_alarm() const { return pressure_.alarm(); }
    bool alarm(Resource resource) const { return pressure_.alarm(resource); }
    // The reason connection.blocked gives, as RabbitMQ words it.
    const char* alarm_reason() const {
        return pressure_.alarm(Resource::memory) ? "low on memory" : "low on disk";
    }

    // Shard 0: the connections and channels open on every shard, as limits count them.
    const Admission* admission() const { return admission_.get(); }

    // For tests and statistics.
    const Queue* find_local_queue(QueueId id) const { return queues_.peek(id); }
    usize local_queue_count() const { return queues_.size(); }
    const QueueTable& local_queues() const { return queues_; }

    // message_stats of the channels of this shard that are gone, by vhost: the vhost's and
    // the node's totals go on counting them (RabbitMQ's do).
    void retire_stats(const std::string& vhost, const MessageStats& stats) {
        retired_stats_[vhost] += stats;
    }
    const std::unordered_map<std::string, MessageStats>& retired_stats() const {
        return retired_stats_;
    }

private:
    void on(Enqueue& m);
    void on(Pressure& m) { pressure_.on(m); }
    void on(ResourceAlarm& m) { pressure_.set_alarm(m.resource, m.on); }
    void on(CatalogApplied& m);
    void on(Settle& m);
    void on(Credit& m);
    void on(CancelRequest& m);
    void on(std::unique_ptr<ConsumeRequest>& m);
    void on(std::unique_ptr<GetRequest>& m);
    // Answers a basic.get; false when the queue's head is being read back from the journal.
    bool serve_get(std::unique_ptr<GetRequest>& m);
    void serve_parked_gets(QueueId queue);
    void on(std::unique_ptr<MetaRequest>& m);
    void on(std::unique_ptr<CatalogUpdate>& m);
    void on(std::unique_ptr<QueueCommand>& m);
    void on(std::unique_ptr<QueueCommandDone>& m);
    void on(std::unique_ptr<AccessCountChange>& m);
    void on(std::unique_ptr<AdmissionRequest>& m);
    void message_read_back(QueueId queue, u64 message_sequence, MessageRef message) override;

    Queue& create_queue(const std::string& vhost, const QueueInfo& info);
    // Policies (broker_policy.cc): the queue's settings resolved against this replica's
    // policies; and, after catalog updates, every local queue of a vhost whose policies changed.
    void resolve_policy(Queue& queue);
    void apply_policy_changes();
    // A local queue with its clock set to now, or nullptr.
    Queue* find_queue(QueueId id) { return queues_.find(id); }
    // After anything changed a queue: it may dispatch, may have dead letters, and its next
    // deadline and its pressure may have moved.
    void changed(Queue& queue);
    void reschedule(Queue& queue);
    // Hands a routed message to each target queue: locally, or as Enqueue to its home shard.
    void enqueue_routed(const std::vector<const QueueInfo*>& targets, const MessageRef& message,
                        const PublishConfirm* confirm = nullptr);
    void enqueue_local(Queue& queue, const MessageRef& message, u64 confirm_sequence,
                       const ChannelKey& confirm_channel);
    // Republishes the dead letters of every queue that has some, through this shard's catalog.
    // Local targets may produce more; the cycle rule bounds that.
    void publish_dead_letters();
    void publish_dead_letter(const Queue& queue, const Queue::DeadLetter& letter);
    // After a consumer went: an auto-delete queue without consumers asks shard 0 to delete it.
    void check_auto_delete(Queue& queue);
    // x-expires: asks shard 0 to delete a queue that has been unused for long enough.
    void request_expiry(Queue& queue);
    void remove_queue(Queue& queue, QueueCommandDone& done);

    ShardId self_;
    u32 shard_count_;
    Outbox& outbox_;
    Catalog catalog_;
    u64 catalog_updates_applied_ = 0;       // broadcasts from shard 0 applied here
    std::unique_ptr<Metadata> metadata_;    // on shard 0 only
    std::unique_ptr<Admission> admission_;  // on shard 0 only
    QueueTable queues_;
    std::unordered_map<std::string, MessageStats> retired_stats_;
    PublishPressure pressure_;
    MessageJournal journal_;
    std::unique_ptr<MessageRecovery> recovery_;  // from the first recovered record to the fill
    u64 paging_resident_bytes_max_ = limits::queue_resident_bytes_max;
    u32 paging_read_ahead_max_ = limits::queue_read_ahead_max;

    std::vector<const QueueInfo*> routed_;               // scratch for publish()
    std::vector<const QueueInfo*> dead_letter_targets_;  // scratch for dead lettering
    std::vector<QueueId> dead_lettering_;                // queues with dead letters to republish
    std::vector<Queue::DeadLetter> letters_;             // scratch: the letters being republished
    u64 system_time_ms_ = 0;
    // basic.get requests waiting for their queue's paged head, in arrival order.
    std::unordered_map<QueueId, std::deque<std::unique_ptr<GetRequest>>> parked_gets_;
};

}  // namespace lepus::core
