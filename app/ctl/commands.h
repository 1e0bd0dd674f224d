#pragma once
// The lepusctl commands: each one connects, does its few AMQP methods, closes in order and
// prints its result on stdout. Failures are printed on stderr as "lepusctl: MESSAGE".
#include "app/ctl/options.h"

namespace lepus::ctl {

// Runs the parsed command and returns the process exit code (see status.h).
int run_command(const CommandLine& line);

}  // namespace lepus::ctl
