#include "net/management/api_shapes.h"

#include "net/admin/rows.h"
#include "net/management/api_query.h"

namespace lepus::management {

using nlohmann::json;

namespace {

// rabbitmqctl shows "" where the management API shows null.
void null_if_empty(json& object, const char* key) {
    auto it = object.find(key);
    if (it != object.end() && it->is_string() && it->get<std::string>().empty()) *it = nullptr;
}

}  // namespace

void peer_of(const std::string& connection_name, std::string& host, int& port) {
    std::string peer = connection_name.substr(0, connection_name.find(" -> "));
    usize colon = peer.rfind(':');
    host = peer.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    port = colon == std::string::npos ? 0 : std::atoi(peer.c_str() + colon + 1);
}

json queue_object(json row) {
    row.erase("pid");
    row.erase("owner_pid");
    row.erase("exclusive_consumer_pid");
    null_if_empty(row, "policy");
    null_if_empty(row, "exclusive_consumer_tag");
    if (!row.contains("operator_policy")) row["operator_policy"] = nullptr;
    null_if_empty(row, "operator_policy");
    if (!row.contains("effective_policy_definition")) {
        row["effective_policy_definition"] = json::object();
    }
    const json& utilisation = row["consumer_utilisation"];
    double capacity = utilisation.is_number() ? utilisation.get<double>() : 0.0;
    row["consumer_utilisation"] = capacity;
    row["consumer_capacity"] = capacity;
    row["node"] = admin::node_name();
    row["single_active_consumer_tag"] = nullptr;
    row["recoverable_slaves"] = nullptr;
    row["head_message_timestamp"] = nullptr;
    row["messages_ram"] = row["messages"];
    row["messages_ready_ram"] = row["messages_ready"];
    row["messages_unacknowledged_ram"] = row["messages_unacknowledged"];
    row["message_bytes_ram"] = row["message_bytes"];
    row["messages_paged_out"] = 0;
    row["message_bytes_paged_out"] = 0;
    return row;
}

json exchange_object(json row) {
    null_if_empty(row, "policy");
    if (row.contains("policy") && row["policy"].is_null()) row.erase("policy");
    row["user_who_performed_action"] = "rmq-internal";
    return row;
}

json binding_object(const json& row) {
    const json& arguments = row["arguments"];
    std::string key = row.value("routing_key", std::string());
    return json{{"source", row["source_name"]},
                {"vhost", row["vhost"]},
                {"destination", row["destination_name"]},
                {"destination_type", row["destination_kind"]},
                {"routing_key", key},
                {"arguments", arguments},
                {"properties_key", binding_properties_key(key, arguments)}};
}

json connection_object(json row) {
    row.erase("pid");
    row["node"] = admin::node_name();
    row["send_pend"] = 0;
    return row;
}

json channel_object(json row) {
    std::string name = row.value("name", std::string());
    std::string connection_name = name.substr(0, name.rfind(" ("));
    std::string host;
    int port = 0;
    peer_of(connection_name, host, port);
    row.erase("pid");
    row.erase("connection");
    row["connection_details"] =
        json{{"name", connection_name}, {"peer_host", host}, {"peer_port", port}};
    row["node"] = admin::node_name();
    row["user_who_performed_action"] = row["user"];
    return row;
}

json consumer_object(const json& row, const std::unordered_map<std::string, json>& channels) {
    json channel_details = json::object();
    auto it = channels.find(row.value("channel_pid", std::string()));
    if (it != channels.end()) {
        const json& channel = it->second;
        std::string name = channel.value("name", std::string());
        std::string connection_name = name.substr(0, name.rfind(" ("));
        std::string host;
        int port = 0;
        peer_of(connection_name, host, port);
        channel_details = json{{"connection_name", connection_name},
                               {"name", name},
                               {"node", admin::node_name()},
                               {"number", channel["number"]},
                               {"peer_host", host},
                               {"peer_port", port},
                               {"user", channel["user"]}};
    }
    return json{{"arguments", row["arguments"]},
                {"ack_required", row["ack_required"]},
                {"active", row["active"]},
                {"activity_status", row["activity_status"]},
                {"channel_details", std::move(channel_details)},
                {"consumer_tag", row["consumer_tag"]},
                {"exclusive", row["exclusive"]},
                {"prefetch_count", row["prefetch_count"]},
                {"queue", json{{"name", row["queue_name"]}, {"vhost", row["vhost"]}}}};
}

}  // namespace lepus::management
