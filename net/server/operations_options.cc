#include "net/server/operations_options.h"

#include "core/base/log.h"
#include "net/server/options.h"

namespace lepus::server {

namespace {

bool set_level_text(std::string_view value, std::string& field, std::string& why) {
    // rabbitmq.conf's names; `critical` and `none` have no Lepus counterpart.
    log::Level level = log::Level::info;
    if (!log::parse_level(std::string(value).c_str(), level)) {
        why = "expected error, warning, info or debug, got '" + std::string(value) + "'";
        return false;
    }
    field = std::string(value);
    return true;
}

log::Level level_or(const std::string& text, const std::string& fallback) {
    log::Level level = log::Level::info;
    if (!log::parse_level(text.c_str(), level)) log::parse_level(fallback.c_str(), level);
    return level;
}

}  // namespace

bool set_log_file(std::string_view value, Options& out, std::string& why) {
    if (value.empty()) {
        why = "needs a file path, or false";
        return false;
    }
    out.operations.log_file = value == "false" ? std::string() : std::string(value);
    return true;
}

bool set_log_file_level(std::string_view value, Options& out, std::string& why) {
    return set_level_text(value, out.operations.log_file_level, why);
}

bool set_log_console(std::string_view value, Options& out, std::string& why) {
    if (value != "true" && value != "false") {
        why = "expected true or false, got '" + std::string(value) + "'";
        return false;
    }
    out.operations.log_console = value == "true";
    return true;
}

bool set_log_console_level(std::string_view value, Options& out, std::string& why) {
    return set_level_text(value, out.operations.log_console_level, why);
}

bool set_load_definitions(std::string_view value, Options& out, std::string& why) {
    if (value.empty()) {
        why = "needs a file path";
        return false;
    }
    out.operations.load_definitions = std::string(value);
    return true;
}

std::string apply_log_options(const Options& options) {
    const OperationsOptions& operations = options.operations;
    log::set_console_level(level_or(operations.log_console_level, options.log_level));
    log::set_file_level(level_or(operations.log_file_level, options.log_level));
    log::set_console(operations.log_console.value_or(operations.log_file.empty()));
    if (operations.log_file.empty()) return {};
    return log::open_file(operations.log_file);
}

}  // namespace lepus::server
