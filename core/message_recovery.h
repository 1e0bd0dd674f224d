#pragma once
// Rebuilds the contents of this shard's durable queues from its journal at start-up, and
// exists only then: the broker creates it for the first record and drops it once the queues
// are filled. It replays the records in order: a message record indexes a body (kept in memory
// up to limits::recovery_resident_bytes_max, past that left in the journal to be paged in), an
// enqueue record puts a known body in another queue, a settle record takes messages out, a
// queue-drop record empties a queue. What is left when the records end is what the queues hold.
#include <map>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/journal_sink.h"
#include "core/message_journal.h"
#include "core/queue_table.h"

namespace lepus::core {

class MessageRecovery {
public:
    // `queues` are the queues restored from the definitions; `journal` takes the references
    // and releases that the replay makes.
    MessageRecovery(MessageJournal& journal, const QueueTable& queues)
        : journal_(journal), queues_(queues) {}

    // One valid record of the shard's journal, in order.
    void record(u8 kind, u64 sequence, const RecordPlace& place, std::string_view payload);
    // Hands each queue what it holds; `filled` lists the queues it touched. Returns how
    // many messages that is.
    u64 fill(QueueTable& queues, std::vector<QueueId>& filled);

private:
    struct RecoveredMessage {
        MessageRef message;  // empty past limits::recovery_resident_bytes_max
        u64 segment = 0;
        RecordPlace body;
        u64 body_size = 0;
        u8 priority = 0;
    };

    MessageJournal& journal_;
    const QueueTable& queues_;
    u64 resident_bytes_ = 0;
    std::unordered_map<u64, RecoveredMessage> messages_;  // by message sequence
    // Per queue: message sequence -> segment of the record that put it there.
    std::unordered_map<QueueId, std::map<u64, u64>> contents_;
};

}  // namespace lepus::core
