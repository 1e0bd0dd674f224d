#include "net/session/bounce.h"

#include "net/session/direct_reply.h"

namespace lepus::session {

using namespace lepus::core;

void bounce(ShardMessage& message, Outbox& outbox) {
    if (auto* d = std::get_if<Deliver>(&message)) {
        Settle s{d->queue, d->sequence, SettleKind::undelivered, {}, d->redelivered};
        // A no-ack delivery is no longer tracked by its queue: the message itself goes back.
        if (d->no_ack) s.message = std::move(d->message);
        outbox.send(d->home, std::move(s));
        return;
    }
    if (auto* r = std::get_if<std::unique_ptr<ConsumeReply>>(&message)) {
        // A consumer the queue added must be cancelled there; a refused one never was.
        ConsumeReply& reply = **r;
        if (reply.code == amqp::ReplyCode::reply_success) {
            outbox.send(reply.home, CancelRequest{reply.queue, reply.consumer});
        }
        return;
    }
    if (auto* r = std::get_if<std::unique_ptr<GetReply>>(&message)) {
        GetReply& get = **r;
        if (get.message) {
            Settle s{get.queue, get.sequence, SettleKind::undelivered, {}, get.redelivered};
            s.message = std::move(get.message);
            outbox.send(get.home, std::move(s));
        }
        return;
    }
    if (auto* r = std::get_if<std::unique_ptr<DirectReply>>(&message)) {
        // The channel the name designates is gone, so the name is dead: a reply is dropped, as
        // RabbitMQ drops it, and a declare of the name is answered 404.
        DirectReply& reply = **r;
        if (!reply.message) {
            outbox.send(reply.requester.connection.shard,
                        std::make_unique<MetaReply>(direct_reply_declare_answer(reply, false)));
        }
        return;
    }
    if (auto* r = std::get_if<std::unique_ptr<AdmissionReply>>(&message)) {
        // The connection or channel went before its admission came: its place is given back.
        AdmissionReply& reply = **r;
        if (!reply.refusal) {
            const bool channel = reply.to.channel != 0;
            outbox.send(ShardId(0),
                        std::make_unique<AccessCountChange>(AccessCountChange{
                            reply.vhost, reply.user, channel ? 0 : -1, channel ? -1 : 0}));
        }
        return;
    }
    // Metadata replies and cancellations need nothing: the change they report stands.
}

}  // namespace lepus::session
