#pragma once
// What a rabbitmqctl command sends to lepusd and prints of the answer: the request object, the
// info line rabbitmqctl prints before it works ("Adding user "x" ..."), and the answer turned
// into stdout, stderr and an exit code. Pure functions, so each command's output is tested
// against rabbitmqctl's from canned answers.
#include <string>

#include "app/ctl/admin_commands.h"
#include "app/ctl/table_format.h"

namespace lepus::ctl {

struct Rendered {
    std::string out;  // for stdout
    std::string err;  // for stderr
    int exit_code = 0;
};

// The request for the socket. Commands that read a file (import_definitions) put its object
// in the request themselves.
Json admin_request(const AdminLine& line);

// The info line(s) printed before the request unless --quiet or --formatter json ("" when the
// command prints none, such as export to stdout or await_startup).
std::string admin_banner(const AdminLine& line);

// The answer printed as rabbitmqctl prints the same result. `node` names the broker in the
// JSON shapes that carry it ("lepus@HOST").
Rendered render_answer(const AdminLine& line, const Json& answer, const std::string& node);

// The exit code rabbitmqctl uses for the command failing with the protocol's `reason`, and
// whether it prints "Error:" on a line before the message.
struct FailureStyle {
    int exit_code;
    bool error_prefix;
};
FailureStyle failure_style(AdminCommand command, const std::string& reason);

}  // namespace lepus::ctl
