// export_definitions and import_definitions (core/definitions_json.h has the format): an
// export reads shard 0's catalog; an import is checked whole first, then sent as MetaRequests
// in RabbitMQ's order, which the metadata authority applies one after another.
#include <set>
#include <string>
#include <utility>

#include "core/base/log.h"
#include "core/definitions_json.h"
#include "net/admin/endpoint.h"
#include "net/admin/endpoint_client.h"

namespace lepus::admin {

void Endpoint::export_definitions(Client& client) {
    client.answer["definitions"] = core::export_definitions(catalog_, version_);
    finish_if_done(client);
}

void Endpoint::import_definitions(Client& client, const nlohmann::json& request) {
    if (!request.contains("definitions")) {
        fail(client, "invalid_argument", "the request carries no definitions");
        return;
    }
    core::ImportResult result = core::import_definitions(request.at("definitions"));
    if (!result.error.empty()) {
        fail(client, "invalid_argument", result.error);
        return;
    }
    for (const std::string& line : result.skipped) {
        LEPUS_LOG(warning, "definitions import: %s", line.c_str());
    }
    LEPUS_LOG(info, "importing %zu definitions", result.ops.size());
    client.answer["skipped"] = result.skipped;
    // A binding whose ends are neither there nor in the file is left out, as RabbitMQ loses it
    // (rabbitmqctl 3.10 exports bindings to internal exchanges it does not export).
    std::set<std::pair<std::string, std::string>> exchanges;
    std::set<std::pair<std::string, std::string>> queues;
    for (const core::DefinitionOp& op : result.ops) {
        if (const auto* e = std::get_if<core::ExchangeDeclareOp>(&op.op)) {
            exchanges.emplace(op.vhost, e->info.name);
        } else if (const auto* q = std::get_if<core::QueueDeclareOp>(&op.op)) {
            queues.emplace(op.vhost, q->info.name);
        }
    }
    auto exchange_known = [&](const std::string& vhost, const std::string& name) {
        return name.empty() || exchanges.count({vhost, name}) > 0 ||
               catalog_.find_exchange(vhost, name) != nullptr;
    };
    auto queue_known = [&](const std::string& vhost, const std::string& name) {
        return queues.count({vhost, name}) > 0 || catalog_.find_queue(vhost, name) != nullptr;
    };
    auto unbound = [&](const std::string& vhost, const std::string& source,
                       const std::string& destination, const char* kind) {
        std::string line = "binding from exchange '" + source + "' to " + kind + " '" +
                           destination + "' in vhost '" + vhost +
                           "': one of its ends does not exist";
        LEPUS_LOG(warning, "definitions import: %s", line.c_str());
        client.answer["skipped"].push_back(line);
    };
    usize kept = 0;
    for (core::DefinitionOp& op : result.ops) {
        if (const auto* bind = std::get_if<core::QueueBindOp>(&op.op)) {
            if (!exchange_known(op.vhost, bind->exchange) || !queue_known(op.vhost, bind->queue)) {
                unbound(op.vhost, bind->exchange, bind->queue, "queue");
                continue;
            }
        } else if (const auto* e2e = std::get_if<core::ExchangeBindOp>(&op.op)) {
            if (!exchange_known(op.vhost, e2e->source) ||
                !exchange_known(op.vhost, e2e->destination)) {
                unbound(op.vhost, e2e->source, e2e->destination, "exchange");
                continue;
            }
        }
        // RabbitMQ leaves an exchange or queue that exists as it is, whatever the file says.
        if (const auto* exchange = std::get_if<core::ExchangeDeclareOp>(&op.op)) {
            if (catalog_.find_exchange(op.vhost, exchange->info.name) != nullptr) {
                kept++;
                continue;
            }
        } else if (const auto* queue = std::get_if<core::QueueDeclareOp>(&op.op)) {
            if (catalog_.find_queue(op.vhost, queue->info.name) != nullptr) {
                kept++;
                continue;
            }
        }
        send_meta(client, std::move(op.op), op.vhost);
    }
    if (kept > 0) {
        LEPUS_LOG(info, "definitions import: %zu exchanges and queues exist already and are kept",
                  kept);
    }
}

}  // namespace lepus::admin
