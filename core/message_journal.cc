#include "core/message_journal.h"

#include "core/base/assert.h"
#include "core/base/limits.h"

namespace lepus::core {

Stored MessageJournal::write(QueueId queue, const MessageRef& message, u64& record_sequence) {
    LEPUS_ASSERT(sink_ != nullptr);
    Stored stored;
    if (last_written_.get() == message.get()) {
        // The body is already in this shard's journal: another durable queue here.
        encode_enqueue(record_scratch_, queue, last_stored_.message_sequence);
        std::string_view parts[] = {record_scratch_};
        RecordAppended appended = sink_->append(static_cast<u8>(RecordKind::enqueue), parts);
        stored = last_stored_;
        stored.segment = appended.place.segment;
        record_sequence = appended.sequence;
    } else {
        std::string_view header = message->header_payload();
        encode_message_prefix(record_prefix_, queue, message->priority(), message->exchange(),
                              message->routing_key(), static_cast<u32>(header.size()));
        record_parts_.clear();
        record_parts_.push_back(record_prefix_);
        record_parts_.push_back(header);
        for (const ChunkSlice& slice : message->body()) record_parts_.push_back(slice.view());
        RecordAppended appended =
            sink_->append(static_cast<u8>(RecordKind::message), record_parts_);
        stored.message_sequence = appended.sequence;
        stored.segment = appended.place.segment;
        stored.body = appended.place;
        record_sequence = appended.sequence;
        last_written_ = message;
        last_stored_ = stored;
    }
    // One reference for the record that put it in this queue, one for the body's record (the
    // same segment when they are the same record).
    sink_->retain(stored.segment);
    sink_->retain(stored.body.segment);
    return stored;
}

u64 MessageJournal::flush() {
    last_written_ = MessageRef();
    if (gone_.empty()) return 0;
    LEPUS_ASSERT(sink_ != nullptr);
    u64 last_sequence = 0;
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
        RecordAppended appended = sink_->append(static_cast<u8>(RecordKind::settle), parts);
        for (usize i = begin; i < end; i++) release_stored(appended.place.segment, gone_[i].stored);
        last_sequence = appended.sequence;
        begin = end;
    }
    gone_.clear();
    return last_sequence;
}

void MessageJournal::drop_queue(const Queue& queue) {
    const QueueInfo& info = queue.info();
    if (sink_ == nullptr || !info.durable || info.exclusive) return;
    encode_queue_drop(record_scratch_, info.id);
    std::string_view parts[] = {record_scratch_};
    RecordAppended appended = sink_->append(static_cast<u8>(RecordKind::queue_drop), parts);
    queue.for_each_stored(
        [&](const Stored& stored) { release_stored(appended.place.segment, stored); });
}

void MessageJournal::depend(u64 later, u64 earlier) {
    if (later == earlier || last_dependency_ == std::pair{later, earlier}) return;
    last_dependency_ = {later, earlier};
    sink_->depend(later, earlier);
}

void MessageJournal::release_stored(u64 cancelling_segment, const Stored& stored) {
    depend(cancelling_segment, stored.segment);
    depend(cancelling_segment, stored.body.segment);
    sink_->release(stored.segment);
    sink_->release(stored.body.segment);
}

void MessageJournal::reply_when_durable(u64 record_sequence, ShardId to, ShardMessage message) {
    if (sink_ == nullptr || record_sequence <= sink_->durable_sequence()) {
        outbox_.send(to, std::move(message));
        return;
    }
    replies_awaiting_disk_.push_back(ReplyAwaitingDisk{record_sequence, to, std::move(message)});
}

void MessageJournal::on_progress() {
    if (sink_ == nullptr) return;
    start_reads();
    u64 durable = sink_->durable_sequence();
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

// ---- paging: reading bodies back ----

void MessageJournal::read_message(QueueId queue, const Stored& stored) {
    LEPUS_ASSERT(sink_ != nullptr && stored.journaled());
    reads_waiting_.push_back(PendingRead{queue, stored});
    start_reads();
}

void MessageJournal::start_reads() {
    u64 durable = sink_->durable_sequence();
    while (!reads_waiting_.empty() && reads_.size() < limits::shard_reads_in_flight_max) {
        const PendingRead& next = reads_waiting_.front();
        // The body's record is the message record, whose sequence is the message's.
        if (next.stored.message_sequence > durable) break;
        u64 token = next_read_token_++;
        reads_.emplace(token, next);
        sink_->read(next.stored.body, token, *this);
        reads_waiting_.pop_front();
    }
}

void MessageJournal::record_read(u64 token, std::string_view payload, bool ok) {
    auto it = reads_.find(token);
    LEPUS_ASSERT(it != reads_.end());
    PendingRead read = it->second;
    reads_.erase(it);
    start_reads();
    MessageRecord record;
    MessageRef message;
    if (ok && decode_message(payload, record)) message = message_from_record(record);
    read_back_.message_read_back(read.queue, read.stored.message_sequence, std::move(message));
}

MessageRef message_from_record(const MessageRecord& record) {
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

}  // namespace lepus::core
