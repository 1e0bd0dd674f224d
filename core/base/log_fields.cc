#include "core/base/log_fields.h"

namespace lepus::log {

namespace {

bool plain_token(std::string_view value) {
    if (value.empty()) return false;
    for (char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte == 0x7f || c == '"' || c == '=' || c == '\\') return false;
    }
    return true;
}

}  // namespace

std::string field_value(std::string_view value) {
    if (plain_token(value)) return std::string(value);
    std::string quoted = "\"";
    for (char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            quoted += '\\';
            quoted += c;
        } else if (c == '\n') {
            quoted += "\\n";
        } else if (c == '\r') {
            quoted += "\\r";
        } else if (c == '\t') {
            quoted += "\\t";
        } else if (byte < 0x20 || byte == 0x7f) {
            quoted += "\\x";
            quoted += "0123456789abcdef"[byte >> 4];
            quoted += "0123456789abcdef"[byte & 0xf];
        } else {
            quoted += c;
        }
    }
    quoted += '"';
    return quoted;
}

Fields& Fields::add(std::string_view key, std::string_view value) {
    if (!text_.empty()) text_ += ' ';
    text_.append(key);
    text_ += '=';
    text_ += field_value(value);
    return *this;
}

Fields& Fields::add(std::string_view key, u64 value) { return add(key, std::to_string(value)); }

void write_fields(Level level, const Fields& fields) { write_escaped(level, fields.text()); }

}  // namespace lepus::log
