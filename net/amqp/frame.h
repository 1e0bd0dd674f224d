#pragma once
// AMQP 0-9-1 framing: a 7-byte header (type u8, channel u16, payload size u32), the payload, and
// the frame-end octet 0xCE. Parsing works on whatever bytes have arrived so far and never
// copies: a parsed frame's payload is a view into the caller's input buffer.
#include <string>
#include <string_view>

#include "core/base/types.h"
#include "core/wire/wire_writer.h"
#include "net/amqp/methods.h"

namespace lepus::amqp {

inline constexpr u8 frame_method = 1;
inline constexpr u8 frame_header = 2;
inline constexpr u8 frame_body = 3;
inline constexpr u8 frame_heartbeat = 8;
inline constexpr u8 frame_end = 0xCE;
inline constexpr usize frame_header_size = 7;
// Header plus frame-end octet: frame_max limits payload + frame_overhead.
inline constexpr usize frame_overhead = 8;
// The smallest frame_max a peer may negotiate; frames up to this size are always allowed.
inline constexpr u32 frame_min_size = 4096;

// What a client sends before its first frame.
inline constexpr std::string_view protocol_header = {"AMQP\x00\x00\x09\x01", 8};

struct Frame {
    u8 type = 0;
    u16 channel = 0;
    std::string_view payload;
};

enum class FrameStatus : u8 { complete, incomplete, too_large, bad_frame_end, bad_type };

std::string_view frame_status_name(FrameStatus status);

// "404 NOT_FOUND - no queue 'x' in vhost '/'": a close's code, then the broker's text, with the
// code's name added when the text does not start with it (RabbitMQ's texts do). For clients
// reporting why a broker closed a channel or connection.
std::string reply_text(u16 code, std::string_view text);

// Reads one frame from the start of `input`. On `complete`, `out` holds it and `frame_size` is
// the bytes it took (payload + frame_overhead). On `incomplete`, `frame_size` is the size of
// the whole frame once its header has arrived (so the caller can size its buffer) and 0 before.
// Errors are reported as early as the bytes allow: a bad type from the first octet, a frame
// larger than `frame_max` (0: no limit) from the header alone, before its payload arrives.
FrameStatus parse_frame(std::string_view input, u32 frame_max, Frame& out, usize& frame_size);

// Frame header with the payload size already known. Body frames use it with
// write_frame_end, sending their payload by reference between the two.
void write_frame_header(wire::WireWriter& writer, u8 type, u16 channel, u32 payload_size);
void write_frame_end(wire::WireWriter& writer);
void write_heartbeat_frame(wire::WireWriter& writer);
void write_content_header_frame(wire::WireWriter& writer, u16 channel, const ContentHeader& header);
// A whole method frame for any Method held in the variant.
void write_method_frame(wire::WireWriter& writer, u16 channel, const Method& method);

namespace detail {
// Patches the payload size of a frame whose header starts at `frame_start` and appends the
// frame-end octet.
void finish_frame(wire::WireWriter& writer, usize frame_start);
}  // namespace detail

// A whole method frame: header, class and method ids, arguments, frame end.
template <typename M>
void write_method_frame(wire::WireWriter& writer, u16 channel, const M& method) {
    usize frame_start = writer.size();
    write_frame_header(writer, frame_method, channel, 0);
    writer.write_u16(M::class_id);
    writer.write_u16(M::method_id);
    method.encode_arguments(writer);
    detail::finish_frame(writer, frame_start);
}

}  // namespace lepus::amqp
