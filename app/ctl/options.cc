#include "app/ctl/options.h"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace lepus::ctl {

namespace {

// Which options a command accepts, as bits. The connection options apply to every command.
enum OptionBit : u32 {
    bit_durable = 1u << 0,
    bit_exclusive = 1u << 1,
    bit_auto_delete = 1u << 2,
    bit_internal = 1u << 3,
    bit_if_unused = 1u << 4,
    bit_if_empty = 1u << 5,
    bit_arg = 1u << 6,
    bit_persistent = 1u << 7,
    bit_header = 1u << 8,
    bit_confirm = 1u << 9,
    bit_mandatory = 1u << 10,
    bit_count = 1u << 11,
    bit_requeue = 1u << 12,
    bit_connection = 1u << 30,
    bit_help = 1u << 31,
};

enum class Takes : u8 { nothing, value };

struct OptionSpec {
    std::string_view name;
    OptionBit bit;
    Takes takes;
    std::string_view metavar;
    std::string_view help;
};

constexpr std::array<OptionSpec, 19> option_specs = {{
    {"host", bit_connection, Takes::value, "HOST:PORT", "broker address (127.0.0.1:5672)"},
    {"user", bit_connection, Takes::value, "USER", "user name (guest)"},
    {"password", bit_connection, Takes::value, "PASSWORD", "password (guest)"},
    {"vhost", bit_connection, Takes::value, "VHOST", "virtual host (/)"},
    {"timeout", bit_connection, Takes::value, "SECONDS",
     "limit on connecting and on each wait for the broker (10)"},
    {"help", bit_help, Takes::nothing, "", "show help and exit"},
    {"durable", bit_durable, Takes::nothing, "", "survive a broker restart"},
    {"exclusive", bit_exclusive, Takes::nothing, "",
     "owned by this connection (deleted when lepusctl exits)"},
    {"auto-delete", bit_auto_delete, Takes::nothing, "", "deleted when no longer used"},
    {"internal", bit_internal, Takes::nothing, "", "only other exchanges may publish to it"},
    {"if-unused", bit_if_unused, Takes::nothing, "", "refuse if it has consumers or bindings"},
    {"if-empty", bit_if_empty, Takes::nothing, "", "refuse if it holds messages"},
    {"arg", bit_arg, Takes::value, "KEY=VALUE",
     "an argument (repeatable); integers and true/false are typed, the rest are strings"},
    {"persistent", bit_persistent, Takes::nothing, "", "delivery mode 2"},
    {"header", bit_header, Takes::value, "KEY=VALUE",
     "a message header (repeatable), typed like --arg"},
    {"confirm", bit_confirm, Takes::nothing, "",
     "use publisher confirms and wait for the broker's ack"},
    {"mandatory", bit_mandatory, Takes::nothing, "",
     "fail if no queue receives the message (basic.return)"},
    {"count", bit_count, Takes::value, "N", "fetch up to N messages (1)"},
    {"requeue", bit_requeue, Takes::nothing, "",
     "put the messages back (nack with requeue) instead of acking them"},
}};

struct CommandSpec {
    std::string_view name;
    CommandKind kind;
    usize operands_min;
    usize operands_max;
    u32 options;
    std::string_view synopsis;
    std::string_view summary;
};

constexpr std::array<CommandSpec, 11> command_specs = {{
    {"status", CommandKind::status, 0, 0, 0, "", "print the server's properties and limits"},
    {"declare-queue", CommandKind::declare_queue, 1, 1,
     bit_durable | bit_exclusive | bit_auto_delete | bit_arg, "NAME",
     "declare a queue; print its messages and consumers"},
    {"delete-queue", CommandKind::delete_queue, 1, 1, bit_if_unused | bit_if_empty, "NAME",
     "delete a queue; print the messages deleted"},
    {"purge-queue", CommandKind::purge_queue, 1, 1, 0, "NAME",
     "remove a queue's ready messages; print how many"},
    {"queue-info", CommandKind::queue_info, 1, 1, 0, "NAME",
     "print a queue's messages and consumers (passive)"},
    {"declare-exchange", CommandKind::declare_exchange, 2, 2,
     bit_durable | bit_auto_delete | bit_internal | bit_arg, "NAME TYPE",
     "declare an exchange (direct, fanout, topic, ...)"},
    {"delete-exchange", CommandKind::delete_exchange, 1, 1, bit_if_unused, "NAME",
     "delete an exchange"},
    {"bind-queue", CommandKind::bind_queue, 2, 3, bit_arg, "QUEUE EXCHANGE [ROUTING_KEY]",
     "bind a queue to an exchange"},
    {"unbind-queue", CommandKind::unbind_queue, 2, 3, bit_arg, "QUEUE EXCHANGE [ROUTING_KEY]",
     "remove a binding (same key and arguments)"},
    {"publish", CommandKind::publish, 2, 3,
     bit_persistent | bit_header | bit_confirm | bit_mandatory, "EXCHANGE ROUTING_KEY [BODY | -]",
     "publish a message; BODY - reads stdin"},
    {"get", CommandKind::get, 1, 1, bit_count | bit_requeue, "QUEUE",
     "fetch and print messages; ack unless --requeue"},
}};

const OptionSpec* find_option(std::string_view name) {
    for (const OptionSpec& spec : option_specs) {
        if (spec.name == name) return &spec;
    }
    return nullptr;
}

const CommandSpec* find_command(std::string_view name) {
    for (const CommandSpec& spec : command_specs) {
        if (spec.name == name) return &spec;
    }
    return nullptr;
}

std::string option_usage(const OptionSpec& spec) {
    std::string text = "--" + std::string(spec.name);
    if (spec.takes == Takes::value) text += " " + std::string(spec.metavar);
    return text;
}

void append_option_lines(std::string& text, u32 bits) {
    for (const OptionSpec& spec : option_specs) {
        if ((spec.bit & bits) == 0) continue;
        std::string usage = "  " + option_usage(spec);
        usage.resize(usage.size() < 24 ? 24 : usage.size() + 1, ' ');
        text += usage + std::string(spec.help) + "\n";
    }
}

std::string command_usage(const CommandSpec& spec) {
    std::string text = "lepusctl [connection options] " + std::string(spec.name);
    if (!spec.synopsis.empty()) text += " " + std::string(spec.synopsis);
    for (const OptionSpec& option : option_specs) {
        if ((option.bit & spec.options) == 0) continue;
        bool repeatable = (option.bit & (bit_arg | bit_header)) != 0;
        text += " [" + option_usage(option) + (repeatable ? " ..." : "") + "]";
    }
    return text;
}

std::string command_help(const CommandSpec& spec) {
    std::string text = "Usage: " + command_usage(spec) + "\n\n" + std::string(spec.summary) + "\n";
    if (spec.options != 0) {
        text += "\nOptions:\n";
        append_option_lines(text, spec.options);
    }
    text += "\nConnection options:\n";
    append_option_lines(text, bit_connection);
    return text;
}

// HOST, HOST:PORT, [IPV6], [IPV6]:PORT, or a bare IPv6 address (more than one colon).
bool parse_host(std::string_view text, ConnectionSettings& out, std::string& error) {
    std::string_view host = text;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        usize close = text.find(']');
        if (close == std::string_view::npos) {
            error = "--host " + std::string(text) + ": missing ']'";
            return false;
        }
        host = text.substr(1, close - 1);
        std::string_view rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                error = "--host " + std::string(text) + ": expected ':PORT' after ']'";
                return false;
            }
            port = rest.substr(1);
        }
    } else if (usize colon = text.find(':'); colon != std::string_view::npos &&
                                             text.find(':', colon + 1) == std::string_view::npos) {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host.empty()) {
        error = "--host " + std::string(text) + ": no host";
        return false;
    }
    out.host = std::string(host);
    if (port.data() == nullptr) return true;
    u32 number = 0;
    bool digits = !port.empty() && port.size() <= 5;
    for (char c : port) {
        digits = digits && c >= '0' && c <= '9';
        if (digits) number = number * 10 + static_cast<u32>(c - '0');
    }
    if (!digits || number == 0 || number > 65535) {
        error = "--host " + std::string(text) + ": the port must be a number from 1 to 65535";
        return false;
    }
    out.port = std::string(port);
    return true;
}

bool parse_timeout(const std::string& text, u32& out_ms, std::string& error) {
    errno = 0;
    char* end = nullptr;
    double seconds = std::strtod(text.c_str(), &end);
    bool valid = !text.empty() && errno == 0 && end != nullptr && *end == '\0' && seconds > 0 &&
                 seconds * 1000.0 <= timeout_max_ms;
    if (!valid) {
        error = "--timeout " + text + ": expected seconds, more than 0 and at most " +
                std::to_string(timeout_max_ms / 1000);
        return false;
    }
    out_ms = static_cast<u32>(seconds * 1000.0);
    if (out_ms == 0) out_ms = 1;
    return true;
}

bool parse_count(const std::string& text, u32& out, std::string& error) {
    u64 number = 0;
    bool valid = !text.empty() && text.size() <= 10;
    for (char c : text) {
        valid = valid && c >= '0' && c <= '9';
        if (valid) number = number * 10 + static_cast<u64>(c - '0');
    }
    if (!valid || number == 0 || number > get_count_max) {
        error =
            "--count " + text + ": expected a number from 1 to " + std::to_string(get_count_max);
        return false;
    }
    out = static_cast<u32>(number);
    return true;
}

// KEY=VALUE into a table; a repeated key replaces the earlier value, as a shell user expects.
bool parse_field(std::string_view option, const std::string& text, wire::FieldTable& table,
                 std::string& error) {
    usize equals = text.find('=');
    if (equals == std::string::npos || equals == 0) {
        error = "--" + std::string(option) + " " + text + ": expected KEY=VALUE";
        return false;
    }
    std::string key = text.substr(0, equals);
    if (key.size() > shortstr_size_max) {
        error = "--" + std::string(option) + ": the key is longer than 255 bytes";
        return false;
    }
    wire::FieldValue value = typed_field_value(text.substr(equals + 1));
    for (auto& entry : table) {
        if (entry.first == key) {
            entry.second = std::move(value);
            return true;
        }
    }
    table.emplace_back(std::move(key), std::move(value));
    return true;
}

struct ParsedOption {
    const OptionSpec* spec = nullptr;
    std::string value;
};

bool apply_option(const ParsedOption& option, CommandLine& out, std::string& error) {
    std::string_view name = option.spec->name;
    const std::string& value = option.value;
    if (name == "host") return parse_host(value, out.connection, error);
    if (name == "user") out.connection.user = value;
    if (name == "password") out.connection.password = value;
    if (name == "vhost") {
        if (value.size() > shortstr_size_max) {
            error = "--vhost: longer than 255 bytes";
            return false;
        }
        out.connection.vhost = value;
    }
    if (name == "timeout") return parse_timeout(value, out.connection.timeout_ms, error);
    if (name == "durable") out.durable = true;
    if (name == "exclusive") out.exclusive = true;
    if (name == "auto-delete") out.auto_delete = true;
    if (name == "internal") out.internal = true;
    if (name == "if-unused") out.if_unused = true;
    if (name == "if-empty") out.if_empty = true;
    if (name == "persistent") out.persistent = true;
    if (name == "confirm") out.confirm = true;
    if (name == "mandatory") out.mandatory = true;
    if (name == "requeue") out.requeue = true;
    if (name == "count") return parse_count(value, out.count, error);
    if (name == "arg") return parse_field(name, value, out.arguments, error);
    if (name == "header") return parse_field(name, value, out.headers, error);
    return true;
}

// Names, keys and types travel as shortstrs; which operands those are depends on the command
// (a publish body is a long string).
bool check_operand_sizes(const CommandLine& line, std::string& error) {
    usize checked = line.command == CommandKind::publish ? 2 : line.operands.size();
    for (usize i = 0; i < checked && i < line.operands.size(); ++i) {
        if (line.operands[i].size() > shortstr_size_max) {
            error = "'" + line.operands[i].substr(0, 32) + "...' is longer than 255 bytes";
            return false;
        }
    }
    return true;
}

// argv sorted into the command, its operands and the options, in one pass. Options may come
// before or after the command; whether they apply to it is checked once it is known.
struct Scan {
    const CommandSpec* command = nullptr;
    std::vector<ParsedOption> options;
    bool help = false;
};

// One option at argv[i], "--name", "--name=value" or "--name value" (which consumes argv[i+1]).
bool scan_option(int argc, const char* const* argv, int& i, Scan& scan, std::string& error) {
    std::string_view arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (arg.substr(0, 2) != "--") {
        error = "unknown option '" + std::string(arg) + "'";
        return false;
    }
    std::string_view name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (usize equals = name.find('='); equals != std::string_view::npos) {
        inline_value = std::string(name.substr(equals + 1));
        name = name.substr(0, equals);
    }
    const OptionSpec* spec = find_option(name);
    if (spec == nullptr) {
        error = "unknown option '--" + std::string(name) + "'";
        return false;
    }
    if (spec->bit == bit_help) {
        scan.help = true;
        return true;
    }
    ParsedOption parsed{spec, {}};
    if (spec->takes == Takes::value) {
        if (inline_value) {
            parsed.value = *inline_value;
        } else if (i + 1 < argc) {
            parsed.value = argv[++i];
        } else {
            error = "option '--" + std::string(name) + "' needs a value";
            return false;
        }
    } else if (inline_value) {
        error = "option '--" + std::string(name) + "' takes no value";
        return false;
    }
    scan.options.push_back(std::move(parsed));
    return true;
}

bool scan_arguments(int argc, const char* const* argv, Scan& scan,
                    std::vector<std::string>& operands, std::string& error) {
    bool options_ended = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        // "-" alone is an operand (the body from stdin); "--" makes the rest operands.
        if (!options_ended && arg == "--") {
            options_ended = true;
        } else if (!options_ended && arg.size() > 1 && arg[0] == '-') {
            if (!scan_option(argc, argv, i, scan, error)) return false;
        } else if (scan.command == nullptr) {
            scan.command = find_command(arg);
            if (scan.command == nullptr) {
                error = "unknown command '" + std::string(arg) + "'";
                return false;
            }
        } else {
            operands.emplace_back(arg);
        }
    }
    return true;
}

}  // namespace

bool is_amqp_command(std::string_view name) { return find_command(name) != nullptr; }

wire::FieldValue typed_field_value(const std::string& text) {
    if (text == "true") return wire::FieldValue::boolean(true);
    if (text == "false") return wire::FieldValue::boolean(false);
    usize digits_start = !text.empty() && text[0] == '-' ? 1 : 0;
    bool integer = text.size() > digits_start && text.size() <= 20;
    for (usize i = digits_start; integer && i < text.size(); ++i) {
        integer = text[i] >= '0' && text[i] <= '9';
    }
    if (integer) {
        errno = 0;
        long long number = std::strtoll(text.c_str(), nullptr, 10);
        if (errno == 0) {
            if (number >= INT32_MIN && number <= INT32_MAX) {
                return wire::FieldValue::int32(static_cast<i32>(number));
            }
            return wire::FieldValue::int64(static_cast<i64>(number));
        }
    }
    return wire::FieldValue::string(text);
}

std::string general_help() {
    std::string text =
        "Usage: lepusctl [connection options] COMMAND [ARGUMENTS] [OPTIONS]\n\n"
        "Operates an AMQP 0-9-1 broker (Lepus or RabbitMQ) over the protocol itself.\n\n"
        "Commands:\n";
    for (const CommandSpec& spec : command_specs) {
        std::string line = "  " + std::string(spec.name);
        if (!spec.synopsis.empty()) line += " " + std::string(spec.synopsis);
        line.resize(line.size() < 46 ? 46 : line.size() + 1, ' ');
        text += line + std::string(spec.summary) + "\n";
    }
    text += "\nConnection options:\n";
    append_option_lines(text, bit_connection);
    text +=
        "\n'lepusctl COMMAND --help' shows a command's options.\n"
        "Exit status: 0 success, 1 the broker refused (its reply code is printed), 2 usage "
        "error,\n3 no answer (cannot connect, timeout, connection lost).\n";
    return text;
}

ParseOutcome parse_command_line(int argc, const char* const* argv, CommandLine& out,
                                std::string& help_text, std::string& error) {
    Scan scan;
    if (!scan_arguments(argc, argv, scan, out.operands, error)) return ParseOutcome::error;
    const CommandSpec* command = scan.command;
    if (scan.help) {
        help_text = command != nullptr ? command_help(*command) : general_help();
        return ParseOutcome::exit_ok;
    }
    if (command == nullptr) {
        error = "no command given";
        return ParseOutcome::error;
    }
    out.command = command->kind;
    for (const ParsedOption& option : scan.options) {
        if ((option.spec->bit & (command->options | bit_connection)) == 0) {
            error = "option '--" + std::string(option.spec->name) + "' does not apply to " +
                    std::string(command->name);
            return ParseOutcome::error;
        }
        if (!apply_option(option, out, error)) return ParseOutcome::error;
    }
    if (out.operands.size() < command->operands_min ||
        out.operands.size() > command->operands_max) {
        error = std::string(command->name) + " takes " +
                (command->synopsis.empty() ? std::string("no arguments")
                                           : std::string(command->synopsis)) +
                "\nUsage: " + command_usage(*command);
        return ParseOutcome::error;
    }
    if (!check_operand_sizes(out, error)) return ParseOutcome::error;
    return ParseOutcome::run;
}

}  // namespace lepus::ctl
