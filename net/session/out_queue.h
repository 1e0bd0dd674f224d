#pragma once
// What a connection has to send: frame bytes written into one growable buffer, interleaved
// with message bytes sent by reference (content headers and bodies stay in the chunks they
// arrived in). The whole queue goes out as one sendmsg with an iovec per segment.
//
// Ownership: the queue holds a MessageRef for every message it points into, until the bytes
// have been sent; then clear() drops them.
#include <sys/uio.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/base/types.h"
#include "core/message.h"
#include "core/wire/wire_writer.h"

namespace lepus::session {

class OutQueue {
public:
    OutQueue() = default;
    OutQueue(const OutQueue&) = delete;
    OutQueue& operator=(const OutQueue&) = delete;

    // Frame bytes are appended through this writer.
    wire::WireWriter& writer() { return writer_; }
    // Exchanges contents with another queue (the writers stay bound to their own buffers).
    void swap_contents(OutQueue& other);
    // Bytes owned by `owner`, sent in place.
    void append_reference(std::string_view bytes, const MessageRef& owner);

    bool empty() const { return bytes_.size() == bytes_mark_ && segments_.empty(); }
    usize size() const { return reference_bytes_ + bytes_.size(); }

    // The iovecs build_iovecs would fill for everything unsent.
    usize iovec_count() const {
        return segments_.size() - sent_segment_ + (bytes_.size() > bytes_mark_ ? 1 : 0);
    }
    // Fills `iov` with the unsent part, at most `count_max` entries; returns how many.
    u32 build_iovecs(iovec* iov, u32 count_max);
    // Records that `bytes` more were sent. True when everything has been.
    bool consume(usize bytes);
    void clear();

private:
    struct Segment {
        const char* pointer;  // nullptr: bytes_[offset, offset + size)
        usize offset;
        usize size;
    };
    void close_bytes_segment();

    std::string bytes_;
    wire::WireWriter writer_{bytes_};
    usize bytes_mark_ = 0;  // start of the byte segment still being written
    std::vector<Segment> segments_;
    std::vector<MessageRef> owners_;
    usize reference_bytes_ = 0;
    usize sent_segment_ = 0;  // first segment not wholly sent
    usize sent_offset_ = 0;   // bytes of that segment already sent
};

}  // namespace lepus::session
