#pragma once
// How the rabbitmqctl commands print what lepusd answers, in rabbitmqctl 3.10's two layouts:
// the table (tab-separated values under a header line) and --formatter json. Pure functions of
// the answer's JSON, so every rendering rule is tested without a broker.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/types.h"

namespace lepus::ctl {

// Answers keep the server's key order: client properties print in the order the client sent
// them, as rabbitmqctl prints them.
using Json = nlohmann::ordered_json;

// One value as a table cell: strings bare, booleans as true/false, arrays of names as
// `[a, b]`, field tables (`arguments`, `client_properties`) as `[{"key",value},...]`,
// `cluster_state` as `[{node, running}]`, `limits` as compact JSON, a connection's `protocol`
// as its version tuple (`{0,9,1}`), null as nothing.
std::string table_cell(std::string_view column, const Json& value);

// One value for --formatter json: field tables become rabbitmqctl's `[[key, type, value]]`
// triples and `limits` a JSON text; everything else is the value as lepusd gave it.
Json json_cell(std::string_view column, const Json& value);

// The field type rabbitmqctl names for a field table value ("longstr", "signedint", "bool",
// "double", "table", "array", "void").
std::string_view field_type_name(const Json& value);

// How an empty listing prints. Streamed listings (queues, connections, ...) print nothing at
// all; the others print one empty line, as rabbitmqctl does.
enum class EmptyListing : bool { nothing, empty_line };
enum class Headers : bool { omit, show };

// Rows under a header line of `columns`, cells separated by tabs, one row a line.
std::string format_table(const std::vector<std::string>& columns, const Json& rows, Headers headers,
                         EmptyListing empty);

// Rows as rabbitmqctl's JSON listing: "[\n" then one object a line, the second and later ones
// led by a comma, then "]\n". An empty non-streamed listing is "[]\n".
std::string format_json_rows(const std::vector<std::string>& columns, const Json& rows,
                             EmptyListing empty);

// Bytes as rabbitmqctl's status shows them: gigabytes with at most four decimals ("0.1207 gb").
std::string gigabytes(double bytes);

}  // namespace lepus::ctl
