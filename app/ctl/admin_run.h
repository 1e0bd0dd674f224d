#pragma once
// Runs one rabbitmqctl command against lepusd: connects to DATA_DIR/lepusctl.sock, prints the
// info line, exchanges the request for the answer, prints it, and returns rabbitmqctl's exit
// code. The only part of the admin commands that does I/O.
#include <string>

#include "app/ctl/admin_commands.h"

namespace lepus::ctl {

// argv is for the usage errors found while running (a definitions file that is missing).
int run_admin_command(const AdminLine& line, int argc, const char* const* argv);

// The broker's node name as its pids show it, lepus@HOST (the short host name).
std::string local_node_name();

}  // namespace lepus::ctl
