// Field tables (a table's content bytes, as the codec hands them over): the validator and the
// decoder agree on what is well formed, the stricter argument check accepts nothing the
// validator refuses, and decode then encode reaches a fixed point after one pass (booleans
// other than 0 and 1 become 1; nothing else changes).
#include "core/base/assert.h"
#include "core/wire/field_table.h"

extern "C" int LLVMFuzzerTestOneInput(const lepus::u8* data, lepus::usize size) {
    using namespace lepus::wire;
    std::string_view content(reinterpret_cast<const char*>(data), size);
    bool valid = validate_field_table(content);
    FieldTable table;
    LEPUS_ASSERT_MSG(decode_field_table(content, table) == valid,
                     "the validator and the decoder disagree");
    if (validate_argument_table(content)) LEPUS_ASSERT(valid);
    if (!valid) return 0;
    (void)to_string(table);
    std::string once = field_table_content(table);
    LEPUS_ASSERT(validate_field_table(once));
    FieldTable again;
    LEPUS_ASSERT(decode_field_table(once, again));
    LEPUS_ASSERT_MSG(field_table_content(again) == once, "encoding is not a fixed point");
    return 0;
}
