// lepusctl: the operator's command-line tool. Its AMQP commands speak AMQP 0-9-1 to a broker
// (lepusd or RabbitMQ) to inspect it and to declare, delete, bind, publish and fetch; its
// rabbitmqctl commands (add_user, list_queues, status, ...) speak JSON to lepusd's
// administration socket in the data directory. See docs/lepusctl.md.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "app/ctl/admin_commands.h"
#include "app/ctl/admin_run.h"
#include "app/ctl/commands.h"
#include "app/ctl/options.h"
#include "app/ctl/status.h"

namespace {

bool asks_for_help(int argc, const char* const* argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--") return false;
        if (arg == "--help" || arg == "-h") return true;
    }
    return false;
}

int run_amqp_command(int argc, char** argv) {
    lepus::ctl::CommandLine line;
    std::string help;
    std::string error;
    switch (lepus::ctl::parse_command_line(argc, argv, line, help, error)) {
        case lepus::ctl::ParseOutcome::exit_ok:
            if (lepus::ctl::command_word(argc, argv).empty()) help += lepus::ctl::admin_help();
            std::fputs(help.c_str(), stdout);
            return 0;
        case lepus::ctl::ParseOutcome::error:
            std::fprintf(stderr, "lepusctl: %s\nTry 'lepusctl --help'.\n", error.c_str());
            return lepus::ctl::exit_usage;
        case lepus::ctl::ParseOutcome::run: break;
    }
    return lepus::ctl::run_command(line);
}

int run_admin(const lepus::ctl::AdminCommandSpec& spec, int argc, char** argv) {
    if (asks_for_help(argc, argv)) {
        std::printf("Usage: lepusctl [--data-dir <dir>] [--quiet] %s %s\n",
                    std::string(spec.name).c_str(), std::string(spec.usage).c_str());
        return 0;
    }
    lepus::ctl::AdminLine line;
    std::string error;
    const char* data_dir = std::getenv(std::string(lepus::ctl::data_dir_environment).c_str());
    if (lepus::ctl::parse_admin_command_line(argc, argv, data_dir, line, error) !=
        lepus::ctl::AdminParse::run) {
        std::fputs(lepus::ctl::admin_usage_error_text(&spec, error, argc, argv).c_str(), stderr);
        return lepus::ctl::exit_usage_admin;
    }
    return lepus::ctl::run_admin_command(line, argc, argv);
}

}  // namespace

// Which family a command line belongs to: a rabbitmqctl command name runs through the
// administration socket, except `status` with AMQP connection options, which is the AMQP
// status; AMQP command names, help, no command at all, and any line with AMQP connection
// options go to the AMQP parser; anything else is rabbitmqctl's "command not found" (exit 64).
int main(int argc, char** argv) {
    std::string_view word = lepus::ctl::command_word(argc, argv);
    bool amqp_options = lepus::ctl::has_amqp_connection_options(argc, argv);
    const lepus::ctl::AdminCommandSpec* admin = lepus::ctl::find_admin_command(word);
    bool amqp_status =
        admin != nullptr && admin->command == lepus::ctl::AdminCommand::status && amqp_options;
    if (admin != nullptr && !amqp_status) return run_admin(*admin, argc, argv);
    if (word.empty() || amqp_options || asks_for_help(argc, argv) ||
        lepus::ctl::is_amqp_command(word) || amqp_status) {
        return run_amqp_command(argc, argv);
    }
    std::fputs(lepus::ctl::admin_unknown_command_text(word).c_str(), stderr);
    return lepus::ctl::exit_usage_admin;
}
