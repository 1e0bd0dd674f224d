#pragma once
// The whole broker process: one Shard per configured core, each on its own pinned thread, and
// the main thread waiting for SIGTERM/SIGINT to stop them. Shutdown closes every connection
// with 320 CONNECTION_FORCED, lets the closes go out, and returns.
#include <memory>
#include <string>
#include <vector>

#include "net/server/options.h"

namespace lepus::server {

// Runs until a stop signal. Returns the process exit code (an ExitCode).
int run_server(const Options& options);

}  // namespace lepus::server
