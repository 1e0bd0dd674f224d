#pragma once
// The broker's side of the shard's journal: what a queue's messages look like as records, and
// what waits for them to be durable. A persistent message entering a durable queue is written
// once per shard (the body with the first queue that takes it this turn, an enqueue record for
// each other); its leaving is written too, one settle record per queue per loop turn (flush).
// Confirms and replies that promise something is on disk are held until the record saying so
// is durable. A paged-out body is read back through it, at most limits::shard_reads_in_flight_max
// at a time and only once its record is durable.
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/journal_records.h"
#include "core/journal_sink.h"
#include "core/message.h"
#include "core/queue.h"
#include "core/shard_message.h"

namespace lepus::core {

// Where paged-out bodies come back to: `message` is empty when the record could not be read
// or decoded (the queue drops that message).
class ReadBack {
public:
    virtual ~ReadBack() = default;
    virtual void message_read_back(QueueId queue, u64 message_sequence, MessageRef message) = 0;
};

class MessageJournal final : public QueueStore, private RecordReader {
public:
    MessageJournal(Outbox& outbox, ReadBack& read_back) : outbox_(outbox), read_back_(read_back) {}

    // nullptr (the default) keeps nothing on disk.
    void attach(JournalSink* sink) { sink_ = sink; }
    bool on() const { return sink_ != nullptr; }
    JournalSink& sink() { return *sink_; }

    // True when a copy of `message` in `queue` goes to the journal.
    bool persists(const QueueInfo& queue, const Message& message) const {
        return sink_ != nullptr && queue.durable && !queue.exclusive && message.persistent();
    }
    // Writes the message (or, when this turn already wrote its body, an enqueue record) for
    // `queue`; returns where it is, and the record's sequence in `record_sequence`.
    Stored write(QueueId queue, const MessageRef& message, u64& record_sequence);
    // Writes what left queues this turn; once per loop turn, before the journal's flush.
    // Returns the sequence of the last record written, or 0 when there was nothing.
    u64 flush();
    // A durable queue is deleted: one record drops all it held.
    void drop_queue(const Queue& queue);
    // The record that cancels `stored` is in `cancelling_segment`: releases what `stored`
    // kept alive, and keeps the cancellation from being deleted first.
    void release_stored(u64 cancelling_segment, const Stored& stored);
    // Recovery made its own dependencies; the next ones are not repeats of them.
    void forget_last_dependency() { last_dependency_ = {0, 0}; }

    // Sends Persisted for `confirm_sequence` once record `record_sequence` is durable.
    void confirm_when_durable(u64 record_sequence, const ChannelKey& channel,
                              u64 confirm_sequence) {
        awaiting_disk_.push_back(AwaitingDisk{record_sequence, channel, confirm_sequence});
    }
    // Sends `message` to `to` once record `record_sequence` is durable (now, if it is).
    void reply_when_durable(u64 record_sequence, ShardId to, ShardMessage message);
    // After the journal made progress: releases what waited and starts reads.
    void on_progress();

    // QueueStore
    void message_gone(QueueId queue, const Stored& stored) override {
        gone_.push_back(Gone{queue, stored});
    }
    void read_message(QueueId queue, const Stored& stored) override;

private:
    void record_read(u64 token, std::string_view payload, bool ok) override;
    void start_reads();
    // The segment of record `later` must outlive `earlier`: the journal's rule for records that
    // cancel others. Repeats of the last pair are skipped.
    void depend(u64 later, u64 earlier);

    Outbox& outbox_;
    ReadBack& read_back_;
    JournalSink* sink_ = nullptr;

    MessageRef last_written_;  // the last message written this turn, and where
    Stored last_stored_;
    std::string record_prefix_;
    std::string record_scratch_;
    std::vector<std::string_view> record_parts_;
    std::pair<u64, u64> last_dependency_{0, 0};

    struct Gone {
        QueueId queue;
        Stored stored;
    };
    std::vector<Gone> gone_;  // left their queues this turn, written by flush
    struct AwaitingDisk {
        u64 record_sequence;
        ChannelKey channel;
        u64 confirm_sequence;
    };
    std::deque<AwaitingDisk> awaiting_disk_;  // in record order
    struct ReplyAwaitingDisk {
        u64 record_sequence;
        ShardId to;
        ShardMessage message;
    };
    std::deque<ReplyAwaitingDisk> replies_awaiting_disk_;  // in record order

    struct PendingRead {
        QueueId queue;
        Stored stored;
    };
    std::deque<PendingRead> reads_waiting_;       // until their record is durable and a slot free
    std::unordered_map<u64, PendingRead> reads_;  // by token, in flight
    u64 next_read_token_ = 1;
};

// A message read back from the journal owns a copy of its bytes in one chunk: header, then
// body.
MessageRef message_from_record(const MessageRecord& record);

}  // namespace lepus::core
