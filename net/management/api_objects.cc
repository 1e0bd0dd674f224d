// /api/queues, /api/exchanges, /api/bindings, /api/consumers, /api/connections and
// /api/channels: rows gathered through the administration endpoint, shaped as RabbitMQ's
// management plugin shapes them; changes sent as the endpoint's commands.
#include <algorithm>
#include <memory>
#include <unordered_map>

#include "net/management/api.h"
#include "net/management/api_query.h"
#include "net/management/api_shapes.h"

namespace lepus::management {

using nlohmann::json;

namespace {

bool query_flag(const Api::Call& call, const char* name) {
    auto it = call.query.find(name);
    return it != call.query.end() && it->second == "true";
}

void sort_by_vhost_and_name(json& items) {
    std::stable_sort(items.begin(), items.end(), [](const json& a, const json& b) {
        return std::make_tuple(a.value("vhost", std::string()), a.value("name", std::string())) <
               std::make_tuple(b.value("vhost", std::string()), b.value("name", std::string()));
    });
}

// A boolean of a request body: true or false, or their names as rabbitmqadmin sends them.
// Anything else throws, which the API answers with 400.
bool boolean(const json& body, const char* key, bool otherwise) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return otherwise;
    if (it->is_boolean()) return it->get<bool>();
    if (*it == "true") return true;
    if (*it == "false") return false;
    throw BadRequest(std::string(key) + " must be true or false");
}

// An integer of a request body, or its decimal text; anything else throws.
i64 integer(const json& body, const char* key) {
    const json& value = body.at(key);
    if (value.is_number_integer()) return value.get<i64>();
    if (value.is_string()) {
        const std::string text = value.get<std::string>();
        usize used = 0;
        i64 number = std::stoll(text, &used);
        if (used == text.size()) return number;
    }
    throw BadRequest(std::string(key) + " must be an integer");
}

// The one item named `name`, or null.
json find_named(const json& items, const std::string& name) {
    for (const json& item : items) {
        if (item.value("name", std::string()) == name) return item;
    }
    return nullptr;
}

// The default exchange is "" in AMQP and "amq.default" in the API's paths.
std::string exchange_from_path(const std::string& segment) {
    return segment == "amq.default" ? std::string() : segment;
}

bool method_allowed(Api::Call& call, std::initializer_list<const char*> methods) {
    for (const char* method : methods) {
        if (call.request.method == method) return true;
    }
    std::string allow;
    for (const char* method : methods) allow += (allow.empty() ? "" : ", ") + std::string(method);
    HttpResponse response;
    response.status = 405;
    response.headers.emplace_back("allow", allow);
    call.reply(std::move(response));
    return false;
}

}  // namespace

// Every vhost the user may see (`only`: that one), with `command`'s rows from each, merged.
static void gather_rows(const core::Catalog& catalog, admin::Endpoint& endpoint,
                        const Api::Call& call, const char* command,
                        const std::optional<std::string>& only,
                        std::function<bool(const std::string&)> visible,
                        std::function<void(json rows)> then) {
    std::vector<std::string> vhosts;
    if (only) {
        vhosts.push_back(*only);
    } else {
        for (const auto& [name, entry] : catalog.vhosts()) {
            if (!entry.deleted && visible(name)) vhosts.push_back(name);
        }
    }
    struct State {
        json rows = json::array();
        usize waiting = 0;
        bool failed = false;
        std::function<void(json)> then;
    };
    auto state = std::make_shared<State>();
    state->waiting = vhosts.size();
    state->then = std::move(then);
    if (vhosts.empty()) {
        state->then(json::array());
        return;
    }
    HttpReply reply = call.reply;
    for (const std::string& vhost : vhosts) {
        endpoint.submit(json{{"command", command}, {"vhost", vhost}},
                        [state, reply](const json& answer) {
                            if (state->failed) return;
                            if (!answer.value("ok", false)) {
                                state->failed = true;
                                reply_error(reply, 500, "internal_server_error",
                                            answer.value("error", std::string()));
                                return;
                            }
                            for (const json& row : answer["rows"]) state->rows.push_back(row);
                            if (--state->waiting == 0) state->then(std::move(state->rows));
                        });
    }
}

void Api::queues(Call& call) {
    const auto& path = call.path;
    std::string vhost;
    if (path.size() >= 2 && !vhost_in_path(call, 1, vhost)) return;
    if (path.size() <= 2) {
        if (!method_allowed(call, {"GET"})) return;
        json request{{"command", "list_queues"}};
        if (path.size() == 2) request["vhost"] = vhost;
        submit(call, request, [this, call](const json& answer) mutable {
            json items = json::array();
            for (const json& row : answer["rows"]) {
                if (may_see_vhost(call, row.value("vhost", std::string()))) {
                    items.push_back(queue_with_rates(row));
                }
            }
            sort_by_vhost_and_name(items);
            reply_list(call, std::move(items));
        });
        return;
    }
    const std::string& name = path[2];
    if (path.size() == 3) {
        if (!method_allowed(call, {"GET", "PUT", "DELETE"})) return;
        if (call.request.method == "PUT") {
            json body;
            if (!body_object(call, body)) return;
            json request{{"command", "declare_queue"},
                         {"vhost", vhost},
                         {"queue", name},
                         {"durable", boolean(body, "durable", true)},
                         {"auto_delete", boolean(body, "auto_delete", false)},
                         {"arguments", body.value("arguments", json::object())}};
            change(call, request, catalog_.find_queue(vhost, name) ? 204 : 201);
            return;
        }
        if (call.request.method == "DELETE") {
            change(call, json{{"command", "delete_queue"},
                              {"vhost", vhost},
                              {"queue", name},
                              {"if_empty", query_flag(call, "if-empty")},
                              {"if_unused", query_flag(call, "if-unused")}});
            return;
        }
        submit(call, json{{"command", "list_queues"}, {"vhost", vhost}},
               [this, call, name](const json& answer) {
                   json row = find_named(answer["rows"], name);
                   if (row.is_null()) {
                       reply_not_found(call.reply);
                       return;
                   }
                   reply_json(call.reply, 200, queue_with_rates(row));
               });
        return;
    }
    if (path.size() == 4 && path[3] == "get") {
        if (!method_allowed(call, {"POST"})) return;
        json body;
        if (!body_object(call, body)) return;
        for (const char* key : {"count", "ackmode", "encoding"}) {
            if (!body.contains(key)) throw BadRequest(std::string("key_missing: ") + key);
        }
        json request{{"command", "get"},
                     {"vhost", vhost},
                     {"queue", name},
                     {"count", integer(body, "count")},
                     {"ackmode", body["ackmode"]},
                     {"encoding", body["encoding"]}};
        if (body.contains("truncate") && !body["truncate"].is_null()) {
            request["truncate"] = integer(body, "truncate");
        }
        HttpReply reply = call.reply;
        submit(call, request, [reply](const json& answer) {
            reply_json(reply, 200, answer.value("messages", json::array()));
        });
        return;
    }
    if (path.size() == 4 && path[3] == "contents") {
        if (!method_allowed(call, {"DELETE"})) return;
        change(call, json{{"command", "purge_queue"}, {"vhost", vhost}, {"queue", name}});
        return;
    }
    if (path.size() == 4 && path[3] == "bindings") {
        if (!method_allowed(call, {"GET"})) return;
        if (catalog_.find_queue(vhost, name) == nullptr) {
            reply_not_found(call.reply);
            return;
        }
        submit(call, json{{"command", "list_bindings"}, {"vhost", vhost}},
               [this, call, name](const json& answer) mutable {
                   json items = json::array();
                   for (const json& row : answer["rows"]) {
                       if (row["destination_kind"] == "queue" && row["destination_name"] == name) {
                           items.push_back(binding_object(row));
                       }
                   }
                   reply_list(call, std::move(items));
               });
        return;
    }
    reply_not_found(call.reply);
}

void Api::exchanges(Call& call) {
    const auto& path = call.path;
    std::string vhost;
    if (path.size() >= 2 && !vhost_in_path(call, 1, vhost)) return;
    auto visible = [this, call](const std::string& v) { return may_see_vhost(call, v); };
    std::optional<std::string> only;
    if (path.size() >= 2) only = vhost;
    if (path.size() <= 2) {
        if (!method_allowed(call, {"GET"})) return;
        gather_rows(catalog_, endpoint_, call, "list_exchanges", only, visible,
                    [this, call](json rows) mutable {
                        with_stats([this, call, rows](StatsTables tables) mutable {
                            json items = json::array();
                            for (json& row : rows) {
                                items.push_back(exchange_with_stats(std::move(row), tables));
                            }
                            sort_by_vhost_and_name(items);
                            reply_list(call, std::move(items));
                        });
                    });
        return;
    }
    const std::string name = exchange_from_path(path[2]);
    if (path.size() == 3) {
        if (!method_allowed(call, {"GET", "PUT", "DELETE"})) return;
        if (call.request.method == "PUT") {
            json body;
            if (!body_object(call, body)) return;
            if (!body.contains("type")) {
                reply_error(call.reply, 400, "bad_request", "key_missing: type");
                return;
            }
            json request{{"command", "declare_exchange"},
                         {"vhost", vhost},
                         {"exchange", name},
                         {"type", body["type"]},
                         {"durable", boolean(body, "durable", true)},
                         {"auto_delete", boolean(body, "auto_delete", false)},
                         {"internal", boolean(body, "internal", false)},
                         {"arguments", body.value("arguments", json::object())}};
            change(call, request, catalog_.find_exchange(vhost, name) ? 204 : 201);
            return;
        }
        if (call.request.method == "DELETE") {
            if (catalog_.find_exchange(vhost, name) == nullptr && !name.empty()) {
                reply_not_found(call.reply);
                return;
            }
            change(call, json{{"command", "delete_exchange"},
                              {"vhost", vhost},
                              {"exchange", name},
                              {"if_unused", query_flag(call, "if-unused")}});
            return;
        }
        gather_rows(catalog_, endpoint_, call, "list_exchanges", only, visible,
                    [this, call, name](json rows) {
                        json row = find_named(rows, name);
                        if (row.is_null()) {
                            reply_not_found(call.reply);
                            return;
                        }
                        with_stats([this, call, row](StatsTables tables) {
                            reply_json(call.reply, 200, exchange_with_stats(row, tables));
                        });
                    });
        return;
    }
    if (path.size() == 4 && path[3] == "publish") {
        if (!method_allowed(call, {"POST"})) return;
        json body;
        if (!body_object(call, body)) return;
        for (const char* key : {"routing_key", "payload", "payload_encoding", "properties"}) {
            if (!body.contains(key)) throw BadRequest(std::string("key_missing: ") + key);
        }
        if (catalog_.find_exchange(vhost, name) == nullptr && !name.empty()) {
            reply_not_found(call.reply);
            return;
        }
        HttpReply reply = call.reply;
        submit(call,
               json{{"command", "publish"},
                    {"vhost", vhost},
                    {"exchange", name},
                    {"routing_key", body["routing_key"]},
                    {"payload", body["payload"]},
                    {"payload_encoding", body["payload_encoding"]},
                    {"properties", body["properties"]}},
               [reply](const json& answer) {
                   reply_json(reply, 200, json{{"routed", answer.value("routed", false)}});
               });
        return;
    }
    if (path.size() == 5 && path[3] == "bindings" &&
        (path[4] == "source" || path[4] == "destination")) {
        if (!method_allowed(call, {"GET"})) return;
        if (catalog_.find_exchange(vhost, name) == nullptr) {
            reply_not_found(call.reply);
            return;
        }
        const bool source = path[4] == "source";
        submit(call, json{{"command", "list_bindings"}, {"vhost", vhost}},
               [this, call, name, source](const json& answer) mutable {
                   json items = json::array();
                   for (const json& row : answer["rows"]) {
                       bool match = source ? row["source_name"] == name
                                           : (row["destination_kind"] == "exchange" &&
                                              row["destination_name"] == name);
                       if (match) items.push_back(binding_object(row));
                   }
                   reply_list(call, std::move(items));
               });
        return;
    }
    reply_not_found(call.reply);
}

void Api::bindings(Call& call) {
    const auto& path = call.path;
    std::string vhost;
    if (path.size() >= 2 && !vhost_in_path(call, 1, vhost)) return;
    std::optional<std::string> only;
    if (path.size() >= 2) only = vhost;
    auto visible = [this, call](const std::string& v) { return may_see_vhost(call, v); };
    if (path.size() <= 2) {
        if (!method_allowed(call, {"GET"})) return;
        gather_rows(catalog_, endpoint_, call, "list_bindings", only, visible,
                    [this, call](json rows) mutable {
                        json items = json::array();
                        for (const json& row : rows) items.push_back(binding_object(row));
                        reply_list(call, std::move(items));
                    });
        return;
    }
    // /api/bindings/VHOST/e/SOURCE/(q|e)/DESTINATION[/PROPS]
    if (path.size() < 6 || path[2] != "e" || (path[4] != "q" && path[4] != "e")) {
        reply_not_found(call.reply);
        return;
    }
    const std::string source = exchange_from_path(path[3]);
    const bool to_queue = path[4] == "q";
    const std::string destination = to_queue ? path[5] : exchange_from_path(path[5]);
    const bool source_exists = catalog_.find_exchange(vhost, source) != nullptr || source.empty();
    const bool destination_exists = to_queue
                                        ? catalog_.find_queue(vhost, destination) != nullptr
                                        : catalog_.find_exchange(vhost, destination) != nullptr;
    if (!source_exists || !destination_exists) {
        reply_not_found(call.reply);
        return;
    }
    auto matching = [source, destination, to_queue](const json& rows) {
        json items = json::array();
        for (const json& row : rows) {
            if (row["source_name"] == source && row["destination_name"] == destination &&
                (row["destination_kind"] == "queue") == to_queue) {
                items.push_back(binding_object(row));
            }
        }
        return items;
    };
    const char* kind = to_queue ? "queue" : "exchange";
    if (path.size() == 6) {
        if (!method_allowed(call, {"GET", "POST"})) return;
        if (call.request.method == "POST") {
            json body;
            if (!body_object(call, body)) return;
            json request{{"command", "bind"},
                         {"vhost", vhost},
                         {"source", source},
                         {"destination", destination},
                         {"destination_type", kind},
                         {"routing_key", body.value("routing_key", std::string())},
                         {"arguments", body.value("arguments", json::object())}};
            std::string location = path[5] + "/" +
                                   binding_properties_key(body.value("routing_key", std::string()),
                                                          request["arguments"]);
            HttpReply reply = call.reply;
            submit(call, request, [reply, location](const json&) {
                HttpResponse response;
                response.status = 201;
                response.headers.emplace_back("location", location);
                reply(std::move(response));
            });
            return;
        }
        submit(call, json{{"command", "list_bindings"}, {"vhost", vhost}},
               [this, call, matching](const json& answer) mutable {
                   reply_list(call, matching(answer["rows"]));
               });
        return;
    }
    if (path.size() != 7) {
        reply_not_found(call.reply);
        return;
    }
    if (!method_allowed(call, {"GET", "DELETE"})) return;
    const std::string props = path[6];
    submit(call, json{{"command", "list_bindings"}, {"vhost", vhost}},
           [this, call, matching, props, vhost, source, destination,
            kind](const json& answer) mutable {
               json found = nullptr;
               for (json& item : matching(answer["rows"])) {
                   if (item["properties_key"] == props) found = std::move(item);
               }
               if (found.is_null()) {
                   reply_not_found(call.reply);
                   return;
               }
               if (call.request.method == "GET") {
                   reply_json(call.reply, 200, found);
                   return;
               }
               change(call, json{{"command", "unbind"},
                                 {"vhost", vhost},
                                 {"source", source},
                                 {"destination", destination},
                                 {"destination_type", kind},
                                 {"routing_key", found["routing_key"]},
                                 {"arguments", found["arguments"]}});
           });
}

void Api::consumers(Call& call) {
    const auto& path = call.path;
    std::string vhost;
    if (path.size() >= 2 && !vhost_in_path(call, 1, vhost)) return;
    if (path.size() > 2) {
        reply_not_found(call.reply);
        return;
    }
    if (!method_allowed(call, {"GET"})) return;
    json request{{"command", "list_consumers"}};
    if (path.size() == 2) request["vhost"] = vhost;
    submit(call, request, [this, call](const json& consumers_answer) mutable {
        json rows = consumers_answer["rows"];
        submit(call, json{{"command", "list_channels"}},
               [this, call, rows](const json& channels_answer) mutable {
                   std::unordered_map<std::string, json> channels;
                   for (const json& channel : channels_answer["rows"]) {
                       channels.emplace(channel.value("pid", std::string()), channel);
                   }
                   json items = json::array();
                   for (const json& row : rows) {
                       if (may_see_vhost(call, row.value("vhost", std::string()))) {
                           items.push_back(consumer_object(row, channels));
                       }
                   }
                   reply_list(call, std::move(items));
               });
    });
}

void Api::connections(Call& call) {
    const auto& path = call.path;
    if (path.size() > 3 || (path.size() == 3 && path[2] != "channels")) {
        reply_not_found(call.reply);
        return;
    }
    if (path.size() == 2 ? !method_allowed(call, {"GET", "DELETE"})
                         : !method_allowed(call, {"GET"})) {
        return;
    }
    // Users without monitoring see their own connections only, as in RabbitMQ.
    auto own = [call](const json& row) {
        return call.sees_everything() || row.value("user", std::string()) == call.user;
    };
    if (path.size() == 1) {
        submit(call, json{{"command", "list_connections"}},
               [this, call, own](const json& answer) mutable {
                   json items = json::array();
                   for (const json& row : answer["rows"]) {
                       if (own(row)) items.push_back(connection_with_rates(row));
                   }
                   sort_by_vhost_and_name(items);
                   reply_list(call, std::move(items));
               });
        return;
    }
    const std::string name = path[1];
    submit(call, json{{"command", "list_connections"}},
           [this, call, name, own](const json& answer) mutable {
               json row = find_named(answer["rows"], name);
               if (row.is_null() || !own(row)) {
                   reply_not_found(call.reply);
                   return;
               }
               if (call.request.method == "DELETE") {
                   std::string reason = call.request.header("x-reason");
                   if (reason.empty()) reason = "Closed via management plugin";
                   change(
                       call,
                       json{{"command", "close_connection"}, {"name", name}, {"reason", reason}});
                   return;
               }
               if (call.path.size() == 3) {
                   submit(call, json{{"command", "list_channels"}},
                          [this, call, name](const json& channels) mutable {
                              json items = json::array();
                              for (const json& channel : channels["rows"]) {
                                  std::string channel_name = channel.value("name", std::string());
                                  if (channel_name.rfind(name + " (", 0) == 0) {
                                      items.push_back(channel_with_rates(channel));
                                  }
                              }
                              reply_list(call, std::move(items));
                          });
                   return;
               }
               reply_json(call.reply, 200, connection_with_rates(row));
           });
}

void Api::channels(Call& call) {
    const auto& path = call.path;
    if (path.size() > 2) {
        reply_not_found(call.reply);
        return;
    }
    if (!method_allowed(call, {"GET"})) return;
    std::optional<std::string> name;
    if (path.size() == 2) name = path[1];
    submit(call, json{{"command", "list_channels"}},
           [this, call, name](const json& answer) mutable {
               json items = json::array();
               for (const json& row : answer["rows"]) {
                   if (!call.sees_everything() && row.value("user", std::string()) != call.user)
                       continue;
                   if (name && row.value("name", std::string()) != *name) continue;
                   items.push_back(channel_with_rates(row));
               }
               if (name) {
                   if (items.empty()) {
                       reply_not_found(call.reply);
                   } else {
                       reply_json(call.reply, 200, items[0]);
                   }
                   return;
               }
               sort_by_vhost_and_name(items);
               reply_list(call, std::move(items));
           });
}

json Api::queue_with_rates(const json& row) const {
    json item = queue_object(row);
    rates_.add_details(
        queue_key(item.value("vhost", std::string()), item.value("name", std::string())), item,
        {"messages", "messages_ready", "messages_unacknowledged"});
    return item;
}

json Api::exchange_with_stats(json row, const StatsTables& tables) const {
    json item = exchange_object(std::move(row));
    const std::string vhost = item.value("vhost", std::string());
    const std::string name = item.value("name", std::string());
    if (auto it = tables.exchanges.find({vhost, name}); it != tables.exchanges.end()) {
        item["message_stats"] = it->second;
        rates_.add_details(exchange_key(vhost, name), item, {});
    }
    return item;
}

json Api::connection_with_rates(const json& row) const {
    json item = connection_object(row);
    rates_.add_details(connection_key(item.value("name", std::string())), item,
                       {"recv_oct", "send_oct"});
    return item;
}

json Api::channel_with_rates(const json& row) const {
    json item = channel_object(row);
    rates_.add_details(channel_key(item.value("name", std::string())), item, {});
    return item;
}

}  // namespace lepus::management
