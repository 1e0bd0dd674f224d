#pragma once
// AMQP field tables and field arrays, with every field type RabbitMQ puts on the wire.
//
// Most tables stay raw bytes: the codec only validates them (validate_field_table), and a table
// is decoded into a FieldTable when someone needs its values (queue arguments, headers-exchange
// bindings, client properties). A FieldTable owns its strings and keeps the wire order of its
// entries, duplicates included, so a decoded table re-encodes to the same bytes.
//
// Type codes (RabbitMQ's, which differ from the 0-9-1 spec text for some integers):
//   t bool  b int8  B uint8  s int16  u uint16  I int32  i uint32  l int64  f float  d double
//   D decimal (scale u8, value u32)  S long string  x byte array  A array  T timestamp (u64)
//   F nested table  V void
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/base/types.h"
#include "core/wire/wire_writer.h"

namespace lepus::wire {

// Nested tables and arrays deeper than this are rejected: decoding recurses once per level, and
// a peer must not be able to choose how deep our stack goes.
inline constexpr usize field_nesting_depth_max = 32;

struct Decimal {
    u8 scale = 0;
    u32 value = 0;
    friend bool operator==(const Decimal&, const Decimal&) = default;
};

struct FieldValue;
using FieldArray = std::vector<FieldValue>;
using FieldTable = std::vector<std::pair<std::string, FieldValue>>;

// One typed value. `type` is the wire code and selects the alternative held in `value`:
// S and x both hold std::string, T holds u64, l holds i64, V holds std::monostate. Build values
// with the named constructors below so the two never disagree.
struct FieldValue {
    using Storage = std::variant<std::monostate, bool, i8, u8, i16, u16, i32, u32, i64, float,
                                 double, Decimal, u64, std::string, FieldArray, FieldTable>;

    char type = 'V';
    Storage value;

    static FieldValue boolean(bool v) { return {'t', v}; }
    static FieldValue int8(i8 v) { return {'b', v}; }
    static FieldValue uint8(u8 v) { return {'B', v}; }
    static FieldValue int16(i16 v) { return {'s', v}; }
    static FieldValue uint16(u16 v) { return {'u', v}; }
    static FieldValue int32(i32 v) { return {'I', v}; }
    static FieldValue uint32(u32 v) { return {'i', v}; }
    static FieldValue int64(i64 v) { return {'l', v}; }
    static FieldValue float32(float v) { return {'f', v}; }
    static FieldValue float64(double v) { return {'d', v}; }
    static FieldValue decimal(u8 scale, u32 v) { return {'D', Decimal{scale, v}}; }
    static FieldValue string(std::string v) { return {'S', std::move(v)}; }
    static FieldValue bytes(std::string v) { return {'x', std::move(v)}; }
    static FieldValue array(FieldArray v) { return {'A', std::move(v)}; }
    static FieldValue timestamp(u64 v) { return {'T', v}; }
    static FieldValue table(FieldTable v) { return {'F', std::move(v)}; }
    static FieldValue void_value() { return {'V', std::monostate{}}; }

    // Any of the integer types b B s u I i l, widened; a timestamp is not an integer here.
    std::optional<i64> as_integer() const;
    // S or x; the view points into this value.
    std::optional<std::string_view> as_string() const;
    std::optional<bool> as_bool() const;

    // Same type code and same value; nested tables compare in order (see tables_equivalent).
    friend bool operator==(const FieldValue&, const FieldValue&) = default;
};

// Equality as RabbitMQ judges declaration equivalence: same entries regardless of order, at
// every nesting level. Entries with the same key keep their relative order.
bool tables_equivalent(const FieldTable& a, const FieldTable& b);

// Checks a table's content bytes (without the u32 length prefix) for structure, bounds, known
// type codes and the nesting limit. Allocates nothing; accepts exactly what decode accepts.
bool validate_field_table(std::string_view content);
// The same for a method's arguments (queue and exchange arguments, consumer and binding
// arguments, client properties), which also refuses NaN and infinite floats: RabbitMQ 3.10
// cannot decode them (its connection fails on them), and an argument that equals nothing,
// itself included, would make declarations disagree with themselves.
bool validate_argument_table(std::string_view content);

// Decodes a table's content bytes (without the length prefix). Returns false on malformed input,
// leaving `out` in an unspecified but valid state.
bool decode_field_table(std::string_view content, FieldTable& out);

// Writes the u32 length prefix and the content.
void encode_field_table(const FieldTable& table, WireWriter& writer);
// The content bytes only, as the generated codec carries tables (std::string_view fields).
std::string field_table_content(const FieldTable& table);

// The first entry named `key`, as RabbitMQ looks keys up; nullptr if there is none.
const FieldValue* find_field(const FieldTable& table, std::string_view key);

// Human-readable forms for logs, e.g. {"x-max-length": I:10, "alt": S:"q"}.
std::string to_string(const FieldValue& value);
// The name RabbitMQ gives a type code ("long", "longstr", "signedint", ...), as it appears in
// its error texts; "unknown" for a code that is not a field type.
std::string_view field_type_name(char type);
std::string to_string(const FieldTable& table);

}  // namespace lepus::wire
