#include "core/wire/field_table.h"

#include <algorithm>
#include <bit>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <type_traits>

#include "core/base/assert.h"
#include "core/wire/wire_reader.h"

namespace lepus::wire {

namespace {

// Validation and decoding share one walk so they cannot disagree about what is well formed:
// the walker is told whether to build values (Build) or only to check them, and whether floats
// must be finite (method arguments; see validate_field_table).
template <bool Build, bool FiniteOnly = false>
class Walker {
public:
    using Table = std::conditional_t<Build, FieldTable, std::monostate>;
    using Array = std::conditional_t<Build, FieldArray, std::monostate>;
    using Value = std::conditional_t<Build, FieldValue, std::monostate>;

    // `depth` counts the table or array being entered: the outermost table is depth 1.
    static bool table(std::string_view content, usize depth, Table& out) {
        if (depth > field_nesting_depth_max) return false;
        WireReader reader(content);
        while (reader.ok() && !reader.at_end()) {
            std::string_view key = reader.read_shortstr();
            Value value;
            if (!field(reader, depth, value)) return false;
            if constexpr (Build) out.emplace_back(std::string(key), std::move(value));
        }
        return reader.ok();
    }

    static bool array(std::string_view content, usize depth, Array& out) {
        if (depth > field_nesting_depth_max) return false;
        WireReader reader(content);
        while (reader.ok() && !reader.at_end()) {
            Value value;
            if (!field(reader, depth, value)) return false;
            if constexpr (Build) out.push_back(std::move(value));
        }
        return reader.ok();
    }

private:
    template <typename T>
    static void store(Value& out, char type, T v) {
        if constexpr (Build) {
            out.type = type;
            // Strings arrive as views into the input and are copied only when building.
            if constexpr (std::is_same_v<T, std::string_view>) {
                out.value.template emplace<std::string>(v);
            } else {
                out.value.template emplace<T>(std::move(v));
            }
        }
    }

    // Reads one type code and its value; `depth` is that of the enclosing table or array.
    static bool field(WireReader& reader, usize depth, Value& out) {
        char type = static_cast<char>(reader.read_u8());
        switch (type) {
            case 't': store(out, type, reader.read_u8() != 0); break;
            case 'b': store(out, type, static_cast<i8>(reader.read_u8())); break;
            case 'B': store(out, type, reader.read_u8()); break;
            case 's': store(out, type, static_cast<i16>(reader.read_u16())); break;
            case 'u': store(out, type, reader.read_u16()); break;
            case 'I': store(out, type, static_cast<i32>(reader.read_u32())); break;
            case 'i': store(out, type, reader.read_u32()); break;
            case 'l': store(out, type, static_cast<i64>(reader.read_u64())); break;
            case 'f': {
                auto v = std::bit_cast<float>(reader.read_u32());
                if (FiniteOnly && !std::isfinite(v)) return false;
                store(out, type, v);
                break;
            }
            case 'd': {
                auto v = std::bit_cast<double>(reader.read_u64());
                if (FiniteOnly && !std::isfinite(v)) return false;
                store(out, type, v);
                break;
            }
            case 'D': {
                u8 scale = reader.read_u8();
                store(out, type, Decimal{scale, reader.read_u32()});
                break;
            }
            case 'S':
            case 'x': store(out, type, reader.read_longstr()); break;
            case 'T': store(out, type, reader.read_u64()); break;
            case 'V': store(out, type, std::monostate{}); break;
            case 'A': {
                std::string_view content = reader.read_longstr();
                if (!reader.ok()) return false;
                Array nested;
                if (!array(content, depth + 1, nested)) return false;
                store(out, type, std::move(nested));
                break;
            }
            case 'F': {
                std::string_view content = reader.read_longstr();
                if (!reader.ok()) return false;
                Table nested;
                if (!table(content, depth + 1, nested)) return false;
                store(out, type, std::move(nested));
                break;
            }
            default: return false;
        }
        return reader.ok();
    }
};

void encode_array_content(const FieldArray& array, WireWriter& writer);
void encode_table_content(const FieldTable& table, WireWriter& writer);

template <typename T>
const T& held(const FieldValue& value) {
    const T* v = std::get_if<T>(&value.value);
    LEPUS_ASSERT_MSG(v != nullptr, "field type code does not match the value held");
    return *v;
}

// Writes a u32 length placeholder, lets `body` append, then patches the length in.
template <typename Body>
void write_prefixed(WireWriter& writer, Body&& body) {
    usize at = writer.size();
    writer.write_u32(0);
    body();
    usize length = writer.size() - at - 4;
    LEPUS_ASSERT(length <= UINT32_MAX);
    writer.patch_u32(at, static_cast<u32>(length));
}

void encode_value(const FieldValue& value, WireWriter& writer) {
    writer.write_u8(static_cast<u8>(value.type));
    switch (value.type) {
        case 't': writer.write_u8(held<bool>(value) ? 1 : 0); break;
        case 'b': writer.write_u8(static_cast<u8>(held<i8>(value))); break;
        case 'B': writer.write_u8(held<u8>(value)); break;
        case 's': writer.write_u16(static_cast<u16>(held<i16>(value))); break;
        case 'u': writer.write_u16(held<u16>(value)); break;
        case 'I': writer.write_u32(static_cast<u32>(held<i32>(value))); break;
        case 'i': writer.write_u32(held<u32>(value)); break;
        case 'l': writer.write_u64(static_cast<u64>(held<i64>(value))); break;
        case 'f': writer.write_u32(std::bit_cast<u32>(held<float>(value))); break;
        case 'd': writer.write_u64(std::bit_cast<u64>(held<double>(value))); break;
        case 'D': {
            const Decimal& d = held<Decimal>(value);
            writer.write_u8(d.scale);
            writer.write_u32(d.value);
            break;
        }
        case 'S':
        case 'x': {
            const std::string& s = held<std::string>(value);
            LEPUS_ASSERT(s.size() <= UINT32_MAX);
            writer.write_longstr(s);
            break;
        }
        case 'T': writer.write_u64(held<u64>(value)); break;
        case 'V': (void)held<std::monostate>(value); break;
        case 'A': {
            const FieldArray& array = held<FieldArray>(value);
            write_prefixed(writer, [&] { encode_array_content(array, writer); });
            break;
        }
        case 'F': {
            const FieldTable& table = held<FieldTable>(value);
            write_prefixed(writer, [&] { encode_table_content(table, writer); });
            break;
        }
        default: LEPUS_ASSERT_MSG(false, "unknown field type code");
    }
}

void encode_array_content(const FieldArray& array, WireWriter& writer) {
    for (const FieldValue& value : array) encode_value(value, writer);
}

void encode_table_content(const FieldTable& table, WireWriter& writer) {
    for (const auto& [key, value] : table) {
        writer.write_shortstr(key);
        encode_value(value, writer);
    }
}

bool values_equivalent(const FieldValue& a, const FieldValue& b);

bool arrays_equivalent(const FieldArray& a, const FieldArray& b) {
    if (a.size() != b.size()) return false;
    for (usize i = 0; i < a.size(); i++) {
        if (!values_equivalent(a[i], b[i])) return false;
    }
    return true;
}

bool values_equivalent(const FieldValue& a, const FieldValue& b) {
    if (a.type != b.type) return false;
    if (a.type == 'F') return tables_equivalent(held<FieldTable>(a), held<FieldTable>(b));
    if (a.type == 'A') return arrays_equivalent(held<FieldArray>(a), held<FieldArray>(b));
    // Floats compare as the bytes they arrived as, so a NaN (allowed in message headers) is
    // equivalent to itself.
    if (a.type == 'f') {
        return std::bit_cast<u32>(held<float>(a)) == std::bit_cast<u32>(held<float>(b));
    }
    if (a.type == 'd') {
        return std::bit_cast<u64>(held<double>(a)) == std::bit_cast<u64>(held<double>(b));
    }
    return a.value == b.value;
}

std::vector<usize> order_by_key(const FieldTable& table) {
    std::vector<usize> order(table.size());
    std::iota(order.begin(), order.end(), usize{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](usize x, usize y) { return table[x].first < table[y].first; });
    return order;
}

void append_quoted(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte >= 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    out += '"';
}

void append_value(std::string& out, const FieldValue& value);

void append_table(std::string& out, const FieldTable& table) {
    out += '{';
    for (usize i = 0; i < table.size(); i++) {
        if (i > 0) out += ", ";
        append_quoted(out, table[i].first);
        out += ": ";
        append_value(out, table[i].second);
    }
    out += '}';
}

void append_value(std::string& out, const FieldValue& value) {
    out += value.type;
    out += ':';
    if (value.type == 'S' || value.type == 'x') {
        append_quoted(out, held<std::string>(value));
        return;
    }
    if (value.type == 'F') {
        append_table(out, held<FieldTable>(value));
        return;
    }
    if (value.type == 'A') {
        const FieldArray& array = held<FieldArray>(value);
        out += '[';
        for (usize i = 0; i < array.size(); i++) {
            if (i > 0) out += ", ";
            append_value(out, array[i]);
        }
        out += ']';
        return;
    }
    char text[64];
    if (value.type == 't') {
        out += held<bool>(value) ? "true" : "false";
    } else if (value.type == 'V') {
        out += "void";
    } else if (value.type == 'D') {
        const Decimal& d = held<Decimal>(value);
        std::snprintf(text, sizeof text, "%" PRIu32 "e-%u", d.value,
                      static_cast<unsigned>(d.scale));
        out += text;
    } else if (value.type == 'f') {
        std::snprintf(text, sizeof text, "%.9g", static_cast<double>(held<float>(value)));
        out += text;
    } else if (value.type == 'd') {
        std::snprintf(text, sizeof text, "%.17g", held<double>(value));
        out += text;
    } else if (value.type == 'T') {
        std::snprintf(text, sizeof text, "%" PRIu64, held<u64>(value));
        out += text;
    } else if (std::optional<i64> integer = value.as_integer()) {
        std::snprintf(text, sizeof text, "%" PRId64, *integer);
        out += text;
    } else {
        out += '?';
    }
}

}  // namespace

std::optional<i64> FieldValue::as_integer() const {
    switch (type) {
        case 'b': return held<i8>(*this);
        case 'B': return held<u8>(*this);
        case 's': return held<i16>(*this);
        case 'u': return held<u16>(*this);
        case 'I': return held<i32>(*this);
        case 'i': return held<u32>(*this);
        case 'l': return held<i64>(*this);
        default: return std::nullopt;
    }
}

std::optional<std::string_view> FieldValue::as_string() const {
    if (type != 'S' && type != 'x') return std::nullopt;
    return std::string_view(held<std::string>(*this));
}

std::optional<bool> FieldValue::as_bool() const {
    if (type != 't') return std::nullopt;
    return held<bool>(*this);
}

bool tables_equivalent(const FieldTable& a, const FieldTable& b) {
    if (a.size() != b.size()) return false;
    std::vector<usize> order_a = order_by_key(a);
    std::vector<usize> order_b = order_by_key(b);
    for (usize i = 0; i < a.size(); i++) {
        const auto& [key_a, value_a] = a[order_a[i]];
        const auto& [key_b, value_b] = b[order_b[i]];
        if (key_a != key_b || !values_equivalent(value_a, value_b)) return false;
    }
    return true;
}

bool validate_field_table(std::string_view content) {
    std::monostate none;
    return Walker<false>::table(content, 1, none);
}

bool validate_argument_table(std::string_view content) {
    std::monostate none;
    return Walker<false, true>::table(content, 1, none);
}

bool decode_field_table(std::string_view content, FieldTable& out) {
    out.clear();
    return Walker<true>::table(content, 1, out);
}

void encode_field_table(const FieldTable& table, WireWriter& writer) {
    write_prefixed(writer, [&] { encode_table_content(table, writer); });
}

std::string field_table_content(const FieldTable& table) {
    std::string out;
    WireWriter writer(out);
    encode_table_content(table, writer);
    return out;
}

const FieldValue* find_field(const FieldTable& table, std::string_view key) {
    for (const auto& [name, value] : table) {
        if (name == key) return &value;
    }
    return nullptr;
}

std::string to_string(const FieldValue& value) {
    std::string out;
    append_value(out, value);
    return out;
}

std::string to_string(const FieldTable& table) {
    std::string out;
    append_table(out, table);
    return out;
}

std::string_view field_type_name(char type) {
    switch (type) {
        case 't': return "bool";
        case 'b': return "byte";
        case 'B': return "unsignedbyte";
        case 's': return "short";
        case 'u': return "unsignedshort";
        case 'I': return "signedint";
        case 'i': return "unsignedint";
        case 'l': return "long";
        case 'f': return "float";
        case 'd': return "double";
        case 'D': return "decimal";
        case 'S': return "longstr";
        case 'x': return "binary";
        case 'A': return "array";
        case 'T': return "timestamp";
        case 'F': return "table";
        case 'V': return "void";
        default: return "unknown";
    }
}

}  // namespace lepus::wire
