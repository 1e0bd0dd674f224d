#include "net/session/channel.h"

#include <algorithm>
#include <cstring>

#include "core/base/assert.h"
#include "core/base/limits.h"
#include "core/base/log.h"
#include "core/queue_arguments.h"
#include "net/session/bounce.h"
#include "net/session/content_writer.h"
#include "net/session/direct_reply.h"

namespace lepus::session {

using namespace lepus::amqp;
using core::SettleKind;

Channel::Channel(ChannelLink link, u16 number, u32 generation)
    : link_(link), number_(number), generation_(generation) {}

Channel::~Channel() { release(); }

core::ChannelKey Channel::key() const {
    return core::ChannelKey{link_.facts.key, number_, generation_};
}

wire::WireWriter& Channel::out_writer() { return link_.out.writer(); }

void Channel::request_flush() { link_.host.request_flush(); }

void Channel::handle_frame(const Frame& frame, const ChunkRef& chunk) {
    if (state_ == State::closing) {
        // After our channel.close only its close-ok (or a crossing close) means anything.
        if (frame.type != frame_method) return;
        Method method;
        u16 c = 0;
        u16 m = 0;
        if (decode_method(frame.payload, method, c, m) != DecodeStatus::ok) return;
        if (std::holds_alternative<ChannelCloseOk>(method)) {
            finished_ = true;
        } else if (std::holds_alternative<ChannelClose>(method)) {
            send_method(ChannelCloseOk{});
            finished_ = true;
        }
        return;
    }
    if (waiting_ != Waiting::none || !parked_.empty()) {
        if (parked_.size() >= limits::channel_parked_frames_max ||
            parked_bytes_ + frame.payload.size() > limits::channel_parked_bytes_max) {
            fail(ReplyCode::resource_error, "RESOURCE_ERROR - too many frames sent while waiting",
                 0, 0);
            return;
        }
        parked_bytes_ += frame.payload.size();
        parked_.push_back(Parked{frame.type, frame.payload, chunk});
        return;
    }
    process_frame(frame.type, frame.payload, chunk);
}

void Channel::process_frame(u8 type, std::string_view payload, const ChunkRef& chunk) {
    switch (publish_.expect()) {
        case PublishAssembly::Expect::method:
            if (type != frame_method) {
                fail(ReplyCode::unexpected_frame,
                     "UNEXPECTED_FRAME - expected method frame, got non method "
                     "frame instead",
                     0, 0);
                return;
            }
            break;
        case PublishAssembly::Expect::header:
            if (type != frame_header) {
                fail(ReplyCode::unexpected_frame,
                     "UNEXPECTED_FRAME - expected content header for class 60, "
                     "got non content header frame instead",
                     BasicPublish::class_id, BasicPublish::method_id);
                return;
            }
            handle_header(payload, chunk);
            return;
        case PublishAssembly::Expect::body:
            if (type != frame_body) {
                fail(ReplyCode::unexpected_frame,
                     "UNEXPECTED_FRAME - expected content body, got non content "
                     "body frame instead",
                     BasicPublish::class_id, BasicPublish::method_id);
                return;
            }
            handle_body(payload, chunk);
            return;
    }
    Method method;
    u16 class_id = 0;
    u16 method_id = 0;
    DecodeStatus status = decode_method(payload, method, class_id, method_id);
    if (status == DecodeStatus::unknown_method) {
        fail(ReplyCode::not_implemented,
             "NOT_IMPLEMENTED - unknown method " + std::to_string(class_id) + "." +
                 std::to_string(method_id),
             class_id, method_id);
        return;
    }
    if (status != DecodeStatus::ok) {
        fail(ReplyCode::syntax_error,
             "SYNTAX_ERROR - malformed " + std::string(method_name(class_id, method_id)), class_id,
             method_id);
        return;
    }
    handle_method(method, chunk);
}

void Channel::handle_method(const Method& method, const ChunkRef&) {
    std::visit(
        [this](const auto& m) {
            using M = std::decay_t<decltype(m)>;
            if constexpr (requires(Channel & c, const M& x) { c.on_method(x); }) {
                on_method(m);
            } else {
                // Connection-class methods on a channel, server-to-client methods from a client.
                fail(ReplyCode::command_invalid,
                     "COMMAND_INVALID - method '" + std::string(M::name) + "' is not allowed here",
                     M::class_id, M::method_id);
            }
        },
        method);
}

void Channel::unpark() {
    // A hard error releases the channel, which drops what was parked.
    while (waiting_ == Waiting::none && !parked_.empty() && state_ == State::open && !released_) {
        Parked p = std::move(parked_.front());
        parked_.pop_front();
        parked_bytes_ -= p.payload.size();
        process_frame(p.type, p.payload, p.chunk);
    }
}

// ---- content ----

void Channel::handle_header(std::string_view payload, const ChunkRef& chunk) {
    DirectReplyName reply_name{key(), reply_secret_};
    if (auto problem = publish_.header(payload, chunk, link_.facts.user,
                                       has_reply_consumer_ ? &reply_name : nullptr)) {
        fail(problem->code, problem->text, BasicPublish::class_id, BasicPublish::method_id);
        return;
    }
    if (publish_.complete()) publish_complete();
}

void Channel::handle_body(std::string_view payload, const ChunkRef& chunk) {
    if (auto problem = publish_.body(payload, chunk)) {
        fail(problem->code, problem->text, BasicPublish::class_id, BasicPublish::method_id);
        return;
    }
    if (publish_.complete()) publish_complete();
}

void Channel::publish_complete() {
    PublishAssembly::Complete publish = publish_.take();
    // Permissions are checked as the publish arrives, in a transaction too (as RabbitMQ).
    const core::Exchange* found = nullptr;
    if (!publish_permitted(publish, found)) return;
    if (transaction_.on()) {
        transaction_.hold(std::move(publish));
        return;
    }
    route_publish(publish.exchange, publish.mandatory, publish.headers, publish.message, found);
}

void Channel::route_publish(const std::string& exchange_name, bool mandatory,
                            std::string_view headers, const MessageRef& message,
                            const core::Exchange* found) {
    core::Broker& broker = link_.services.broker;
    const core::VHost& vhost = *link_.facts.vhost_entry;
    if (found == nullptr) {
        auto it = vhost.exchanges.find(exchange_name);
        if (it == vhost.exchanges.end()) {
            fail(ReplyCode::not_found, core::no_exchange_text(exchange_name, link_.facts.vhost),
                 BasicPublish::class_id, BasicPublish::method_id);
            return;
        }
        found = &it->second;
    }
    const core::Exchange& exchange = *found;
    if (exchange.info.internal) {
        fail(ReplyCode::access_refused,
             "ACCESS_REFUSED - cannot publish to internal exchange '" + exchange_name +
                 "' in vhost '" + link_.facts.vhost + "'",
             BasicPublish::class_id, BasicPublish::method_id);
        return;
    }
    u32 routed = 0;
    link_.signals.published = true;
    // Confirm mode numbers publishes; a committing transaction uses one number for all.
    core::Broker::PublishConfirm confirm{
        key(), confirms_.on() ? confirms_.next_sequence() : tx_sequence, 0};
    bool track = confirms_.on() || transaction_.committing();
    if (exchange_name.empty() && message->routing_key().starts_with(direct_reply_prefix)) {
        route_direct_reply(message->routing_key(), message);
    } else {
        std::optional<QueueId> pressured;
        routed = broker.publish(vhost, exchange, message, headers, track ? &confirm : nullptr,
                                &pressured);
        if (pressured) link_.signals.pressured = *pressured;
    }
    if (transaction_.committing()) transaction_.routed(confirm.awaiting_disk);
    stats_.publish++;
    exchange.published_in++;
    if (routed > 0) exchange.published_out++;
    if (routed == 0) (mandatory ? stats_.return_unroutable : stats_.drop_unroutable)++;
    if (routed == 0 && mandatory) {
        BasicReturn r;
        r.reply_code = wire_code(ReplyCode::no_route);
        r.reply_text = "NO_ROUTE";
        r.exchange = message->exchange();
        r.routing_key = message->routing_key();
        send_method(r);
        write_content(message);
    }
    if (confirms_.on()) confirms_.published(confirm.awaiting_disk);
}

void Channel::on_persisted(const core::Persisted& persisted) {
    if (persisted.sequence == tx_sequence) {
        if (transaction_.persisted() && waiting_ == Waiting::tx_commit) {
            waiting_ = Waiting::none;
            send_method(TxCommitOk{});
            unpark();
        }
        return;
    }
    confirms_.persisted(persisted.sequence);
}

void Channel::write_content(const MessageRef& owner) {
    write_content_frames(link_.out, number_, link_.facts.frame_max, owner);
    link_.host.request_flush();
}

core::MessageStats Channel::stats() const {
    core::MessageStats stats = stats_;
    stats.confirm = confirms_.confirmed();
    return stats;
}

void Channel::flush_confirms() {
    if (!confirms_.due() || state_ != State::open) return;
    Confirms::Ack confirmed;
    if (!confirms_.take_ack(confirmed)) return;
    BasicAck ack;
    ack.delivery_tag = confirmed.tag;
    ack.multiple = confirmed.multiple;
    send_method(ack);
}

// ---- deliveries ----

Channel::Consumer* Channel::find_consumer(u64 id) {
    for (Consumer& c : consumers_) {
        if (c.id == id) return &c;
    }
    return nullptr;
}

Channel::Consumer* Channel::find_consumer_by_tag(std::string_view tag) {
    for (Consumer& c : consumers_) {
        if (c.tag == tag) return &c;
    }
    return nullptr;
}

void Channel::on_deliver(core::Deliver& deliver) {
    Consumer* consumer = find_consumer(deliver.consumer.id);
    if (consumer == nullptr) {
        core::ShardMessage back(std::move(deliver));
        bounce(back, link_.services.outbox);
        return;
    }
    if (prefetch_.must_hold(deliver, unacked_)) {
        prefetch_.hold(std::move(deliver));
        return;
    }
    deliver_now(*consumer, deliver);
}

void Channel::deliver_now(Consumer& consumer, core::Deliver& deliver) {
    (deliver.no_ack ? stats_.deliver_no_ack : stats_.deliver)++;
    if (deliver.redelivered) stats_.redeliver++;
    u64 tag = unacked_.next_tag();
    if (!deliver.no_ack) {
        unacked_.add(tag, deliver.queue, deliver.home, deliver.sequence, consumer.id);
    }
    write_delivery(consumer, tag, deliver);
}

void Channel::write_delivery(Consumer& consumer, u64 tag, const core::Deliver& deliver) {
    write_delivery_frames(link_.out, number_, link_.facts.frame_max, consumer.tag, tag,
                          deliver.redelivered, deliver.message);
    link_.host.request_flush();
    consumer.credit_owed++;
    consumer.credit_bytes_owed += deliver.message->transit_size();
    link_.signals.credit_owed = true;
}

void Channel::release_held() {
    prefetch_.release(unacked_, [&](core::Deliver& d) {
        Consumer* consumer = find_consumer(d.consumer.id);
        if (consumer == nullptr) {
            core::ShardMessage back(std::move(d));
            bounce(back, link_.services.outbox);
            return;
        }
        deliver_now(*consumer, d);
    });
}

void Channel::send_credits() {
    for (Consumer& c : consumers_) {
        if (c.credit_owed == 0) continue;
        if (c.id == direct_reply_consumer_id) {
            c.credit_owed = 0;
            c.credit_bytes_owed = 0;  // replies bypass queues, so there is no one to credit
            continue;
        }
        link_.services.outbox.send(c.home, core::Credit{c.queue, core::ConsumerKey{key(), c.id},
                                                        c.credit_owed, c.credit_bytes_owed});
        c.credit_owed = 0;
        c.credit_bytes_owed = 0;
    }
}

void Channel::on_consumer_cancelled(const core::ConsumerCancelled& cancelled) {
    auto it = std::find_if(consumers_.begin(), consumers_.end(),
                           [&](const Consumer& c) { return c.id == cancelled.consumer.id; });
    if (it == consumers_.end()) return;
    std::string tag = it->tag;
    consumers_.erase(it);
    if (link_.facts.consumer_cancel_notify) {
        BasicCancel cancel;
        cancel.consumer_tag = tag;
        cancel.nowait = true;
        send_method(cancel);
    }
}

// ---- direct reply-to ----

void Channel::consume_direct_reply(const BasicConsume& m, std::string tag) {
    if (!m.no_ack) {
        fail(ReplyCode::precondition_failed,
             "PRECONDITION_FAILED - reply consumer cannot acknowledge", BasicConsume::class_id,
             BasicConsume::method_id);
        return;
    }
    if (has_reply_consumer_) {
        fail(ReplyCode::precondition_failed, "PRECONDITION_FAILED - reply consumer already set",
             BasicConsume::class_id, BasicConsume::method_id);
        return;
    }
    has_reply_consumer_ = true;
    reply_secret_ = draw_reply_secret();  // names handed out before are dead from now on
    if (!m.nowait) {
        BasicConsumeOk ok;
        ok.consumer_tag = tag;
        send_method(ok);
    }
    consumers_.push_back(Consumer{direct_reply_consumer_id, std::move(tag), QueueId(0),
                                  link_.services.shard, true, true, 0, 0});
}

void Channel::route_direct_reply(std::string_view routing_key, const MessageRef& message) {
    std::optional<DirectReplyName> target = parse_direct_reply_name(routing_key);
    Services& context = link_.services;
    if (!target || target->channel.connection.shard.value >= context.broker.shard_count()) {
        return;  // RabbitMQ drops a reply to a malformed name without a word
    }
    auto reply = std::make_unique<core::DirectReply>();
    reply->channel = target->channel;
    reply->secret = target->secret;
    reply->message = message;
    context.outbox.send(target->channel.connection.shard, std::move(reply));
}

// RabbitMQ 3.10 answers a declare (passive or not) of amq.rabbitmq.reply-to itself with ok,
// no messages and one consumer, on any channel; of a live reply name the same; of anything
// else starting with amq.rabbitmq.reply-to (malformed, dead, or of another reply consumer) 404.
void Channel::declare_direct_reply(const QueueDeclare& m) {
    const std::string name(m.queue);
    Services& context = link_.services;
    if (name == direct_reply_queue) {
        last_queue_ = name;
        QueueDeclareOk ok;
        ok.queue = name;
        ok.consumer_count = 1;
        if (!m.nowait) send_method(ok);
        return;
    }
    std::optional<DirectReplyName> target = parse_direct_reply_name(name);
    if (!target || target->channel.connection.shard.value >= context.broker.shard_count()) {
        fail(ReplyCode::not_found, core::no_queue_text(name, link_.facts.vhost),
             QueueDeclare::class_id, QueueDeclare::method_id);
        return;
    }
    // Only the channel the name designates knows whether it is live: ask it.
    auto request = std::make_unique<core::DirectReply>();
    request->channel = target->channel;
    request->secret = target->secret;
    request->requester = key();
    request->name = name;
    request->vhost = link_.facts.vhost;
    context.outbox.send(target->channel.connection.shard, std::move(request));
    last_queue_ = name;
    await_meta_reply(PendingOk::queue_declare, m.nowait, QueueDeclare::class_id,
                     QueueDeclare::method_id);
}

void Channel::on_direct_reply(core::DirectReply& reply) {
    const bool live = has_reply_consumer_ && reply.secret == reply_secret_;
    if (!reply.message) {
        link_.services.outbox.send(
            reply.requester.connection.shard,
            std::make_unique<core::MetaReply>(direct_reply_declare_answer(reply, live)));
        return;
    }
    if (!live) return;  // a dead name: RabbitMQ drops the reply too
    Consumer* consumer = find_consumer(direct_reply_consumer_id);
    LEPUS_ASSERT(consumer != nullptr);
    core::Deliver d;
    d.consumer = core::ConsumerKey{key(), direct_reply_consumer_id};
    d.queue = QueueId(0);
    d.home = link_.services.shard;
    d.message = std::move(reply.message);
    d.no_ack = true;
    deliver_now(*consumer, d);
}

// ---- settlement ----

void Channel::settle_entry(UnackedLedger::Entry& entry, SettleKind kind) {
    if (kind == SettleKind::ack) stats_.ack++;
    unacked_.mark_settled(entry);
    link_.services.outbox.send(entry.home,
                               core::Settle{entry.queue, entry.sequence, kind, {}, false});
}

bool Channel::settle(u64 tag, bool multiple, SettleKind kind, u16 method_id) {
    bool named = unacked_.name(tag, multiple, [&](UnackedLedger::Entry& entry) {
        if (transaction_.on()) {
            transaction_.hold_settle(entry, kind);
        } else {
            settle_entry(entry, kind);
        }
    });
    if (!named) {
        fail(ReplyCode::precondition_failed,
             "PRECONDITION_FAILED - unknown delivery tag " + std::to_string(tag),
             BasicAck::class_id, method_id);
        return false;
    }
    after_settling();
    return true;
}

void Channel::after_settling() {
    unacked_.drop_settled_front();
    release_held();
}

void Channel::requeue_all_unacked() {
    unacked_.for_each_open(
        [&](UnackedLedger::Entry& entry) { settle_entry(entry, SettleKind::requeue); });
    unacked_.drop_settled();
}

void Channel::release() {
    if (released_) return;
    released_ = true;
    link_.services.broker.retire_stats(link_.facts.vhost, stats());
    core::Outbox& outbox = link_.services.outbox;
    for (const Consumer& c : consumers_) {
        if (c.id == direct_reply_consumer_id) continue;
        outbox.send(c.home, core::CancelRequest{c.queue, core::ConsumerKey{key(), c.id}});
    }
    consumers_.clear();
    has_reply_consumer_ = false;
    // A transaction left open is rolled back: what it had settled goes back to the queues too.
    transaction_.roll_back(unacked_);
    requeue_all_unacked();
    prefetch_.drop_held([&](core::Deliver& d) {
        core::ShardMessage back(std::move(d));
        bounce(back, outbox);
    });
    parked_.clear();
    parked_bytes_ = 0;
    publish_.reset();
}

// ---- errors ----

void Channel::fail(ReplyCode code, const std::string& text, u16 class_id, u16 method_id) {
    if (is_hard_error(code)) {
        // The session closes the connection as soon as this call returns; until then the
        // channel does nothing more.
        release();
        if (!link_.signals.hard_error)
            link_.signals.hard_error = HardError{code, text, class_id, method_id};
    } else {
        close_channel(code, text, class_id, method_id);
    }
}

void Channel::close_channel(ReplyCode code, const std::string& text, u16 class_id, u16 method_id) {
    if (state_ != State::open) return;
    std::string_view name = reply_code_name(code);
    LEPUS_LOG(info, "channel %u of %s closed with %.*s: %s", number_, link_.facts.peer_name.c_str(),
              static_cast<int>(name.size()), name.data(), text.c_str());
    release();
    send_method(close_method<ChannelClose>(code, text, class_id, method_id));
    state_ = State::closing;
}

// ---- messages from other shards ----

void Channel::on_message(core::ShardMessage& message) {
    LEPUS_ASSERT(takes_messages());
    if (auto* d = std::get_if<core::Deliver>(&message)) {
        on_deliver(*d);
    } else if (auto* c = std::get_if<core::ConsumerCancelled>(&message)) {
        on_consumer_cancelled(*c);
    } else if (auto* p = std::get_if<core::Persisted>(&message)) {
        on_persisted(*p);
    } else if (auto* r = std::get_if<std::unique_ptr<core::MetaReply>>(&message)) {
        on_reply(**r);
    } else if (auto* cr = std::get_if<std::unique_ptr<core::ConsumeReply>>(&message)) {
        on_reply(**cr);
    } else if (auto* g = std::get_if<std::unique_ptr<core::GetReply>>(&message)) {
        on_reply(**g);
    } else if (auto* dr = std::get_if<std::unique_ptr<core::DirectReply>>(&message)) {
        on_direct_reply(**dr);
    } else {
        LEPUS_UNREACHABLE();
    }
}

}  // namespace lepus::session
