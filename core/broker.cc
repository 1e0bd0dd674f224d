#include "core/broker.h"

#include <algorithm>

#include "core/base/assert.h"
#include "core/base/log.h"

namespace lepus::core {

Broker::Broker(ShardId self, u32 shard_count, Outbox& outbox,
               const std::vector<std::string>& vhosts)
    : self_(self), shard_count_(shard_count), outbox_(outbox) {
    LEPUS_ASSERT(self.value < shard_count);
    for (const std::string& vhost : vhosts) catalog_.add_vhost(vhost);
    if (self == ShardId(0)) metadata_ = std::make_unique<Metadata>(self, shard_count, catalog_, outbox);
}

u32 Broker::publish(const VHost& vhost, const Exchange& exchange, const MessageRef& message,
                    std::string_view headers) {
    catalog_.route(vhost, exchange, message->routing_key(), headers, routed_);
    for (const QueueInfo* info : routed_) {
        if (info->home == self_) {
            if (Queue* queue = find_queue(info->id)) {
                queue->enqueue(message);
                mark_dirty(*queue);
            }
        } else {
            outbox_.send(info->home, Enqueue{info->id, message});
        }
    }
    return static_cast<u32>(routed_.size());
}

bool Broker::handles(const ShardMessage& message) {
    return std::visit(
        [](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            return !(std::is_same_v<T, Deliver> || std::is_same_v<T, ConsumerCancelled> ||
                     std::is_same_v<T, std::unique_ptr<ConsumeReply>> ||
                     std::is_same_v<T, std::unique_ptr<GetReply>> ||
                     std::is_same_v<T, std::unique_ptr<MetaReply>>);
        },
        message);
}

void Broker::handle(ShardMessage message) {
    std::visit(
        [this](auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, Deliver> || std::is_same_v<T, ConsumerCancelled> ||
                          std::is_same_v<T, std::unique_ptr<ConsumeReply>> ||
                          std::is_same_v<T, std::unique_ptr<GetReply>> ||
                          std::is_same_v<T, std::unique_ptr<MetaReply>>) {
                LEPUS_UNREACHABLE();
            } else {
                on(m);
            }
        },
        message);
}

Queue* Broker::find_queue(QueueId id) {
    auto it = queues_.find(id);
    return it == queues_.end() ? nullptr : it->second.get();
}

const Queue* Broker::find_local_queue(QueueId id) const {
    auto it = queues_.find(id);
    return it == queues_.end() ? nullptr : it->second.get();
}

void Broker::mark_dirty(Queue& queue) {
    QueueId id = queue.info().id;
    if (dirty_.empty() || dirty_.back() != id) dirty_.push_back(id);
}

void Broker::dispatch_pending() {
    // Dispatch can only add more dirty queues through later messages, never during this loop.
    for (usize i = 0; i < dirty_.size(); i++) {
        Queue* queue = find_queue(dirty_[i]);
        if (queue == nullptr) continue;
        queue->dispatch([this](Deliver&& d) {
            ShardId to = d.consumer.channel.connection.shard;
            outbox_.send(to, std::move(d));
        });
    }
    dirty_.clear();
}

void Broker::advance_time(u64 now_ms) { now_ms_ = now_ms; }

u64 Broker::next_deadline_ms() const { return UINT64_MAX; }

void Broker::on(Enqueue& m) {
    Queue* queue = find_queue(m.queue);
    if (queue == nullptr) return;  // deleted while the message travelled
    queue->enqueue(std::move(m.message));
    mark_dirty(*queue);
}

void Broker::on(Settle& m) {
    Queue* queue = find_queue(m.queue);
    if (queue == nullptr) return;
    // An undelivered no-ack delivery is not tracked by the queue, so it travels back itself.
    if (!queue->settle(m.sequence, m.kind) && m.kind == SettleKind::undelivered && m.message) {
        queue->return_undelivered(m.sequence, std::move(m.message), m.redelivered);
    }
    mark_dirty(*queue);
}

void Broker::on(Credit& m) {
    Queue* queue = find_queue(m.queue);
    if (queue == nullptr) return;
    queue->credit(m.consumer, m.count);
    mark_dirty(*queue);
}

void Broker::on(CancelRequest& m) {
    Queue* queue = find_queue(m.queue);
    if (queue == nullptr) return;
    if (queue->remove_consumer(m.consumer)) check_auto_delete(*queue);
    mark_dirty(*queue);
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

void Broker::on(std::unique_ptr<ConsumeRequest>& m) {
    auto reply = std::make_unique<ConsumeReply>();
    reply->consumer = m->consumer;
    reply->queue = m->queue;
    reply->home = self_;
    Queue* queue = find_queue(m->queue);
    if (queue == nullptr) {
        reply->code = 404;
        reply->text = "NOT_FOUND - queue was deleted";
    } else {
        reply->code = queue->add_consumer(*m, reply->text);
        if (reply->code == 0) mark_dirty(*queue);
    }
    outbox_.send(m->consumer.channel.connection.shard, std::move(reply));
}

void Broker::on(std::unique_ptr<GetRequest>& m) {
    auto reply = std::make_unique<GetReply>();
    reply->channel = m->channel;
    reply->queue = m->queue;
    reply->home = self_;
    Queue* queue = find_queue(m->queue);
    if (queue == nullptr) {
        reply->code = 404;
        reply->text = "NOT_FOUND - queue was deleted";
    } else {
        Queue::Got got;
        if (queue->get(m->no_ack, got)) {
            reply->message = std::move(got.message);
            reply->sequence = got.sequence;
            reply->redelivered = got.redelivered;
        }
        reply->message_count = queue->ready_count();
    }
    outbox_.send(m->channel.connection.shard, std::move(reply));
}

void Broker::on(std::unique_ptr<MetaRequest>& m) {
    LEPUS_ASSERT_MSG(metadata_ != nullptr, "metadata requests go to shard 0");
    metadata_->handle(std::move(m));
}

void Broker::on(std::unique_ptr<QueueCommandDone>& m) {
    LEPUS_ASSERT(metadata_ != nullptr);
    metadata_->handle(*m);
}

void Broker::on(std::unique_ptr<CatalogUpdate>& m) { catalog_.apply(*m); }

void Broker::on(std::unique_ptr<QueueCommand>& m) {
    auto done = std::make_unique<QueueCommandDone>();
    done->continuation = m->continuation;
    Queue* queue = find_queue(m->info.id);
    const std::string& name = m->info.name;
    switch (m->kind) {
        case QueueCommandKind::create:
            LEPUS_ASSERT(queue == nullptr);
            queues_.emplace(m->info.id, std::make_unique<Queue>(m->vhost, m->info));
            break;
        case QueueCommandKind::stat:
        case QueueCommandKind::purge:
            if (queue == nullptr) {
                done->code = 404;
                done->text = no_queue_text(name, m->vhost);
                break;
            }
            done->message_count =
                m->kind == QueueCommandKind::purge ? queue->purge() : queue->ready_count();
            done->consumer_count = queue->consumer_count();
            break;
        case QueueCommandKind::remove:
            if (queue == nullptr) break;  // already gone: deleting is idempotent
            if (m->if_unused && queue->consumer_count() > 0) {
                done->code = 406;
                done->text = "PRECONDITION_FAILED - queue '" + name + "' in vhost '" + m->vhost +
                             "' in use";
                break;
            }
            if (m->if_empty && queue->ready_count() + queue->unsettled_count() > 0) {
                done->code = 406;
                done->text = "PRECONDITION_FAILED - queue '" + name + "' in vhost '" + m->vhost +
                             "' not empty";
                break;
            }
            done->message_count = queue->ready_count();
            queue->remove_all_consumers([this](const Queue::Consumer& c) {
                outbox_.send(c.key.channel.connection.shard, ConsumerCancelled{c.key});
            });
            queues_.erase(m->info.id);
            break;
    }
    outbox_.send(ShardId(0), std::move(done));
}

}  // namespace lepus::core
