#include "core/message.h"

namespace lepus {

std::string Message::body_copy() const {
    std::string out;
    out.reserve(body_size_);
    for (const ChunkSlice& slice : body_) out.append(slice.data, slice.size);
    return out;
}

}  // namespace lepus
