#include "core/json/field_table_json.h"

#include <cmath>

namespace lepus::json {

namespace {

bool value_from_json(const nlohmann::json& in, wire::FieldValue& out, std::string& error,
                     usize depth);

bool array_from_json(const nlohmann::json& in, wire::FieldArray& out, std::string& error,
                     usize depth) {
    for (const nlohmann::json& item : in) {
        wire::FieldValue value;
        if (!value_from_json(item, value, error, depth + 1)) return false;
        out.push_back(std::move(value));
    }
    return true;
}

bool object_from_json(const nlohmann::json& in, wire::FieldTable& out, std::string& error,
                      usize depth) {
    for (const auto& [key, item] : in.items()) {
        wire::FieldValue value;
        if (!value_from_json(item, value, error, depth + 1)) return false;
        out.emplace_back(key, std::move(value));
    }
    return true;
}

bool value_from_json(const nlohmann::json& in, wire::FieldValue& out, std::string& error,
                     usize depth) {
    if (depth > wire::field_nesting_depth_max) {
        error = "arguments nest deeper than " + std::to_string(wire::field_nesting_depth_max) +
                " levels";
        return false;
    }
    switch (in.type()) {
        case nlohmann::json::value_t::null: out = wire::FieldValue::void_value(); return true;
        case nlohmann::json::value_t::boolean:
            out = wire::FieldValue::boolean(in.get<bool>());
            return true;
        case nlohmann::json::value_t::number_integer:
            out = wire::FieldValue::int64(in.get<i64>());
            return true;
        case nlohmann::json::value_t::number_unsigned: {
            u64 v = in.get<u64>();
            if (v > static_cast<u64>(INT64_MAX)) {
                error = "integer " + std::to_string(v) + " does not fit a signed 64-bit field";
                return false;
            }
            out = wire::FieldValue::int64(static_cast<i64>(v));
            return true;
        }
        case nlohmann::json::value_t::number_float: {
            double v = in.get<double>();
            out = wire::FieldValue::float64(v);
            return true;
        }
        case nlohmann::json::value_t::string:
            out = wire::FieldValue::string(in.get<std::string>());
            return true;
        case nlohmann::json::value_t::array: {
            wire::FieldArray array;
            if (!array_from_json(in, array, error, depth)) return false;
            out = wire::FieldValue::array(std::move(array));
            return true;
        }
        case nlohmann::json::value_t::object: {
            wire::FieldTable table;
            if (!object_from_json(in, table, error, depth)) return false;
            out = wire::FieldValue::table(std::move(table));
            return true;
        }
        default: error = "a value that is not JSON data"; return false;
    }
}

}  // namespace

nlohmann::json to_json(const wire::FieldValue& value) {
    return std::visit(
        [&](const auto& v) -> nlohmann::json {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
                return nullptr;
            } else if constexpr (std::is_same_v<T, wire::Decimal>) {
                return static_cast<double>(v.value) / std::pow(10.0, v.scale);
            } else if constexpr (std::is_same_v<T, wire::FieldArray>) {
                nlohmann::json array = nlohmann::json::array();
                for (const wire::FieldValue& item : v) array.push_back(to_json(item));
                return array;
            } else if constexpr (std::is_same_v<T, wire::FieldTable>) {
                return to_json(v);
            } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
                // JSON has no NaN or infinity; RabbitMQ refuses them on the way in too.
                if (!std::isfinite(v)) return nullptr;
                return static_cast<double>(v);
            } else {
                return v;
            }
        },
        value.value);
}

nlohmann::json to_json(const wire::FieldTable& table) {
    nlohmann::json object = nlohmann::json::object();
    // A key given twice keeps its first value, as RabbitMQ looks keys up (find_field).
    for (const auto& [key, value] : table) {
        if (!object.contains(key)) object[key] = to_json(value);
    }
    return object;
}

nlohmann::json table_content_to_json(std::string_view content) {
    wire::FieldTable table;
    if (content.empty() || !wire::decode_field_table(content, table)) {
        return nlohmann::json::object();
    }
    return to_json(table);
}

bool table_from_json(const nlohmann::json& object, wire::FieldTable& out, std::string& error) {
    if (!object.is_object()) {
        error = "expected a JSON object, got " + std::string(object.type_name());
        return false;
    }
    return object_from_json(object, out, error, 0);
}

std::string dump_json(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace lepus::json
