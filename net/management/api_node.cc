// /api/overview, /api/nodes, the health checks and /api/definitions.
#include <unistd.h>

#include <memory>

#include "core/definitions_json.h"
#include "net/admin/rows.h"
#include "net/management/api.h"

namespace lepus::management {

using nlohmann::json;

namespace {

constexpr const char* management_version = "3.10.8";  // the API whose shapes are served
// RabbitMQ's aliveness test's queue and message.
constexpr const char* aliveness_queue = "aliveness-test";
constexpr const char* aliveness_payload = "test_message";

json exchange_types() {
    json types = json::array();
    for (const char* name : {"direct", "fanout", "headers", "topic"}) {
        types.push_back(json{{"name", name},
                             {"description", std::string("AMQP ") + name +
                                                 " exchange, as per the AMQP specification"},
                             {"enabled", true}});
    }
    return types;
}

json listeners_of(const json& status) {
    json listeners = json::array();
    for (const json& listener : status.value("listeners", json::array())) {
        listeners.push_back(json{{"node", admin::node_name()},
                                 {"protocol", listener["protocol"]},
                                 {"ip_address", listener["interface"]},
                                 {"port", listener["port"]}});
    }
    return listeners;
}

bool has_alarm(const json& status, const char* alarm) {
    for (const json& raised : status.value("alarms", json::array())) {
        if (raised == alarm) return true;
    }
    return false;
}

json node_object(const json& status) {
    return json{{"name", admin::node_name()},
                {"type", "disc"},
                {"running", true},
                {"os_pid", std::to_string(status.value("os_pid", u64{0}))},
                {"mem_used", status.value("memory_bytes", u64{0})},
                {"mem_limit", status.value("memory_limit_bytes", u64{0})},
                {"mem_alarm", has_alarm(status, "memory")},
                {"mem_calculation_strategy", "rss"},
                {"disk_free", status.value("disk_free_bytes", u64{0})},
                {"disk_free_limit", status.value("disk_free_limit_bytes", u64{0})},
                {"disk_free_alarm", has_alarm(status, "disk")},
                {"fd_used", status.value("file_descriptors", u64{0})},
                {"fd_total", status.value("file_descriptor_limit", u64{0})},
                {"sockets_used", status.value("file_descriptors", u64{0})},
                {"sockets_total", status.value("file_descriptor_limit", u64{0})},
                {"proc_used", status.value("shards", u64{0})},
                {"proc_total", status.value("shards", u64{0})},
                {"processors", ::sysconf(_SC_NPROCESSORS_ONLN)},
                {"run_queue", 0},
                {"uptime", status.value("uptime_seconds", u64{0}) * 1000},
                {"rates_mode", "basic"},
                {"partitions", json::array()},
                {"db_dir", status.value("data_directory", std::string())},
                {"config_files", status.value("config_files", json::array())},
                {"log_files", json::array({"<stdout>"})},
                {"exchange_types", exchange_types()},
                {"auth_mechanisms", json::array()},
                {"applications", json::array()},
                {"contexts", json::array()},
                {"enabled_plugins", json::array({"rabbitmq_management"})},
                {"net_ticktime", 60}};
}

}  // namespace

void Api::overview(Call& call) {
    if (call.request.method != "GET") {
        reply_error(call.reply, 405, "method_not_allowed", "GET only");
        return;
    }
    json status = status_();
    json body{{"management_version", management_version},
              {"rates_mode", "basic"},
              {"exchange_types", exchange_types()},
              {"product_version", status.value("version", std::string())},
              {"product_name", "Lepus"},
              {"rabbitmq_version", management_version},
              {"cluster_name", admin::node_name()},
              {"erlang_version", "none"},
              {"erlang_full_version", "none"},
              {"disable_stats", false},
              {"enable_queue_totals", false},
              {"node", admin::node_name()},
              {"listeners", listeners_of(status)},
              {"contexts", json::array()}};
    usize exchanges = 0;
    for (const auto& [name, entry] : catalog_.vhosts()) {
        if (!entry.deleted && may_see_vhost(call, name)) exchanges += entry.exchanges.size() + 1;
    }
    // The counts that live on the shards: queues, connections, channels and consumers.
    submit(call, json{{"command", "list_queues"}},
           [this, call, body, exchanges](const json& queues) mutable {
               u64 ready = 0;
               u64 unacked = 0;
               u64 queue_count = 0;
               u64 consumers = 0;
               for (const json& row : queues["rows"]) {
                   if (!may_see_vhost(call, row.value("vhost", std::string()))) continue;
                   queue_count++;
                   ready += row.value("messages_ready", u64{0});
                   unacked += row.value("messages_unacknowledged", u64{0});
                   consumers += row.value("consumers", u64{0});
               }
               body["queue_totals"] = json{{"messages", ready + unacked},
                                           {"messages_ready", ready},
                                           {"messages_unacknowledged", unacked}};
               rates_.add_details(node_key, body["queue_totals"],
                                  {"messages", "messages_ready", "messages_unacknowledged"});
               submit(call, json{{"command", "list_channels"}},
                      [this, call, body, exchanges, queue_count,
                       consumers](const json& channels) mutable {
                          u64 channel_count = 0;
                          for (const json& row : channels["rows"]) {
                              if (!call.sees_everything() &&
                                  row.value("user", std::string()) != call.user) {
                                  continue;
                              }
                              channel_count++;
                          }
                          submit(call, json{{"command", "list_connections"}},
                                 [this, call, body, exchanges, queue_count, consumers,
                                  channel_count](const json& conns) mutable {
                                     u64 connection_count = 0;
                                     for (const json& row : conns["rows"]) {
                                         if (call.sees_everything() ||
                                             row.value("user", std::string()) == call.user) {
                                             connection_count++;
                                         }
                                     }
                                     body["object_totals"] = json{{"channels", channel_count},
                                                                  {"connections", connection_count},
                                                                  {"consumers", consumers},
                                                                  {"exchanges", exchanges},
                                                                  {"queues", queue_count}};
                                     with_stats([this, call, body](StatsTables tables) mutable {
                                         json all = json::object();
                                         for (const auto& [vhost, stats] : tables.vhosts) {
                                             if (may_see_vhost(call, vhost))
                                                 sum_numbers(all, stats);
                                         }
                                         body["message_stats"] = std::move(all);
                                         rates_.add_details(node_key, body, {});
                                         reply_json(call.reply, 200, body);
                                     });
                                 });
                      });
           });
}

void Api::nodes(Call& call) {
    if (call.request.method != "GET") {
        reply_error(call.reply, 405, "method_not_allowed", "GET only");
        return;
    }
    json node = node_object(status_());
    if (call.path.size() == 1) {
        reply_list(call, json::array({node}));
    } else if (call.path.size() == 2 && call.path[1] == admin::node_name()) {
        reply_json(call.reply, 200, node);
    } else {
        reply_not_found(call.reply);
    }
}

void Api::health(Call& call) {
    const auto& path = call.path;
    auto ok = [&call](json extra = json::object()) {
        json body{{"status", "ok"}};
        for (auto& [key, value] : extra.items()) body[key] = value;
        reply_json(call.reply, 200, body);
    };
    auto failed = [&call](json body) {
        body["status"] = "failed";
        reply_json(call.reply, 503, body);
    };
    if (path[0] == "aliveness-test") {
        // As RabbitMQ's: declare the queue, send a message through it, and get it back.
        if (path.size() != 2) {
            reply_not_found(call.reply);
            return;
        }
        std::string vhost;
        if (!vhost_in_path(call, 1, vhost)) return;
        aliveness(call, vhost);
        return;
    }
    if (path.size() < 3 || path[1] != "checks") {
        reply_not_found(call.reply);
        return;
    }
    const std::string& check = path[2];
    json status = status_();
    if (check == "alarms" || check == "local-alarms") {
        json alarms = json::array();
        for (const json& alarm : status.value("alarms", json::array())) {
            std::string resource = alarm == "memory" ? "memory" : "disk";
            alarms.push_back(json{{"node", admin::node_name()}, {"resource", resource}});
        }
        if (alarms.empty()) {
            ok();
        } else {
            failed(
                json{{"reason", "There are alarms in effect in the cluster"}, {"alarms", alarms}});
        }
    } else if (check == "port-listener" && path.size() == 4) {
        json ports = json::array();
        for (const json& listener : status.value("listeners", json::array())) {
            ports.push_back(listener["port"]);
        }
        const std::string wanted = path[3];
        for (const json& port : ports) {
            if (std::to_string(port.get<u64>()) == wanted) {
                ok(json{{"port", port}});
                return;
            }
        }
        if (wanted.empty() || wanted.find_first_not_of("0123456789") != std::string::npos) {
            reply_error(call.reply, 400, "bad_request", "Invalid port " + wanted);
            return;
        }
        failed(json{
            {"reason", "No active listener"}, {"missing", std::stoul(wanted)}, {"ports", ports}});
    } else if (check == "protocol-listener" && path.size() == 4) {
        const std::string& wanted = path[3];
        json protocols = json::array();
        for (const json& listener : status.value("listeners", json::array())) {
            protocols.push_back(listener["protocol"]);
            if (listener["protocol"] == wanted) {
                ok(json{{"protocol", wanted}});
                return;
            }
        }
        failed(
            json{{"reason", "No active listener"}, {"missing", wanted}, {"protocols", protocols}});
    } else if (check == "virtual-hosts") {
        ok();  // every vhost runs while the broker does
    } else if (check == "node-is-quorum-critical" || check == "node-is-mirror-sync-critical") {
        ok(json{{"reason", "single node cluster"}});
    } else if (check == "certificate-expiration") {
        ok();
    } else {
        reply_not_found(call.reply);
    }
}

void Api::aliveness(Call& call, const std::string& vhost) {
    HttpReply reply = call.reply;
    auto failed = [reply](const json& answer) {
        reply_json(
            reply, 503,
            json{{"status", "failed"}, {"reason", answer.value("error", std::string("failed"))}});
    };
    endpoint_.submit(json{{"command", "declare_queue"},
                          {"vhost", vhost},
                          {"queue", aliveness_queue},
                          {"durable", false}},
                     [this, vhost, reply, failed](const json& declared) {
                         if (!declared.value("ok", false)) return failed(declared);
                         endpoint_.submit(
                             json{{"command", "publish"},
                                  {"vhost", vhost},
                                  {"exchange", ""},
                                  {"routing_key", aliveness_queue},
                                  {"payload", aliveness_payload},
                                  {"properties", json::object()}},
                             [this, vhost, reply, failed](const json& published) {
                                 if (!published.value("ok", false)) return failed(published);
                                 endpoint_.submit(
                                     json{{"command", "get"},
                                          {"vhost", vhost},
                                          {"queue", aliveness_queue},
                                          {"count", 1},
                                          {"ackmode", "ack_requeue_false"}},
                                     [reply, failed](const json& got) {
                                         if (!got.value("ok", false)) return failed(got);
                                         const json messages = got.value("messages", json::array());
                                         if (messages.empty() || messages[0].value("payload", "") !=
                                                                     aliveness_payload) {
                                             return failed(json{
                                                 {"error", "the test message did not come back"}});
                                         }
                                         reply_json(reply, 200, json{{"status", "ok"}});
                                     });
                             });
                     });
}

void Api::definitions(Call& call) {
    if (!require_administrator(call)) return;
    const auto& path = call.path;
    std::optional<std::string> vhost;
    if (path.size() == 2) {
        std::string checked;
        if (!vhost_in_path(call, 1, checked)) return;
        vhost = checked;
    } else if (path.size() > 2) {
        reply_not_found(call.reply);
        return;
    }
    const std::string& method = call.request.method;
    if (method == "GET") {
        json body = vhost ? core::export_vhost_definitions(catalog_, *vhost, management_version)
                          : core::export_definitions(catalog_, std::string(management_version));
        HttpResponse response;
        response.status = 200;
        response.body = body.dump();
        if (call.query.count("download")) {
            response.headers.emplace_back(
                "content-disposition", "attachment; filename=\"" + call.query["download"] + "\"");
        }
        call.reply(std::move(response));
        return;
    }
    if (method != "POST") {
        reply_error(call.reply, 405, "method_not_allowed", "GET or POST");
        return;
    }
    json body = json::parse(call.request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        reply_error(call.reply, 400, "bad_request", "not_json");
        return;
    }
    if (vhost) {
        // The per-vhost form carries no vhost of its own: every object goes to this one.
        for (const char* key : {"queues", "exchanges", "bindings", "policies", "parameters"}) {
            if (!body.contains(key) || !body[key].is_array()) continue;
            for (json& item : body[key]) item["vhost"] = *vhost;
        }
        body.erase("vhosts");
        body.erase("users");
        body.erase("permissions");
        body.erase("topic_permissions");
    }
    change(call, json{{"command", "import_definitions"}, {"definitions", body}});
}

}  // namespace lepus::management
