// lepusctl: the operator's command-line tool. It speaks AMQP 0-9-1 to a broker (lepusd or
// RabbitMQ) to inspect it and to declare, delete, bind, publish and fetch. See docs/lepusctl.md.
#include <cstdio>
#include <string>

#include "app/ctl/commands.h"
#include "app/ctl/options.h"
#include "app/ctl/status.h"

int main(int argc, char** argv) {
    lepus::ctl::CommandLine line;
    std::string help;
    std::string error;
    switch (lepus::ctl::parse_command_line(argc, argv, line, help, error)) {
        case lepus::ctl::ParseOutcome::exit_ok: std::fputs(help.c_str(), stdout); return 0;
        case lepus::ctl::ParseOutcome::error:
            std::fprintf(stderr, "lepusctl: %s\nTry 'lepusctl --help'.\n", error.c_str());
            return lepus::ctl::exit_usage;
        case lepus::ctl::ParseOutcome::run: break;
    }
    return lepus::ctl::run_command(line);
}
