#pragma once
// lepusctl's rabbitmqctl commands: their table (names, arity, options, info keys and default
// columns as in rabbitmqctl 3.10) and the rules that turn argv into an AdminLine. Parsing is a
// pure function of argv and the environment's data directory, so every rule is testable.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/types.h"

namespace lepus::ctl {

// rabbitmqctl's exit codes (BSD sysexits), which scripts written for it test.
inline constexpr int exit_usage_admin = 64;     // EX_USAGE: arguments rejected
inline constexpr int exit_data_error = 65;      // EX_DATAERR: a vhost missing, bad input
inline constexpr int exit_no_user = 67;         // EX_NOUSER: the user does not exist
inline constexpr int exit_unavailable = 69;     // EX_UNAVAILABLE: the broker is not running
inline constexpr int exit_software = 70;        // EX_SOFTWARE: the broker failed the request
inline constexpr int exit_temporary_fail = 75;  // EX_TEMPFAIL: the timeout passed

// rabbitmqctl's default timeouts: listing queues waits a minute; await_startup five minutes.
// Every other command waits as long as list_queues does, so no command can hang a script.
inline constexpr u32 admin_timeout_default_s = 60;
inline constexpr u32 await_startup_timeout_default_s = 300;
inline constexpr u32 admin_timeout_max_s = 86'400;  // a day: longer is a typo, not a plan
inline constexpr std::string_view data_dir_default = "./lepus-data";
inline constexpr std::string_view data_dir_environment = "LEPUS_DATA_DIR";

enum class AdminCommand : u8 {
    add_user,
    delete_user,
    change_password,
    clear_password,
    authenticate_user,
    set_user_tags,
    list_users,
    add_vhost,
    delete_vhost,
    list_vhosts,
    set_permissions,
    clear_permissions,
    list_permissions,
    list_user_permissions,
    set_topic_permissions,
    clear_topic_permissions,
    list_topic_permissions,
    list_user_topic_permissions,
    set_vhost_limits,
    clear_vhost_limits,
    list_vhost_limits,
    set_user_limits,
    clear_user_limits,
    list_user_limits,
    list_queues,
    list_exchanges,
    list_bindings,
    list_connections,
    list_channels,
    list_consumers,
    close_connection,
    close_all_connections,
    purge_queue,
    delete_queue,
    export_definitions,
    import_definitions,
    status,
    await_startup,
    set_policy,
    clear_policy,
    list_policies,
    set_operator_policy,
    clear_operator_policy,
    list_operator_policies,
    // rabbitmq-diagnostics' (admin_diagnostics.h).
    ping,
    check_running,
    check_local_alarms,
    alarms,
    listeners,
    check_port_connectivity,
    environment,
};

// Options beyond the ones every command takes (-q, -t, --formatter, --no-table-headers,
// -p/--vhost, --data-dir, -n), as bits.
enum AdminOptionBit : u32 {
    admin_if_empty = 1u << 0,
    admin_if_unused = 1u << 1,
    admin_global = 1u << 2,
    admin_user = 1u << 3,
    admin_limit = 1u << 4,
    admin_format = 1u << 5,
    admin_per_connection_delay = 1u << 6,
    admin_policy = 1u << 7,  // --priority, --apply-to
};

struct AdminCommandSpec {
    std::string_view name;
    AdminCommand command;
    usize positionals_min;
    usize positionals_max;  // for listings with info keys: the fixed ones before the columns
    u32 options;
    std::string_view usage;                       // rabbitmqctl's usage after the command name
    std::span<const std::string_view> info_keys;  // empty: no column arguments
    std::span<const std::string_view> default_columns;  // what prints without column arguments
};

const AdminCommandSpec* find_admin_command(std::string_view name);
std::span<const AdminCommandSpec> admin_commands();

enum class Formatter : u8 { table, json };

struct AdminLine {
    const AdminCommandSpec* spec = nullptr;
    std::vector<std::string> positionals;
    std::vector<std::string> columns;  // the info keys to print, in order
    std::string vhost = "/";
    bool quiet = false;
    bool table_headers = true;
    Formatter formatter = Formatter::table;
    u32 timeout_s = admin_timeout_default_s;
    bool timeout_given = false;
    std::string data_dir;
    bool if_empty = false;
    bool if_unused = false;
    bool global = false;
    std::optional<std::string> user;  // list_user_limits --user
    u64 limit = 0;                    // close_all_connections --limit; 0: no limit
    i64 priority = 0;                 // set_policy --priority
    std::string apply_to = "all";     // set_policy --apply-to, as given (lepusd checks it)
};

enum class AdminParse : u8 { run, usage_error, unknown_command };

// Parses argv as rabbitmqctl would. `usage_error`: `error` holds rabbitmqctl's message, such
// as "not enough arguments." (print it with admin_usage_error_text). `unknown_command`: the
// command word is not one of the table's. `data_dir_from_environment` is LEPUS_DATA_DIR's
// value, or null.
AdminParse parse_admin_command_line(int argc, const char* const* argv,
                                    const char* data_dir_from_environment, AdminLine& out,
                                    std::string& error);

// rabbitmqctl's usage error: the message, the arguments given and the command's usage.
std::string admin_usage_error_text(const AdminCommandSpec* spec, std::string_view message, int argc,
                                   const char* const* argv);

// "Command 'NAME' not found." and the list of commands, for an unknown command.
std::string admin_unknown_command_text(std::string_view name);

// The lines `lepusctl --help` adds for the rabbitmqctl commands.
std::string admin_help();

// The command word of argv (the first operand that is not an option's value), or empty.
std::string_view command_word(int argc, const char* const* argv);

// True when argv holds an option that only the AMQP commands take (--host, --user,
// --password) or --vhost in its AMQP sense: `status` is then the AMQP status.
bool has_amqp_connection_options(int argc, const char* const* argv);

}  // namespace lepus::ctl
