#pragma once
// Listening sockets. Every shard listens on each address with SO_REUSEPORT, so the kernel
// spreads new connections over the shards. SO_REUSEPORT would as gladly share the port with
// another process of the same user (a second broker would then get half of the connections),
// so the server binds the first socket of each address itself, without SO_REUSEPORT: that
// bind fails wherever anything else listens, and once it holds, no other broker's first bind
// can succeed. Shard 0 takes these sockets; the other shards join them.
#include <sys/socket.h>

#include <string>
#include <vector>

#include "core/base/types.h"
#include "net/server/options.h"

namespace lepus::server {

// One address to listen on, resolved at start-up from a configured listener (a host name may
// give several).
struct ListenAddress {
    std::string key;  // the setting that asked for it, for messages
    Transport transport = Transport::tcp;
    sockaddr_storage address{};
    socklen_t length = 0;
    std::string text;  // "127.0.0.1:5672", "[::1]:5671"
};

// Resolves every listener's host (IP literals and host names alike, with getaddrinfo) into the
// addresses to listen on, each once; empty on success, else why, naming the setting.
std::string resolve_listeners(const std::vector<ListenerSpec>& listeners,
                              std::vector<ListenAddress>& out);

// A listening socket on `address` that joins the first one (open_first_listener); a negative
// errno and `error` on failure.
int open_shared_listener(const ListenAddress& address, std::string& error);

// The first listening socket on `address`, bound only if no other socket is bound there, then
// open to the other shards' sockets; a negative errno and `error` (the address is in use, or
// cannot be bound at all). A busy address is tried again for about two seconds, the time a
// broker that was just killed takes to let its sockets go.
int open_first_listener(const ListenAddress& address, std::string& error);

}  // namespace lepus::server
