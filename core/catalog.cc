#include "core/catalog.h"

#include <algorithm>

#include "core/base/assert.h"
#include "core/wire/field_table.h"

namespace lepus::core {

using routing::Destination;
using routing::ExchangeType;

Exchange::Exchange(ExchangeInfo i) : info(std::move(i)), bindings(info.type) {
    if (info.arguments.empty()) return;
    wire::FieldTable arguments;
    if (!wire::decode_field_table(info.arguments, arguments)) return;
    // Validated on shard 0: a string. RabbitMQ ignores one of another type when routing too.
    const wire::FieldValue* alternate = wire::find_field(arguments, "alternate-exchange");
    if (alternate != nullptr && alternate->type == 'S') {
        alternate_exchange_argument = std::string(*alternate->as_string());
        alternate_exchange = alternate_exchange_argument;
    }
}

void Catalog::add_vhost(const std::string& name) {
    VHost& vhost = vhosts_[name];
    vhost.deleted = false;
    vhost.name = name;
    struct Predeclared {
        const char* name;
        ExchangeType type;
        bool internal;
    };
    static constexpr Predeclared predeclared[] = {
        {"", ExchangeType::direct, false},
        {"amq.direct", ExchangeType::direct, false},
        {"amq.fanout", ExchangeType::fanout, false},
        {"amq.topic", ExchangeType::topic, false},
        {"amq.headers", ExchangeType::headers, false},
        {"amq.match", ExchangeType::headers, false},
        {"amq.rabbitmq.trace", ExchangeType::topic, true},
    };
    for (const Predeclared& p : predeclared) {
        ExchangeInfo info;
        info.name = p.name;
        info.type = p.type;
        info.durable = true;
        info.internal = p.internal;
        vhost.exchanges.try_emplace(info.name, std::move(info));
    }
}

VHost* Catalog::find_vhost(std::string_view name) {
    auto it = vhosts_.find(std::string(name));
    return it == vhosts_.end() ? nullptr : &it->second;
}

const VHost* Catalog::find_vhost(std::string_view name) const {
    auto it = vhosts_.find(std::string(name));
    return it == vhosts_.end() ? nullptr : &it->second;
}

const Exchange* Catalog::find_exchange(std::string_view vhost, std::string_view name) const {
    const VHost* v = find_vhost(vhost);
    if (v == nullptr) return nullptr;
    auto it = v->exchanges.find(std::string(name));
    return it == v->exchanges.end() ? nullptr : &it->second;
}

const QueueInfo* Catalog::find_queue(std::string_view vhost, std::string_view name) const {
    const VHost* v = find_vhost(vhost);
    if (v == nullptr) return nullptr;
    auto it = v->queues.find(std::string(name));
    return it == v->queues.end() ? nullptr : &it->second;
}

void Catalog::apply(const CatalogUpdate& update) {
    std::visit([this](const auto& u) { apply_update(u); }, update);
}

void Catalog::apply_update(const ExchangeAdded& u) {
    VHost* vhost = find_vhost(u.vhost);
    LEPUS_ASSERT(vhost != nullptr);
    auto [it, added] = vhost->exchanges.try_emplace(u.info.name, u.info);
    if (!added || vhost->policies.empty()) return;
    Exchange& exchange = it->second;
    const PolicyEntry* policy =
        vhost->policies.match(PolicyKind::regular, PolicyApplyTo::exchanges, u.info.name);
    exchange.policy = policy != nullptr ? policy->policy().name : std::string();
    exchange.alternate_exchange =
        resolve_alternate_exchange(exchange.alternate_exchange_argument, policy);
}

void Catalog::apply_update(const ExchangeRemoved& u) {
    VHost* vhost = find_vhost(u.vhost);
    LEPUS_ASSERT(vhost != nullptr);
    vhost->exchanges.erase(u.name);
    access_generation_++;  // a channel's cached decision may name the exchange's address
    // Bindings that point at the removed exchange go with it, as in RabbitMQ.
    Destination gone{Destination::Kind::exchange, u.name};
    for (auto& [name, exchange] : vhost->exchanges) exchange.bindings.remove_destination(gone);
}

void Catalog::apply_update(const BindingChange& u) {
    VHost* vhost = find_vhost(u.vhost);
    LEPUS_ASSERT(vhost != nullptr);
    auto it = vhost->exchanges.find(u.source);
    LEPUS_ASSERT_MSG(it != vhost->exchanges.end(), "binding update for a missing exchange");
    if (u.added) {
        std::string error;
        it->second.bindings.add(u.destination, u.routing_key, u.arguments, &error);
        it->second.ever_bound = true;
    } else {
        it->second.bindings.remove(u.destination, u.routing_key, u.arguments);
    }
}

void Catalog::apply_update(const QueueAdded& u) {
    VHost* vhost = find_vhost(u.vhost);
    LEPUS_ASSERT(vhost != nullptr);
    vhost->queues.insert_or_assign(u.info.name, u.info);
}

void Catalog::apply_update(const QueueRemoved& u) {
    VHost* vhost = find_vhost(u.vhost);
    LEPUS_ASSERT(vhost != nullptr);
    auto it = vhost->queues.find(u.name);
    if (it == vhost->queues.end() || it->second.id != u.id) return;
    vhost->queues.erase(it);
    Destination gone{Destination::Kind::queue, u.name};
    for (auto& [name, exchange] : vhost->exchanges) exchange.bindings.remove_destination(gone);
}

void Catalog::apply_update(const VhostAdded& u) {
    if (vhosts_.contains(u.vhost)) return;
    add_vhost(u.vhost);
}

void Catalog::apply_update(const VhostRemoved& u) {
    auto node = vhosts_.extract(u.vhost);
    if (node.empty()) return;
    VHost& vhost = node.mapped();
    vhost.deleted = true;
    vhost.exchanges.clear();
    vhost.queues.clear();
    vhost.policies = PolicyTable{};
    deleted_vhosts_.push_back(std::move(node));
    permissions_.remove_vhost(u.vhost);
    access_generation_++;
    closures_.push_back(ConnectionClosure{ConnectionClosure::Kind::vhost, u.vhost,
                                          "vhost '" + u.vhost + "' is down"});
}

void Catalog::apply_update(const UserPut& u) {
    users_.put(access::User{u.user, u.password_hash, u.tags});
    access_generation_++;
}

void Catalog::apply_update(const UserRemoved& u) {
    users_.remove(u.user);
    permissions_.remove_user(u.user);
    user_limits_.erase(u.user);
    access_generation_++;
    closures_.push_back(ConnectionClosure{ConnectionClosure::Kind::user, u.user,
                                          "user '" + u.user + "' is deleted"});
}

void Catalog::apply_update(const PermissionsPut& u) {
    // Validated on shard 0, so every pattern compiles here too.
    access::PermissionOutcome outcome =
        permissions_.set(u.user, u.vhost, u.configure, u.write, u.read);
    LEPUS_ASSERT(outcome == access::PermissionOutcome::ok);
    access_generation_++;
}

void Catalog::apply_update(const PermissionsRemoved& u) {
    permissions_.clear(u.user, u.vhost);
    access_generation_++;
}

void Catalog::apply_update(const TopicPermissionsPut& u) {
    access::PermissionOutcome outcome =
        permissions_.set_topic(u.user, u.vhost, u.exchange, u.write, u.read);
    LEPUS_ASSERT(outcome == access::PermissionOutcome::ok);
    access_generation_++;
}

void Catalog::apply_update(const TopicPermissionsRemoved& u) {
    if (u.exchange) {
        permissions_.clear_topic(u.user, u.vhost, std::string_view(*u.exchange));
    } else {
        permissions_.clear_topic(u.user, u.vhost, std::nullopt);
    }
    access_generation_++;
}

void Catalog::apply_update(const VhostLimitsPut& u) {
    VHost* vhost = find_vhost(u.vhost);
    LEPUS_ASSERT(vhost != nullptr);
    vhost->limits = u.limits;
    access_generation_++;
}

void Catalog::apply_update(const UserLimitsPut& u) {
    if (u.limits == access::UserLimits{}) {
        user_limits_.erase(u.user);
    } else {
        user_limits_.insert_or_assign(u.user, u.limits);
    }
    access_generation_++;
}

void Catalog::apply_update(const PolicyPut& u) {
    VHost* vhost = find_vhost(u.vhost);
    LEPUS_ASSERT(vhost != nullptr);
    vhost->policies.put(u.policy);
    apply_exchange_policies(*vhost);
    policy_changes_.push_back(u.vhost);
}

void Catalog::apply_update(const PolicyRemoved& u) {
    VHost* vhost = find_vhost(u.vhost);
    LEPUS_ASSERT(vhost != nullptr);
    vhost->policies.remove(u.kind, u.name);
    apply_exchange_policies(*vhost);
    policy_changes_.push_back(u.vhost);
}

void Catalog::apply_exchange_policies(VHost& vhost) {
    for (auto& [name, exchange] : vhost.exchanges) {
        // RabbitMQ applies policies to the default exchange and amq.* too; only
        // alternate-exchange has an effect on an exchange.
        const PolicyEntry* policy =
            vhost.policies.match(PolicyKind::regular, PolicyApplyTo::exchanges, name);
        exchange.policy = policy != nullptr ? policy->policy().name : std::string();
        exchange.alternate_exchange =
            resolve_alternate_exchange(exchange.alternate_exchange_argument, policy);
    }
}

access::UserLimits Catalog::user_limits(std::string_view user) const {
    auto it = user_limits_.find(user);
    return it == user_limits_.end() ? access::UserLimits{} : it->second;
}

bool Catalog::route(const VHost& vhost, const Exchange& exchange, std::string_view routing_key,
                    std::string_view headers, std::vector<const QueueInfo*>& out) {
    out.clear();
    if (exchange.info.name.empty()) {
        auto it = vhost.queues.find(std::string(routing_key));
        if (it != vhost.queues.end()) out.push_back(&it->second);
        return true;
    }
    // Exchange-to-exchange bindings and alternate exchanges may form cycles; each exchange
    // routes once.
    auto visit = [this](const Exchange* next) {
        if (std::find(exchanges_seen_.begin(), exchanges_seen_.end(), next) !=
            exchanges_seen_.end())
            return;
        exchanges_seen_.push_back(next);
        exchange_stack_.push_back(next);
    };
    exchange_stack_.clear();
    exchanges_seen_.clear();
    exchange_stack_.push_back(&exchange);
    exchanges_seen_.push_back(&exchange);
    while (!exchange_stack_.empty()) {
        const Exchange* source = exchange_stack_.back();
        exchange_stack_.pop_back();
        destinations_.clear();
        u64 comparisons = source->bindings.headers_comparisons();
        source->bindings.route(routing_key, headers, destinations_);
        routing_work_ +=
            destinations_.size() + source->bindings.headers_comparisons() - comparisons;
        // One exchange's bindings name each destination once: only the queues reached through
        // a second exchange need looking for among those found already.
        bool first_exchange = source == &exchange;
        if (destinations_.empty() && source->alternate_exchange) {
            auto alternate = vhost.exchanges.find(*source->alternate_exchange);
            if (alternate != vhost.exchanges.end()) visit(&alternate->second);
        }
        for (const Destination* d : destinations_) {
            if (d->kind == Destination::Kind::queue) {
                auto it = vhost.queues.find(d->name);
                if (it == vhost.queues.end()) continue;
                const QueueInfo* q = &it->second;
                if (first_exchange || std::find(out.begin(), out.end(), q) == out.end())
                    out.push_back(q);
                continue;
            }
            auto it = vhost.exchanges.find(d->name);
            if (it != vhost.exchanges.end()) visit(&it->second);
        }
    }
    return true;
}

bool Catalog::exchange_has_bindings(const VHost& vhost, std::string_view name) const {
    auto self = vhost.exchanges.find(std::string(name));
    if (self != vhost.exchanges.end() && !self->second.bindings.empty()) return true;
    Destination as_destination{Destination::Kind::exchange, std::string(name)};
    for (const auto& [other, exchange] : vhost.exchanges) {
        if (exchange.bindings.has_destination(as_destination)) return true;
    }
    return false;
}

}  // namespace lepus::core
