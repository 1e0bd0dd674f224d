#pragma once
// rabbitmq.conf's load_definitions: a definitions file in RabbitMQ's format applied at every
// boot, after recovery and before any connection is accepted. Objects that exist already are
// kept as they are, as RabbitMQ keeps them (users and permissions in the file are set again).
//
// The file is read and checked whole before any shard starts, so a bad file stops start-up
// with its reason and changes nothing. Once the shards run (accepting nothing yet), the main
// thread imports it through the administration socket, exactly as `lepusctl
// import_definitions` does: the metadata authority decides each change, durable and on every
// shard before the answer.
#include <nlohmann/json.hpp>
#include <string>

namespace lepus::server {

// Reads and checks `path`. Empty on success, with the definitions in `out`; else one line
// naming the file and what is wrong with it.
std::string read_boot_definitions(const std::string& path, nlohmann::json& out);

// Sends `definitions` to the broker's administration socket at `socket_path` and waits for the
// answer. Empty on success; else why the import failed.
std::string import_boot_definitions(const std::string& socket_path,
                                    const nlohmann::json& definitions);

}  // namespace lepus::server
