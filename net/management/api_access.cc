// /api/vhosts, /api/users, /api/permissions, /api/topic-permissions, /api/vhost-limits and
// /api/user-limits: read from shard 0's catalog, changed through the administration
// endpoint's commands (the same metadata requests rabbitmqctl's commands send).
#include <array>
#include <memory>

#include "core/access/user_table.h"
#include "core/json/field_table_json.h"
#include "net/admin/rows.h"
#include "net/management/api.h"
#include "net/management/api_shapes.h"

namespace lepus::management {

using nlohmann::json;

namespace {

json vhost_object(const std::string& name) {
    return json{{"name", name},
                {"description", ""},
                {"tags", json::array()},
                {"metadata", json{{"description", ""}, {"tags", json::array()}}},
                {"default_queue_type", "undefined"},
                {"tracing", false},
                {"cluster_state", json{{admin::node_name(), "running"}}}};
}

// "administrator,monitoring" or ["administrator", "monitoring"] -> the tags.
std::vector<std::string> tags_from(const json& value) {
    std::vector<std::string> tags;
    if (value.is_array()) {
        for (const json& tag : value) {
            if (tag.is_string() && !tag.get<std::string>().empty()) tags.push_back(tag);
        }
        return tags;
    }
    if (!value.is_string()) return tags;
    std::string text = value.get<std::string>();
    usize start = 0;
    while (start <= text.size()) {
        usize comma = text.find(',', start);
        std::string tag = text.substr(start, comma == std::string::npos ? comma : comma - start);
        while (!tag.empty() && tag.front() == ' ') tag.erase(0, 1);
        while (!tag.empty() && tag.back() == ' ') tag.pop_back();
        if (!tag.empty()) tags.push_back(tag);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return tags;
}

}  // namespace

void Api::vhosts(Call& call) {
    const auto& path = call.path;
    if (path.size() == 1) {
        if (call.request.method != "GET") {
            reply_error(call.reply, 405, "method_not_allowed", "GET only");
            return;
        }
        std::vector<std::string> names;
        for (const auto& [name, entry] : catalog_.vhosts()) {
            if (!entry.deleted && may_see_vhost(call, name)) names.push_back(name);
        }
        std::sort(names.begin(), names.end());
        vhost_items(call, names,
                    [this, call](json items) mutable { reply_list(call, std::move(items)); });
        return;
    }
    const std::string vhost = path[1];
    if (path.size() == 2) {
        const std::string& method = call.request.method;
        if (method == "PUT") {
            if (!require_administrator(call)) return;
            if (vhost_exists(vhost)) {
                reply_no_content(call.reply);
                return;
            }
            change(call, json{{"command", "add_vhost"}, {"vhost", vhost}}, 201);
            return;
        }
        if (!vhost_exists(vhost)) {
            reply_not_found(call.reply);
            return;
        }
        if (method == "DELETE") {
            if (!require_administrator(call)) return;
            change(call, json{{"command", "delete_vhost"}, {"vhost", vhost}});
            return;
        }
        if (!may_see_vhost(call, vhost)) {
            reply_error(call.reply, 401, "not_authorised",
                        "User not authorised to access virtual host");
            return;
        }
        vhost_items(call, {vhost},
                    [call](json items) { reply_json(call.reply, 200, items.at(0)); });
        return;
    }
    std::string checked;
    if (!vhost_in_path(call, 1, checked)) return;
    const std::string& what = path[2];
    if (path.size() == 3 && (what == "permissions" || what == "topic-permissions")) {
        if (!require_administrator(call)) return;
        call.path = {what, vhost};
        call.query["by_vhost"] = "true";
        permissions(call, what == "topic-permissions");
        return;
    }
    if (path.size() == 3 && (what == "connections" || what == "channels")) {
        const bool connections = what == "connections";
        submit(
            call, json{{"command", connections ? "list_connections" : "list_channels"}},
            [this, call, vhost, connections](const json& answer) mutable {
                json items = json::array();
                for (const json& row : answer["rows"]) {
                    if (row.value("vhost", std::string()) != vhost) continue;
                    if (!call.sees_everything() && row.value("user", std::string()) != call.user) {
                        continue;
                    }
                    items.push_back(connections ? connection_with_rates(row)
                                                : channel_with_rates(row));
                }
                reply_list(call, std::move(items));
            });
        return;
    }
    reply_not_found(call.reply);
}

void Api::vhost_items(Call& call, std::vector<std::string> names,
                      std::function<void(json items)> then) {
    // Message counts from the queues, message_stats from the shards' counters.
    submit(call, json{{"command", "list_queues"}},
           [this, names, then = std::move(then)](const json& queues) {
               std::map<std::string, json> counts;
               for (const json& row : queues["rows"]) {
                   sum_numbers(counts[row.value("vhost", std::string())],
                               json{{"messages", row["messages"]},
                                    {"messages_ready", row["messages_ready"]},
                                    {"messages_unacknowledged", row["messages_unacknowledged"]}});
               }
               with_stats([this, names, counts, then](StatsTables tables) {
                   json items = json::array();
                   for (const std::string& name : names) {
                       json item = vhost_object(name);
                       auto count = counts.find(name);
                       json zero{
                           {"messages", 0}, {"messages_ready", 0}, {"messages_unacknowledged", 0}};
                       for (const auto& [key, value] :
                            (count == counts.end() ? zero : count->second).items()) {
                           item[key] = value;
                       }
                       if (auto stats = tables.vhosts.find(name); stats != tables.vhosts.end()) {
                           item["message_stats"] = stats->second;
                       }
                       rates_.add_details(vhost_key(name), item, {});
                       items.push_back(std::move(item));
                   }
                   then(std::move(items));
               });
           });
}

void Api::users(Call& call) {
    if (!require_administrator(call)) return;
    const auto& path = call.path;
    auto user_object = [](const access::User& user) {
        return json{{"name", user.name},
                    {"password_hash", access::password_hash_base64(user)},
                    {"hashing_algorithm", "rabbit_password_hashing_sha256"},
                    {"tags", user.tags},
                    {"limits", json::object()}};
    };
    if (path.size() == 1 || (path.size() == 2 && path[1] == "without-permissions")) {
        json items = json::array();
        for (const access::User* user : catalog_.users().list()) {
            if (path.size() == 2) {
                bool any = false;
                catalog_.permissions().for_each(
                    [&](const std::string& u, const std::string&, const access::Permissions&) {
                        any = any || u == user->name;
                    });
                if (any) continue;
            }
            json object = user_object(*user);
            if (auto it = catalog_.all_user_limits().find(user->name);
                it != catalog_.all_user_limits().end()) {
                object["limits"] = admin::limits_json(it->second);
            }
            items.push_back(std::move(object));
        }
        reply_list(call, std::move(items));
        return;
    }
    if (path.size() == 2 && path[1] == "bulk-delete" && call.request.method == "POST") {
        json body;
        if (!body_object(call, body)) return;
        json names = body.value("users", json::array());
        if (!names.is_array() || names.empty()) {
            reply_no_content(call.reply);
            return;
        }
        auto left = std::make_shared<usize>(names.size());
        HttpReply reply = call.reply;
        for (const json& name : names) {
            endpoint_.submit(json{{"command", "delete_user"}, {"user", name}},
                             [left, reply](const json&) {
                                 if (--*left == 0) reply_no_content(reply);
                             });
        }
        return;
    }
    const std::string name = path[1];
    const access::User* user = catalog_.users().find(name);
    if (path.size() == 3 && (path[2] == "permissions" || path[2] == "topic-permissions")) {
        if (user == nullptr) {
            reply_not_found(call.reply);
            return;
        }
        call.path = {path[2], name};
        call.query["by_user"] = "true";
        permissions(call, path[2] == "topic-permissions");
        return;
    }
    if (path.size() != 2) {
        reply_not_found(call.reply);
        return;
    }
    const std::string& method = call.request.method;
    if (method == "GET") {
        if (user == nullptr) {
            reply_not_found(call.reply);
            return;
        }
        reply_json(call.reply, 200, user_object(*user));
        return;
    }
    if (method == "DELETE") {
        if (user == nullptr) {
            reply_not_found(call.reply);
            return;
        }
        change(call, json{{"command", "delete_user"}, {"user", name}});
        return;
    }
    if (method != "PUT") {
        reply_error(call.reply, 405, "method_not_allowed", "GET, PUT or DELETE");
        return;
    }
    json body;
    if (!body_object(call, body)) return;
    std::vector<std::string> tags = tags_from(body.value("tags", json("")));
    const u16 status = user == nullptr ? 201 : 204;
    if (body.contains("password_hash")) {
        // A hash as RabbitMQ exports it: imported the way definitions import users.
        json definition{{"name", name},
                        {"password_hash", body["password_hash"]},
                        {"hashing_algorithm",
                         body.value("hashing_algorithm", "rabbit_password_hashing_sha256")},
                        {"tags", tags}};
        change(call,
               json{{"command", "import_definitions"},
                    {"definitions", json{{"users", json::array({definition})}}}},
               status);
        return;
    }
    if (!body.contains("password")) {
        if (user == nullptr) {
            reply_error(call.reply, 400, "bad_request", "Must specify password or password_hash");
            return;
        }
        change(call, json{{"command", "set_user_tags"}, {"user", name}, {"tags", tags}}, status);
        return;
    }
    if (user == nullptr) {
        change(call,
               json{{"command", "add_user"},
                    {"user", name},
                    {"password", body["password"]},
                    {"tags", tags}},
               status);
        return;
    }
    submit(call,
           json{{"command", "change_password"}, {"user", name}, {"password", body["password"]}},
           [this, call, name, tags](const json&) mutable {
               change(call, json{{"command", "set_user_tags"}, {"user", name}, {"tags", tags}});
           });
}

void Api::permissions(Call& call, bool topic) {
    const auto& path = call.path;
    const bool by_vhost = call.query.count("by_vhost") > 0;
    const bool by_user = call.query.count("by_user") > 0;
    if (!require_administrator(call)) return;
    if (path.size() == 1 || by_vhost || by_user) {
        json items = json::array();
        auto wanted = [&](const std::string& user, const std::string& vhost) {
            if (by_vhost) return vhost == path[1];
            if (by_user) return user == path[1];
            return true;
        };
        if (topic) {
            catalog_.permissions().for_each_topic(
                [&](const std::string& u, const std::string& v, const access::TopicPermissions& p) {
                    if (!wanted(u, v)) return;
                    items.push_back(json{{"user", u},
                                         {"vhost", v},
                                         {"exchange", p.exchange},
                                         {"write", p.write.source},
                                         {"read", p.read.source}});
                });
        } else {
            catalog_.permissions().for_each(
                [&](const std::string& u, const std::string& v, const access::Permissions& p) {
                    if (!wanted(u, v)) return;
                    items.push_back(json{{"user", u},
                                         {"vhost", v},
                                         {"configure", p.configure.source()},
                                         {"write", p.write.source()},
                                         {"read", p.read.source()}});
                });
        }
        call.query.erase("by_vhost");
        call.query.erase("by_user");
        reply_list(call, std::move(items));
        return;
    }
    if (path.size() != 3) {
        reply_not_found(call.reply);
        return;
    }
    const std::string vhost = path[1];
    const std::string user = path[2];
    if (!vhost_exists(vhost) || catalog_.users().find(user) == nullptr) {
        reply_not_found(call.reply);
        return;
    }
    const std::string& method = call.request.method;
    if (method == "GET") {
        json items = json::array();
        if (topic) {
            catalog_.permissions().for_each_topic(
                [&](const std::string& u, const std::string& v, const access::TopicPermissions& p) {
                    if (u != user || v != vhost) return;
                    items.push_back(json{{"user", u},
                                         {"vhost", v},
                                         {"exchange", p.exchange},
                                         {"write", p.write.source},
                                         {"read", p.read.source}});
                });
            if (items.empty()) {
                reply_not_found(call.reply);
            } else {
                reply_json(call.reply, 200, items);
            }
            return;
        }
        const access::Permissions* found = catalog_.permissions().find(user, vhost);
        if (found == nullptr) {
            reply_not_found(call.reply);
            return;
        }
        reply_json(call.reply, 200,
                   json{{"user", user},
                        {"vhost", vhost},
                        {"configure", found->configure.source()},
                        {"write", found->write.source()},
                        {"read", found->read.source()}});
        return;
    }
    if (method == "DELETE") {
        change(call, json{{"command", topic ? "clear_topic_permissions" : "clear_permissions"},
                          {"user", user},
                          {"vhost", vhost}});
        return;
    }
    if (method != "PUT") {
        reply_error(call.reply, 405, "method_not_allowed", "GET, PUT or DELETE");
        return;
    }
    json body;
    if (!body_object(call, body)) return;
    const std::array<const char*, 3> keys = {topic ? "exchange" : "configure", "write", "read"};
    for (const char* key : keys) {
        if (!body.contains(key) || !body[key].is_string()) {
            reply_error(call.reply, 400, "bad_request", std::string("key_missing: ") + key);
            return;
        }
    }
    if (topic) {
        change(call,
               json{{"command", "set_topic_permissions"},
                    {"user", user},
                    {"vhost", vhost},
                    {"exchange", body["exchange"]},
                    {"write", body["write"]},
                    {"read", body["read"]}},
               201);
        return;
    }
    const bool existed = catalog_.permissions().find(user, vhost) != nullptr;
    change(call,
           json{{"command", "set_permissions"},
                {"user", user},
                {"vhost", vhost},
                {"configure", body["configure"]},
                {"write", body["write"]},
                {"read", body["read"]}},
           existed ? 204 : 201);
}

void Api::parameters(Call& call, bool global) {
    if (call.request.method != "GET") {
        reply_error(call.reply, 405, "method_not_allowed", "GET only");
        return;
    }
    if (!call.is_policymaker() && !call.sees_everything()) {
        reply_error(call.reply, 401, "not_authorised", "Not policymaker user");
        return;
    }
    json items = json::array();
    if (global) {
        items.push_back(json{{"name", "cluster_name"}, {"value", admin::node_name()}});
        reply_list(call, std::move(items));
        return;
    }
    // /api/parameters[/COMPONENT[/VHOST[/NAME]]]
    const auto& path = call.path;
    for (const auto& [name, entry] : catalog_.vhosts()) {
        if (entry.deleted || !may_see_vhost(call, name)) continue;
        if (entry.limits == access::VhostLimits{}) continue;
        if (path.size() >= 2 && path[1] != "vhost-limits") continue;
        if (path.size() >= 3 && path[2] != name) continue;
        items.push_back(json{{"vhost", name},
                             {"component", "vhost-limits"},
                             {"name", "limits"},
                             {"value", admin::limits_json(entry.limits)}});
    }
    if (path.size() == 4) {
        if (items.empty() || path[3] != "limits") {
            reply_not_found(call.reply);
        } else {
            reply_json(call.reply, 200, items[0]);
        }
        return;
    }
    reply_list(call, std::move(items));
}

void Api::policies(Call& call, bool operator_policies) {
    const auto& path = call.path;
    const std::string prefix = operator_policies ? "operator_policies" : "policies";
    if (call.request.method == "GET") {
        std::vector<std::string> vhosts;
        if (path.size() >= 2) {
            std::string vhost;
            if (!vhost_in_path(call, 1, vhost)) return;
            vhosts.push_back(vhost);
        } else {
            for (const auto& [name, entry] : catalog_.vhosts()) {
                if (!entry.deleted && may_see_vhost(call, name)) vhosts.push_back(name);
            }
        }
        auto all = std::make_shared<json>(json::array());
        auto left = std::make_shared<usize>(vhosts.size());
        if (vhosts.empty()) {
            reply_list(call, json::array());
            return;
        }
        const std::string command = operator_policies ? "list_operator_policies" : "list_policies";
        std::optional<std::string> one;
        if (path.size() >= 3) one = path[2];
        for (const std::string& vhost : vhosts) {
            submit(call, json{{"command", command}, {"vhost", vhost}},
                   [this, call, all, left, one](const json& answer) mutable {
                       for (const json& row : answer["rows"]) all->push_back(row);
                       if (--*left > 0) return;
                       if (one) {
                           for (const json& row : *all) {
                               if (row.value("name", std::string()) == *one) {
                                   reply_json(call.reply, 200, row);
                                   return;
                               }
                           }
                           reply_not_found(call.reply);
                           return;
                       }
                       reply_list(call, std::move(*all));
                   });
        }
        return;
    }
    if (path.size() != 3 || (call.request.method != "PUT" && call.request.method != "DELETE")) {
        reply_not_found(call.reply);
        return;
    }
    if (!call.is_policymaker()) {
        reply_error(call.reply, 401, "not_authorised", "Not policymaker user");
        return;
    }
    std::string vhost;
    if (!vhost_in_path(call, 1, vhost)) return;
    const std::string name = path[2];
    if (call.request.method == "DELETE") {
        change(call, json{{"command", operator_policies ? "clear_operator_policy" : "clear_policy"},
                          {"vhost", vhost},
                          {"name", name}});
        return;
    }
    json body;
    if (!body_object(call, body)) return;
    for (const char* key : {"pattern", "definition"}) {
        if (!body.contains(key)) throw BadRequest(std::string("key_missing: ") + key);
    }
    json request{{"command", operator_policies ? "set_operator_policy" : "set_policy"},
                 {"vhost", vhost},
                 {"name", name},
                 {"pattern", body["pattern"]},
                 {"definition", body["definition"].dump()},
                 {"priority", body.value("priority", 0)},
                 {"apply_to", body.value("apply-to", std::string("all"))}};
    change(call, request, 201);
}

void Api::limits(Call& call, bool per_user) {
    const auto& path = call.path;
    const std::string& method = call.request.method;
    if (path.size() <= 2) {
        if (method != "GET") {
            reply_error(call.reply, 405, "method_not_allowed", "GET only");
            return;
        }
        json items = json::array();
        if (per_user) {
            if (!require_administrator(call)) return;
            for (const auto& [name, limits] : catalog_.all_user_limits()) {
                if (path.size() == 2 && name != path[1]) continue;
                if (limits == access::UserLimits{}) continue;
                items.push_back(json{{"user", name}, {"value", admin::limits_json(limits)}});
            }
        } else {
            for (const auto& [name, entry] : catalog_.vhosts()) {
                if (entry.deleted || (path.size() == 2 && name != path[1])) continue;
                if (!may_see_vhost(call, name) || entry.limits == access::VhostLimits{}) continue;
                items.push_back(json{{"vhost", name}, {"value", admin::limits_json(entry.limits)}});
            }
        }
        reply_list(call, std::move(items));
        return;
    }
    if (path.size() != 3 || (method != "PUT" && method != "DELETE")) {
        reply_not_found(call.reply);
        return;
    }
    if (!require_administrator(call)) return;
    const std::string owner = path[1];
    const std::string limit = path[2];
    json current;
    if (per_user) {
        if (catalog_.users().find(owner) == nullptr) {
            reply_not_found(call.reply);
            return;
        }
        auto it = catalog_.all_user_limits().find(owner);
        current = it == catalog_.all_user_limits().end() ? json::object()
                                                         : admin::limits_json(it->second);
    } else {
        if (!vhost_exists(owner)) {
            reply_not_found(call.reply);
            return;
        }
        current = admin::limits_json(catalog_.find_vhost(owner)->limits);
    }
    if (method == "PUT") {
        json body;
        if (!body_object(call, body)) return;
        if (!body.contains("value")) {
            reply_error(call.reply, 400, "bad_request", "key_missing: value");
            return;
        }
        current[limit] = body["value"];
    } else {
        current.erase(limit);
    }
    if (current.empty()) {
        change(call, per_user
                         ? json{{"command", "clear_user_limits"}, {"user", owner}, {"limit", "all"}}
                         : json{{"command", "clear_vhost_limits"}, {"vhost", owner}});
        return;
    }
    change(call, json{{"command", per_user ? "set_user_limits" : "set_vhost_limits"},
                      {per_user ? "user" : "vhost", owner},
                      {"definition", current.dump()}});
}

}  // namespace lepus::management
