// The channel's method handlers: channel, exchange, queue, basic, confirm and tx classes.
#include <algorithm>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/wire/field_table.h"
#include "net/session/channel.h"
#include "net/session/direct_reply.h"

namespace lepus::session {

using namespace lepus::amqp;
using core::SettleKind;

namespace {

// amq.gen-XXXX / amq.ctag-XXXX names as RabbitMQ makes them: 22 url-safe base64 characters.
std::string generated_name(const char* prefix, Services& context) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string name(prefix);
    u64 a = context.random();
    u64 b = context.random();
    for (int i = 0; i < 22; i++) {
        u64& source = i < 11 ? a : b;
        name.push_back(alphabet[source & 63]);
        source >>= 6;
    }
    return name;
}

}  // namespace

// ---- channel ----

void Channel::on_method(const ChannelFlow& m) {
    if (!m.active) {
        // RabbitMQ 3.x no longer lets a client stop deliveries with channel.flow.
        fail(ReplyCode::not_implemented, "NOT_IMPLEMENTED - active=false", ChannelFlow::class_id,
             ChannelFlow::method_id);
        return;
    }
    ChannelFlowOk ok;
    ok.active = true;
    send_method(ok);
}

void Channel::on_method(const ChannelClose&) {
    release();
    send_method(ChannelCloseOk{});
    state_ = State::closing;
    finished_ = true;
}

void Channel::on_method(const ChannelCloseOk&) {
    // close-ok without our close: RabbitMQ ignores it.
}

void Channel::on_method(const AccessRequest&) {
    AccessRequestOk ok;
    ok.ticket = 1;
    send_method(ok);
}

// ---- exchange ----

void Channel::on_method(const ExchangeDeclare& m) {
    core::ExchangeDeclareOp op;
    op.info.name = std::string(m.exchange);
    op.passive = m.passive;
    if (!m.passive) {
        std::optional<routing::ExchangeType> type = routing::parse_exchange_type(m.type);
        if (!type) {
            fail(ReplyCode::command_invalid,
                 "COMMAND_INVALID - unknown exchange type '" + std::string(m.type) + "'",
                 ExchangeDeclare::class_id, ExchangeDeclare::method_id);
            return;
        }
        op.info.type = *type;
    }
    if (!exchange_declare_permitted(m)) return;
    op.info.durable = m.durable;
    op.info.auto_delete = m.auto_delete;
    op.info.internal = m.internal;
    op.info.arguments = std::string(m.arguments);
    send_meta(std::move(op), PendingOk::exchange_declare, m.nowait, ExchangeDeclare::class_id,
              ExchangeDeclare::method_id);
}

void Channel::on_method(const ExchangeDelete& m) {
    if (!exchange_delete_permitted(m.exchange)) return;
    send_meta(core::ExchangeDeleteOp{std::string(m.exchange), m.if_unused},
              PendingOk::exchange_delete, m.nowait, ExchangeDelete::class_id,
              ExchangeDelete::method_id);
}

void Channel::on_method(const ExchangeBind& m) {
    if (!binding_permitted(access::ResourceKind::exchange, m.destination, m.source, m.routing_key,
                           ExchangeBind::class_id, ExchangeBind::method_id))
        return;
    send_meta(core::ExchangeBindOp{std::string(m.destination), std::string(m.source),
                                   std::string(m.routing_key), std::string(m.arguments), false},
              PendingOk::exchange_bind, m.nowait, ExchangeBind::class_id, ExchangeBind::method_id);
}

void Channel::on_method(const ExchangeUnbind& m) {
    if (!binding_permitted(access::ResourceKind::exchange, m.destination, m.source, m.routing_key,
                           ExchangeUnbind::class_id, ExchangeUnbind::method_id))
        return;
    send_meta(core::ExchangeBindOp{std::string(m.destination), std::string(m.source),
                                   std::string(m.routing_key), std::string(m.arguments), true},
              PendingOk::exchange_unbind, m.nowait, ExchangeUnbind::class_id,
              ExchangeUnbind::method_id);
}

// ---- queue ----

bool Channel::resolve_queue_name(std::string_view requested, std::string& out, u16 class_id,
                                 u16 method_id) {
    if (!requested.empty()) {
        out = std::string(requested);
        return true;
    }
    if (last_queue_.empty()) {
        fail(ReplyCode::not_found, "NOT_FOUND - no previously declared queue", class_id, method_id);
        return false;
    }
    out = last_queue_;
    return true;
}

const core::QueueInfo* Channel::lookup_queue(const std::string& name, u16 class_id, u16 method_id) {
    const core::QueueInfo* info =
        link_.services.broker.catalog().find_queue(link_.facts.vhost, name);
    if (info == nullptr) {
        fail(ReplyCode::not_found, core::no_queue_text(name, link_.facts.vhost), class_id,
             method_id);
        return nullptr;
    }
    if (info->exclusive && !(info->owner == link_.facts.key)) {
        fail(ReplyCode::resource_locked, core::queue_locked_text(name, link_.facts.vhost), class_id,
             method_id);
        return nullptr;
    }
    return info;
}

void Channel::on_method(const QueueDeclare& m) {
    if (m.queue.starts_with(direct_reply_queue)) {
        declare_direct_reply(m);
        return;
    }
    core::QueueDeclareOp op;
    op.passive = m.passive;
    if (m.queue.empty()) {
        if (m.passive) {
            // A passive declare of "" names the channel's last declared queue.
            if (!resolve_queue_name(m.queue, op.info.name, QueueDeclare::class_id,
                                    QueueDeclare::method_id))
                return;
        } else {
            op.info.name = generated_name("amq.gen-", link_.services);
            op.server_named = true;
        }
    } else {
        op.info.name = std::string(m.queue);
    }
    op.info.durable = m.durable;
    op.info.exclusive = m.exclusive;
    op.info.auto_delete = m.auto_delete;
    op.info.arguments = std::string(m.arguments);
    if (!queue_declare_permitted(op)) return;
    if (m.exclusive && !m.passive) link_.signals.exclusive_queue_declared = true;
    send_meta(std::move(op), PendingOk::queue_declare, m.nowait, QueueDeclare::class_id,
              QueueDeclare::method_id);
}

void Channel::on_method(const QueueBind& m) {
    core::QueueBindOp op;
    if (!resolve_queue_name(m.queue, op.queue, QueueBind::class_id, QueueBind::method_id)) return;
    op.exchange = std::string(m.exchange);
    // RabbitMQ's shortcut: an empty queue and routing key bind with the queue's name.
    op.routing_key =
        m.queue.empty() && m.routing_key.empty() ? op.queue : std::string(m.routing_key);
    op.arguments = std::string(m.arguments);
    if (!binding_permitted(access::ResourceKind::queue, op.queue, op.exchange, op.routing_key,
                           QueueBind::class_id, QueueBind::method_id))
        return;
    send_meta(std::move(op), PendingOk::queue_bind, m.nowait, QueueBind::class_id,
              QueueBind::method_id);
}

void Channel::on_method(const QueueUnbind& m) {
    core::QueueBindOp op;
    if (!resolve_queue_name(m.queue, op.queue, QueueUnbind::class_id, QueueUnbind::method_id))
        return;
    op.exchange = std::string(m.exchange);
    op.routing_key = std::string(m.routing_key);
    op.arguments = std::string(m.arguments);
    op.unbind = true;
    if (!binding_permitted(access::ResourceKind::queue, op.queue, op.exchange, op.routing_key,
                           QueueUnbind::class_id, QueueUnbind::method_id))
        return;
    send_meta(std::move(op), PendingOk::queue_unbind, false, QueueUnbind::class_id,
              QueueUnbind::method_id);
}

void Channel::on_method(const QueuePurge& m) {
    core::QueuePurgeOp op;
    if (!resolve_queue_name(m.queue, op.queue, QueuePurge::class_id, QueuePurge::method_id)) return;
    if (!permitted(access::ResourceKind::queue, op.queue, access::Permission::read,
                   QueuePurge::class_id, QueuePurge::method_id))
        return;
    send_meta(std::move(op), PendingOk::queue_purge, m.nowait, QueuePurge::class_id,
              QueuePurge::method_id);
}

void Channel::on_method(const QueueDelete& m) {
    core::QueueDeleteOp op;
    if (!resolve_queue_name(m.queue, op.queue, QueueDelete::class_id, QueueDelete::method_id))
        return;
    if (!permitted(access::ResourceKind::queue, op.queue, access::Permission::configure,
                   QueueDelete::class_id, QueueDelete::method_id))
        return;
    op.if_unused = m.if_unused;
    op.if_empty = m.if_empty;
    send_meta(std::move(op), PendingOk::queue_delete, m.nowait, QueueDelete::class_id,
              QueueDelete::method_id);
}

void Channel::send_meta(core::MetaOp op, PendingOk ok, bool nowait, u16 class_id, u16 method_id) {
    auto request = std::make_unique<core::MetaRequest>();
    request->vhost = link_.facts.vhost;
    request->requester = key();
    request->op = std::move(op);
    if (auto* declare = std::get_if<core::QueueDeclareOp>(&request->op)) {
        last_queue_ = declare->info.name;
    }
    link_.services.outbox.send(ShardId(0), std::move(request));
    await_meta_reply(ok, nowait, class_id, method_id);
}

void Channel::await_meta_reply(PendingOk ok, bool nowait, u16 class_id, u16 method_id) {
    waiting_ = Waiting::meta;
    pending_ok_ = ok;
    pending_nowait_ = nowait;
    pending_class_ = class_id;
    pending_method_ = method_id;
}

void Channel::on_reply(core::MetaReply& reply) {
    LEPUS_ASSERT(waiting_ == Waiting::meta);
    waiting_ = Waiting::none;
    if (reply.code != ReplyCode::reply_success) {
        fail(reply.code, reply.text, pending_class_, pending_method_);
        return;
    }
    if (!pending_nowait_) {
        switch (pending_ok_) {
            case PendingOk::exchange_declare: send_method(ExchangeDeclareOk{}); break;
            case PendingOk::exchange_delete: send_method(ExchangeDeleteOk{}); break;
            case PendingOk::exchange_bind: send_method(ExchangeBindOk{}); break;
            case PendingOk::exchange_unbind: send_method(ExchangeUnbindOk{}); break;
            case PendingOk::queue_declare: {
                QueueDeclareOk ok;
                ok.queue = reply.queue_name;
                ok.message_count = reply.message_count;
                ok.consumer_count = reply.consumer_count;
                send_method(ok);
                break;
            }
            case PendingOk::queue_bind: send_method(QueueBindOk{}); break;
            case PendingOk::queue_unbind: send_method(QueueUnbindOk{}); break;
            case PendingOk::queue_purge: {
                QueuePurgeOk ok;
                ok.message_count = reply.message_count;
                send_method(ok);
                break;
            }
            case PendingOk::queue_delete: {
                QueueDeleteOk ok;
                ok.message_count = reply.message_count;
                send_method(ok);
                break;
            }
        }
    }
    unpark();
}

// ---- basic ----

void Channel::on_method(const BasicQos& m) {
    if (m.prefetch_size != 0) {
        fail(ReplyCode::not_implemented,
             "NOT_IMPLEMENTED - prefetch_size!=0 (" + std::to_string(m.prefetch_size) + ")",
             BasicQos::class_id, BasicQos::method_id);
        return;
    }
    if (m.global) {
        prefetch_.set_global(m.prefetch_count);
        release_held();
    } else {
        prefetch_.set_per_consumer(m.prefetch_count);
    }
    send_method(BasicQosOk{});
}

void Channel::on_method(const BasicConsume& m) {
    std::string queue_name;
    if (!resolve_queue_name(m.queue, queue_name, BasicConsume::class_id, BasicConsume::method_id))
        return;
    std::string tag = m.consumer_tag.empty() ? generated_name("amq.ctag-", link_.services)
                                             : std::string(m.consumer_tag);
    if (find_consumer_by_tag(tag) != nullptr) {
        fail(ReplyCode::not_allowed, "NOT_ALLOWED - attempt to reuse consumer tag '" + tag + "'",
             BasicConsume::class_id, BasicConsume::method_id);
        return;
    }
    if (queue_name == direct_reply_queue) {
        consume_direct_reply(m, std::move(tag));
        return;
    }
    if (!queue_read_permitted(queue_name, BasicConsume::class_id, BasicConsume::method_id)) return;
    const core::QueueInfo* info =
        lookup_queue(queue_name, BasicConsume::class_id, BasicConsume::method_id);
    if (info == nullptr) return;
    i32 priority = 0;
    if (!consumer_priority(m.arguments, queue_name, priority)) return;
    Consumer consumer{
        ++link_.signals.consumer_ids, tag, info->id, info->home, m.no_ack, false, 0, 0};
    auto request = std::make_unique<core::ConsumeRequest>();
    request->consumer = core::ConsumerKey{key(), consumer.id};
    request->queue = info->id;
    request->tag = tag;
    request->no_ack = m.no_ack;
    request->exclusive = m.exclusive;
    request->prefetch = prefetch_.per_consumer();
    request->priority = priority;
    consumers_.push_back(std::move(consumer));
    link_.services.outbox.send(info->home, std::move(request));
    waiting_ = Waiting::consume;
    pending_nowait_ = m.nowait;
    pending_consumer_tag_ = tag;
    pending_class_ = BasicConsume::class_id;
    pending_method_ = BasicConsume::method_id;
}

bool Channel::consumer_priority(std::string_view arguments, const std::string& queue,
                                i32& priority) {
    wire::FieldTable table;
    std::string problem;
    if (!wire::decode_field_table(arguments, table)) {
        problem = "malformed arguments";
    } else if (const wire::FieldValue* value = wire::find_field(table, "x-priority")) {
        std::optional<i64> number = value->as_integer();
        if (!number) {
            problem =
                "\"expected integer, got " + std::string(wire::field_type_name(value->type)) + "\"";
        } else if (*number < INT32_MIN || *number > INT32_MAX) {
            problem = "{value_out_of_range," + std::to_string(*number) + "}";
        } else {
            priority = static_cast<i32>(*number);
        }
    }
    if (problem.empty()) return true;
    fail(ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - invalid arg 'x-priority' for queue '" + queue + "' in vhost '" +
             link_.facts.vhost + "': " + problem,
         BasicConsume::class_id, BasicConsume::method_id);
    return false;
}

void Channel::on_reply(core::ConsumeReply& reply) {
    LEPUS_ASSERT(waiting_ == Waiting::consume);
    waiting_ = Waiting::none;
    Consumer* consumer = find_consumer(reply.consumer.id);
    LEPUS_ASSERT(consumer != nullptr);
    if (reply.code != ReplyCode::reply_success) {
        consumers_.erase(consumers_.begin() + (consumer - consumers_.data()));
        fail(reply.code, reply.text, pending_class_, pending_method_);
        return;
    }
    consumer->active = true;
    if (!pending_nowait_) {
        BasicConsumeOk ok;
        ok.consumer_tag = consumer->tag;
        send_method(ok);
    }
    unpark();
}

void Channel::on_method(const BasicCancel& m) {
    Consumer* consumer = find_consumer_by_tag(m.consumer_tag);
    if (consumer != nullptr) {
        if (consumer->id == direct_reply_consumer_id) {
            has_reply_consumer_ = false;
        } else {
            link_.services.outbox.send(
                consumer->home,
                core::CancelRequest{consumer->queue, core::ConsumerKey{key(), consumer->id}});
        }
        consumers_.erase(consumers_.begin() + (consumer - consumers_.data()));
    }
    if (!m.nowait) {
        BasicCancelOk ok;
        ok.consumer_tag = m.consumer_tag;
        send_method(ok);
    }
}

void Channel::on_method(const BasicPublish& m) {
    if (m.immediate) {
        fail(ReplyCode::not_implemented, "NOT_IMPLEMENTED - immediate=true", BasicPublish::class_id,
             BasicPublish::method_id);
        return;
    }
    publish_.begin(m);
}

void Channel::on_method(const BasicGet& m) {
    std::string queue_name;
    if (!resolve_queue_name(m.queue, queue_name, BasicGet::class_id, BasicGet::method_id)) return;
    if (!queue_read_permitted(queue_name, BasicGet::class_id, BasicGet::method_id)) return;
    const core::QueueInfo* info = lookup_queue(queue_name, BasicGet::class_id, BasicGet::method_id);
    if (info == nullptr) return;
    auto request = std::make_unique<core::GetRequest>();
    request->channel = key();
    request->queue = info->id;
    request->no_ack = m.no_ack;
    link_.services.outbox.send(info->home, std::move(request));
    waiting_ = Waiting::get;
    pending_nowait_ = m.no_ack;  // remembered for the reply
    pending_class_ = BasicGet::class_id;
    pending_method_ = BasicGet::method_id;
}

void Channel::on_reply(core::GetReply& reply) {
    LEPUS_ASSERT(waiting_ == Waiting::get);
    waiting_ = Waiting::none;
    if (reply.code != ReplyCode::reply_success) {
        fail(reply.code, reply.text, pending_class_, pending_method_);
        return;
    }
    if (!reply.message) {
        stats_.get_empty++;
        send_method(BasicGetEmpty{});
    } else {
        u64 tag = unacked_.next_tag();
        bool no_ack = pending_nowait_;
        (no_ack ? stats_.get_no_ack : stats_.get)++;
        if (reply.redelivered) stats_.redeliver++;
        if (!no_ack) unacked_.add(tag, reply.queue, reply.home, reply.sequence, 0);
        BasicGetOk ok;
        ok.delivery_tag = tag;
        ok.redelivered = reply.redelivered;
        ok.exchange = reply.message->exchange();
        ok.routing_key = reply.message->routing_key();
        ok.message_count = reply.message_count;
        send_method(ok);
        write_content(reply.message);
    }
    unpark();
}

void Channel::on_method(const BasicAck& m) {
    settle(m.delivery_tag, m.multiple, SettleKind::ack, BasicAck::method_id);
}

void Channel::on_method(const BasicReject& m) {
    SettleKind kind = m.requeue ? SettleKind::requeue : SettleKind::drop;
    settle(m.delivery_tag, false, kind, BasicReject::method_id);
}

void Channel::on_method(const BasicNack& m) {
    SettleKind kind = m.requeue ? SettleKind::requeue : SettleKind::drop;
    settle(m.delivery_tag, m.multiple, kind, BasicNack::method_id);
}

void Channel::on_method(const BasicRecover&) {
    // Redelivery goes through the queues: everything unacknowledged goes back, redelivered.
    requeue_all_unacked();
    release_held();
    send_method(BasicRecoverOk{});
}

void Channel::on_method(const BasicRecoverAsync&) {
    requeue_all_unacked();
    release_held();
}

// ---- confirm and tx ----

void Channel::on_method(const ConfirmSelect& m) {
    if (transaction_.on()) {
        fail(ReplyCode::precondition_failed,
             "PRECONDITION_FAILED - cannot switch from tx to confirm mode", ConfirmSelect::class_id,
             ConfirmSelect::method_id);
        return;
    }
    confirms_.turn_on();
    if (!m.nowait) send_method(ConfirmSelectOk{});
}

void Channel::on_method(const TxSelect&) {
    if (confirms_.on()) {
        fail(ReplyCode::precondition_failed,
             "PRECONDITION_FAILED - cannot switch from confirm to tx mode", TxSelect::class_id,
             TxSelect::method_id);
        return;
    }
    transaction_.select();
    send_method(TxSelectOk{});
}

void Channel::on_method(const TxCommit&) {
    if (!transaction_.on()) {
        fail(ReplyCode::precondition_failed, "PRECONDITION_FAILED - channel is not transactional",
             TxCommit::class_id, TxCommit::method_id);
        return;
    }
    std::vector<Transaction::Publish> publishes = transaction_.take_publishes();
    transaction_.commit_settles(
        unacked_, [&](UnackedLedger::Entry& entry, SettleKind kind) { settle_entry(entry, kind); });
    after_settling();
    transaction_.begin_commit();
    for (const Transaction::Publish& p : publishes) {
        route_publish(p.exchange, p.mandatory, p.headers, p.message);
        if (state_ != State::open) break;
    }
    transaction_.end_commit();
    if (state_ != State::open) return;
    if (!transaction_.durable()) {
        waiting_ = Waiting::tx_commit;  // commit-ok once the durable copies are on disk
        return;
    }
    send_method(TxCommitOk{});
}

void Channel::on_method(const TxRollback&) {
    if (!transaction_.on()) {
        fail(ReplyCode::precondition_failed, "PRECONDITION_FAILED - channel is not transactional",
             TxRollback::class_id, TxRollback::method_id);
        return;
    }
    transaction_.roll_back(unacked_);
    send_method(TxRollbackOk{});
}

}  // namespace lepus::session
