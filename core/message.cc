#include "core/message.h"

#include "core/content_header.h"
#include "core/queue_arguments.h"

namespace lepus {

Message::Message(Routing routing, ChunkSlice header, u64 body_size, u8 delivery_mode, u8 priority)
    : routing_(std::move(routing)),
      header_(std::move(header)),
      body_size_(body_size),
      delivery_mode_(delivery_mode),
      priority_(priority) {
    ContentHeaderLayout layout;
    if (!read_content_header_layout(header_.view(), layout)) return;  // no properties used
    headers_ = layout.headers;
    expiration_ = layout.expiration;
    has_expiration_ = layout.has_expiration();
    if (has_expiration_) expiration_valid_ = core::parse_expiration(expiration_, expiration_ms_);
}

std::string Message::body_copy() const {
    std::string out;
    out.reserve(body_size_);
    for (const ChunkSlice& slice : body_) out.append(slice.data, slice.size);
    return out;
}

}  // namespace lepus
