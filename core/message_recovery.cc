#include "core/message_recovery.h"

#include "core/base/assert.h"
#include "core/base/limits.h"
#include "core/base/log.h"
#include "core/journal_records.h"

namespace lepus::core {

void MessageRecovery::record(u8 kind, u64 sequence, const RecordPlace& place,
                             std::string_view payload) {
    JournalSink& sink = journal_.sink();
    switch (static_cast<RecordKind>(kind)) {
        case RecordKind::message: {
            MessageRecord record;
            if (!decode_message(payload, record)) return;
            // Indexed even when its first queue is gone: an enqueue record may name another.
            // Past the recovery budget, or for a queue that is gone, only the index is kept and
            // the body stays in the journal until a queue needs it.
            bool wanted = queues_.holds_durable(record.queue);
            MessageRef message;
            if (wanted &&
                resident_bytes_ + record.body.size() <= limits::recovery_resident_bytes_max) {
                message = message_from_record(record);
                resident_bytes_ += record.body.size();
            }
            messages_[sequence] = RecoveredMessage{std::move(message), place.segment, place,
                                                   record.body.size(), record.priority};
            if (!wanted) return;
            contents_[record.queue][sequence] = place.segment;
            sink.retain(place.segment);
            sink.retain(place.segment);
            break;
        }
        case RecordKind::enqueue: {
            QueueId queue;
            u64 message_sequence = 0;
            if (!decode_enqueue(payload, queue, message_sequence) || !queues_.holds_durable(queue))
                return;
            auto it = messages_.find(message_sequence);
            if (it == messages_.end()) return;
            contents_[queue][message_sequence] = place.segment;
            sink.retain(place.segment);
            sink.retain(it->second.segment);
            break;
        }
        case RecordKind::settle: {
            QueueId queue;
            auto q = contents_.end();
            bool valid = decode_settle(payload, queue, [&](u64 message_sequence) {
                if (q == contents_.end() || q->first != queue) q = contents_.find(queue);
                if (q == contents_.end()) return;
                auto entry = q->second.find(message_sequence);
                if (entry == q->second.end()) return;
                auto message = messages_.find(message_sequence);
                LEPUS_ASSERT(message != messages_.end());
                journal_.release_stored(
                    place.segment, Stored{message_sequence, entry->second, message->second.body});
                q->second.erase(entry);
            });
            if (!valid) LEPUS_LOG(warning, "journal: a malformed settle record was skipped");
            break;
        }
        case RecordKind::queue_drop: {
            QueueId queue;
            if (!decode_queue_drop(payload, queue)) return;
            auto q = contents_.find(queue);
            if (q == contents_.end()) return;
            for (const auto& [message_sequence, segment] : q->second) {
                journal_.release_stored(place.segment, Stored{message_sequence, segment,
                                                              messages_[message_sequence].body});
            }
            contents_.erase(q);
            break;
        }
        default:
            LEPUS_LOG(warning, "journal: a record of unknown kind %u was skipped", kind);
            break;
    }
}

u64 MessageRecovery::fill(QueueTable& queues, std::vector<QueueId>& filled) {
    u64 count = 0;
    for (auto& [queue_id, entries] : contents_) {
        Queue* queue = queues.find(queue_id);
        LEPUS_ASSERT(queue != nullptr);
        for (const auto& [message_sequence, segment] : entries) {
            const RecoveredMessage& m = messages_.at(message_sequence);
            queue->recover(m.message, Stored{message_sequence, segment, m.body}, m.priority,
                           m.body_size);
            count++;
        }
        filled.push_back(queue_id);
    }
    journal_.forget_last_dependency();
    return count;
}

}  // namespace lepus::core
