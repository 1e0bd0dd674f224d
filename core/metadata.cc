#include "core/metadata.h"

#include <algorithm>
#include <vector>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "core/queue_arguments.h"
#include "core/wire/field_table.h"

namespace lepus::core {

using amqp::ReplyCode;
using routing::Destination;

namespace {

const char* bool_text(bool b) { return b ? "true" : "false"; }

bool starts_with_amq(const std::string& name) { return name.rfind("amq.", 0) == 0; }

std::string inequivalent(const char* arg, const char* kind, const std::string& name,
                         const std::string& vhost, const std::string& received,
                         const std::string& current) {
    return "PRECONDITION_FAILED - inequivalent arg '" + std::string(arg) + "' for " + kind + " '" +
           name + "' in vhost '" + vhost + "': received '" + received + "' but current is '" +
           current + "'";
}

// The queue arguments RabbitMQ compares when a queue is declared again, in its order; any other
// argument may differ between declarations.
constexpr std::string_view equivalence_keys[] = {
    "x-expires",
    "x-message-ttl",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-in-memory-length",
    "x-max-in-memory-bytes",
    "x-max-priority",
    "x-overflow",
    "x-queue-mode",
    "x-queue-version",
    "x-single-active-consumer",
    "x-queue-type",
    "x-queue-master-locator",
};

std::string argument_text(const wire::FieldValue& value) {
    if (auto i = value.as_integer()) return std::to_string(*i);
    if (auto str = value.as_string()) return std::string(*str);
    if (auto b = value.as_bool()) return *b ? "true" : "false";
    return wire::to_string(value);
}

// RabbitMQ's rendering of an argument in an equivalence error: the bare value when both sides
// have one, the value with its type when only one side does.
std::string describe_argument(const wire::FieldValue* value, bool both_present) {
    if (value == nullptr) return "none";
    if (both_present) return "'" + argument_text(*value) + "'";
    return "the value '" + argument_text(*value) + "' of type '" +
           std::string(wire::field_type_name(value->type)) + "'";
}

bool arguments_equivalent(const wire::FieldValue* a, const wire::FieldValue* b) {
    if (a == nullptr || b == nullptr) return a == b;
    // Integer types are interchangeable, as in RabbitMQ (a client may send 1000 as any width).
    if (a->as_integer() && b->as_integer()) return *a->as_integer() == *b->as_integer();
    return *a == *b;
}

// The text of the first known argument that differs between a declaration (`received`) and the
// queue as it is (`current`), or an empty string when they are equivalent.
std::string argument_inequivalence(const std::string& received, const std::string& current,
                                   const std::string& queue, const std::string& vhost) {
    wire::FieldTable r;
    wire::FieldTable c;
    if (!wire::decode_field_table(received, r) || !wire::decode_field_table(current, c)) {
        return "PRECONDITION_FAILED - malformed arguments for queue '" + queue + "' in vhost '" +
               vhost + "'";
    }
    for (std::string_view key : equivalence_keys) {
        const wire::FieldValue* rv = wire::find_field(r, key);
        const wire::FieldValue* cv = wire::find_field(c, key);
        if (arguments_equivalent(rv, cv)) continue;
        return "PRECONDITION_FAILED - inequivalent arg '" + std::string(key) + "' for queue '" +
               queue + "' in vhost '" + vhost + "': received " +
               describe_argument(rv, cv != nullptr) + " but current is " +
               describe_argument(cv, rv != nullptr);
    }
    return {};
}

}  // namespace

std::string no_queue_text(const std::string& name, const std::string& vhost) {
    return "NOT_FOUND - no queue '" + name + "' in vhost '" + vhost + "'";
}

std::string no_exchange_text(const std::string& name, const std::string& vhost) {
    return "NOT_FOUND - no exchange '" + name + "' in vhost '" + vhost + "'";
}

std::string queue_locked_text(const std::string& name, const std::string& vhost) {
    return "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '" + name +
           "' in vhost '" + vhost +
           "'. It could be originally declared on another connection or the exclusive "
           "property value does not match that of the original declaration.";
}

Metadata::Metadata(ShardId self, u32 shard_count, Catalog& catalog, Outbox& outbox)
    : self_(self),
      shard_count_(shard_count),
      catalog_(catalog),
      outbox_(outbox),
      updates_applied_(shard_count, 0) {}

void Metadata::handle(std::unique_ptr<MetaRequest> request) {
    waiting_.push_back(std::move(request));
    run();
}

void Metadata::handle(const QueueCommandDone& done) {
    LEPUS_ASSERT(current_ != nullptr && done.continuation == awaited_continuation_);
    finish(done);
    current_.reset();
    run();
}

void Metadata::run() {
    while (current_ == nullptr && !waiting_.empty()) {
        std::unique_ptr<MetaRequest> request = std::move(waiting_.front());
        waiting_.pop_front();
        if (!is_admin_op(request->op) && catalog_.find_vhost(request->vhost) == nullptr) {
            reply(*request, ReplyCode::not_allowed,
                  "NOT_ALLOWED - vhost '" + request->vhost + "' not found");
            continue;
        }
        MetaRequest& r = *request;
        bool finished = std::visit([&](const auto& op) { return start(r, op); }, r.op);
        if (!finished) current_ = std::move(request);
    }
}

void Metadata::set_log(DefinitionsLog* log, JournalSink* journal) {
    log_ = log;
    journal_ = journal;
}

void Metadata::commit(CatalogUpdate update) {
    if (log_ != nullptr) log_->write(catalog_, update);
    catalog_.apply(update);
    updates_committed_++;
    updates_applied_[self_.value] = updates_committed_;
    for (u32 shard = 0; shard < shard_count_; shard++) {
        if (ShardId(shard) == self_) continue;
        send(ShardId(shard), std::make_unique<CatalogUpdate>(update));
    }
}

void Metadata::send(ShardId to, ShardMessage message, u64 applied_needed) {
    if (log_ != nullptr) {
        u64 written = log_->last_sequence();
        if (!held_.empty() || written > journal_->durable_sequence()) {
            held_.push_back(Held{written, Outgoing{to, std::move(message), applied_needed}});
            return;
        }
    }
    release(Outgoing{to, std::move(message), applied_needed});
}

u64 Metadata::applied_everywhere() const {
    u64 least = updates_committed_;
    for (u64 applied : updates_applied_) least = std::min(least, applied);
    return least;
}

void Metadata::release(Outgoing outgoing) {
    u64 applied_needed = outgoing.applied_needed;
    if (applied_needed == 0 ||
        (awaiting_replicas_.empty() && applied_needed <= applied_everywhere())) {
        outbox_.send(outgoing.to, std::move(outgoing.message));
        return;
    }
    // Replies are released in the order they were made, and each needs at least the updates
    // of the one before it, so the line stays sorted by what it waits for.
    LEPUS_ASSERT(awaiting_replicas_.empty() ||
                 awaiting_replicas_.back().applied_needed <= applied_needed);
    awaiting_replicas_.push_back(std::move(outgoing));
}

void Metadata::on_catalog_applied(ShardId shard, u64 count) {
    LEPUS_ASSERT(shard.value < shard_count_ && count <= updates_committed_);
    LEPUS_ASSERT_MSG(count >= updates_applied_[shard.value], "a replica applies in order");
    updates_applied_[shard.value] = count;
    u64 everywhere = applied_everywhere();
    while (!awaiting_replicas_.empty() && awaiting_replicas_.front().applied_needed <= everywhere) {
        outbox_.send(awaiting_replicas_.front().to, std::move(awaiting_replicas_.front().message));
        awaiting_replicas_.pop_front();
    }
}

void Metadata::on_journal_progress() {
    if (log_ == nullptr) return;
    u64 durable = journal_->durable_sequence();
    while (!held_.empty() && held_.front().sequence <= durable) {
        release(std::move(held_.front().outgoing));
        held_.pop_front();
    }
    log_->maintain(catalog_);
}

void Metadata::reply(const MetaRequest& request, ReplyCode code, std::string text) {
    if (request.reply_wanted == ReplyWanted::no) {
        if (code != ReplyCode::reply_success) LEPUS_LOG(warning, "metadata: %s", text.c_str());
        return;
    }
    auto r = std::make_unique<MetaReply>();
    r->to = request.requester;
    r->code = code;
    r->text = std::move(text);
    send_reply(request, std::move(r));
}

void Metadata::send_reply(const MetaRequest& request, std::unique_ptr<MetaReply> reply) {
    // Every update committed so far, not only this request's: an earlier change this client
    // may have heard of through another connection must be visible too, and an error reply
    // (a passive declare's 404) must not overtake a delete that caused it.
    send(request.requester.connection.shard, std::move(reply), updates_committed_);
}

void Metadata::reply_ok(const MetaRequest& request, std::string queue_name, u32 messages,
                        u32 consumers) {
    if (request.reply_wanted == ReplyWanted::no) return;
    auto r = std::make_unique<MetaReply>();
    r->to = request.requester;
    r->queue_name = std::move(queue_name);
    r->message_count = messages;
    r->consumer_count = consumers;
    send_reply(request, std::move(r));
}

void Metadata::send_queue_command(const QueueInfo& queue, const std::string& vhost,
                                  QueueCommandKind kind, bool if_unused, bool if_empty) {
    auto command = std::make_unique<QueueCommand>();
    command->kind = kind;
    command->continuation = awaited_continuation_ = next_continuation_++;
    command->vhost = vhost;
    command->info = queue;
    command->if_unused = if_unused;
    command->if_empty = if_empty;
    send(queue.home, std::move(command));
}

bool Metadata::start(MetaRequest& request, const ExchangeDeclareOp& op) {
    const std::string& name = op.info.name;
    const Exchange* existing = catalog_.find_exchange(request.vhost, name);
    if (name.empty()) {
        // RabbitMQ refuses the default exchange before looking at passive.
        reply(request, ReplyCode::access_refused,
              "ACCESS_REFUSED - operation not permitted on the default exchange");
        return true;
    }
    if (op.passive) {
        if (existing == nullptr) {
            reply(request, ReplyCode::not_found, no_exchange_text(name, request.vhost));
        } else {
            reply_ok(request);
        }
        return true;
    }
    if (existing != nullptr) {
        const ExchangeInfo& cur = existing->info;
        std::string text;
        if (cur.type != op.info.type) {
            text = inequivalent("type", "exchange", name, request.vhost,
                                std::string(routing::to_string(op.info.type)),
                                std::string(routing::to_string(cur.type)));
        } else if (cur.durable != op.info.durable) {
            text = inequivalent("durable", "exchange", name, request.vhost,
                                bool_text(op.info.durable), bool_text(cur.durable));
        } else if (cur.auto_delete != op.info.auto_delete) {
            text = inequivalent("auto_delete", "exchange", name, request.vhost,
                                bool_text(op.info.auto_delete), bool_text(cur.auto_delete));
        } else if (cur.internal != op.info.internal) {
            text = inequivalent("internal", "exchange", name, request.vhost,
                                bool_text(op.info.internal), bool_text(cur.internal));
        }
        if (!text.empty()) {
            reply(request, ReplyCode::precondition_failed, std::move(text));
        } else {
            reply_ok(request);
        }
        return true;
    }
    if (starts_with_amq(name)) {
        reply(request, ReplyCode::access_refused,
              "ACCESS_REFUSED - exchange name '" + name + "' contains reserved prefix 'amq.*'");
        return true;
    }
    std::string invalid;
    if (ReplyCode code = check_exchange_arguments(op.info.arguments, name, request.vhost, invalid);
        code != ReplyCode::reply_success) {
        reply(request, code, std::move(invalid));
        return true;
    }
    commit(ExchangeAdded{request.vhost, op.info});
    LEPUS_LOG(debug, "exchange '%s' declared in vhost '%s'", name.c_str(), request.vhost.c_str());
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const ExchangeDeleteOp& op) {
    if (op.name.empty()) {
        reply(request, ReplyCode::access_refused,
              "ACCESS_REFUSED - operation not permitted on the default exchange");
        return true;
    }
    if (starts_with_amq(op.name)) {
        reply(request, ReplyCode::access_refused,
              "ACCESS_REFUSED - deletion of system exchange '" + op.name + "' in vhost '" +
                  request.vhost + "' not allowed");
        return true;
    }
    const Exchange* existing = catalog_.find_exchange(request.vhost, op.name);
    if (existing == nullptr) {
        reply_ok(request);  // RabbitMQ deletes idempotently
        return true;
    }
    if (op.if_unused && !existing->bindings.empty()) {
        reply(request, ReplyCode::precondition_failed,
              "PRECONDITION_FAILED - exchange '" + op.name + "' in vhost '" + request.vhost +
                  "' in use");
        return true;
    }
    commit(ExchangeRemoved{request.vhost, op.name});
    delete_unused_auto_delete_exchanges(request.vhost);
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const ExchangeBindOp& op) {
    if (op.source.empty() || op.destination.empty()) {
        reply(request, ReplyCode::access_refused,
              "ACCESS_REFUSED - operation not permitted on the default exchange");
        return true;
    }
    const Exchange* destination = catalog_.find_exchange(request.vhost, op.destination);
    const Exchange* source = catalog_.find_exchange(request.vhost, op.source);
    if ((destination == nullptr || source == nullptr) && op.unbind) {
        reply_ok(request);  // RabbitMQ unbinds what does not exist without a word
        return true;
    }
    if (destination == nullptr || source == nullptr) {
        reply(request, ReplyCode::not_found,
              no_exchange_text(source == nullptr ? op.source : op.destination, request.vhost));
        return true;
    }
    Destination dest{Destination::Kind::exchange, op.destination};
    bool bound = source->bindings.contains(dest, op.routing_key, op.arguments);
    if (op.unbind) {
        if (bound) {
            commit(
                BindingChange{request.vhost, op.source, dest, op.routing_key, op.arguments, false});
            delete_unused_auto_delete_exchanges(request.vhost);
        }
        reply_ok(request);
        return true;
    }
    if (!bound) {
        routing::Bindings probe(source->info.type);
        std::string error;
        if (probe.add(dest, op.routing_key, op.arguments, &error) ==
            routing::BindResult::invalid_arguments) {
            reply(request, ReplyCode::precondition_failed, "PRECONDITION_FAILED - " + error);
            return true;
        }
        commit(BindingChange{request.vhost, op.source, dest, op.routing_key, op.arguments, true});
    }
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const QueueDeclareOp& op) {
    const std::string& name = op.info.name;
    // RabbitMQ checks a client-chosen name before looking the queue up, so even an existing
    // amq.gen- queue cannot be redeclared by name (only passively).
    if (!op.passive && !op.server_named && starts_with_amq(name)) {
        reply(request, ReplyCode::access_refused,
              "ACCESS_REFUSED - queue name '" + name + "' contains reserved prefix 'amq.*'");
        return true;
    }
    const QueueInfo* existing = catalog_.find_queue(request.vhost, name);
    if (existing == nullptr) {
        if (op.passive) {
            reply(request, ReplyCode::not_found, no_queue_text(name, request.vhost));
            return true;
        }
        // max-queues applies to new queues only, as RabbitMQ's channel checks it.
        const VHost* vhost = catalog_.find_vhost(request.vhost);
        if (auto refused = access::check_vhost_queues(vhost->limits, request.vhost, name,
                                                      vhost->queues.size())) {
            reply(request, ReplyCode::precondition_failed, std::move(refused->text));
            return true;
        }
        QueueArguments arguments;
        std::string invalid;
        if (ReplyCode code =
                parse_queue_arguments(op.info.arguments, name, request.vhost, arguments, invalid);
            code != ReplyCode::reply_success) {
            reply(request, code, std::move(invalid));
            return true;
        }
        QueueInfo info = op.info;
        info.id = QueueId(next_queue_id_++);
        // Client-local placement, as RabbitMQ's default: the queue lives on the shard of the
        // connection that declared it, so a connection consuming its own queue never hops.
        info.home = request.requester.connection.shard;
        info.owner = request.requester.connection;
        LEPUS_ASSERT(info.home.value < shard_count_);
        creating_ = info;
        send_queue_command(info, request.vhost, QueueCommandKind::create);
        return false;
    }
    bool locked = existing->exclusive && !(existing->owner == request.requester.connection);
    if (locked || (!op.passive && existing->exclusive != op.info.exclusive)) {
        reply(request, ReplyCode::resource_locked, queue_locked_text(name, request.vhost));
        return true;
    }
    if (!op.passive) {
        std::string text;
        if (existing->durable != op.info.durable) {
            text = inequivalent("durable", "queue", name, request.vhost, bool_text(op.info.durable),
                                bool_text(existing->durable));
        } else if (existing->auto_delete != op.info.auto_delete) {
            text = inequivalent("auto_delete", "queue", name, request.vhost,
                                bool_text(op.info.auto_delete), bool_text(existing->auto_delete));
        } else {
            text =
                argument_inequivalence(op.info.arguments, existing->arguments, name, request.vhost);
        }
        if (!text.empty()) {
            reply(request, ReplyCode::precondition_failed, std::move(text));
            return true;
        }
    }
    send_queue_command(*existing, request.vhost, QueueCommandKind::stat);
    return false;
}

// RabbitMQ's order: the default exchange is refused before anything is looked up; an unbind
// of anything missing succeeds; a bind names the missing exchange before the missing queue.
bool Metadata::start(MetaRequest& request, const QueueBindOp& op) {
    if (op.exchange.empty()) {
        reply(request, ReplyCode::access_refused,
              "ACCESS_REFUSED - operation not permitted on the default exchange");
        return true;
    }
    const Exchange* exchange = catalog_.find_exchange(request.vhost, op.exchange);
    const QueueInfo* queue = catalog_.find_queue(request.vhost, op.queue);
    if ((exchange == nullptr || queue == nullptr) && op.unbind) {
        reply_ok(request);
        return true;
    }
    if (exchange == nullptr) {
        reply(request, ReplyCode::not_found, no_exchange_text(op.exchange, request.vhost));
        return true;
    }
    if (queue == nullptr) {
        reply(request, ReplyCode::not_found, no_queue_text(op.queue, request.vhost));
        return true;
    }
    if (queue->exclusive && !(queue->owner == request.requester.connection)) {
        reply(request, ReplyCode::resource_locked, queue_locked_text(op.queue, request.vhost));
        return true;
    }
    Destination dest{Destination::Kind::queue, op.queue};
    bool bound = exchange->bindings.contains(dest, op.routing_key, op.arguments);
    if (op.unbind) {
        if (bound) {
            commit(BindingChange{request.vhost, op.exchange, dest, op.routing_key, op.arguments,
                                 false});
            delete_unused_auto_delete_exchanges(request.vhost);
        }
        reply_ok(request);
        return true;
    }
    if (!bound) {
        routing::Bindings probe(exchange->info.type);
        std::string error;
        if (probe.add(dest, op.routing_key, op.arguments, &error) ==
            routing::BindResult::invalid_arguments) {
            reply(request, ReplyCode::precondition_failed, "PRECONDITION_FAILED - " + error);
            return true;
        }
        commit(BindingChange{request.vhost, op.exchange, dest, op.routing_key, op.arguments, true});
    }
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const QueuePurgeOp& op) {
    const QueueInfo* queue = catalog_.find_queue(request.vhost, op.queue);
    if (queue == nullptr) {
        reply(request, ReplyCode::not_found, no_queue_text(op.queue, request.vhost));
        return true;
    }
    // An operator (the administration endpoint) may purge any connection's exclusive queue.
    if (queue->exclusive && !(queue->owner == request.requester.connection) &&
        !is_admin_requester(request.requester)) {
        reply(request, ReplyCode::resource_locked, queue_locked_text(op.queue, request.vhost));
        return true;
    }
    send_queue_command(*queue, request.vhost, QueueCommandKind::purge);
    return false;
}

bool Metadata::start(MetaRequest& request, const QueueDeleteOp& op) {
    const QueueInfo* queue = catalog_.find_queue(request.vhost, op.queue);
    if (queue == nullptr) {
        reply_ok(request);  // RabbitMQ deletes idempotently, with a count of 0
        return true;
    }
    if (!op.forced && queue->exclusive && !(queue->owner == request.requester.connection)) {
        reply(request, ReplyCode::resource_locked, queue_locked_text(op.queue, request.vhost));
        return true;
    }
    send_queue_command(*queue, request.vhost, QueueCommandKind::remove, op.if_unused, op.if_empty);
    return false;
}

bool Metadata::start(MetaRequest& request, const ConnectionClosedOp&) {
    // Each exclusive queue of the connection is deleted by a request of its own, queued now.
    std::vector<std::string> owned;
    const VHost* vhost = catalog_.find_vhost(request.vhost);
    for (const auto& [name, info] : vhost->queues) {
        if (info.exclusive && info.owner == request.requester.connection) owned.push_back(name);
    }
    for (std::string& name : owned) {
        auto r = std::make_unique<MetaRequest>();
        r->vhost = request.vhost;
        r->requester = request.requester;
        r->reply_wanted = ReplyWanted::no;
        r->op = QueueDeleteOp{std::move(name), false, false};
        waiting_.push_front(std::move(r));
    }
    return true;
}

bool Metadata::start(MetaRequest& request, const QueueAutoDeleteOp& op) {
    const QueueInfo* queue = catalog_.find_queue(request.vhost, op.queue);
    if (queue == nullptr || queue->id != op.id) return true;
    // if_unused: a consumer that arrived since the home shard asked keeps the queue alive.
    send_queue_command(*queue, request.vhost, QueueCommandKind::remove, true, false);
    return false;
}

bool Metadata::start(MetaRequest& request, const QueueExpireOp& op) {
    const QueueInfo* queue = catalog_.find_queue(request.vhost, op.queue);
    if (queue == nullptr || queue->id != op.id) return true;
    // The home shard checks again: a consumer or basic.get since it asked keeps the queue.
    send_queue_command(*queue, request.vhost, QueueCommandKind::expire);
    return false;
}

void Metadata::finish(const QueueCommandDone& done) {
    MetaRequest& request = *current_;
    if (auto* declare = std::get_if<QueueDeclareOp>(&request.op)) {
        const QueueInfo* existing = catalog_.find_queue(request.vhost, declare->info.name);
        if (done.code != ReplyCode::reply_success) {
            reply(request, done.code, done.text);
            return;
        }
        if (existing == nullptr) {
            // The home shard created it; now every shard learns of it, then the requester.
            const QueueInfo& info = creating_;
            commit(QueueAdded{request.vhost, info});
            LEPUS_LOG(debug, "queue '%s' declared in vhost '%s' on shard %u", info.name.c_str(),
                      request.vhost.c_str(), info.home.value);
        }
        reply_ok(request, declare->info.name, done.message_count, done.consumer_count);
        return;
    }
    if (std::holds_alternative<QueuePurgeOp>(request.op)) {
        if (done.code != ReplyCode::reply_success) {
            reply(request, done.code, done.text);
        } else {
            reply_ok(request, {}, done.message_count);
        }
        return;
    }
    const std::string* name = nullptr;
    if (auto* del = std::get_if<QueueDeleteOp>(&request.op)) name = &del->queue;
    if (auto* autodel = std::get_if<QueueAutoDeleteOp>(&request.op)) name = &autodel->queue;
    if (auto* expire = std::get_if<QueueExpireOp>(&request.op)) name = &expire->queue;
    LEPUS_ASSERT(name != nullptr);
    bool home_initiated = std::holds_alternative<QueueAutoDeleteOp>(request.op) ||
                          std::holds_alternative<QueueExpireOp>(request.op);
    if (done.code != ReplyCode::reply_success && home_initiated) {
        // The queue was used again while the request travelled: it stays, nobody to tell.
        LEPUS_LOG(debug, "queue '%s' kept: %s", name->c_str(), done.text.c_str());
        return;
    }
    if (done.code != ReplyCode::reply_success) {
        reply(request, done.code, done.text);
        return;
    }
    if (const QueueInfo* queue = catalog_.find_queue(request.vhost, *name)) {
        remove_queue_from_catalog(request.vhost, *queue);
    }
    reply_ok(request, {}, done.message_count);
}

void Metadata::remove_queue_from_catalog(const std::string& vhost, const QueueInfo& queue) {
    LEPUS_LOG(debug, "queue '%s' deleted in vhost '%s'", queue.name.c_str(), vhost.c_str());
    QueueRemoved removed{vhost, queue.name, queue.id};
    commit(std::move(removed));
    delete_unused_auto_delete_exchanges(vhost);
}

void Metadata::delete_unused_auto_delete_exchanges(const std::string& vhost_name) {
    // An auto-delete exchange goes when it has lost its last binding as a source. Deleting
    // one may unbind another, hence the loop.
    for (bool again = true; again;) {
        again = false;
        const VHost* vhost = catalog_.find_vhost(vhost_name);
        for (const auto& [name, exchange] : vhost->exchanges) {
            if (exchange.info.auto_delete && exchange.bindings.empty() && exchange.ever_bound) {
                commit(ExchangeRemoved{vhost_name, name});
                again = true;
                break;
            }
        }
    }
}

}  // namespace lepus::core
