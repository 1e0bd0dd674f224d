// Content header payloads through the generated decoder and through core's own reader, which
// finds the headers and expiration properties without decoding the rest and rewrites headers
// for dead lettering. What the decoder accepts, core's reader must read the same way, and a
// rewritten header must decode with only those two properties changed.
#include "core/content_header.h"
#include "core/wire/field_table.h"
#include "tests/fuzz/round_trip.h"

namespace lepus::fuzz {
namespace {

void check_layout(std::string_view payload, const amqp::ContentHeader& header) {
    ContentHeaderLayout layout;
    LEPUS_ASSERT_MSG(read_content_header_layout(payload, layout),
                     "core refuses a content header the codec accepts");
    const amqp::BasicProperties& properties = header.properties;
    LEPUS_ASSERT(layout.flags == properties.flags);
    LEPUS_ASSERT(layout.has_headers() == properties.has(amqp::BasicProperty::headers));
    LEPUS_ASSERT(layout.headers == properties.headers);
    LEPUS_ASSERT(layout.expiration == properties.expiration);

    wire::FieldTable x_death = {{"x-death", wire::FieldValue::string("fuzz")}};
    std::string new_headers = wire::field_table_content(x_death);
    std::string rewritten = rewrite_content_header(payload, layout, new_headers);
    amqp::ContentHeader after;
    LEPUS_ASSERT_MSG(amqp::decode_content_header(rewritten, after),
                     "a rewritten content header does not decode");
    amqp::BasicProperties expected = properties;
    expected.set_headers(new_headers);
    expected.expiration = {};
    expected.flags &= static_cast<u16>(~ContentHeaderLayout::expiration_flag);
    LEPUS_ASSERT(after.properties == expected);
    LEPUS_ASSERT(after.body_size == header.body_size && after.class_id == header.class_id &&
                 after.weight == header.weight);
}

}  // namespace
}  // namespace lepus::fuzz

extern "C" int LLVMFuzzerTestOneInput(const lepus::u8* data, lepus::usize size) {
    std::string_view payload = lepus::fuzz::as_text(data, size);
    lepus::amqp::ContentHeader header;
    if (lepus::fuzz::check_content_header(payload, header)) {
        lepus::fuzz::check_layout(payload, header);
    }
    return 0;
}
