#pragma once
// Where the two basic properties the broker itself acts on lie inside a content header payload:
// `headers` (dead lettering writes x-death into it) and `expiration` (per-message TTL).
//
// The property order and wire types come from the generated codec (net/amqp, a module below
// core), so this reader steps over the properties it does not need instead of decoding them all,
// and splices a new headers table in; everything else is copied byte for byte. The channel has
// already validated the payload with the generated decoder, so a payload that does not parse
// here is a bug in a test, and reads as "no headers, no expiration".
//
// Payload layout: class-id u16, weight u16, body-size u64, property-flags u16, then each present
// property in spec order (bit 15 is the first property, bit 0 the continuation bit).
#include <string>
#include <string_view>

#include "core/base/types.h"

namespace lepus {

struct ContentHeaderLayout {
    static constexpr usize flags_offset = 12;
    static constexpr usize properties_offset = 14;
    static constexpr u16 headers_flag = 1u << 13;
    static constexpr u16 expiration_flag = 1u << 8;

    u16 flags = 0;
    // Byte ranges in the payload, [begin, end): the whole field including its length prefix.
    // For an absent property, an empty range where it would go.
    usize headers_begin = properties_offset;
    usize headers_end = properties_offset;
    usize expiration_begin = properties_offset;
    usize expiration_end = properties_offset;
    std::string_view headers;     // the table's content bytes, without the length
    std::string_view expiration;  // the short string's bytes

    bool has_headers() const { return (flags & headers_flag) != 0; }
    bool has_expiration() const { return (flags & expiration_flag) != 0; }
};

// False when the payload is not a well-formed basic content header.
bool read_content_header_layout(std::string_view payload, ContentHeaderLayout& out);

// The payload as dead lettering republishes it: the same properties except that `headers`
// (table content bytes) replaces the headers table and the expiration property is gone.
std::string rewrite_content_header(std::string_view payload, const ContentHeaderLayout& layout,
                                   std::string_view headers);

}  // namespace lepus
