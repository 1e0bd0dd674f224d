// Space reclamation and reading records back: the parts of Journal that deal with segments
// after they are written.
#include <algorithm>
#include <cerrno>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "persist/journal.h"

namespace lepus::persist {

void Journal::retain(u64 segment, u32 count) {
    auto found = segments_.find(segment);
    LEPUS_ASSERT_MSG(found != segments_.end(), "retain of a segment that is gone");
    found->second.live += count;
}

void Journal::release(u64 segment, u32 count) {
    auto found = segments_.find(segment);
    LEPUS_ASSERT_MSG(found != segments_.end(), "release of a segment that is gone");
    LEPUS_ASSERT_MSG(found->second.live >= count, "more releases than retains");
    found->second.live -= count;
    if (found->second.live == 0 && recovered_) reclaim();
}

void Journal::depend(u64 later, u64 earlier) {
    LEPUS_ASSERT(later >= earlier);
    if (later == earlier || !segments_.contains(earlier)) return;  // nothing to outlive
    auto found = segments_.find(later);
    LEPUS_ASSERT_MSG(found != segments_.end(), "depend from a segment that is gone");
    std::vector<u64>& depends_on = found->second.depends_on;
    if (std::find(depends_on.begin(), depends_on.end(), earlier) == depends_on.end()) {
        depends_on.push_back(earlier);
    }
}

// Deletes every segment that may go. A deletion is itself recorded, as a journal record, before
// the segment is removed: recovery then tells a segment deleted on purpose from one lost. That
// record's segment must outlive every earlier segment still present, or once it went the
// deleted segment would look like a hole among them.
void Journal::reclaim() {
    if (reclaiming_ || failed() || !recovered_) return;
    reclaiming_ = true;
    bool progress = true;
    while (progress && !failed()) {
        progress = false;
        for (auto it = segments_.begin(); it != segments_.end();) {
            u64 number = it->first;
            Segment& segment = it->second;
            ++it;  // reclaim_one may erase `number`
            progress |= reclaim_one(number, segment);
        }
    }
    stats_.live_segments = segments_.size();
    reclaiming_ = false;
}

bool Journal::reclaim_one(u64 number, Segment& segment) {
    if (segment.deletion_sequence != 0) {
        if (segment.deletion_sequence > durable_sequence_) return false;
        segment_delete(number);
        return true;
    }
    if (number == active_ || segment.live > 0 || segment.sequence_last > durable_sequence_) {
        return false;
    }
    for (u64 earlier : segment.depends_on) {
        if (segments_.contains(earlier)) return false;
    }
    std::string_view payload(reinterpret_cast<const char*>(&number), sizeof number);
    Appended appended = append(record_kind_segment_deleted, payload);
    if (appended.sequence == 0) return false;
    segment.deletion_sequence = appended.sequence;
    for (auto& [other, other_segment] : segments_) {
        if (other >= number) break;
        depend(appended.location.segment, other);
    }
    return true;
}

// Removes a segment whose deletion record is durable, keeping it as the spare when there is
// none and it has the normal size: renaming costs a directory update, zero-filling a new one
// costs the whole segment in writes.
void Journal::segment_delete(u64 number) {
    auto found = segments_.find(number);
    LEPUS_ASSERT(found != segments_.end());
    LEPUS_ASSERT(number != active_);
    u64 size = found->second.size;
    segments_.erase(found);
    stats_.segments_deleted++;
    i32 rc = 0;
    if (spare_ == 0 && size == options_.segment_size) {
        rc = storage_.rename_segment(number, active_ + 1);
        if (rc == 0) spare_ = active_ + 1;
    } else {
        rc = storage_.remove_segment(number);
    }
    if (rc < 0) fail(rc, "deleting a segment");
}

u64 Journal::read_offset(const Location& location) {
    LEPUS_ASSERT(location.offset >= record_header_size);
    return (location.offset - record_header_size) / block_size * block_size;
}

u32 Journal::read_length(const Location& location) {
    u64 end = align_up(u64{location.offset} + location.length, block_size);
    return static_cast<u32>(end - read_offset(location));
}

u32 Journal::read_payload_offset(const Location& location) {
    return static_cast<u32>(location.offset - read_offset(location));
}

bool Journal::read_check(const Location& location, const char* buffer) {
    const char* record = buffer + read_payload_offset(location) - record_header_size;
    RecordView view;
    u64 available = read_length(location) - (read_payload_offset(location) - record_header_size);
    if (record_check(record, available, view) != RecordCheck::valid) return false;
    return view.payload.size() == location.length;
}

void Journal::read(const Location& location, char* buffer, IoCompletion& completion) {
    LEPUS_ASSERT(segments_.contains(location.segment));
    storage_.read(location.segment, read_offset(location), buffer, read_length(location),
                  completion);
}

}  // namespace lepus::persist
