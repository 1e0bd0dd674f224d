#include "net/amqp/frame.h"

#include <cstdint>

#include "core/base/assert.h"
#include "core/wire/wire_reader.h"

namespace lepus::amqp {

namespace {

bool known_frame_type(u8 type) {
    return type == frame_method || type == frame_header || type == frame_body ||
           type == frame_heartbeat;
}

}  // namespace

std::string_view frame_status_name(FrameStatus status) {
    switch (status) {
        case FrameStatus::complete: return "complete";
        case FrameStatus::incomplete: return "incomplete";
        case FrameStatus::too_large: return "too_large";
        case FrameStatus::bad_frame_end: return "bad_frame_end";
        case FrameStatus::bad_type: return "bad_type";
    }
    return "invalid";
}

FrameStatus parse_frame(std::string_view input, u32 frame_max, Frame& out, usize& frame_size) {
    frame_size = 0;
    if (input.empty()) return FrameStatus::incomplete;
    u8 type = static_cast<u8>(input[0]);
    if (!known_frame_type(type)) return FrameStatus::bad_type;
    if (input.size() < frame_header_size) return FrameStatus::incomplete;

    wire::WireReader reader(input.substr(0, frame_header_size));
    reader.read_u8();
    u16 channel = reader.read_u16();
    u32 payload_size = reader.read_u32();
    LEPUS_ASSERT(reader.ok());
    // In 64 bits: a payload size near 4 GiB plus the overhead must not wrap.
    u64 total = u64{payload_size} + frame_overhead;
    if (frame_max != 0 && total > frame_max) return FrameStatus::too_large;
    frame_size = static_cast<usize>(total);
    if (input.size() < frame_size) return FrameStatus::incomplete;
    if (static_cast<u8>(input[frame_size - 1]) != frame_end) return FrameStatus::bad_frame_end;

    out.type = type;
    out.channel = channel;
    out.payload = input.substr(frame_header_size, payload_size);
    return FrameStatus::complete;
}

void write_frame_header(wire::WireWriter& writer, u8 type, u16 channel, u32 payload_size) {
    writer.write_u8(type);
    writer.write_u16(channel);
    writer.write_u32(payload_size);
}

void write_frame_end(wire::WireWriter& writer) { writer.write_u8(frame_end); }

void write_heartbeat_frame(wire::WireWriter& writer) {
    write_frame_header(writer, frame_heartbeat, 0, 0);
    write_frame_end(writer);
}

void write_content_header_frame(wire::WireWriter& writer, u16 channel,
                                const ContentHeader& header) {
    usize frame_start = writer.size();
    write_frame_header(writer, frame_header, channel, 0);
    encode_content_header(header, writer);
    detail::finish_frame(writer, frame_start);
}

void write_method_frame(wire::WireWriter& writer, u16 channel, const Method& method) {
    usize frame_start = writer.size();
    write_frame_header(writer, frame_method, channel, 0);
    encode_method(method, writer);
    detail::finish_frame(writer, frame_start);
}

namespace detail {

void finish_frame(wire::WireWriter& writer, usize frame_start) {
    LEPUS_ASSERT(writer.size() >= frame_start + frame_header_size);
    usize payload_size = writer.size() - frame_start - frame_header_size;
    LEPUS_ASSERT(payload_size <= UINT32_MAX - frame_overhead);
    writer.patch_u32(frame_start + 3, static_cast<u32>(payload_size));
    write_frame_end(writer);
}

}  // namespace detail

std::string reply_text(u16 code, std::string_view text) {
    std::string_view name = reply_code_name(code);
    std::string result = std::to_string(code) + " ";
    if (text.substr(0, name.size()) == name) return result + std::string(text);
    result += std::string(name);
    if (!text.empty()) result += " - " + std::string(text);
    return result;
}

}  // namespace lepus::amqp
