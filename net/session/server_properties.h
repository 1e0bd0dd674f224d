#pragma once
// The server-properties table of connection.start: who we are and the capabilities RabbitMQ
// advertises, which clients use to switch features on.
#include <string>

namespace lepus::session {

// Field-table content bytes (no length prefix).
std::string server_properties_table();

}  // namespace lepus::session
