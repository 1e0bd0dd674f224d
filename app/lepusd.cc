// lepusd: the Lepus broker daemon.
#include <cstdio>
#include <string>

#include "core/base/log.h"
#include "net/server/exit_code.h"
#include "net/server/options.h"
#include "net/server/server.h"

int main(int argc, char** argv) {
    lepus::server::Options options;
    std::string error;
    switch (lepus::server::parse_options(argc, argv, options, error)) {
        case lepus::server::ParseOutcome::exit_ok: return exit_status(lepus::server::ExitCode::ok);
        case lepus::server::ParseOutcome::error:
            std::fprintf(stderr, "lepusd: %s\nTry 'lepusd --help'.\n", error.c_str());
            return exit_status(lepus::server::ExitCode::usage);
        case lepus::server::ParseOutcome::run: break;
    }
    if (std::string log_error = lepus::server::apply_log_options(options); !log_error.empty()) {
        std::fprintf(stderr, "lepusd: %s\n", log_error.c_str());
        return exit_status(lepus::server::ExitCode::start_failed);
    }
    return lepus::server::run_server(options);
}
