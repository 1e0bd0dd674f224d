// The endpoint's requests that declare, delete and bind exchanges and queues: the management
// API's PUT and DELETE of them. They go to the metadata authority as the same MetaRequests
// AMQP channels send, so RabbitMQ's checks and texts (inequivalent arguments, reserved names)
// apply unchanged.
#include "core/json/field_table_json.h"
#include "core/routing/exchange_type.h"
#include "core/wire/field_table.h"
#include "net/admin/endpoint.h"
#include "net/admin/endpoint_client.h"

namespace lepus::admin {

namespace {

using nlohmann::json;

std::string text(const json& request, const char* name) {
    return request.at(name).get<std::string>();
}

bool flag(const json& request, const char* name, bool otherwise = false) {
    return request.contains(name) ? request.at(name).get<bool>() : otherwise;
}

// The field-table content of an `arguments` object; false and `error` when a value has no
// AMQP form.
bool arguments_of(const json& request, std::string& out, std::string& error) {
    if (!request.contains("arguments") || request.at("arguments").is_null()) return true;
    wire::FieldTable table;
    if (!lepus::json::table_from_json(request.at("arguments"), table, error)) return false;
    out = wire::field_table_content(table);
    return true;
}

}  // namespace

bool Endpoint::run_object_change(Client& client, const std::string& command, const json& request) {
    if (command != "declare_queue" && command != "declare_exchange" &&
        command != "delete_exchange" && command != "bind" && command != "unbind") {
        return false;
    }
    std::string vhost = text(request, "vhost");
    const core::VHost* entry = catalog_.find_vhost(vhost);
    if (entry == nullptr || entry->deleted) {
        fail(client, "no_such_vhost", "Virtual host '" + vhost + "' does not exist");
        return true;
    }
    std::string arguments;
    std::string error;
    if (!arguments_of(request, arguments, error)) {
        fail(client, "invalid_argument", error);
        return true;
    }
    if (command == "declare_queue") {
        core::QueueDeclareOp op;
        op.info.name = text(request, "queue");
        op.info.durable = flag(request, "durable", true);
        op.info.auto_delete = flag(request, "auto_delete");
        op.info.arguments = std::move(arguments);
        send_meta(client, std::move(op), vhost);
    } else if (command == "declare_exchange") {
        std::string type = text(request, "type");
        std::optional<routing::ExchangeType> parsed = routing::parse_exchange_type(type);
        if (!parsed) {
            // RabbitMQ's words for a type no plugin provides.
            fail(client, "invalid_argument", "invalid type '" + type + "' for exchange");
            return true;
        }
        core::ExchangeDeclareOp op;
        op.info.name = text(request, "exchange");
        op.info.type = *parsed;
        op.info.durable = flag(request, "durable", true);
        op.info.auto_delete = flag(request, "auto_delete");
        op.info.internal = flag(request, "internal");
        op.info.arguments = std::move(arguments);
        send_meta(client, std::move(op), vhost);
    } else if (command == "delete_exchange") {
        send_meta(client,
                  core::ExchangeDeleteOp{text(request, "exchange"), flag(request, "if_unused")},
                  vhost);
    } else {
        bool unbind = command == "unbind";
        std::string source = text(request, "source");
        std::string destination = text(request, "destination");
        std::string key = request.value("routing_key", std::string());
        if (request.value("destination_type", std::string("queue")) == "queue") {
            send_meta(client,
                      core::QueueBindOp{destination, source, key, std::move(arguments), unbind},
                      vhost);
        } else {
            send_meta(client,
                      core::ExchangeBindOp{destination, source, key, std::move(arguments), unbind},
                      vhost);
        }
    }
    return true;
}

}  // namespace lepus::admin
