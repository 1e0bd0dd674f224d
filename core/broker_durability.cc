// The Broker's side of start-up and of paging: restoring the durable definitions, replaying the
// shard's journal into its queues, and taking paged-out bodies back.
#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/broker.h"

namespace lepus::core {

void Broker::set_definitions_log(DefinitionsLog* log, JournalSink* journal, u64 queue_id_base) {
    LEPUS_ASSERT_MSG(metadata_ != nullptr, "definitions live on shard 0");
    metadata_->set_log(log, journal);
    metadata_->set_queue_id_base(queue_id_base);
}

void Broker::on_journal_progress() {
    journal_.on_progress();
    if (metadata_ != nullptr) metadata_->on_journal_progress();
}

void Broker::message_read_back(QueueId id, u64 message_sequence, MessageRef message) {
    Queue* queue = find_queue(id);
    if (queue == nullptr) return;  // deleted meanwhile
    if (!message) {
        LEPUS_LOG(error,
                  "journal: message %llu of queue '%s' could not be read back and is dropped",
                  static_cast<unsigned long long>(message_sequence), queue->info().name.c_str());
        queue->drop_unreadable(message_sequence);
    } else if (!queue->fill(message_sequence, std::move(message))) {
        return;  // it left the queue while being read
    }
    changed(*queue);
    serve_parked_gets(id);
}

// ---- start-up ----

void Broker::restore_definitions(const std::vector<CatalogUpdate>& updates) {
    for (const CatalogUpdate& update : updates) {
        catalog_.apply(update);
        const auto* added = std::get_if<QueueAdded>(&update);
        if (added != nullptr && added->info.home == self_) create_queue(added->vhost, added->info);
    }
    catalog_.take_policy_changes();  // every queue above was resolved against the policies
    // A policy restored after a queue was created must reach it too.
    std::vector<QueueId> local;
    queues_.for_each([&](const Queue& queue) { local.push_back(queue.info().id); });
    for (QueueId id : local) resolve_policy(*find_queue(id));
}

void Broker::recover_record(u8 kind, u64 sequence, const RecordPlace& place,
                            std::string_view payload) {
    LEPUS_ASSERT(journal_.on());
    if (recovery_ == nullptr) recovery_ = std::make_unique<MessageRecovery>(journal_, queues_);
    recovery_->record(kind, sequence, place, payload);
}

u64 Broker::finish_recovery() {
    if (recovery_ == nullptr) return 0;
    std::vector<QueueId> filled;
    u64 count = recovery_->fill(queues_, filled);
    recovery_.reset();
    for (QueueId id : filled) changed(*find_queue(id));
    return count;
}

}  // namespace lepus::core
