#pragma once
// lepusctl's command line: the connection options, one command, its operands and flags.
// Parsing is a pure function of argv, so every rule here is testable without a broker.
#include <string>
#include <string_view>
#include <vector>

#include "core/base/types.h"
#include "core/wire/field_table.h"

namespace lepus::ctl {

// Every limit of the tool, named.
inline constexpr u32 timeout_default_ms = 10'000;
inline constexpr u32 timeout_max_ms = 3'600'000;  // an hour: longer is a typo, not a plan
inline constexpr u32 get_count_max = 100'000;     // deliveries one `get` holds unacknowledged
inline constexpr usize shortstr_size_max = 255;   // names, keys and types are AMQP shortstrs

struct ConnectionSettings {
    std::string host = "127.0.0.1";
    std::string port = "5672";
    std::string user = "guest";
    std::string password = "guest";
    std::string vhost = "/";
    u32 timeout_ms = timeout_default_ms;
};

enum class CommandKind : u8 {
    status,
    declare_queue,
    delete_queue,
    purge_queue,
    queue_info,
    declare_exchange,
    delete_exchange,
    bind_queue,
    unbind_queue,
    publish,
    get,
};

// Flags are plain fields: each command reads the ones that apply to it, and the parser has
// already refused the ones that do not.
struct CommandLine {
    ConnectionSettings connection;
    CommandKind command = CommandKind::status;
    std::vector<std::string> operands;

    bool durable = false;
    bool exclusive = false;
    bool auto_delete = false;
    bool internal = false;
    bool if_unused = false;
    bool if_empty = false;
    bool persistent = false;
    bool confirm = false;
    bool mandatory = false;
    bool requeue = false;
    u32 count = 1;
    wire::FieldTable arguments;  // --arg: queue, exchange or binding arguments
    wire::FieldTable headers;    // --header: message headers
};

enum class ParseOutcome : u8 { run, exit_ok, error };

// Parses argv. `run`: `out` holds the command. `exit_ok`: help was asked for and `help_text`
// holds it. `error`: `error` says what is wrong, in a sentence for the operator.
ParseOutcome parse_command_line(int argc, const char* const* argv, CommandLine& out,
                                std::string& help_text, std::string& error);

// True when `name` is one of the AMQP commands (declare-queue, publish, the AMQP status, ...).
bool is_amqp_command(std::string_view name);

// The text of `lepusctl --help`.
std::string general_help();

// The value of a --arg or --header entry, typed by its form: an integer in range of int64
// becomes a signed integer (int32 when it fits, as other clients send), true and false a
// boolean, anything else a long string.
wire::FieldValue typed_field_value(const std::string& text);

}  // namespace lepus::ctl
