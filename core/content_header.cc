#include "core/content_header.h"

#include <array>

#include "core/base/assert.h"
#include "core/wire/wire_reader.h"
#include "core/wire/wire_writer.h"

namespace lepus {

namespace {

enum class PropertyType : u8 { shortstr, table, octet, timestamp };

// The basic class's properties in spec order; property i is flag bit 15 - i.
constexpr std::array<PropertyType, 14> basic_properties = {
    PropertyType::shortstr,   // content-type
    PropertyType::shortstr,   // content-encoding
    PropertyType::table,      // headers
    PropertyType::octet,      // delivery-mode
    PropertyType::octet,      // priority
    PropertyType::shortstr,   // correlation-id
    PropertyType::shortstr,   // reply-to
    PropertyType::shortstr,   // expiration
    PropertyType::shortstr,   // message-id
    PropertyType::timestamp,  // timestamp
    PropertyType::shortstr,   // type
    PropertyType::shortstr,   // user-id
    PropertyType::shortstr,   // app-id
    PropertyType::shortstr,   // cluster-id
};
constexpr usize headers_index = 2;
constexpr usize expiration_index = 7;
constexpr u16 basic_class_id = 60;
constexpr u16 known_flags = 0xfffc;

u16 flag_of(usize index) { return static_cast<u16>(1u << (15 - index)); }

static_assert(ContentHeaderLayout::headers_flag == 1u << (15 - headers_index));
static_assert(ContentHeaderLayout::expiration_flag == 1u << (15 - expiration_index));

}  // namespace

bool read_content_header_layout(std::string_view payload, ContentHeaderLayout& out) {
    out = ContentHeaderLayout{};
    wire::WireReader reader(payload);
    u16 class_id = reader.read_u16();
    reader.read_u16();  // weight
    reader.read_u64();  // body size
    u16 flags = reader.read_u16();
    if (!reader.ok() || class_id != basic_class_id || (flags & ~known_flags) != 0) return false;
    for (usize i = 0; i < basic_properties.size(); i++) {
        usize begin = reader.position();
        bool present = (flags & flag_of(i)) != 0;
        std::string_view value;
        if (present) {
            switch (basic_properties[i]) {
                case PropertyType::shortstr:
                    value = reader.read_shortstr();
                    break;
                case PropertyType::table:
                    value = reader.read_longstr();
                    break;
                case PropertyType::octet:
                    reader.read_u8();
                    break;
                case PropertyType::timestamp:
                    reader.read_u64();
                    break;
            }
        }
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
