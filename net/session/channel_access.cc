// The channel's access checks: which permission each method needs, decided as RabbitMQ 3.10's
// rabbit_channel decides it (check_configure_permitted, check_write_permitted,
// check_read_permitted, binding_action, the topic checks and check_user_id_header), against this
// shard's replica of the permissions. A refusal fails the channel with 403 and RabbitMQ's text.
//
// The publish path decides once per exchange and keeps the decision until the replica's access
// generation moves (any change of users, permissions or limits, or an exchange or vhost going):
// a publish to the exchange it decided for last then costs a pointer and an integer compare.
#include "core/access/permission_table.h"
#include "core/wire/field_table.h"
#include "net/session/channel.h"

namespace lepus::session {

using namespace lepus::amqp;
using access::Permission;
using access::ResourceKind;

namespace {

// The string argument `key` of a field table, if it has one.
std::optional<std::string_view> string_argument(std::string_view arguments, std::string_view key,
                                                wire::FieldTable& scratch) {
    if (arguments.empty() || !wire::decode_field_table(arguments, scratch)) return std::nullopt;
    const wire::FieldValue* value = wire::find_field(scratch, key);
    if (value == nullptr || value->type != 'S') return std::nullopt;
    return value->as_string();
}

}  // namespace

const core::Catalog& Channel::catalog() const { return link_.services.broker.catalog(); }

bool Channel::refuse_if(const std::optional<access::Refusal>& refused, u16 class_id,
                        u16 method_id) {
    if (!refused) return false;
    fail(static_cast<ReplyCode>(refused->reply_code), refused->text, class_id, method_id);
    return true;
}

bool Channel::permitted(ResourceKind kind, std::string_view name, Permission permission,
                        u16 class_id, u16 method_id) {
    access::Resource resource{kind, link_.facts.vhost, name};
    return !refuse_if(
        catalog().permissions().check_resource(link_.facts.user, resource, permission), class_id,
        method_id);
}

bool Channel::exchange_declare_permitted(const ExchangeDeclare& m) {
    // The default exchange is refused for what it is before any permission is looked at.
    if (m.passive || m.exchange.empty()) return true;
    constexpr u16 c = ExchangeDeclare::class_id;
    constexpr u16 id = ExchangeDeclare::method_id;
    if (!permitted(ResourceKind::exchange, m.exchange, Permission::configure, c, id)) return false;
    if (catalog().find_exchange(link_.facts.vhost, m.exchange) != nullptr) return true;
    // A new exchange naming an alternate exchange: read on itself, write on the alternate.
    wire::FieldTable scratch;
    if (auto alternate = string_argument(m.arguments, "alternate-exchange", scratch)) {
        return permitted(ResourceKind::exchange, m.exchange, Permission::read, c, id) &&
               permitted(ResourceKind::exchange, *alternate, Permission::write, c, id);
    }
    return true;
}

bool Channel::exchange_delete_permitted(std::string_view exchange) {
    // The default exchange and amq.* are refused for what they are (shard 0 words it) first.
    if (exchange.empty() || exchange.starts_with("amq.")) return true;
    return permitted(ResourceKind::exchange, exchange, Permission::configure,
                     ExchangeDelete::class_id, ExchangeDelete::method_id);
}

bool Channel::queue_declare_permitted(const core::QueueDeclareOp& op) {
    if (op.passive) return true;
    constexpr u16 c = QueueDeclare::class_id;
    constexpr u16 id = QueueDeclare::method_id;
    const std::string& name = op.info.name;
    if (!permitted(ResourceKind::queue, name, Permission::configure, c, id)) return false;
    if (catalog().find_queue(link_.facts.vhost, name) != nullptr) return true;
    // A new queue naming a dead-letter exchange: read on itself, write on the exchange.
    wire::FieldTable scratch;
    if (auto dlx = string_argument(op.info.arguments, "x-dead-letter-exchange", scratch)) {
        return permitted(ResourceKind::queue, name, Permission::read, c, id) &&
               permitted(ResourceKind::exchange, *dlx, Permission::write, c, id);
    }
    return true;
}

// rabbit_channel's binding_action: write on the destination, then the default exchange is
// refused for what it is (shard 0 words it), then read on the source, then, for a topic
// exchange, the topic read permission on the routing key.
bool Channel::binding_permitted(ResourceKind destination_kind, std::string_view destination,
                                std::string_view source, std::string_view routing_key, u16 class_id,
                                u16 method_id) {
    if (!permitted(destination_kind, destination, Permission::write, class_id, method_id))
        return false;
    bool default_exchange =
        source.empty() || (destination_kind == ResourceKind::exchange && destination.empty());
    if (default_exchange) return true;
    if (!permitted(ResourceKind::exchange, source, Permission::read, class_id, method_id))
        return false;
    const core::Exchange* exchange = catalog().find_exchange(link_.facts.vhost, source);
    if (exchange == nullptr || exchange->info.type != routing::ExchangeType::topic) return true;
    return !refuse_if(
        catalog().permissions().check_topic(link_.facts.user, link_.facts.vhost, source,
                                            routing_key, Permission::read, std::nullopt),
        class_id, method_id);
}

bool Channel::queue_read_permitted(std::string_view queue, u16 class_id, u16 method_id) {
    // basic.get runs per message: its decision is kept like a publish's.
    u64 generation = catalog().access_generation();
    if (read_decision_.generation == generation && read_decision_.queue == queue) return true;
    if (!permitted(ResourceKind::queue, queue, Permission::read, class_id, method_id)) return false;
    read_decision_.generation = generation;
    read_decision_.queue.assign(queue);
    return true;
}

// rabbit_channel's basic.publish: write on the exchange (before it is looked up, so a missing
// one is refused as such only to a user who may write to it), the exchange exists and is not
// internal (route_publish words those), the topic write permission on a topic exchange, then
// user_id.
bool Channel::publish_permitted(const PublishAssembly::Complete& publish,
                                const core::Exchange*& found) {
    const core::VHost& vhost = *link_.facts.vhost_entry;
    auto it = vhost.exchanges.find(publish.exchange);
    const core::Exchange* exchange = it == vhost.exchanges.end() ? nullptr : &it->second;
    PublishDecision& decision = publish_decision_;
    u64 generation = catalog().access_generation();
    if (exchange == nullptr || decision.exchange != exchange || decision.generation != generation) {
        constexpr u16 c = BasicPublish::class_id;
        constexpr u16 id = BasicPublish::method_id;
        if (!permitted(ResourceKind::exchange, publish.exchange, Permission::write, c, id))
            return false;
        if (exchange == nullptr || exchange->info.internal) return true;
        const access::User* user = catalog().users().find(link_.facts.user);
        decision.exchange = exchange;
        decision.generation = generation;
        decision.topic = exchange->info.type == routing::ExchangeType::topic &&
                         catalog().permissions().find_topic(link_.facts.user, link_.facts.vhost,
                                                            publish.exchange) != nullptr;
        decision.impersonator = user != nullptr && user->has_tag(access::tag_impersonator);
    }
    found = exchange;
    constexpr u16 c = BasicPublish::class_id;
    constexpr u16 id = BasicPublish::method_id;
    if (decision.topic &&
        refuse_if(catalog().permissions().check_topic(
                      link_.facts.user, link_.facts.vhost, publish.exchange,
                      publish.message->routing_key(), Permission::write, std::nullopt),
                  c, id)) {
        return false;
    }
    if (publish.foreign_user_id && !decision.impersonator) {
        fail(ReplyCode::precondition_failed,
             "PRECONDITION_FAILED - user_id property set to '" +
                 std::string(*publish.foreign_user_id) + "' but authenticated user was '" +
                 link_.facts.user + "'",
             c, id);
        return false;
    }
    return true;
}

}  // namespace lepus::session
