#pragma once
// Listening sockets. Every shard listens on the same address with SO_REUSEPORT, so the kernel
// spreads new connections over the shards. SO_REUSEPORT would as gladly share the port with
// another process of the same user (a second broker would then get half of the connections),
// so before the shards listen the server proves that nothing else does.
#include <string>

#include "core/base/types.h"

namespace lepus::server {

// A listening socket on host:port that the other shards' listeners may share; a negative
// errno and `error` on failure.
int open_shared_listener(const std::string& host, u16 port, std::string& error);

// Empty when nothing listens on host:port; otherwise why the broker cannot listen there (the
// address is in use, or cannot be bound at all).
std::string check_listen_address_free(const std::string& host, u16 port);

}  // namespace lepus::server
