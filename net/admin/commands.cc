// The endpoint's requests (README.md has the table): changes go to the metadata authority as
// the same MetaRequests AMQP channels send, questions about definitions are answered from shard
// 0's catalog, and questions about queues and connections are asked of every shard.
#include <algorithm>

#include "core/access/access_limits.h"
#include "core/access/user_table.h"
#include "core/json/field_table_json.h"
#include "core/routing/exchange_type.h"
#include "net/admin/endpoint.h"
#include "net/admin/endpoint_client.h"
#include "net/admin/policy_commands.h"
#include "net/admin/rows.h"

namespace lepus::admin {

namespace {

using nlohmann::json;

std::string text(const json& request, const char* name) {
    return request.at(name).get<std::string>();
}

std::optional<std::string> optional_text(const json& request, const char* name) {
    if (!request.contains(name) || request.at(name).is_null()) return std::nullopt;
    return request.at(name).get<std::string>();
}

bool flag(const json& request, const char* name) {
    return request.contains(name) && request.at(name).get<bool>();
}

std::vector<std::string> tags_of(const json& request) {
    if (!request.contains("tags")) return {};
    return request.at("tags").get<std::vector<std::string>>();
}

// A limits definition as set_vhost_limits and set_user_limits take it: a JSON object of
// limit names (`allowed`) to integers. Empty `error` on success.
struct ParsedLimits {
    std::optional<i64> first;
    std::optional<i64> second;
    std::string error;
};
ParsedLimits parse_limits(const std::string& definition, const char* first_name,
                          const char* second_name) {
    ParsedLimits out;
    json value = json::parse(definition, nullptr, false);
    if (value.is_discarded() || !value.is_object()) {
        out.error = "Could not parse JSON document: " + definition;
        return out;
    }
    for (const auto& [key, limit] : value.items()) {
        if (key != first_name && key != second_name) {
            out.error = "Validation failed\n\nUnrecognised terms [{<<\"" + key + "\">>," +
                        limit.dump() + "}] in limits";
            return out;
        }
        if (!limit.is_number_integer()) {
            out.error = "Validation failed\n\n" + limit.dump() + " is not a valid integer value";
            return out;
        }
        (key == first_name ? out.first : out.second) = limit.get<i64>();
    }
    return out;
}

std::string no_such_vhost_text(const std::string& vhost) {
    return "Virtual host '" + vhost + "' does not exist";
}

void sort_rows(json& answer, const char* key) {
    json& rows = answer["rows"];
    if (!rows.is_array()) {
        rows = json::array();
        return;
    }
    std::stable_sort(rows.begin(), rows.end(), [key](const json& a, const json& b) {
        return a.value(key, std::string()) < b.value(key, std::string());
    });
}

}  // namespace

void Endpoint::send_meta(Client& client, core::MetaOp op, std::string vhost) {
    auto request = std::make_unique<core::MetaRequest>();
    request->vhost = std::move(vhost);
    request->requester = core::ChannelKey{
        core::ConnectionKey{ShardId(0), core::admin_connection_slot, client.id}, 0, 0};
    request->reply_wanted = core::ReplyWanted::yes;
    request->op = std::move(op);
    client.awaiting++;
    outbox_.send(ShardId(0), std::move(request));
}

void Endpoint::ask_shards(Client& client, core::AdminQuery query) {
    query.id = client.id;
    for (u32 shard = 0; shard < shard_count_; shard++) {
        client.awaiting++;
        outbox_.send(ShardId(shard), std::make_unique<core::AdminQuery>(query));
    }
}

void Endpoint::run(Client& client, const json& request) {
    const json& command = request.contains("command") ? request.at("command") : json();
    if (!command.is_string()) {
        fail(client, "invalid_argument", "the request names no command");
        return;
    }
    client.command = command.get<std::string>();
    if (run_change(client, client.command, request)) {
        finish_if_done(client);
        return;
    }
    run_question(client, client.command, request);
}

bool Endpoint::run_change(Client& client, const std::string& command, const json& request) {
    if (auto op = policy_change(command, request)) {
        send_meta(client, std::move(*op));
    } else if (command == "add_user") {
        send_meta(client, core::AddUserOp{text(request, "user"), text(request, "password"),
                                          tags_of(request)});
    } else if (command == "delete_user") {
        send_meta(client, core::DeleteUserOp{text(request, "user")});
    } else if (command == "change_password") {
        send_meta(client, core::ChangePasswordOp{text(request, "user"), text(request, "password")});
    } else if (command == "clear_password") {
        send_meta(client, core::ClearPasswordOp{text(request, "user")});
    } else if (command == "set_user_tags") {
        send_meta(client, core::SetUserTagsOp{text(request, "user"), tags_of(request)});
    } else if (command == "add_vhost") {
        send_meta(client, core::AddVhostOp{text(request, "vhost")});
    } else if (command == "delete_vhost") {
        send_meta(client, core::DeleteVhostOp{text(request, "vhost")});
    } else if (command == "set_permissions") {
        send_meta(client, core::SetPermissionsOp{text(request, "user"), text(request, "vhost"),
                                                 text(request, "configure"), text(request, "write"),
                                                 text(request, "read")});
    } else if (command == "clear_permissions") {
        send_meta(client, core::ClearPermissionsOp{text(request, "user"), text(request, "vhost")});
    } else if (command == "set_topic_permissions") {
        send_meta(client,
                  core::SetTopicPermissionsOp{text(request, "user"), text(request, "vhost"),
                                              text(request, "exchange"), text(request, "write"),
                                              text(request, "read")});
    } else if (command == "clear_topic_permissions") {
        send_meta(client,
                  core::ClearTopicPermissionsOp{text(request, "user"), text(request, "vhost"),
                                                optional_text(request, "exchange")});
    } else if (command == "set_vhost_limits") {
        ParsedLimits parsed =
            parse_limits(text(request, "definition"), "max-connections", "max-queues");
        if (!parsed.error.empty()) {
            fail(client, "invalid_argument", parsed.error);
            return true;
        }
        send_meta(client, core::SetVhostLimitsOp{text(request, "vhost"),
                                                 access::VhostLimits{parsed.first, parsed.second}});
    } else if (command == "clear_vhost_limits") {
        send_meta(client, core::ClearVhostLimitsOp{text(request, "vhost")});
    } else if (command == "set_user_limits") {
        ParsedLimits parsed =
            parse_limits(text(request, "definition"), "max-connections", "max-channels");
        if (!parsed.error.empty()) {
            fail(client, "invalid_argument", parsed.error);
            return true;
        }
        send_meta(client, core::SetUserLimitsOp{text(request, "user"),
                                                access::UserLimits{parsed.first, parsed.second}});
    } else if (command == "clear_user_limits") {
        std::string limit = text(request, "limit");
        if (limit != "all" && limit != "max-connections" && limit != "max-channels") {
            fail(client, "invalid_argument",
                 "Unknown limit '" + limit + "': use max-connections, max-channels or all");
            return true;
        }
        send_meta(client, core::ClearUserLimitsOp{text(request, "user"), limit});
    } else if (command == "purge_queue" || command == "delete_queue") {
        // rabbitmqctl's words for a queue that is not there.
        if (catalog_.find_queue(text(request, "vhost"), text(request, "queue")) == nullptr) {
            fail(client, "not_found", command == "purge_queue" ? "not_found" : "Queue not found");
            return true;
        }
        if (command == "purge_queue") {
            send_meta(client, core::QueuePurgeOp{text(request, "queue")}, text(request, "vhost"));
            return true;
        }
        // forced: an operator may delete another connection's exclusive queue.
        send_meta(client,
                  core::QueueDeleteOp{text(request, "queue"), flag(request, "if_unused"),
                                      flag(request, "if_empty"), true},
                  text(request, "vhost"));
    } else if (command == "close_connection") {
        core::AdminQuery query;
        query.kind = core::AdminQueryKind::close_connections;
        query.name = text(request, "name");
        query.reason = text(request, "reason");
        ask_shards(client, std::move(query));
    } else if (command == "close_all_connections") {
        core::AdminQuery query;
        query.kind = core::AdminQueryKind::close_connections;
        query.vhost = optional_text(request, "vhost");
        query.reason = text(request, "reason");
        u64 limit = request.value("limit", u64{0});
        if (limit == 0) {
            ask_shards(client, std::move(query));
        } else {
            // An exact limit: one shard after another, each told what is left.
            struct Step {
                Endpoint* endpoint;
                core::AdminQuery query;
                u64 limit;
                u32 shard;
                void operator()(Client& c) {
                    u64 closed = c.answer.value("closed", u64{0});
                    if (closed >= limit || shard >= endpoint->shard_count_) return;
                    core::AdminQuery next = query;
                    next.id = c.id;
                    next.limit = static_cast<u32>(std::min<u64>(limit - closed, UINT32_MAX));
                    c.awaiting++;
                    endpoint->outbox_.send(ShardId(shard),
                                           std::make_unique<core::AdminQuery>(std::move(next)));
                    c.complete = Step{endpoint, query, limit, shard + 1};
                }
            };
            client.answer["closed"] = 0;
            Step{this, std::move(query), limit, 0}(client);
        }
    } else if (command == "import_definitions") {
        import_definitions(client, request);
    } else if (command == "publish") {
        publish(client, request);
    } else if (command == "get") {
        get(client, request);
    } else {
        return run_object_change(client, command, request);
    }
    return true;
}

void Endpoint::run_question(Client& client, const std::string& command, const json& request) {
    json rows = json::array();
    auto answer_rows = [&] {
        client.answer["rows"] = std::move(rows);
        finish_if_done(client);
    };
    auto vhost_or_fail = [&](std::string& vhost) {
        vhost = text(request, "vhost");
        const core::VHost* entry = catalog_.find_vhost(vhost);
        if (entry == nullptr || entry->deleted) {
            fail(client, "no_such_vhost", no_such_vhost_text(vhost));
            return false;
        }
        return true;
    };
    // rabbitmqctl's list_user_* commands print the raw error term for a missing user.
    auto user_or_fail = [&](std::string& user) {
        user = text(request, "user");
        if (catalog_.users().find(user) == nullptr) {
            fail(client, "no_such_user", "{:no_such_user, \"" + user + "\"}");
            return false;
        }
        return true;
    };
    // list_queues, list_exchanges, list_bindings and list_consumers list nothing for a vhost
    // that does not exist, as rabbitmqctl's do.
    auto vhost_entry = [&](std::string& vhost) -> const core::VHost* {
        vhost = text(request, "vhost");
        const core::VHost* entry = catalog_.find_vhost(vhost);
        return entry == nullptr || entry->deleted ? nullptr : entry;
    };
    std::string vhost;
    std::string user;
    if (command == "ping") {
        finish_if_done(client);
    } else if (command == "status") {
        json status = status_();
        for (auto& [key, value] : status.items()) client.answer[key] = value;
        usize queues = 0;
        for (const auto& [name, entry] : catalog_.vhosts()) {
            if (!entry.deleted) queues += entry.queues.size();
        }
        client.answer["queues"] = queues;
        client.answer["node"] = node_name();
        finish_if_done(client);
    } else if (command == "authenticate_user") {
        user = text(request, "user");
        access::LoginOutcome outcome =
            catalog_.users().authenticate(user, text(request, "password"));
        if (outcome != access::LoginOutcome::ok) {
            fail(client, "refused", access::describe(outcome, user));
            return;
        }
        finish_if_done(client);
    } else if (command == "list_users") {
        for (const access::User* u : catalog_.users().list()) {
            rows.push_back(json{{"user", u->name}, {"tags", u->tags}});
        }
        answer_rows();
    } else if (command == "list_vhosts") {
        std::vector<std::string> names;
        for (const auto& [name, entry] : catalog_.vhosts()) {
            if (!entry.deleted) names.push_back(name);
        }
        std::sort(names.begin(), names.end());
        for (const std::string& name : names) {
            rows.push_back(json{{"name", name},
                                {"description", ""},
                                {"tags", json::array()},
                                {"tracing", false},
                                {"cluster_state", json{{node_name(), "running"}}}});
        }
        answer_rows();
    } else if (command == "list_permissions") {
        if (!vhost_or_fail(vhost)) return;
        catalog_.permissions().for_each(
            [&](const std::string& u, const std::string& v, const access::Permissions& p) {
                if (v != vhost) return;
                rows.push_back(json{{"user", u},
                                    {"configure", p.configure.source()},
                                    {"write", p.write.source()},
                                    {"read", p.read.source()}});
            });
        answer_rows();
    } else if (command == "list_user_permissions") {
        if (!user_or_fail(user)) return;
        catalog_.permissions().for_each(
            [&](const std::string& u, const std::string& v, const access::Permissions& p) {
                if (u != user) return;
                rows.push_back(json{{"vhost", v},
                                    {"configure", p.configure.source()},
                                    {"write", p.write.source()},
                                    {"read", p.read.source()}});
            });
        answer_rows();
    } else if (command == "list_topic_permissions" || command == "list_user_topic_permissions") {
        bool by_user = command == "list_user_topic_permissions";
        if (by_user ? !user_or_fail(user) : !vhost_or_fail(vhost)) return;
        catalog_.permissions().for_each_topic([&](const std::string& u, const std::string& v,
                                                  const access::TopicPermissions& p) {
            if (by_user ? u != user : v != vhost) return;
            json row{{"exchange", p.exchange}, {"write", p.write.source}, {"read", p.read.source}};
            if (by_user) {
                row["vhost"] = v;
            } else {
                row["user"] = u;
            }
            rows.push_back(std::move(row));
        });
        answer_rows();
    } else if (command == "list_vhost_limits") {
        bool global = flag(request, "global");
        if (!global && !vhost_or_fail(vhost)) return;
        std::vector<std::string> names;
        for (const auto& [name, entry] : catalog_.vhosts()) {
            if (entry.deleted || (!global && name != vhost)) continue;
            if (entry.limits == access::VhostLimits{}) continue;
            names.push_back(name);
        }
        std::sort(names.begin(), names.end());
        for (const std::string& name : names) {
            rows.push_back(
                json{{"vhost", name}, {"limits", limits_json(catalog_.find_vhost(name)->limits)}});
        }
        answer_rows();
    } else if (command == "list_user_limits") {
        bool global = flag(request, "global");
        if (!global && !user_or_fail(user)) return;
        for (const auto& [name, limits] : catalog_.all_user_limits()) {
            if (!global && name != user) continue;
            if (limits == access::UserLimits{}) continue;
            rows.push_back(json{{"user", name}, {"limits", limits_json(limits)}});
        }
        answer_rows();
    } else if (command == "list_exchanges") {
        const core::VHost* entry = vhost_entry(vhost);
        if (entry == nullptr) {
            answer_rows();
            return;
        }
        for (const auto& [name, exchange] : entry->exchanges) {
            const core::ExchangeInfo& info = exchange.info;
            rows.push_back(json{{"name", name},
                                {"vhost", vhost},
                                {"type", std::string(routing::to_string(info.type))},
                                {"durable", info.durable},
                                {"auto_delete", info.auto_delete},
                                {"internal", info.internal},
                                {"arguments", lepus::json::table_content_to_json(info.arguments)},
                                {"policy", exchange.policy}});
        }
        client.answer["rows"] = std::move(rows);
        sort_rows(client.answer, "name");
        finish_if_done(client);
    } else if (command == "list_bindings") {
        const core::VHost* found = vhost_entry(vhost);
        if (found == nullptr) {
            answer_rows();
            return;
        }
        const core::VHost& entry = *found;
        auto binding = [&](const std::string& source, const routing::Destination& destination,
                           std::string_view key, std::string_view arguments) {
            rows.push_back(
                json{{"source_name", source},
                     {"source_kind", "exchange"},
                     {"destination_name", destination.name},
                     {"destination_kind",
                      destination.kind == routing::Destination::Kind::queue ? "queue" : "exchange"},
                     {"routing_key", std::string(key)},
                     {"arguments", lepus::json::table_content_to_json(arguments)},
                     {"vhost", vhost}});
        };
        // The default exchange's bindings, implicit in AMQP and listed first by RabbitMQ.
        std::vector<std::string> queues;
        for (const auto& [name, info] : entry.queues) queues.push_back(name);
        std::sort(queues.begin(), queues.end());
        for (const std::string& queue : queues) {
            binding("", routing::Destination::queue(queue), queue, {});
        }
        std::vector<std::string> sources;
        for (const auto& [name, exchange] : entry.exchanges) sources.push_back(name);
        std::sort(sources.begin(), sources.end());
        for (const std::string& source : sources) {
            usize first = rows.size();
            entry.exchanges.at(source).bindings.for_each(
                [&](const routing::Destination& destination, std::string_view key,
                    std::string_view arguments) { binding(source, destination, key, arguments); });
            std::sort(rows.begin() + static_cast<std::ptrdiff_t>(first), rows.end(),
                      [](const json& a, const json& b) {
                          return std::tie(a["destination_name"], a["routing_key"]) <
                                 std::tie(b["destination_name"], b["routing_key"]);
                      });
        }
        answer_rows();
    } else if (command == "list_queues" || command == "list_consumers") {
        // Without a vhost: every vhost's (the management API's lists).
        const bool every_vhost = !request.contains("vhost");
        if (!every_vhost && vhost_entry(vhost) == nullptr) {
            answer_rows();
            return;
        }
        core::AdminQuery query;
        query.kind = command == "list_queues" ? core::AdminQueryKind::queues
                                              : core::AdminQueryKind::consumers;
        if (!every_vhost) query.vhost = vhost;
        client.answer["rows"] = json::array();
        const char* key = command == "list_queues" ? "name" : "queue_name";
        client.complete = [key](Client& c) { sort_rows(c.answer, key); };
        ask_shards(client, std::move(query));
    } else if (command == "list_connections" || command == "list_channels") {
        core::AdminQuery query;
        query.kind = command == "list_connections" ? core::AdminQueryKind::connections
                                                   : core::AdminQueryKind::channels;
        client.answer["rows"] = json::array();
        ask_shards(client, std::move(query));
    } else if (command == "list_message_stats") {
        core::AdminQuery query;
        query.kind = core::AdminQueryKind::stats;
        client.answer["rows"] = json::array();
        ask_shards(client, std::move(query));
    } else if (command == "export_definitions") {
        export_definitions(client);
    } else if (auto listing = list_policies(command, request, catalog_)) {
        if (!listing->error_reason.empty())
            return fail(client, listing->error_reason, listing->error_text);
        rows = std::move(listing->rows);
        answer_rows();
    } else {
        fail(client, "invalid_argument", "unknown command '" + command + "'");
    }
}

}  // namespace lepus::admin
