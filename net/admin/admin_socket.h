#pragma once
// The administration socket's file and its callers' credentials (README.md says who may
// connect and why).
#include <sys/types.h>

#include <string>

namespace lepus::admin {

// The socket's path inside a data directory.
std::string admin_socket_path(const std::string& data_dir);

// Binds and listens on DATA_DIR/lepusctl.sock with mode 0600, replacing a stale file (the
// caller holds the data directory's lock, so no other lepusd uses it). A descriptor, or -1 with
// `error` saying why.
int open_admin_socket(const std::string& data_dir, std::string& error);

// Whether the peer of an accepted connection may administer the broker: the uid lepusd runs
// as, or root. `who` names the peer for the log either way.
bool peer_may_administer(int fd, std::string& who);

}  // namespace lepus::admin
