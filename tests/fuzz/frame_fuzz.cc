// The frame parser on whatever a peer sends: frames one after another, as a connection reads
// them, under a frame_max the input's first two bytes choose (4 KiB up to about 1 MiB). Each
// complete method or content header frame goes on through its decoder.
#include "net/amqp/frame.h"
#include "tests/fuzz/round_trip.h"

namespace lepus::fuzz {
namespace {

void parse_all(std::string_view input, u32 frame_max) {
    while (!input.empty()) {
        amqp::Frame frame;
        usize frame_size = 0;
        amqp::FrameStatus status = amqp::parse_frame(input, frame_max, frame, frame_size);
        if (status == amqp::FrameStatus::incomplete) {
            // Known once the header is in, and then more than what has arrived.
            LEPUS_ASSERT(frame_size == 0 || frame_size > input.size());
            LEPUS_ASSERT(frame_size <= frame_max);
            return;
        }
        if (status != amqp::FrameStatus::complete) return;  // the connection closes
        LEPUS_ASSERT(frame_size == frame.payload.size() + amqp::frame_overhead);
        LEPUS_ASSERT(frame_size <= input.size() && frame_size <= frame_max);
        LEPUS_ASSERT(frame.payload.data() == input.data() + amqp::frame_header_size);
        if (frame.type == amqp::frame_method) {
            check_method(frame.payload);
        } else if (frame.type == amqp::frame_header) {
            amqp::ContentHeader header;
            check_content_header(frame.payload, header);
        }
        input.remove_prefix(frame_size);
    }
}

}  // namespace
}  // namespace lepus::fuzz

extern "C" int LLVMFuzzerTestOneInput(const lepus::u8* data, lepus::usize size) {
    if (size < 2) return 0;
    lepus::u32 frame_max = lepus::amqp::frame_min_size + (lepus::u32{data[0]} << 8 | data[1]) * 16;
    lepus::fuzz::parse_all(lepus::fuzz::as_text(data + 2, size - 2), frame_max);
    return 0;
}
