#include "net/session/confirms.h"

#include "core/base/assert.h"

namespace lepus::session {

void Confirms::published(u32 awaiting_disk) {
    LEPUS_ASSERT(on_);
    published_++;
    if (awaiting_disk > 0 || !awaiting_disk_.empty()) {
        if (awaiting_disk_.empty()) awaiting_base_ = published_;
        awaiting_disk_.push_back(awaiting_disk);
    }
}

void Confirms::persisted(u64 sequence) {
    LEPUS_ASSERT(sequence >= awaiting_base_ && sequence - awaiting_base_ < awaiting_disk_.size());
    u32& awaiting = awaiting_disk_[sequence - awaiting_base_];
    LEPUS_ASSERT(awaiting > 0);
    awaiting--;
}

bool Confirms::take_ack(Ack& ack) {
    if (!on_ || confirmed_ == published_) return false;
    while (!awaiting_disk_.empty() && awaiting_disk_.front() == 0) {
        awaiting_disk_.pop_front();
        awaiting_base_++;
    }
    // Up to the first publish still waiting for the disk.
    u64 confirmable = awaiting_disk_.empty() ? published_ : awaiting_base_ - 1;
    if (confirmable == confirmed_) return false;
    ack.tag = confirmable;
    ack.multiple = confirmable - confirmed_ > 1;
    confirmed_ = confirmable;
    return true;
}

}  // namespace lepus::session
