#include "core/content_header.h"

#include "core/base/assert.h"
#include "core/wire/wire_reader.h"
#include "core/wire/wire_writer.h"
#include "net/amqp/methods.h"

namespace lepus {

namespace {

using amqp::BasicProperties;
using amqp::BasicProperty;
using amqp::PropertyWire;

// Property i has flag bit 15 - i (the generated layout's order).
constexpr usize index_of(BasicProperty property) {
    usize index = 0;
    while ((static_cast<u16>(property) << index & 0x8000) == 0) index++;
    return index;
}
constexpr usize headers_index = index_of(BasicProperty::headers);
constexpr usize expiration_index = index_of(BasicProperty::expiration);

u16 flag_of(usize index) { return static_cast<u16>(1u << (15 - index)); }

static_assert(ContentHeaderLayout::headers_flag == static_cast<u16>(BasicProperty::headers));
static_assert(ContentHeaderLayout::expiration_flag == static_cast<u16>(BasicProperty::expiration));
static_assert(amqp::basic_property_wire[headers_index] == PropertyWire::table);
static_assert(amqp::basic_property_wire[expiration_index] == PropertyWire::shortstr);

// Steps over one property; returns the bytes of a string or table, empty for the others.
std::string_view skip_property(wire::WireReader& reader, PropertyWire type) {
    switch (type) {
        case PropertyWire::octet: reader.read_u8(); return {};
        case PropertyWire::short_int: reader.read_u16(); return {};
        case PropertyWire::long_int: reader.read_u32(); return {};
        case PropertyWire::longlong_int:
        case PropertyWire::timestamp: reader.read_u64(); return {};
        case PropertyWire::shortstr: return reader.read_shortstr();
        case PropertyWire::longstr:
        case PropertyWire::table: return reader.read_longstr();
    }
    return {};
}

}  // namespace

bool read_content_header_layout(std::string_view payload, ContentHeaderLayout& out) {
    out = ContentHeaderLayout{};
    wire::WireReader reader(payload);
    u16 class_id = reader.read_u16();
    reader.read_u16();  // weight
    reader.read_u64();  // body size
    u16 flags = reader.read_u16();
    if (!reader.ok() || class_id != BasicProperties::class_id ||
        (flags & ~BasicProperties::flags_known) != 0)
        return false;
    for (usize i = 0; i < amqp::basic_property_count; i++) {
        usize begin = reader.position();
        bool present = (flags & flag_of(i)) != 0;
        std::string_view value =
            present ? skip_property(reader, amqp::basic_property_wire[i]) : std::string_view();
        if (!reader.ok()) return false;
        if (i == headers_index) {
            out.headers_begin = begin;
            out.headers_end = reader.position();
            out.headers = value;
        } else if (i == expiration_index) {
            out.expiration_begin = begin;
            out.expiration_end = reader.position();
            out.expiration = value;
        }
    }
    if (!reader.at_end()) return false;
    out.flags = flags;
    return true;
}

std::string rewrite_content_header(std::string_view payload, const ContentHeaderLayout& layout,
                                   std::string_view headers) {
    LEPUS_ASSERT(layout.headers_end <= layout.expiration_begin);
    LEPUS_ASSERT(layout.expiration_end <= payload.size());
    std::string out;
    out.reserve(payload.size() + headers.size() + 4);
    wire::WireWriter writer(out);
    u16 flags = static_cast<u16>((layout.flags | ContentHeaderLayout::headers_flag) &
                                 ~ContentHeaderLayout::expiration_flag);
    writer.write_bytes(payload.substr(0, ContentHeaderLayout::flags_offset));
    writer.write_u16(flags);
    writer.write_bytes(
        payload.substr(ContentHeaderLayout::properties_offset,
                       layout.headers_begin - ContentHeaderLayout::properties_offset));
    writer.write_longstr(headers);
    writer.write_bytes(
        payload.substr(layout.headers_end, layout.expiration_begin - layout.headers_end));
    writer.write_bytes(payload.substr(layout.expiration_end));
    return out;
}

}  // namespace lepus
