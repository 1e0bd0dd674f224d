#include "net/session/out_queue.h"

#include "core/base/assert.h"

namespace lepus::session {

void OutQueue::close_bytes_segment() {
    if (bytes_.size() > bytes_mark_) {
        segments_.push_back(Segment{nullptr, bytes_mark_, bytes_.size() - bytes_mark_});
        bytes_mark_ = bytes_.size();
    }
}

void OutQueue::append_reference(std::string_view bytes, const MessageRef& owner) {
    if (bytes.empty()) return;
    close_bytes_segment();
    segments_.push_back(Segment{bytes.data(), 0, bytes.size()});
    reference_bytes_ += bytes.size();
    if (owners_.empty() || owners_.back().get() != owner.get()) owners_.push_back(owner);
}

u32 OutQueue::build_iovecs(iovec* iov, u32 count_max) {
    close_bytes_segment();
    u32 n = 0;
    for (usize i = sent_segment_; i < segments_.size() && n < count_max; i++) {
        const Segment& s = segments_[i];
        const char* base = s.pointer != nullptr ? s.pointer : bytes_.data() + s.offset;
        usize skip = i == sent_segment_ ? sent_offset_ : 0;
        iov[n].iov_base = const_cast<char*>(base + skip);
        iov[n].iov_len = s.size - skip;
        n++;
    }
    return n;
}

bool OutQueue::consume(usize bytes) {
    while (bytes > 0) {
        LEPUS_ASSERT(sent_segment_ < segments_.size());
        usize left = segments_[sent_segment_].size - sent_offset_;
        if (bytes < left) {
            sent_offset_ += bytes;
            return false;
        }
        bytes -= left;
        sent_segment_++;
        sent_offset_ = 0;
    }
    return sent_segment_ == segments_.size();
}

void OutQueue::swap_contents(OutQueue& other) {
    std::swap(bytes_, other.bytes_);
    std::swap(bytes_mark_, other.bytes_mark_);
    std::swap(segments_, other.segments_);
    std::swap(owners_, other.owners_);
    std::swap(reference_bytes_, other.reference_bytes_);
    std::swap(sent_segment_, other.sent_segment_);
    std::swap(sent_offset_, other.sent_offset_);
}

void OutQueue::clear() {
    bytes_.clear();
    bytes_mark_ = 0;
    segments_.clear();
    owners_.clear();
    reference_bytes_ = 0;
    sent_segment_ = 0;
    sent_offset_ = 0;
}

}  // namespace lepus::session
