#include "net/session/content_writer.h"

#include <algorithm>

#include "core/base/assert.h"
#include "core/base/limits.h"
#include "net/amqp/frame.h"
#include "net/amqp/methods.h"

namespace lepus::session {

using namespace lepus::amqp;

void write_content_frames(OutQueue& out, u16 channel, u32 frame_max, const MessageRef& owner) {
    const Message& message = *owner;
    std::string_view header = message.header_payload();
    write_frame_header(out.writer(), frame_header, channel, static_cast<u32>(header.size()));
    // A small header is copied beside the frame bytes: an iovec of its own costs more than
    // the copy, and a small delivery then goes out as two iovecs (frames, body) instead of five.
    if (header.size() <= limits::content_header_copy_max) {
        out.writer().write_bytes(header);
    } else {
        out.append_reference(header, owner);
    }
    write_frame_end(out.writer());
    // Body frames carry at most frame_max - 8 bytes; a frame may span the slices the body
    // arrived in, since the slices are only iovecs.
    const u64 frame_payload_max = frame_max - frame_overhead;
    u64 left = message.body_size();
    usize slice_index = 0;
    usize slice_offset = 0;
    const auto& slices = message.body();
    while (left > 0) {
        u64 frame_bytes = std::min(left, frame_payload_max);
        write_frame_header(out.writer(), frame_body, channel, static_cast<u32>(frame_bytes));
        u64 need = frame_bytes;
        while (need > 0) {
            LEPUS_ASSERT(slice_index < slices.size());
            const ChunkSlice& s = slices[slice_index];
            usize n = static_cast<usize>(std::min<u64>(need, s.size - slice_offset));
            out.append_reference(std::string_view(s.data + slice_offset, n), owner);
            need -= n;
            slice_offset += n;
            if (slice_offset == s.size) {
                slice_index++;
                slice_offset = 0;
            }
        }
        write_frame_end(out.writer());
        left -= frame_bytes;
    }
}

void write_delivery_frames(OutQueue& out, u16 channel, u32 frame_max, std::string_view consumer_tag,
                           u64 delivery_tag, bool redelivered, const MessageRef& message) {
    BasicDeliver d;
    d.consumer_tag = consumer_tag;
    d.delivery_tag = delivery_tag;
    d.redelivered = redelivered;
    d.exchange = message->exchange();
    d.routing_key = message->routing_key();
    write_method_frame(out.writer(), channel, d);
    write_content_frames(out, channel, frame_max, message);
}

}  // namespace lepus::session
