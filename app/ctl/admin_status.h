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

// One of the answer's listeners as rabbitmqctl prints it: "Interface: 127.0.0.1, port: 5672,
// protocol: amqp, purpose: AMQP 0-9-1", and as its JSON formatter gives it.
std::string listener_line(const Json& listener);
Json listener_json(const Json& listener, const std::string& node);

// "Memory alarm on node lepus@HOST" for the answer's alarm "memory" ("disk" likewise).
std::string alarm_line(const std::string& alarm, const std::string& node);

}  // namespace lepus::ctl
