#include "persist/journal.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/base/assert.h"
#include "core/base/log.h"

namespace lepus::persist {

namespace {

// Extents of the normal size are kept for reuse, so a steady stream of writes allocates
// nothing; one more than can be in flight covers the one being filled.
u32 extents_pooled_max(const JournalOptions& options) { return options.writes_in_flight_max + 1; }

}  // namespace

Journal::Journal(Storage& storage, JournalOptions options) : storage_(storage), options_(options) {
    LEPUS_ASSERT(storage_.block_size() == block_size);
    LEPUS_ASSERT(options_.write_size_max > 0 && options_.write_size_max % block_size == 0);
    LEPUS_ASSERT(options_.segment_size % block_size == 0);
    LEPUS_ASSERT(options_.segment_size >= options_.write_size_max);
    LEPUS_ASSERT(options_.writes_in_flight_max > 0);
}

Journal::~Journal() {
    // An extent still in flight belongs to the storage until its completion runs; it is left
    // alone (this happens only when a failed shard stops with writes outstanding).
    for (Extent* extent : extents_) {
        if (!extent->completion.in_flight) {
            std::free(extent->buffer);
            delete extent;
        }
    }
    for (Extent* extent : extents_free_) {
        std::free(extent->buffer);
        delete extent;
    }
}

Appended Journal::append(u8 kind, std::span<const std::string_view> parts) {
    LEPUS_ASSERT_MSG(recovered_, "recover() runs before the first append");
    LEPUS_ASSERT(kind != record_kind_none);
    if (failed()) return Appended{};
    u64 payload_length = 0;
    for (std::string_view part : parts) payload_length += part.size();
    LEPUS_ASSERT(payload_length <= record_payload_max);
    u32 length = static_cast<u32>(payload_length);
    u32 size = record_size(length);

    Extent* extent = filling_;
    bool fits = extent != nullptr && extent->used + size <= extent->capacity &&
                extent->offset + align_up(extent->used + size, block_size) <= active_size_;
    if (!fits) {
        extent = extent_open(size);
        if (extent == nullptr) return Appended{};
    }

    char* record = extent->buffer + extent->used;
    char* cursor = record + record_header_size;
    for (std::string_view part : parts) {
        if (part.empty()) continue;  // an empty view may have no data pointer at all
        std::memcpy(cursor, part.data(), part.size());
        cursor += part.size();
    }
    u64 sequence = ++last_sequence_;
    record_seal(record, kind, sequence, length);

    Location location{extent->segment,
                      static_cast<u32>(extent->offset + extent->used + record_header_size), length};
    extent->used += size;
    if (extent->sequence_first == 0) extent->sequence_first = sequence;
    extent->sequence_last = sequence;
    segments_[extent->segment].sequence_last = sequence;
    stats_.records++;
    stats_.payload_bytes += length;
    return Appended{sequence, location};
}

// Seals the extent being filled and starts another that can hold `record_bytes`, rotating to
// the next segment when the active one cannot. nullptr when the journal failed.
Journal::Extent* Journal::extent_open(u32 record_bytes) {
    if (filling_ != nullptr) extent_seal(*filling_);
    LEPUS_ASSERT(filling_ == nullptr);
    u64 blocks_bytes = align_up(record_bytes, block_size);
    if (write_offset_ + blocks_bytes > active_size_) {
        if (!rotate(record_bytes)) return nullptr;
    }
    // A record larger than a write goes out as one larger write of its own.
    u32 capacity = static_cast<u32>(std::max<u64>(options_.write_size_max, blocks_bytes));
    Extent* extent = extent_allocate(capacity);
    extent->segment = active_;
    extent->offset = write_offset_;
    extents_.push_back(extent);
    filling_ = extent;
    return extent;
}

Journal::Extent* Journal::extent_allocate(u32 capacity) {
    if (capacity == options_.write_size_max && !extents_free_.empty()) {
        Extent* extent = extents_free_.back();
        extents_free_.pop_back();
        return extent;
    }
    auto* extent = new Extent();
    extent->journal = this;
    extent->capacity = capacity;
    extent->buffer = static_cast<char*>(std::aligned_alloc(block_size, capacity));
    LEPUS_ASSERT(extent->buffer != nullptr);
    extent->completion.callback = &Journal::write_callback;
    extent->completion.owner = extent;
    return extent;
}

void Journal::extent_seal(Extent& extent) {
    LEPUS_ASSERT(extent.state == ExtentState::filling);
    LEPUS_ASSERT(&extent == filling_);
    LEPUS_ASSERT(extent.used > 0);
    // A zero tail after the last record: the reader takes a zero header as this extent's end.
    u32 length = static_cast<u32>(align_up(extent.used, block_size));
    std::memset(extent.buffer + extent.used, 0, length - extent.used);
    extent.used = length;
    extent.state = ExtentState::sealed;
    write_offset_ = extent.offset + length;
    filling_ = nullptr;
}

void Journal::extent_submit(Extent& extent) {
    LEPUS_ASSERT(extent.state == ExtentState::sealed);
    LEPUS_ASSERT(writes_in_flight_ < options_.writes_in_flight_max);
    extent.state = ExtentState::writing;
    writes_in_flight_++;
    stats_.writes++;
    storage_.write(extent.segment, extent.offset, extent.buffer, extent.used, extent.completion);
}

void Journal::extent_retire(Extent& extent) {
    extent.used = 0;
    extent.sequence_first = 0;
    extent.sequence_last = 0;
    extent.state = ExtentState::filling;
    if (extent.capacity == options_.write_size_max &&
        extents_free_.size() < extents_pooled_max(options_)) {
        extents_free_.push_back(&extent);
        return;
    }
    std::free(extent.buffer);
    delete &extent;
}

void Journal::flush() {
    if (failed()) return;
    for (Extent* extent : extents_) {
        if (writes_in_flight_ == options_.writes_in_flight_max) break;
        if (extent->state == ExtentState::filling) extent_seal(*extent);
        if (extent->state == ExtentState::sealed) extent_submit(*extent);
    }
    storage_.submit();
}

void Journal::write_callback(IoCompletion& completion, i32 result) {
    Extent& extent = *static_cast<Extent*>(completion.owner);
    Journal& self = *extent.journal;
    LEPUS_ASSERT(extent.state == ExtentState::writing);
    LEPUS_ASSERT(self.writes_in_flight_ > 0);
    self.writes_in_flight_--;
    if (result != static_cast<i32>(extent.used)) {
        extent.state = ExtentState::failed;
        self.fail(result < 0 ? result : -EIO, "write");
        return;
    }
    extent.state = ExtentState::done;
    self.stats_.bytes_written += extent.used;
    u64 durable_before = self.durable_sequence_;
    while (!self.extents_.empty() && self.extents_.front()->state == ExtentState::done) {
        Extent* front = self.extents_.front();
        self.extents_.pop_front();
        LEPUS_ASSERT(front->sequence_first == self.durable_sequence_ + 1);
        self.durable_sequence_ = front->sequence_last;
        self.extent_retire(*front);
    }
    if (self.durable_sequence_ != durable_before) self.reclaim();
}

// Moves writing to the next segment number: the spare when it holds the record, otherwise a
// segment zero-filled now (a stall of segment_size at disk speed, which recycling avoids).
bool Journal::rotate(u32 record_bytes) {
    u64 number = active_ + 1;
    u64 record_blocks = align_up(record_bytes, block_size);
    bool ready = false;
    if (spare_ != 0) {
        LEPUS_ASSERT(spare_ == number);
        spare_ = 0;
        // A spare made smaller by a start on a nearly full disk serves all the same.
        ready = storage_.segment_size(number) >= record_blocks;
        if (!ready) {
            i32 rc = storage_.remove_segment(number);  // too small for this one large record
            if (rc < 0) return fail(rc, "removing the spare segment"), false;
        }
    }
    if (!ready) {
        u64 size_wanted = std::max<u64>(options_.segment_size, record_blocks);
        i32 rc = segment_create(number, size_wanted, record_blocks);
        if (rc < 0) return fail(rc, "creating a segment", record_blocks), false;
    }
    active_ = number;
    active_size_ = storage_.segment_size(number);
    write_offset_ = 0;
    segments_[number].size = active_size_;
    stats_.live_segments = segments_.size();
    return true;
}

// Creates segment `number` with `size_wanted` bytes or, when the disk has not that much room,
// with the most that fits down to `size_min`: near a full disk the journal writes into the
// space there is, and stops only when not even `size_min` is left. 0 or -errno.
i32 Journal::segment_create(u64 number, u64 size_wanted, u64 size_min) {
    LEPUS_ASSERT(size_min > 0 && size_min <= size_wanted && size_min % block_size == 0);
    u64 size = size_wanted;
    for (;;) {
        i32 rc = storage_.create_segment(number, size);
        if (rc == 0) break;
        if (!no_space(rc) || size == size_min) return rc;
        // Next, what the file system says is free; when even that failed (a file takes some
        // blocks for its layout, which the count does not show), half. Each try that fails
        // costs one fallocate, and the sizes shrink, so this ends.
        u64 free = storage_.available_bytes() / block_size * block_size;
        u64 half = size / 2 / block_size * block_size;
        size = std::max(size_min, free < size ? free : half);
    }
    stats_.segments_created++;
    if (size < size_wanted) {
        LEPUS_LOG(warning, "journal: the disk is nearly full: segment %lu has %lu bytes, not %lu",
                  static_cast<unsigned long>(number), static_cast<unsigned long>(size),
                  static_cast<unsigned long>(size_wanted));
    }
    return 0;
}

void Journal::fail(i32 error, const char* what, u64 size_min) {
    LEPUS_ASSERT(error < 0);
    if (failure_ != 0) return;
    failure_ = error;
    if (no_space(error) && size_min > 0) {
        space_needed_ = size_min;
        space_free_ = storage_.available_bytes();
        LEPUS_LOG(error, "journal: %s failed (%s: %lu bytes needed, %lu free)", what,
                  std::strerror(-error), static_cast<unsigned long>(space_needed_),
                  static_cast<unsigned long>(space_free_));
        return;
    }
    LEPUS_LOG(error, "journal: %s failed (%s): appends stop; recovery runs at restart", what,
              std::strerror(-error));
}

}  // namespace lepus::persist
