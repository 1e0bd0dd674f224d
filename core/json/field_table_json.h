#pragma once
// AMQP field tables as JSON, the way RabbitMQ's management API and definitions files show them:
// integers of every width as numbers, floats and decimals as numbers, strings and byte arrays
// as strings, booleans, arrays, nested tables as objects, void as null, timestamps as numbers.
// The way back follows RabbitMQ's import: an integral number becomes a long ('l'), any other
// number a double, a string a long string, an object a table, an array an array, null void.
//
// Strings may hold any bytes: dump JSON with `dump_json` (below), which replaces bytes that are
// not UTF-8 instead of throwing.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/wire/field_table.h"

namespace lepus::json {

nlohmann::json to_json(const wire::FieldValue& value);
nlohmann::json to_json(const wire::FieldTable& table);
// A table's content bytes as carried by the codec; an empty object for empty or malformed
// content (tables were validated on the way in).
nlohmann::json table_content_to_json(std::string_view content);

// Converts a JSON object into a table; false with `error` saying why for anything else.
bool table_from_json(const nlohmann::json& object, wire::FieldTable& out, std::string& error);

// Compact JSON text; bytes that are not UTF-8 become U+FFFD rather than failing.
std::string dump_json(const nlohmann::json& value);

}  // namespace lepus::json
