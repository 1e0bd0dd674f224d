#pragma once
// A log line in key=value form, for the events operators grep and parse (a connection accepted,
// authenticated, closed): `connection="127.0.0.1:5000 -> 127.0.0.1:5672" event=accepted
// peer=127.0.0.1:5000`. Keys are fixed words; a value is written bare when it is a plain token,
// else in double quotes with `"` and `\` escaped by a backslash and control bytes as \n, \r, \t
// or \xNN. Such a line reads back unambiguously with shlex.split or any logfmt parser, and a
// client's text can neither end it early nor forge a field.
#include <string>
#include <string_view>

#include "core/base/log.h"
#include "core/base/types.h"

namespace lepus::log {

class Fields {
public:
    Fields& add(std::string_view key, std::string_view value);
    Fields& add(std::string_view key, u64 value);
    const std::string& text() const { return text_; }

private:
    std::string text_;
};

// `value` as a field's value: bare or quoted, as above.
std::string field_value(std::string_view value);

// Writes the line at `level` with the usual prefix (time, level, shard) and `fields` as they
// are: they are escaped already.
void write_fields(Level level, const Fields& fields);

}  // namespace lepus::log
