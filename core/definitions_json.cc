// Export: a catalog replica as RabbitMQ 3.10's definitions JSON (the import is in
// definitions_json_import.cc).
#include "core/definitions_json.h"

#include <algorithm>
#include <tuple>

#include "core/access/user_table.h"
#include "core/definitions_json_policy.h"
#include "core/json/field_table_json.h"

namespace lepus::core {

using Json = nlohmann::json;
using routing::Destination;

namespace {

// The default exchange and amq.* are every vhost's: no export names them.
bool predeclared(std::string_view exchange) {
    return exchange.empty() || exchange.starts_with("amq.");
}

// What GET /api/definitions holds, which is what survives a restart (definitions.h).
bool exported_queue(const QueueInfo& queue) { return queue.durable && !queue.exclusive; }

bool exported_destination(const VHost& vhost, const Destination& destination) {
    if (destination.kind == Destination::Kind::queue) {
        auto it = vhost.queues.find(destination.name);
        return it != vhost.queues.end() && exported_queue(it->second);
    }
    auto it = vhost.exchanges.find(destination.name);
    return it != vhost.exchanges.end() && it->second.info.durable;
}

template <typename Map>
std::vector<const typename Map::value_type*> sorted_by_key(const Map& map) {
    std::vector<const typename Map::value_type*> out;
    out.reserve(map.size());
    for (const auto& entry : map) out.push_back(&entry);
    std::sort(out.begin(), out.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    return out;
}

// The live vhosts, by name (a replica keeps deleted ones, emptied, for a while).
std::vector<const VHost*> live_vhosts(const Catalog& catalog) {
    std::vector<const VHost*> out;
    for (const auto* entry : sorted_by_key(catalog.vhosts())) {
        if (!entry->second.deleted) out.push_back(&entry->second);
    }
    return out;
}

Json arguments_json(const std::string& content) {
    return lepus::json::table_content_to_json(content);
}

// RabbitMQ's value of the vhost-limits parameter, and of a user's "limits".
Json vhost_limits_json(const access::VhostLimits& limits) {
    Json out = Json::object();
    if (limits.max_connections) out["max-connections"] = *limits.max_connections;
    if (limits.max_queues) out["max-queues"] = *limits.max_queues;
    return out;
}

Json user_limits_json(const access::UserLimits& limits) {
    Json out = Json::object();
    if (limits.max_channels) out["max-channels"] = *limits.max_channels;
    if (limits.max_connections) out["max-connections"] = *limits.max_connections;
    return out;
}

Json users_json(const Catalog& catalog) {
    Json out = Json::array();
    for (const access::User* user : catalog.users().list()) {
        out.push_back({{"name", user->name},
                       {"password_hash", access::password_hash_base64(*user)},
                       {"hashing_algorithm", "rabbit_password_hashing_sha256"},
                       {"tags", user->tags},  // a list, as 3.10.8 writes them
                       {"limits", user_limits_json(catalog.user_limits(user->name))}});
    }
    return out;
}

// rabbitmqctl's shape: the limits as [name, value] pairs, and metadata. Lepus keeps no vhost
// description or tags, so they are empty.
Json vhosts_json(const Catalog& catalog) {
    Json out = Json::array();
    for (const VHost* vhost : live_vhosts(catalog)) {
        Json limits = Json::array();
        const Json values = vhost_limits_json(vhost->limits);
        for (const auto& [name, value] : values.items()) {
            limits.push_back({name, value});
        }
        out.push_back({{"name", vhost->name},
                       {"limits", std::move(limits)},
                       {"metadata", {{"description", ""}, {"tags", Json::array()}}}});
    }
    return out;
}

Json permissions_json(const Catalog& catalog) {
    Json out = Json::array();
    catalog.permissions().for_each(
        [&](const std::string& user, const std::string& vhost, const access::Permissions& p) {
            out.push_back({{"user", user},
                           {"vhost", vhost},
                           {"configure", p.configure.source()},
                           {"write", p.write.source()},
                           {"read", p.read.source()}});
        });
    return out;
}

Json topic_permissions_json(const Catalog& catalog) {
    Json out = Json::array();
    catalog.permissions().for_each_topic(
        [&](const std::string& user, const std::string& vhost, const access::TopicPermissions& p) {
            out.push_back({{"user", user},
                           {"vhost", vhost},
                           {"exchange", p.exchange},
                           {"write", p.write.source},
                           {"read", p.read.source}});
        });
    return out;
}

// The items of one vhost: its limits parameter, queues, exchanges and bindings, appended to the
// given lists. `with_vhost`: whether queues, exchanges and bindings name their vhost (the
// per-vhost form leaves it out; its parameters keep it, as 3.10's does).
enum class VhostField : u8 { written, left_out };

struct VhostItems {
    Json parameters = Json::array();
    Json policies = Json::array();
    Json queues = Json::array();
    Json exchanges = Json::array();
    Json bindings = Json::array();
};

void add_vhost_items(const VHost& vhost, VhostField field, VhostItems& out) {
    const bool named = field == VhostField::written;
    if (!(vhost.limits == access::VhostLimits{})) {
        out.parameters.push_back({{"vhost", vhost.name},
                                  {"component", "vhost-limits"},
                                  {"name", "limits"},
                                  {"value", vhost_limits_json(vhost.limits)}});
    }
    append_policies_json(vhost, out.policies, out.parameters);
    for (const auto* entry : sorted_by_key(vhost.queues)) {
        const QueueInfo& queue = entry->second;
        if (!exported_queue(queue)) continue;
        Json item = {{"name", queue.name},
                     {"durable", queue.durable},
                     {"auto_delete", queue.auto_delete},
                     {"arguments", arguments_json(queue.arguments)}};
        if (named) item["vhost"] = vhost.name;
        out.queues.push_back(std::move(item));
    }
    for (const auto* entry : sorted_by_key(vhost.exchanges)) {
        const ExchangeInfo& info = entry->second.info;
        if (predeclared(info.name) || !info.durable) continue;
        Json item = {{"name", info.name},         {"type", routing::to_string(info.type)},
                     {"durable", info.durable},   {"auto_delete", info.auto_delete},
                     {"internal", info.internal}, {"arguments", arguments_json(info.arguments)}};
        if (named) item["vhost"] = vhost.name;
        out.exchanges.push_back(std::move(item));
    }
    // Bindings from durable exchanges (amq.* included, as RabbitMQ's) to durable destinations;
    // the default exchange's are implicit. Sorted, since a binding set has no order of its own.
    using Key = std::tuple<std::string, std::string, std::string, std::string, std::string>;
    std::vector<std::pair<Key, Json>> bindings;
    for (const auto* entry : sorted_by_key(vhost.exchanges)) {
        const Exchange& exchange = entry->second;
        if (exchange.info.name.empty() || !exchange.info.durable) continue;
        exchange.bindings.for_each([&](const Destination& destination, std::string_view routing_key,
                                       std::string_view arguments) {
            if (!exported_destination(vhost, destination)) return;
            const char* type = destination.kind == Destination::Kind::queue ? "queue" : "exchange";
            Json item = {{"source", exchange.info.name},
                         {"destination", destination.name},
                         {"destination_type", type},
                         {"routing_key", routing_key},
                         {"arguments", lepus::json::table_content_to_json(arguments)}};
            if (named) item["vhost"] = vhost.name;
            Key key{exchange.info.name, destination.name, type, std::string(routing_key),
                    lepus::json::dump_json(item["arguments"])};
            bindings.emplace_back(std::move(key), std::move(item));
        });
    }
    std::sort(bindings.begin(), bindings.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [key, item] : bindings) out.bindings.push_back(std::move(item));
}

}  // namespace

Json export_definitions(const Catalog& catalog, std::string_view product_version) {
    VhostItems items;
    for (const VHost* vhost : live_vhosts(catalog)) {
        add_vhost_items(*vhost, VhostField::written, items);
    }
    return {{"rabbit_version", definitions_rabbitmq_version},
            {"rabbitmq_version", definitions_rabbitmq_version},
            {"product_name", definitions_product_name},
            {"product_version", product_version},
            {"users", users_json(catalog)},
            {"vhosts", vhosts_json(catalog)},
            {"permissions", permissions_json(catalog)},
            {"topic_permissions", topic_permissions_json(catalog)},
            {"parameters", std::move(items.parameters)},
            {"global_parameters", Json::array()},
            {"policies", std::move(items.policies)},
            {"queues", std::move(items.queues)},
            {"exchanges", std::move(items.exchanges)},
            {"bindings", std::move(items.bindings)}};
}

Json export_vhost_definitions(const Catalog& catalog, const std::string& vhost,
                              [[maybe_unused]] std::string_view product_version) {
    VhostItems items;
    const VHost* found = catalog.find_vhost(vhost);
    if (found != nullptr && !found->deleted) add_vhost_items(*found, VhostField::left_out, items);
    return {{"rabbit_version", definitions_rabbitmq_version},
            {"parameters", std::move(items.parameters)},
            {"policies", std::move(items.policies)},
            {"queues", std::move(items.queues)},
            {"exchanges", std::move(items.exchanges)},
            {"bindings", std::move(items.bindings)}};
}

}  // namespace lepus::core
