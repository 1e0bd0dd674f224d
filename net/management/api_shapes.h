#pragma once
// The management API's JSON objects, made from the administration endpoint's rows (which
// carry rabbitmqctl's item names): what RabbitMQ's management plugin adds (node, *_details,
// the connection and channel of a consumer) and what it leaves out (pids).
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

namespace lepus::management {

nlohmann::json queue_object(nlohmann::json row);
nlohmann::json exchange_object(nlohmann::json row);
nlohmann::json binding_object(const nlohmann::json& row);
nlohmann::json connection_object(nlohmann::json row);
nlohmann::json channel_object(nlohmann::json row);
// `channels`: list_channels rows by pid, for the consumer's channel_details.
nlohmann::json consumer_object(const nlohmann::json& row,
                               const std::unordered_map<std::string, nlohmann::json>& channels);
// "PEER:PORT -> HOST:PORT" -> the peer's host and port.
void peer_of(const std::string& connection_name, std::string& host, int& port);

}  // namespace lepus::management
