#pragma once
// `rabbitmqctl environment` for lepusd: its settings in the shape of RabbitMQ's application
// environment. Settings RabbitMQ also has sit under "rabbit" with its key names and units
// (heartbeat in seconds, handshake_timeout in ms, disk_free_limit in bytes); Lepus's own
// (shards, journal, paging) under "lepus". Secrets (passwords, key pass phrases) are left out.
#include <nlohmann/json.hpp>

#include "net/server/options.h"

namespace lepus::server {

nlohmann::json node_environment(const Options& options, const std::string& data_dir);

}  // namespace lepus::server
