#pragma once
// The content of a delivery on the wire: a content-header frame and body frames of at most
// frame_max, written around the message's own bytes, which go out by reference (never copied)
// and stay alive in the out-queue until sent. Used for basic.deliver, basic.get-ok and
// basic.return alike; bench/send_path_bench.cc measures these very functions.
#include <string_view>

#include "core/base/types.h"
#include "core/message.h"
#include "net/session/out_queue.h"

namespace lepus::session {

void write_content_frames(OutQueue& out, u16 channel, u32 frame_max, const MessageRef& message);

// basic.deliver and the message's content: one delivery to a consumer.
void write_delivery_frames(OutQueue& out, u16 channel, u32 frame_max, std::string_view consumer_tag,
                           u64 delivery_tag, bool redelivered, const MessageRef& message);

}  // namespace lepus::session
