#pragma once
// Checks the fuzz targets share: whatever the codec accepts, it writes back in a form it
// reads as the same thing. A failed check aborts, which libFuzzer reports with the input.
#include <string>
#include <string_view>

#include "core/base/assert.h"
#include "core/wire/wire_writer.h"
#include "net/amqp/methods.h"

namespace lepus::fuzz {

inline std::string_view as_text(const u8* data, usize size) {
    return {reinterpret_cast<const char*>(data), size};
}

// A method frame's payload that decodes re-encodes to one that decodes to the same method.
inline void check_method(std::string_view payload) {
    amqp::Method method;
    u16 class_id = 0;
    u16 method_id = 0;
    if (amqp::decode_method(payload, method, class_id, method_id) != amqp::DecodeStatus::ok) return;
    LEPUS_ASSERT(amqp::method_id_of(method) == (u32{class_id} << 16 | method_id));
    std::string encoded;
    wire::WireWriter writer(encoded);
    amqp::encode_method(method, writer);
    amqp::Method again;
    LEPUS_ASSERT(amqp::decode_method(encoded, again, class_id, method_id) ==
                 amqp::DecodeStatus::ok);
    LEPUS_ASSERT_MSG(again == method, "a method changed on its way through the codec");
}

// The same for a content header frame's payload; returns whether it decoded.
inline bool check_content_header(std::string_view payload, amqp::ContentHeader& header) {
    if (!amqp::decode_content_header(payload, header)) return false;
    std::string encoded;
    wire::WireWriter writer(encoded);
    amqp::encode_content_header(header, writer);
    amqp::ContentHeader again;
    LEPUS_ASSERT(amqp::decode_content_header(encoded, again));
    LEPUS_ASSERT_MSG(again == header, "a content header changed on its way through the codec");
    return true;
}

}  // namespace lepus::fuzz
