#include "app/ctl/table_format.h"

#include <cmath>
#include <cstdio>

namespace lepus::ctl {

namespace {

// Numbers print as integers when they are whole (lepusd's counts, a utilisation of 0), as
// rabbitmqctl prints Erlang integers; other numbers in the shortest form that reads back.
std::string number_text(const Json& value) {
    if (value.is_number_integer()) return value.dump();
    double number = value.get<double>();
    if (std::isfinite(number) && number == std::floor(number) && std::fabs(number) < 1e15) {
        return std::to_string(static_cast<long long>(number));
    }
    return value.dump();
}

std::string field_value_text(const Json& value);

// A field table as Erlang's proplist prints: [{"key",value},...]; an empty one is [].
std::string field_table_text(const Json& table) {
    std::string text = "[";
    bool first = true;
    for (const auto& [key, value] : table.items()) {
        if (!first) text += ",";
        first = false;
        text += "{" + Json(key).dump() + "," + field_value_text(value) + "}";
    }
    return text + "]";
}

std::string field_value_text(const Json& value) {
    if (value.is_string()) return Json(value.get<std::string>()).dump();
    if (value.is_number()) return number_text(value);
    if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
    if (value.is_object()) return field_table_text(value);
    if (value.is_array()) {
        std::string text = "[";
        for (usize i = 0; i < value.size(); ++i) {
            if (i > 0) text += ",";
            text += field_value_text(value[i]);
        }
        return text + "]";
    }
    return "undefined";
}

// rabbitmqctl prints a connection's protocol as the Erlang tuple of its version: "AMQP 0-9-1"
// is {0,9,1}.
std::string protocol_version_text(const Json& value) {
    std::string text = value.get<std::string>();
    std::string_view prefix = "AMQP ";
    if (text.rfind(prefix, 0) != 0) return text;
    std::string version = text.substr(prefix.size());
    for (char& c : version) {
        if (c == '-') c = ',';
    }
    return "{" + version + "}";
}

bool is_field_table_column(std::string_view column) {
    return column == "arguments" || column == "client_properties";
}

// A listing's row: the chosen columns in order; a column the row lacks prints empty.
Json row_value(const Json& row, const std::string& column) {
    if (!row.is_object()) return nullptr;
    auto found = row.find(column);
    return found == row.end() ? Json(nullptr) : *found;
}

}  // namespace

std::string_view field_type_name(const Json& value) {
    if (value.is_string()) return "longstr";
    if (value.is_boolean()) return "bool";
    if (value.is_number_float()) return "double";
    if (value.is_number_integer()) {
        // AMQP clients send integers as 32-bit when they fit (pika, the Java client).
        bool fits = value.is_number_unsigned()
                        ? value.get<u64>() <= 2147483647ull
                        : value.get<i64>() >= -2147483648ll && value.get<i64>() <= 2147483647ll;
        return fits ? "signedint" : "long";
    }
    if (value.is_object()) return "table";
    if (value.is_array()) return "array";
    return "void";
}

std::string table_cell(std::string_view column, const Json& value) {
    if (value.is_null()) return "";
    if (column == "limits") return value.is_string() ? value.get<std::string>() : value.dump();
    if (column == "protocol" && value.is_string()) return protocol_version_text(value);
    if (is_field_table_column(column) && value.is_object()) return field_table_text(value);
    if (column == "cluster_state" && value.is_object()) {
        std::string text = "[";
        bool first = true;
        for (const auto& [node, state] : value.items()) {
            if (!first) text += ", ";
            first = false;
            text += "{" + node + ", " + table_cell("", state) + "}";
        }
        return text + "]";
    }
    if (value.is_string()) return value.get<std::string>();
    if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
    if (value.is_number()) return number_text(value);
    if (value.is_array()) {  // tags: [administrator, monitoring]
        std::string text = "[";
        for (usize i = 0; i < value.size(); ++i) {
            if (i > 0) text += ", ";
            text += table_cell("", value[i]);
        }
        return text + "]";
    }
    if (value.is_object()) return field_table_text(value);
    return value.dump();
}

Json json_cell(std::string_view column, const Json& value) {
    if (column == "limits" && !value.is_string()) return value.dump();
    if (!is_field_table_column(column) || !value.is_object()) return value;
    Json triples = Json::array();
    for (const auto& [key, field] : value.items()) {
        Json inner = field.is_object() ? json_cell(column, field) : field;
        triples.push_back(Json::array({key, field_type_name(field), inner}));
    }
    return triples;
}

std::string format_table(const std::vector<std::string>& columns, const Json& rows, Headers headers,
                         EmptyListing empty) {
    if (!rows.is_array() || rows.empty()) {
        return empty == EmptyListing::empty_line ? "\n" : "";
    }
    std::string text;
    auto append_line = [&text](const std::vector<std::string>& cells) {
        for (usize i = 0; i < cells.size(); ++i) {
            if (i > 0) text += '\t';
            text += cells[i];
        }
        text += '\n';
    };
    if (headers == Headers::show) append_line(columns);
    std::vector<std::string> cells(columns.size());
    for (const Json& row : rows) {
        for (usize i = 0; i < columns.size(); ++i) {
            cells[i] = table_cell(columns[i], row_value(row, columns[i]));
        }
        append_line(cells);
    }
    return text;
}

std::string format_json_rows(const std::vector<std::string>& columns, const Json& rows,
                             EmptyListing empty) {
    bool none = !rows.is_array() || rows.empty();
    if (none && empty == EmptyListing::empty_line) return "[]\n";
    std::string text = "[\n";
    bool first = true;
    if (!none) {
        for (const Json& row : rows) {
            Json object = Json::object();
            for (const std::string& column : columns) {
                object[column] = json_cell(column, row_value(row, column));
            }
            text += (first ? "" : ",") + object.dump() + "\n";
            first = false;
        }
    }
    return text + "]\n";
}

std::string gigabytes(double bytes) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.4f", std::round(bytes / 1e5) / 1e4);
    std::string text = buffer;
    while (text.size() > 1 && text.back() == '0' && text[text.size() - 2] != '.') text.pop_back();
    return text + " gb";
}

}  // namespace lepus::ctl
