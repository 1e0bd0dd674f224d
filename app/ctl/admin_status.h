#pragma once
// `lepusctl status` through the administration socket: rabbitmqctl 3.10's status layout (bold
// section titles, "Key: value" lines) filled with the fields lepusd's `status` answer gives,
// and a JSON object in the shape of `rabbitmqctl status --formatter json`.
#include <string>

#include "app/ctl/admin_commands.h"
#include "app/ctl/table_format.h"

namespace lepus::ctl {

// The status report for a successful answer (without the "Status of node ..." line, which
// the caller prints unless --quiet).
std::string format_status(const Json& answer, Formatter formatter);

}  // namespace lepus::ctl
