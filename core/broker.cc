#include "core/broker.h"

#include <algorithm>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/dead_letter.h"
#include "core/journal_records.h"

namespace lepus::core {

Broker::Broker(ShardId self, u32 shard_count, Outbox& outbox,
               const std::vector<std::string>& vhosts)
    : self_(self), shard_count_(shard_count), outbox_(outbox), journal_(outbox, *this) {
    LEPUS_ASSERT(self.value < shard_count);
    for (const std::string& vhost : vhosts) catalog_.add_vhost(vhost);
    if (self == ShardId(0)) {
        metadata_ = std::make_unique<Metadata>(self, shard_count, catalog_, outbox);
        admission_ = std::make_unique<Admission>();
    }
}

Broker::~Broker() = default;

u32 Broker::publish(const VHost& vhost, const Exchange& exchange, const MessageRef& message,
                    std::string_view headers, PublishConfirm* confirm,
                    std::optional<QueueId>* pressured) {
    catalog_.route(vhost, exchange, message->routing_key(), headers, routed_);
    auto routed = static_cast<u32>(routed_.size());
    if (pressured != nullptr && pressure_.any()) {
        for (const QueueInfo* info : routed_) {
            if (pressure_.pressured(info->id)) *pressured = info->id;
        }
    }
    if (confirm != nullptr) {
        confirm->awaiting_disk = 0;
        for (const QueueInfo* info : routed_) {
            if (journal_.persists(*info, *message)) confirm->awaiting_disk++;
        }
    }
    enqueue_routed(routed_, message, confirm);
    publish_dead_letters();  // a length limit may have dropped messages
    return routed;
}

void Broker::enqueue_routed(const std::vector<const QueueInfo*>& targets, const MessageRef& message,
                            const PublishConfirm* confirm) {
    for (const QueueInfo* info : targets) {
        // Only copies that go to disk are confirmed by their home shard.
        u64 confirm_sequence =
            confirm != nullptr && journal_.persists(*info, *message) ? confirm->sequence : 0;
        ChannelKey channel = confirm != nullptr ? confirm->channel : ChannelKey{};
        if (info->home == self_) {
            if (Queue* queue = find_queue(info->id)) {
                enqueue_local(*queue, message, confirm_sequence, channel);
            } else if (confirm_sequence != 0) {
                outbox_.send(channel.connection.shard, Persisted{channel, confirm_sequence});
            }
        } else {
            outbox_.send(info->home, Enqueue{info->id, message, confirm_sequence, channel});
        }
    }
}

void Broker::enqueue_local(Queue& queue, const MessageRef& message, u64 confirm_sequence,
                           const ChannelKey& confirm_channel) {
    Stored stored;
    u64 record_sequence = 0;
    if (journal_.persists(queue.info(), *message)) {
        stored = journal_.write(queue.info().id, message, record_sequence);
    }
    queue.enqueue(message, stored);
    changed(queue);
    if (confirm_sequence == 0) return;
    if (record_sequence != 0) {
        journal_.confirm_when_durable(record_sequence, confirm_channel, confirm_sequence);
    } else {
        outbox_.send(confirm_channel.connection.shard,
                     Persisted{confirm_channel, confirm_sequence});
    }
}

void Broker::handle(ShardMessage message) {
    std::visit(
        [this](auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (is_channel_message<T> || is_admin_message<T>) {
                LEPUS_UNREACHABLE();
            } else {
                on(m);
            }
        },
        message);
    // Rare: a policy was set or cleared by this message (or, on shard 0, decided by it).
    if (catalog_.policies_changed()) apply_policy_changes();
}

Queue& Broker::create_queue(const std::string& vhost, const QueueInfo& info) {
    auto queue = std::make_unique<Queue>(vhost, info, queues_.now_ms());
    queue->set_store(&journal_);
    queue->set_paging(paging_resident_bytes_max_, paging_read_ahead_max_);
    Queue& added = queues_.add(std::move(queue));
    resolve_policy(added);
    reschedule(added);  // x-expires runs from creation
    return added;
}

void Broker::changed(Queue& queue) {
    queues_.mark_dirty(queue);
    if (!queue.dead_letters().empty()) dead_lettering_.push_back(queue.info().id);
    reschedule(queue);
}

void Broker::reschedule(Queue& queue) {
    pressure_.update(queue);
    queues_.reschedule(queue);
}

void Broker::raise_alarm(Resource resource, bool on) {
    LEPUS_ASSERT(self_ == ShardId(0));
    for (u32 shard = 0; shard < shard_count_; shard++)
        outbox_.send(ShardId(shard), ResourceAlarm{resource, on});
}

void Broker::dispatch_pending() {
    publish_dead_letters();
    // Dead letters published here may make more queues dirty; the loop reaches them too.
    for (usize i = 0; i < queues_.dirty().size(); i++) {
        Queue* queue = find_queue(queues_.dirty()[i]);
        if (queue == nullptr) continue;
        queue->dispatch([this](Deliver&& d) {
            ShardId to = d.consumer.channel.connection.shard;
            outbox_.send(to, std::move(d));
        });
        reschedule(*queue);
        if (!queue->dead_letters().empty()) {  // expired at the head on the way
            dead_lettering_.push_back(queue->info().id);
            publish_dead_letters();
        }
    }
    queues_.clear_dirty();
    pressure_.announce(outbox_, self_, shard_count_);
}

void Broker::publish_dead_letters() {
    for (usize i = 0; i < dead_lettering_.size(); i++) {
        Queue* queue = find_queue(dead_lettering_[i]);
        if (queue == nullptr || queue->dead_letters().empty()) continue;
        // Republishing may enqueue to this very queue, which may dead-letter again: take the
        // letters out first.
        letters_.clear();
        std::swap(letters_, queue->dead_letters());
        for (const Queue::DeadLetter& letter : letters_) publish_dead_letter(*queue, letter);
        letters_.clear();
    }
    dead_lettering_.clear();
}

void Broker::publish_dead_letter(const Queue& queue, const Queue::DeadLetter& letter) {
    const QueueArguments& arguments = queue.arguments();
    LEPUS_ASSERT(arguments.dead_letter_exchange.has_value());
    const VHost* vhost = catalog_.find_vhost(queue.vhost());
    LEPUS_ASSERT(vhost != nullptr);
    auto it = vhost->exchanges.find(*arguments.dead_letter_exchange);
    if (it == vhost->exchanges.end()) return;  // RabbitMQ drops it when the DLX is missing
    Death death;
    death.reason = letter.reason;
    death.queue = queue.info().name;
    death.dead_letter_exchange = *arguments.dead_letter_exchange;
    death.dead_letter_routing_key = &arguments.dead_letter_routing_key;
    death.time_s = system_time_ms_ / 1000;
    wire::FieldArray deaths;
    MessageRef message = make_dead_letter(*letter.message, death, deaths);
    catalog_.route(*vhost, it->second, message->routing_key(), message->headers(), routed_);
    dead_letter_targets_.clear();
    for (const QueueInfo* target : routed_) {
        if (is_dead_letter_cycle(letter.reason, deaths, target->name)) {
            LEPUS_LOG(debug, "dead letter from '%s' dropped: it would cycle back to '%s'",
                      queue.info().name.c_str(), target->name.c_str());
            continue;
        }
        dead_letter_targets_.push_back(target);
    }
    enqueue_routed(dead_letter_targets_, message);
}

void Broker::advance_time(u64 now_ms) {
    queues_.advance(now_ms);
    for (QueueId id : queues_.due()) {
        Queue* queue = find_queue(id);
        LEPUS_ASSERT(queue != nullptr);  // a removed queue leaves the deadline set
        queue->expire_messages();
        if (queue->expiry_due()) request_expiry(*queue);
        changed(*queue);
    }
    publish_dead_letters();
}

void Broker::advance_time(u64 now_ms, u64 system_time_ms) {
    system_time_ms_ = system_time_ms;
    advance_time(now_ms);
}

void Broker::on(Enqueue& m) {
    Queue* queue = find_queue(m.queue);
    if (queue == nullptr) {  // deleted while the message travelled
        if (m.confirm_sequence != 0) {
            outbox_.send(m.confirm_channel.connection.shard,
                         Persisted{m.confirm_channel, m.confirm_sequence});
        }
        return;
    }
    enqueue_local(*queue, m.message, m.confirm_sequence, m.confirm_channel);
}

void Broker::on(Settle& m) {
    Queue* queue = find_queue(m.queue);
    if (queue == nullptr) return;
    // An undelivered no-ack delivery is not tracked by the queue, so it travels back itself.
    if (!queue->settle(m.sequence, m.kind) && m.kind == SettleKind::undelivered && m.message) {
        // Its leaving was written when it was delivered; written again, it survives a crash
        // now that it is back.
        Stored stored;
        u64 record_sequence = 0;
        if (journal_.persists(queue->info(), *m.message)) {
            stored = journal_.write(m.queue, m.message, record_sequence);
        }
        queue->return_undelivered(m.sequence, std::move(m.message), m.redelivered, stored);
    }
    changed(*queue);
}

void Broker::on(Credit& m) {
    Queue* queue = find_queue(m.queue);
    if (queue == nullptr) return;
    queue->credit(m.consumer, m.count, m.bytes);
    queues_.mark_dirty(*queue);
}

void Broker::on(CancelRequest& m) {
    Queue* queue = find_queue(m.queue);
    if (queue == nullptr) return;
    if (queue->remove_consumer(m.consumer)) check_auto_delete(*queue);
    changed(*queue);
}

void Broker::on(std::unique_ptr<ConsumeRequest>& m) {
    auto reply = std::make_unique<ConsumeReply>();
    reply->consumer = m->consumer;
    reply->queue = m->queue;
    reply->home = self_;
    Queue* queue = find_queue(m->queue);
    if (queue == nullptr) {
        reply->code = amqp::ReplyCode::not_found;
        reply->text = "NOT_FOUND - queue was deleted";
    } else {
        reply->code = queue->add_consumer(*m, reply->text);
        if (reply->code == amqp::ReplyCode::reply_success) changed(*queue);
    }
    outbox_.send(m->consumer.channel.connection.shard, std::move(reply));
}

void Broker::on(std::unique_ptr<GetRequest>& m) {
    auto parked = parked_gets_.find(m->queue);
    if (parked != parked_gets_.end()) {  // earlier gets wait for a paged head: keep the order
        parked->second.push_back(std::move(m));
        return;
    }
    if (!serve_get(m)) parked_gets_[m->queue].push_back(std::move(m));
}

bool Broker::serve_get(std::unique_ptr<GetRequest>& m) {
    auto reply = std::make_unique<GetReply>();
    reply->channel = m->channel;
    reply->queue = m->queue;
    reply->home = self_;
    Queue* queue = find_queue(m->queue);
    if (queue == nullptr) {
        reply->code = amqp::ReplyCode::not_found;
        reply->text = "NOT_FOUND - queue was deleted";
    } else {
        Queue::Got got;
        Queue::GetResult result = queue->fetch(m->no_ack, got);
        changed(*queue);
        if (result == Queue::GetResult::waiting) return false;
        if (result == Queue::GetResult::got) {
            reply->message = std::move(got.message);
            reply->sequence = got.sequence;
            reply->redelivered = got.redelivered;
        }
        reply->message_count = queue->ready_count();
    }
    outbox_.send(m->channel.connection.shard, std::move(reply));
    return true;
}

void Broker::serve_parked_gets(QueueId queue) {
    auto it = parked_gets_.find(queue);
    if (it == parked_gets_.end()) return;
    auto& waiting = it->second;
    while (!waiting.empty() && serve_get(waiting.front())) waiting.pop_front();
    if (waiting.empty()) parked_gets_.erase(it);
}

void Broker::on(std::unique_ptr<MetaRequest>& m) {
    LEPUS_ASSERT_MSG(metadata_ != nullptr, "metadata requests go to shard 0");
    metadata_->handle(std::move(m));
}

void Broker::on(std::unique_ptr<AccessCountChange>& m) {
    LEPUS_ASSERT_MSG(admission_ != nullptr, "access counts go to shard 0");
    admission_->apply(*m);
}

void Broker::on(std::unique_ptr<AdmissionRequest>& m) {
    LEPUS_ASSERT_MSG(admission_ != nullptr, "admissions go to shard 0");
    auto reply = std::make_unique<AdmissionReply>();
    reply->to = m->requester;
    reply->vhost = m->vhost;
    reply->user = m->user;
    reply->refusal = admission_->admit(*m, catalog_);
    outbox_.send(m->requester.connection.shard, std::move(reply));
}

void Broker::on(std::unique_ptr<QueueCommandDone>& m) {
    LEPUS_ASSERT(metadata_ != nullptr);
    metadata_->handle(*m);
}

void Broker::on(std::unique_ptr<CatalogUpdate>& m) {
    catalog_.apply(*m);
    catalog_updates_applied_++;
    outbox_.send(ShardId(0), CatalogApplied{self_, catalog_updates_applied_});
}

void Broker::on(CatalogApplied& m) {
    LEPUS_ASSERT(metadata_ != nullptr);
    metadata_->on_catalog_applied(m.shard, m.count);
}

void Broker::check_auto_delete(Queue& queue) {
    if (!queue.info().auto_delete || queue.consumer_count() != 0 || !queue.has_had_consumers())
        return;
    auto request = std::make_unique<MetaRequest>();
    request->vhost = queue.vhost();
    request->requester.connection.shard = self_;
    request->reply_wanted = ReplyWanted::no;
    request->op = QueueAutoDeleteOp{queue.info().name, queue.info().id};
    outbox_.send(ShardId(0), std::move(request));
}

void Broker::request_expiry(Queue& queue) {
    queue.note_expiry_requested();
    auto request = std::make_unique<MetaRequest>();
    request->vhost = queue.vhost();
    request->requester.connection.shard = self_;
    request->reply_wanted = ReplyWanted::no;
    request->op = QueueExpireOp{queue.info().name, queue.info().id};
    outbox_.send(ShardId(0), std::move(request));
}

void Broker::remove_queue(Queue& queue, QueueCommandDone& done) {
    publish_dead_letters();  // letters collected before the delete still go out
    done.message_count = queue.ready_count();
    queue.remove_all_consumers([this](const Queue::Consumer& c) {
        outbox_.send(c.key.channel.connection.shard, ConsumerCancelled{c.key});
    });
    journal_.drop_queue(queue);
    pressure_.queue_gone(queue);
    QueueId id = queue.info().id;
    queues_.erase(id);
    serve_parked_gets(id);  // answered 404 now that the queue is gone
}

void Broker::on(std::unique_ptr<QueueCommand>& m) {
    auto done = std::make_unique<QueueCommandDone>();
    done->continuation = m->continuation;
    u64 written_before_reply = 0;
    Queue* queue = find_queue(m->info.id);
    const std::string& name = m->info.name;
    auto in_use = [&] {
        done->code = amqp::ReplyCode::precondition_failed;
        done->text =
            "PRECONDITION_FAILED - queue '" + name + "' in vhost '" + m->vhost + "' in use";
    };
    switch (m->kind) {
        case QueueCommandKind::create: {
            LEPUS_ASSERT(queue == nullptr);
            create_queue(m->vhost, m->info);
            break;
        }
        case QueueCommandKind::stat:
        case QueueCommandKind::purge:
            if (queue == nullptr) {
                done->code = amqp::ReplyCode::not_found;
                done->text = no_queue_text(name, m->vhost);
                break;
            }
            if (m->kind == QueueCommandKind::purge) {
                done->message_count = queue->purge();
                // The settle record of what was purged is written now, and purge-ok waits
                // until it is on disk.
                written_before_reply = journal_.flush();
            } else {
                queue->touch();  // a redeclaration renews x-expires, as in RabbitMQ
                queue->expire_messages();
                done->message_count = queue->ready_count();
            }
            done->consumer_count = queue->consumer_count();
            changed(*queue);
            break;
        case QueueCommandKind::remove:
            if (queue == nullptr) break;  // already gone: deleting is idempotent
            // As RabbitMQ: if-empty is checked first, and counts ready messages only.
            if (m->if_empty && queue->ready_count() > 0) {
                done->code = amqp::ReplyCode::precondition_failed;
                done->text = "PRECONDITION_FAILED - queue '" + name + "' in vhost '" + m->vhost +
                             "' not empty";
                break;
            }
            if (m->if_unused && queue->consumer_count() > 0) {
                in_use();
                break;
            }
            remove_queue(*queue, *done);
            break;
        case QueueCommandKind::expire:
            if (queue == nullptr) break;
            if (!queue->expiry_due()) {  // used again since the request was sent
                in_use();
                break;
            }
            remove_queue(*queue, *done);
            break;
    }
    journal_.reply_when_durable(written_before_reply, ShardId(0), std::move(done));
}

}  // namespace lepus::core
