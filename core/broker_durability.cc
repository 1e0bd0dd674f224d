// The Broker's side of durability: writing messages and their leaving to the shard's journal,
// confirming publishes once their records are durable, and rebuilding queues at start-up.
#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/broker.h"
#include "core/journal_records.h"

namespace lepus::core {

void Broker::set_definitions_log(DefinitionsLog* log, JournalSink* journal, u64 queue_id_base) {
    LEPUS_ASSERT_MSG(metadata_ != nullptr, "definitions live on shard 0");
    metadata_->set_log(log, journal);
    metadata_->set_queue_id_base(queue_id_base);
}

Stored Broker::journal_message(const Queue& queue, const MessageRef& message,
                               u64& record_sequence) {
    LEPUS_ASSERT(journal_ != nullptr);
    Stored stored;
    if (last_journaled_.get() == message.get()) {
        // The body is already in this shard's journal: another durable queue here.
        encode_enqueue(record_scratch_, queue.info().id, last_stored_.message_sequence);
        std::string_view parts[] = {record_scratch_};
        RecordAppended appended = journal_->append(static_cast<u8>(RecordKind::enqueue), parts);
        stored = last_stored_;
        stored.segment = appended.place.segment;
        record_sequence = appended.sequence;
    } else {
        std::string_view header = message->header_payload();
        encode_message_prefix(record_prefix_, queue.info().id, message->priority(),
                              message->exchange(), message->routing_key(),
                              static_cast<u32>(header.size()));
        record_parts_.clear();
        record_parts_.push_back(record_prefix_);
        record_parts_.push_back(header);
        for (const ChunkSlice& slice : message->body()) record_parts_.push_back(slice.view());
        RecordAppended appended =
            journal_->append(static_cast<u8>(RecordKind::message), record_parts_);
        stored.message_sequence = appended.sequence;
        stored.segment = appended.place.segment;
        stored.body = appended.place;
        record_sequence = appended.sequence;
        last_journaled_ = message;
        last_stored_ = stored;
    }
    // One reference for the record that put it in this queue, one for the body's record (the
    // same segment when they are the same record).
    journal_->retain(stored.segment);
    journal_->retain(stored.body.segment);
    return stored;
}

void Broker::message_gone(QueueId queue, const Stored& stored) {
    gone_.push_back(Gone{queue, stored});
}

// ---- paging: reading bodies back ----

void Broker::read_message(QueueId queue, const Stored& stored) {
    LEPUS_ASSERT(journal_ != nullptr && stored.journaled());
    reads_waiting_.push_back(PendingRead{queue, stored});
    start_reads();
}

void Broker::start_reads() {
    u64 durable = journal_->durable_sequence();
    while (!reads_waiting_.empty() && reads_.size() < limits::shard_reads_in_flight_max) {
        const PendingRead& next = reads_waiting_.front();
        // The body's record is the message record, whose sequence is the message's.
        if (next.stored.message_sequence > durable) break;
        u64 token = next_read_token_++;
        reads_.emplace(token, next);
        journal_->read(next.stored.body, token, *this);
        reads_waiting_.pop_front();
    }
}

void Broker::record_read(u64 token, std::string_view payload, bool ok) {
    auto it = reads_.find(token);
    LEPUS_ASSERT(it != reads_.end());
    PendingRead read = it->second;
    reads_.erase(it);
    start_reads();
    Queue* queue = find_queue(read.queue);
    if (queue == nullptr) return;  // deleted meanwhile
    MessageRecord record;
    if (!ok || !decode_message(payload, record)) {
        LEPUS_LOG(error,
                  "journal: message %llu of queue '%s' could not be read back and is dropped",
                  static_cast<unsigned long long>(read.stored.message_sequence),
                  queue->info().name.c_str());
        queue->drop_unreadable(read.stored.message_sequence);
    } else if (!queue->fill(read.stored.message_sequence, rebuild_message(record))) {
        return;  // it left the queue while being read
    }
    changed(*queue);
    serve_parked_gets(read.queue);
}

void Broker::depend(u64 later, u64 earlier) {
    if (later == earlier || last_dependency_ == std::pair{later, earlier}) return;
    last_dependency_ = {later, earlier};
    journal_->depend(later, earlier);
}

void Broker::release_stored(u64 cancelling_segment, const Stored& stored) {
    depend(cancelling_segment, stored.segment);
    depend(cancelling_segment, stored.body.segment);
    journal_->release(stored.segment);
    journal_->release(stored.body.segment);
}

u64 Broker::flush_journal() {
    last_journaled_ = MessageRef();
    if (gone_.empty()) return 0;
    u64 last_sequence = 0;
    LEPUS_ASSERT(journal_ != nullptr);
    // One settle record per run of the same queue: usually one record per queue per turn.
    for (usize begin = 0; begin < gone_.size();) {
        usize end = begin;
        encode_settle_begin(record_scratch_, gone_[begin].queue);
        while (end < gone_.size() && gone_[end].queue == gone_[begin].queue) {
            encode_settle_add(record_scratch_, gone_[end].stored.message_sequence);
            end++;
        }
        encode_settle_end(record_scratch_);
        std::string_view parts[] = {record_scratch_};
        RecordAppended appended = journal_->append(static_cast<u8>(RecordKind::settle), parts);
        for (usize i = begin; i < end; i++) release_stored(appended.place.segment, gone_[i].stored);
        last_sequence = appended.sequence;
        begin = end;
    }
    gone_.clear();
    return last_sequence;
}

void Broker::drop_journaled(Queue& queue) {
    const QueueInfo& info = queue.info();
    if (journal_ == nullptr || !info.durable || info.exclusive) return;
    encode_queue_drop(record_scratch_, queue.info().id);
    std::string_view parts[] = {record_scratch_};
    RecordAppended appended = journal_->append(static_cast<u8>(RecordKind::queue_drop), parts);
    queue.for_each_stored(
        [&](const Stored& stored) { release_stored(appended.place.segment, stored); });
}

void Broker::on_journal_progress() {
    if (journal_ != nullptr) {
        start_reads();
        u64 durable = journal_->durable_sequence();
        while (!awaiting_disk_.empty() && awaiting_disk_.front().record_sequence <= durable) {
            const AwaitingDisk& a = awaiting_disk_.front();
            outbox_.send(a.channel.connection.shard, Persisted{a.channel, a.confirm_sequence});
            awaiting_disk_.pop_front();
        }
        while (!replies_awaiting_disk_.empty() &&
               replies_awaiting_disk_.front().record_sequence <= durable) {
            ReplyAwaitingDisk& r = replies_awaiting_disk_.front();
            outbox_.send(r.to, std::move(r.message));
            replies_awaiting_disk_.pop_front();
        }
    }
    if (metadata_ != nullptr) metadata_->on_journal_progress();
}

// ---- recovery ----

void Broker::restore_definitions(const std::vector<CatalogUpdate>& updates) {
    for (const CatalogUpdate& update : updates) {
        catalog_.apply(update);
        const auto* added = std::get_if<QueueAdded>(&update);
        if (added == nullptr || added->info.home != self_) continue;
        auto queue = std::make_unique<Queue>(added->vhost, added->info, now_ms_);
        queue->set_store(this);
        queue->set_paging(paging_resident_bytes_max_, paging_read_ahead_max_);
        reschedule(*queue);
        queues_.emplace(added->info.id, std::move(queue));
    }
}

// A message read back from the journal owns a copy of its bytes in one chunk: header, then
// body.
MessageRef Broker::rebuild_message(const MessageRecord& record) {
    auto size = static_cast<u32>(record.header.size() + record.body.size());
    Chunk* chunk = Chunk::allocate(size == 0 ? 1 : size);
    ChunkRef ref = ChunkRef::adopt(chunk);
    record.header.copy(chunk->data(), record.header.size());
    record.body.copy(chunk->data() + record.header.size(), record.body.size());
    ChunkSlice header{ref, chunk->data(), static_cast<u32>(record.header.size())};
    auto* message =
        new Message(Message::Routing{std::string(record.exchange), std::string(record.routing_key)},
                    std::move(header), record.body.size(), /*delivery_mode=*/2, record.priority);
    if (!record.body.empty()) {
        message->append_body(ChunkSlice{ref, chunk->data() + record.header.size(),
                                        static_cast<u32>(record.body.size())});
    }
    return MessageRef::adopt(message);
}

void Broker::recover_record(u8 kind, u64 sequence, const RecordPlace& place,
                            std::string_view payload) {
    LEPUS_ASSERT(journal_ != nullptr);
    auto local_durable = [&](QueueId id) {
        auto it = queues_.find(id);
        return it != queues_.end() && it->second->info().durable && !it->second->info().exclusive;
    };
    switch (static_cast<RecordKind>(kind)) {
        case RecordKind::message: {
            MessageRecord record;
            if (!decode_message(payload, record)) return;
            // Indexed even when its first queue is gone: an enqueue record may name another.
            // Past the recovery budget, or for a queue that is gone, only the index is kept and
            // the body stays in the journal until a queue needs it.
            bool wanted = local_durable(record.queue);
            MessageRef message;
            if (wanted && recovered_resident_bytes_ + record.body.size() <=
                              limits::recovery_resident_bytes_max) {
                message = rebuild_message(record);
                recovered_resident_bytes_ += record.body.size();
            }
            recovered_messages_[sequence] = RecoveredMessage{
                std::move(message), place.segment, place, record.body.size(), record.priority};
            if (!wanted) return;
            recovered_queues_[record.queue][sequence] = place.segment;
            journal_->retain(place.segment);
            journal_->retain(place.segment);
            break;
        }
        case RecordKind::enqueue: {
            QueueId queue;
            u64 message_sequence = 0;
            if (!decode_enqueue(payload, queue, message_sequence) || !local_durable(queue)) return;
            auto it = recovered_messages_.find(message_sequence);
            if (it == recovered_messages_.end()) return;
            recovered_queues_[queue][message_sequence] = place.segment;
            journal_->retain(place.segment);
            journal_->retain(it->second.segment);
            break;
        }
        case RecordKind::settle: {
            QueueId queue;
            auto q = recovered_queues_.find(QueueId());
            bool valid = decode_settle(payload, queue, [&](u64 message_sequence) {
                if (q == recovered_queues_.end() || q->first != queue) {
                    q = recovered_queues_.find(queue);
                }
                if (q == recovered_queues_.end()) return;
                auto entry = q->second.find(message_sequence);
                if (entry == q->second.end()) return;
                auto message = recovered_messages_.find(message_sequence);
                LEPUS_ASSERT(message != recovered_messages_.end());
                release_stored(place.segment,
                               Stored{message_sequence, entry->second, message->second.body});
                q->second.erase(entry);
            });
            if (!valid) LEPUS_LOG(warning, "journal: a malformed settle record was skipped");
            break;
        }
        case RecordKind::queue_drop: {
            QueueId queue;
            if (!decode_queue_drop(payload, queue)) return;
            auto q = recovered_queues_.find(queue);
            if (q == recovered_queues_.end()) return;
            for (const auto& [message_sequence, segment] : q->second) {
                release_stored(place.segment, Stored{message_sequence, segment,
                                                     recovered_messages_[message_sequence].body});
            }
            recovered_queues_.erase(q);
            break;
        }
        default:
            LEPUS_LOG(warning, "journal: a record of unknown kind %u was skipped", kind);
            break;
    }
}

u64 Broker::finish_recovery() {
    u64 count = 0;
    for (auto& [queue_id, entries] : recovered_queues_) {
        Queue* queue = find_queue(queue_id);
        LEPUS_ASSERT(queue != nullptr);
        for (const auto& [message_sequence, segment] : entries) {
            const RecoveredMessage& m = recovered_messages_.at(message_sequence);
            queue->recover(m.message, Stored{message_sequence, segment, m.body}, m.priority,
                           m.body_size);
            count++;
        }
        changed(*queue);
    }
    recovered_queues_.clear();
    recovered_messages_.clear();
    recovered_resident_bytes_ = 0;
    last_dependency_ = {0, 0};
    return count;
}

}  // namespace lepus::core
