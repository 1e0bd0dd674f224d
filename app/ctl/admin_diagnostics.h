#pragma once
// rabbitmq-diagnostics' health checks and node facts, as lepusctl commands: ping,
// check_running, check_local_alarms, alarms, listeners, check_port_connectivity and
// environment. Each asks lepusd one question (ping, or the node's status) and prints the answer
// as rabbitmq-diagnostics 3.10 prints its own, text or --formatter json, with its exit codes:
// a failed check exits 69 (EX_UNAVAILABLE), as a node that is down does.
#include <functional>
#include <string>

#include "app/ctl/admin_commands.h"
#include "app/ctl/admin_output.h"
#include "app/ctl/table_format.h"

namespace lepus::ctl {

bool is_diagnostic(AdminCommand command);

// The request: ping for ping and check_running, status for the others.
Json diagnostic_request(const AdminLine& line);

// What rabbitmq-diagnostics prints before it asks ("" with --quiet or --formatter json).
std::string diagnostic_banner(const AdminLine& line, const std::string& node);

// Whether something accepts TCP connections at host:port (check_port_connectivity); a seam
// for the tests.
using PortProbe = std::function<bool(const std::string& host, u16 port)>;
bool tcp_port_accepts(const std::string& host, u16 port);

// The successful answer printed as rabbitmq-diagnostics prints the same facts.
Rendered render_diagnostic(const AdminLine& line, const Json& answer, const std::string& node,
                           const PortProbe& probe);

}  // namespace lepus::ctl
