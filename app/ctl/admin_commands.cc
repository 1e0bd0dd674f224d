#include "app/ctl/admin_commands.h"

#include <array>
#include <cstdlib>

namespace lepus::ctl {

namespace {

using Keys = std::array<std::string_view, 0>;
constexpr Keys no_keys{};

// Info keys: what rabbitmqctl 3.10 accepts as columns, limited to the items lepusd's rows carry.
constexpr std::array<std::string_view, 5> vhost_keys = {"name", "description", "tags", "tracing",
                                                        "cluster_state"};
constexpr std::array<std::string_view, 1> vhost_columns = {"name"};
constexpr std::array<std::string_view, 37> queue_keys = {
    "name",
    "vhost",
    "durable",
    "auto_delete",
    "exclusive",
    "arguments",
    "policy",
    "pid",
    "owner_pid",
    "exclusive_consumer_pid",
    "exclusive_consumer_tag",
    "messages_ready",
    "messages_unacknowledged",
    "messages",
    "message_bytes",
    "message_bytes_ready",
    "message_bytes_unacknowledged",
    "consumers",
    "consumer_utilisation",
    "memory",
    "state",
    "type",
    // Filled for classic queues from what the queue knows (net/admin/rows.cc).
    "consumer_capacity",
    "disk_reads",
    "disk_writes",
    "head_message_timestamp",
    "leader",
    "members",
    "message_bytes_persistent",
    "message_bytes_ram",
    "messages_persistent",
    "messages_ram",
    "messages_ready_ram",
    "messages_unacknowledged_ram",
    "online",
    "slave_pids",
    "synchronised_slave_pids",
};
constexpr std::array<std::string_view, 2> queue_columns = {"name", "messages"};
constexpr std::array<std::string_view, 8> exchange_keys = {
    "name", "vhost", "type", "durable", "auto_delete", "internal", "arguments", "policy"};
constexpr std::array<std::string_view, 2> exchange_columns = {"name", "type"};
constexpr std::array<std::string_view, 6> binding_keys = {"source_name",      "source_kind",
                                                          "destination_name", "destination_kind",
                                                          "routing_key",      "arguments"};
constexpr std::array<std::string_view, 24> connection_keys = {
    "pid",
    "name",
    "port",
    "host",
    "peer_port",
    "peer_host",
    "ssl",
    "ssl_protocol",
    "ssl_cipher",
    "peer_cert_subject",
    "peer_cert_issuer",
    "user",
    "vhost",
    "channels",
    "state",
    "protocol",
    "auth_mechanism",
    "timeout",
    "frame_max",
    "channel_max",
    "client_properties",
    "connected_at",
    "recv_oct",
    "send_oct",
};
constexpr std::array<std::string_view, 4> connection_columns = {"user", "peer_host", "peer_port",
                                                                "state"};
constexpr std::array<std::string_view, 15> channel_keys = {
    "pid",
    "connection",
    "name",
    "number",
    "user",
    "vhost",
    "transactional",
    "confirm",
    "consumer_count",
    "messages_unacknowledged",
    "messages_uncommitted",
    "acks_uncommitted",
    "messages_unconfirmed",
    "prefetch_count",
    "global_prefetch_count",
};
constexpr std::array<std::string_view, 4> channel_columns = {"pid", "user", "consumer_count",
                                                             "messages_unacknowledged"};
constexpr std::array<std::string_view, 8> consumer_keys = {
    "queue_name",     "channel_pid", "consumer_tag",    "ack_required",
    "prefetch_count", "active",      "activity_status", "arguments"};
constexpr std::array<std::string_view, 7> consumer_columns = {
    "queue_name",     "channel_pid", "consumer_tag", "ack_required",
    "prefetch_count", "active",      "arguments"};

using C = AdminCommand;
constexpr std::string_view set_policy_usage =
    "[--vhost <vhost>] [--priority <priority>] [--apply-to <apply-to>] <name> <pattern> "
    "<definition>";
constexpr std::string_view list_policies_usage =
    "[--vhost <vhost>] [--no-table-headers] [--timeout <timeout>]";
constexpr std::array<AdminCommandSpec, 51> specs = {{
    {"add_user", C::add_user, 2, 2, 0, "<username> <password>", no_keys, no_keys},
    {"delete_user", C::delete_user, 1, 1, 0, "<username>", no_keys, no_keys},
    {"change_password", C::change_password, 2, 2, 0, "<username> <password>", no_keys, no_keys},
    {"clear_password", C::clear_password, 1, 1, 0, "<username>", no_keys, no_keys},
    {"authenticate_user", C::authenticate_user, 2, 2, 0, "<username> <password>", no_keys, no_keys},
    {"set_user_tags", C::set_user_tags, 1, 1000, 0, "<username> <tag> [...]", no_keys, no_keys},
    {"list_users", C::list_users, 0, 0, 0, "[--no-table-headers] [--timeout <timeout>]", no_keys,
     no_keys},
    {"add_vhost", C::add_vhost, 1, 1, 0, "<vhost>", no_keys, no_keys},
    {"delete_vhost", C::delete_vhost, 1, 1, 0, "<vhost>", no_keys, no_keys},
    {"list_vhosts", C::list_vhosts, 0, 0, 0,
     "[--no-table-headers] [<column> ...] [--timeout <timeout>]", vhost_keys, vhost_columns},
    {"set_permissions", C::set_permissions, 4, 4, 0,
     "[--vhost <vhost>] <username> <conf> <write> <read>", no_keys, no_keys},
    {"clear_permissions", C::clear_permissions, 1, 1, 0, "[--vhost <vhost>] <username>", no_keys,
     no_keys},
    {"list_permissions", C::list_permissions, 0, 0, 0,
     "[--no-table-headers] [-p <vhost>] [--timeout <timeout>]", no_keys, no_keys},
    {"list_user_permissions", C::list_user_permissions, 1, 1, 0,
     "[--no-table-headers] <username> [--timeout <timeout>]", no_keys, no_keys},
    {"set_topic_permissions", C::set_topic_permissions, 4, 4, 0,
     "[--vhost <vhost>] <username> <exchange> <write> <read>", no_keys, no_keys},
    {"clear_topic_permissions", C::clear_topic_permissions, 1, 2, 0,
     "[--vhost <vhost>] <username> [<exchange>]", no_keys, no_keys},
    {"list_topic_permissions", C::list_topic_permissions, 0, 0, 0,
     "[--no-table-headers] [-p <vhost>] [--timeout <timeout>]", no_keys, no_keys},
    {"list_user_topic_permissions", C::list_user_topic_permissions, 1, 1, 0,
     "[--no-table-headers] <username> [--timeout <timeout>]", no_keys, no_keys},
    {"set_vhost_limits", C::set_vhost_limits, 1, 1, 0, "[--vhost <vhost>] <definition>", no_keys,
     no_keys},
    {"clear_vhost_limits", C::clear_vhost_limits, 0, 0, 0, "[--vhost <vhost>]", no_keys, no_keys},
    {"list_vhost_limits", C::list_vhost_limits, 0, 0, admin_global,
     "[--vhost <vhost>] [--global] [--no-table-headers]", no_keys, no_keys},
    {"set_user_limits", C::set_user_limits, 2, 2, 0, "<username> <definition>", no_keys, no_keys},
    {"clear_user_limits", C::clear_user_limits, 2, 2, 0, "<username> <limit> | all", no_keys,
     no_keys},
    {"list_user_limits", C::list_user_limits, 0, 0, admin_global | admin_user,
     "[--user <username>] [--global]", no_keys, no_keys},
    {"list_queues", C::list_queues, 0, 0, 0,
     "[--vhost <vhost>] [<column> ...] [--timeout <timeout>] [--no-table-headers]", queue_keys,
     queue_columns},
    {"list_exchanges", C::list_exchanges, 0, 0, 0,
     "[--vhost <vhost>] [--no-table-headers] [<column> ...]", exchange_keys, exchange_columns},
    {"list_bindings", C::list_bindings, 0, 0, 0,
     "[--vhost <vhost>] [--no-table-headers] [<column> ...]", binding_keys, binding_keys},
    {"list_connections", C::list_connections, 0, 0, 0,
     "[--no-table-headers] [<column> ...] [--timeout <timeout>]", connection_keys,
     connection_columns},
    {"list_channels", C::list_channels, 0, 0, 0,
     "[--no-table-headers] [<column> ...] [--timeout <timeout>]", channel_keys, channel_columns},
    {"list_consumers", C::list_consumers, 0, 0, 0,
     "[--vhost <vhost>] [--no-table-headers] [<column> ...] [--timeout <timeout>]", consumer_keys,
     consumer_columns},
    {"close_connection", C::close_connection, 2, 2, 0, "<connection name> <explanation>", no_keys,
     no_keys},
    {"close_all_connections", C::close_all_connections, 1, 1,
     admin_global | admin_limit | admin_per_connection_delay,
     "[--vhost <vhost> --limit <limit>] [--global] [--per-connection-delay <delay>] "
     "<explanation>",
     no_keys, no_keys},
    {"purge_queue", C::purge_queue, 1, 1, 0, "[--vhost <vhost>] <queue>", no_keys, no_keys},
    {"delete_queue", C::delete_queue, 1, 1, admin_if_empty | admin_if_unused,
     "queue_name [--if-empty|-e] [--if-unused|-u]", no_keys, no_keys},
    {"export_definitions", C::export_definitions, 1, 1, admin_format,
     "<file_path | \"-\"> [--format <json>] [--timeout <timeout>]", no_keys, no_keys},
    {"import_definitions", C::import_definitions, 0, 1, admin_format,
     "<file_path | \"-\"> [--format <json>] [--timeout <timeout>]", no_keys, no_keys},
    {"status", C::status, 0, 0, 0, "[--unit <unit>]", no_keys, no_keys},
    {"await_startup", C::await_startup, 0, 0, 0, "[--timeout <timeout>]", no_keys, no_keys},
    {"set_policy", C::set_policy, 3, 3, admin_policy, set_policy_usage, no_keys, no_keys},
    {"clear_policy", C::clear_policy, 1, 1, 0, "[--vhost <vhost>] <name>", no_keys, no_keys},
    {"list_policies", C::list_policies, 0, 0, 0, list_policies_usage, no_keys, no_keys},
    {"set_operator_policy", C::set_operator_policy, 3, 3, admin_policy, set_policy_usage, no_keys,
     no_keys},
    {"clear_operator_policy", C::clear_operator_policy, 1, 1, 0, "[--vhost <vhost>] <name>",
     no_keys, no_keys},
    {"list_operator_policies", C::list_operator_policies, 0, 0, 0, list_policies_usage, no_keys,
     no_keys},
    {"ping", C::ping, 0, 0, 0, "[--timeout <timeout>]", no_keys, no_keys},
    {"check_running", C::check_running, 0, 0, 0, "", no_keys, no_keys},
    {"check_local_alarms", C::check_local_alarms, 0, 0, 0, "", no_keys, no_keys},
    {"alarms", C::alarms, 0, 0, 0, "", no_keys, no_keys},
    {"listeners", C::listeners, 0, 0, 0, "", no_keys, no_keys},
    {"check_port_connectivity", C::check_port_connectivity, 0, 0, 0, "", no_keys, no_keys},
    {"environment", C::environment, 0, 0, 0, "", no_keys, no_keys},
}};

// Options that take a value, in either family of commands: what command_word must skip.
constexpr std::array<std::string_view, 19> options_with_values = {
    "--host",
    "--user",
    "--password",
    "--vhost",
    "--timeout",
    "--arg",
    "--header",
    "--count",
    "-p",
    "-t",
    "--formatter",
    "--data-dir",
    "-n",
    "--node",
    "--limit",
    "--format",
    "--per-connection-delay",
    "--priority",
    "--apply-to",
};

bool takes_value(std::string_view option) {
    for (std::string_view name : options_with_values) {
        if (name == option) return true;
    }
    return false;
}

// Seconds as rabbitmqctl takes them: a whole number, more than 0.
bool parse_seconds(std::string_view text, u32& out) {
    u64 number = 0;
    bool valid = !text.empty() && text.size() <= 9;
    for (char c : text) {
        valid = valid && c >= '0' && c <= '9';
        if (valid) number = number * 10 + static_cast<u64>(c - '0');
    }
    if (!valid || number == 0 || number > admin_timeout_max_s) return false;
    out = static_cast<u32>(number);
    return true;
}

bool parse_count(std::string_view text, u64& out) {
    u64 number = 0;
    bool valid = !text.empty() && text.size() <= 12;
    for (char c : text) {
        valid = valid && c >= '0' && c <= '9';
        if (valid) number = number * 10 + static_cast<u64>(c - '0');
    }
    out = number;
    return valid;
}

// --priority: an integer, as rabbitmqctl's integer switch takes it.
bool parse_priority(std::string_view text, i64& out) {
    bool negative = false;
    if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
        negative = text[0] == '-';
        text.remove_prefix(1);
    }
    u64 magnitude = 0;
    if (!parse_count(text, magnitude)) return false;
    out = negative ? -static_cast<i64>(magnitude) : static_cast<i64>(magnitude);
    return true;
}

struct Option {
    std::string name;  // as typed, without any "=value"
    std::optional<std::string> value;
};

// One option's effect on `out`; false with rabbitmqctl's message when it does not apply.
bool apply_option(const Option& option, const AdminCommandSpec& spec, AdminLine& out,
                  std::string& error) {
    const std::string& name = option.name;
    std::string value = option.value.value_or("");
    auto allowed = [&spec](u32 bit) { return (spec.options & bit) != 0; };
    bool ok = true;
    if (name == "-q" || name == "--quiet") {
        out.quiet = true;
    } else if (name == "--no-table-headers") {
        out.table_headers = false;
    } else if (name == "-p" || name == "--vhost") {
        out.vhost = value;
    } else if (name == "-t" || name == "--timeout") {
        ok = parse_seconds(value, out.timeout_s);
        out.timeout_given = true;
    } else if (name == "--formatter") {
        ok = value == "json" || value == "table";
        out.formatter = value == "json" ? Formatter::json : Formatter::table;
    } else if (name == "--data-dir") {
        out.data_dir = value;
    } else if (name == "-n" || name == "--node") {
        // One lepusd per data directory: --data-dir picks the broker, the node name is kept
        // for scripts written for rabbitmqctl and otherwise ignored.
    } else if ((name == "-e" || name == "--if-empty") && allowed(admin_if_empty)) {
        out.if_empty = true;
    } else if ((name == "-u" || name == "--if-unused") && allowed(admin_if_unused)) {
        out.if_unused = true;
    } else if (name == "--global" && allowed(admin_global)) {
        out.global = true;
    } else if (name == "--user" && allowed(admin_user)) {
        out.user = value;
    } else if (name == "--limit" && allowed(admin_limit)) {
        ok = parse_count(value, out.limit);
    } else if (name == "--per-connection-delay" && allowed(admin_per_connection_delay)) {
        u64 ignored = 0;  // lepusd closes connections at once; the delay paces RabbitMQ's
        ok = parse_count(value, ignored);
    } else if (name == "--priority" && allowed(admin_policy)) {
        ok = parse_priority(value, out.priority);
    } else if (name == "--apply-to" && allowed(admin_policy)) {
        out.apply_to = value;
    } else if (name == "--format" && allowed(admin_format)) {
        ok = value == "json";
    } else {
        ok = false;
    }
    if (!ok) {
        error = "Invalid options for this command:\n" + name + " : " + option.value.value_or("");
    }
    return ok;
}

// Splits argv into options and operands; the first operand is the command.
bool scan(int argc, const char* const* argv, std::vector<Option>& options,
          std::vector<std::string>& operands, std::string& error) {
    bool options_ended = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (!options_ended && arg == "--") {
            options_ended = true;
            continue;
        }
        if (options_ended || arg.size() < 2 || arg[0] != '-') {
            operands.emplace_back(arg);
            continue;
        }
        Option option;
        usize equals = arg.find('=');
        if (arg.substr(0, 2) == "--" && equals != std::string_view::npos) {
            option.name = std::string(arg.substr(0, equals));
            option.value = std::string(arg.substr(equals + 1));
        } else {
            option.name = std::string(arg);
            if (takes_value(arg)) {
                if (i + 1 >= argc) {
                    error = "Invalid options for this command:\n" + option.name + " : ";
                    return false;
                }
                option.value = argv[++i];
            }
        }
        options.push_back(std::move(option));
    }
    return true;
}

bool known_key(const AdminCommandSpec& spec, std::string_view key) {
    for (std::string_view name : spec.info_keys) {
        if (name == key) return true;
    }
    return false;
}

}  // namespace

std::span<const AdminCommandSpec> admin_commands() { return specs; }

const AdminCommandSpec* find_admin_command(std::string_view name) {
    for (const AdminCommandSpec& spec : specs) {
        if (spec.name == name) return &spec;
    }
    return nullptr;
}

AdminParse parse_admin_command_line(int argc, const char* const* argv,
                                    const char* data_dir_from_environment, AdminLine& out,
                                    std::string& error) {
    std::vector<Option> options;
    std::vector<std::string> operands;
    bool scanned = scan(argc, argv, options, operands, error);
    if (operands.empty()) {
        error = "";
        return AdminParse::unknown_command;
    }
    out.spec = find_admin_command(operands.front());
    if (out.spec == nullptr) return AdminParse::unknown_command;
    if (!scanned) return AdminParse::usage_error;
    const AdminCommandSpec& spec = *out.spec;
    out.data_dir = data_dir_from_environment != nullptr && *data_dir_from_environment != '\0'
                       ? data_dir_from_environment
                       : std::string(data_dir_default);
    if (spec.command == AdminCommand::await_startup)
        out.timeout_s = await_startup_timeout_default_s;
    for (const Option& option : options) {
        if (!apply_option(option, spec, out, error)) return AdminParse::usage_error;
    }
    operands.erase(operands.begin());
    usize fixed = std::min(operands.size(), spec.positionals_max);
    out.positionals.assign(operands.begin(), operands.begin() + static_cast<long>(fixed));
    std::vector<std::string> rest(operands.begin() + static_cast<long>(fixed), operands.end());
    if (out.positionals.size() < spec.positionals_min) {
        error = "not enough arguments.";
        return AdminParse::usage_error;
    }
    if (!rest.empty() && spec.info_keys.empty()) {
        error = "too many arguments.";
        return AdminParse::usage_error;
    }
    std::string unknown;
    for (const std::string& key : rest) {
        if (known_key(spec, key)) continue;
        unknown += (unknown.empty() ? "" : ",") + key;
    }
    if (!unknown.empty()) {
        error = "Info key(s) " + unknown + " are not supported";
        return AdminParse::usage_error;
    }
    out.columns = rest;
    if (out.columns.empty()) {
        out.columns.assign(spec.default_columns.begin(), spec.default_columns.end());
    }
    return AdminParse::run;
}

std::string admin_usage_error_text(const AdminCommandSpec* spec, std::string_view message, int argc,
                                   const char* const* argv) {
    std::string given;
    for (int i = 1; i < argc; ++i) given += (i > 1 ? " " : "") + std::string(argv[i]);
    std::string text = "Error (argument validation): " + std::string(message) +
                       "\nArguments given:\n\t" + given + "\n\n\x1b[1mUsage\x1b[0m\n\n";
    text += "lepusctl [--data-dir <dir>] [--quiet] ";
    if (spec != nullptr) text += std::string(spec->name) + " " + std::string(spec->usage);
    return text + "\n";
}

std::string admin_help() {
    std::string text = "\nrabbitmqctl's commands (through DATA_DIR/lepusctl.sock):\n";
    std::string line = " ";
    for (const AdminCommandSpec& spec : specs) {
        if (line.size() + spec.name.size() + 1 > 98) {
            text += line + "\n";
            line = " ";
        }
        line += " " + std::string(spec.name);
    }
    text += line + "\n";
    text +=
        "\nThey take rabbitmqctl's options: -p/--vhost VHOST, -q/--quiet, --no-table-headers,\n"
        "--formatter json, -t/--timeout SECONDS, and --data-dir DIR (default ./lepus-data, or\n"
        "$LEPUS_DATA_DIR). 'lepusctl status' is the broker's status through the socket unless\n"
        "--host, --user, --password or --vhost is given. Their exit status is rabbitmqctl's:\n"
        "64 usage error, 65 bad data, 67 no such user, 69 broker unavailable, 70 failed,\n"
        "75 timeout.\n";
    return text;
}

std::string admin_unknown_command_text(std::string_view name) {
    std::string text = "\nCommand '" + std::string(name) +
                       "' not found. \n\n\x1b[1mUsage\x1b[0m\n\n"
                       "lepusctl [--data-dir <dir>] [--timeout <timeout>] [--quiet] <command> "
                       "[<command options>]\n";
    return text + admin_help();
}

std::string_view command_word(int argc, const char* const* argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--") return i + 1 < argc ? std::string_view(argv[i + 1]) : std::string_view();
        if (arg.size() > 1 && arg[0] == '-') {
            if (arg.find('=') == std::string_view::npos && takes_value(arg)) ++i;
            continue;
        }
        return arg;
    }
    return {};
}

bool has_amqp_connection_options(int argc, const char* const* argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--") break;
        std::string_view name = arg.substr(0, arg.find('='));
        if (name == "--host" || name == "--user" || name == "--password" || name == "--vhost") {
            return true;
        }
        if (arg.find('=') == std::string_view::npos && takes_value(arg)) ++i;
    }
    return false;
}

}  // namespace lepus::ctl
