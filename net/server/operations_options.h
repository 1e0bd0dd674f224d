#pragma once
// rabbitmq.conf's keys for logging (log.file, log.file.level, log.console, log.console.level)
// and for definitions loaded at boot (load_definitions): their setters, in options.cc's table,
// and how the log settings are put in force at start-up.
#include <optional>
#include <string>
#include <string_view>

namespace lepus::server {

struct Options;

// What the log.* and load_definitions keys set.
struct OperationsOptions {
    // The log file (log.file); empty: none (`log.file = false`, as rabbitmq.conf takes it).
    std::string log_file;
    // Each destination's level; empty: log_level's.
    std::string log_file_level;
    std::string log_console_level;
    // log.console; unset: the console (stderr) logs unless a log file is configured, so a
    // service run by systemd logs to journald with no setting at all.
    std::optional<bool> log_console;
    // A definitions file in RabbitMQ's format applied at every boot (load_definitions).
    std::string load_definitions;
};

bool set_log_file(std::string_view value, Options& out, std::string& why);
bool set_log_file_level(std::string_view value, Options& out, std::string& why);
bool set_log_console(std::string_view value, Options& out, std::string& why);
bool set_log_console_level(std::string_view value, Options& out, std::string& why);
bool set_load_definitions(std::string_view value, Options& out, std::string& why);

// Puts the log settings in force: levels, the console, the file. Empty on success, else why
// the file could not be opened.
std::string apply_log_options(const Options& options);

}  // namespace lepus::server
