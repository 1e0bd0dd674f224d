// Recovery: reads every segment, verifies every record and applies the decision table below
// (also in FORMAT.md, where each row is explained). The walk follows records from one to the
// next; when the chain ends it looks at every later block boundary of the segment for a valid
// record with a higher sequence, because a write starts at a block boundary.
//
//   what is found where the next record should be          decision
//   -----------------------------------------------------  ------------------------------------
//   1 valid record, sequence = expected next               visit it
//   2 zero header (nothing written) and no later valid     end of data: the journal ends there
//     record in the segment                                (or the next segment continues it)
//   3 bad record (checksum, header, truncated), no later   torn tail: truncate; writing resumes
//     valid record anywhere after it. At a block boundary  after the last valid record, in a
//     only a header naming the expected sequence counts:   fresh block; report torn_tail
//     other bytes there are row 2 or 6
//   4 bad record or hole, then at a later block boundary   skip to it; count the sequence
//     a valid record with a higher sequence                numbers lost; log
//   5 a gap in segment numbers not explained by a          report in missing_segments; go on
//     deletion record
//   6 a valid record whose sequence is not higher than     stale (a recycled segment, or data
//     the last one (and no later higher one)               from before a truncation): end of
//                                                          this segment's data
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>

#include "core/base/assert.h"
#include "core/base/limits.h"
#include "core/base/log.h"
#include "persist/journal.h"

namespace lepus::persist {

namespace {

struct FreeDeleter {
    void operator()(char* pointer) const { std::free(pointer); }
};

}  // namespace

struct Journal::Scan {
    RecoveryReport report;
    std::unique_ptr<char, FreeDeleter> buffer;
    u64 buffer_capacity = 0;
    u64 last_sequence = 0;
    u64 last_segment = 0;         // the segment of the last valid record, 0 while none
    u64 last_end = 0;             // the offset after it
    u64 previous_number = 0;      // the previous segment read
    bool damage_pending = false;  // damage after the last valid record
    std::set<u64> deleted;        // segments named by deletion records
    std::vector<std::pair<u64, u64>> deletion_records;  // (segment holding it, deleted segment)
};

std::string Journal::RecoveryReport::summary() const {
    std::string text = std::to_string(records) + " records in " + std::to_string(segments) +
                       " segments (" + std::to_string(bytes) + " bytes read)";
    if (torn_tail) text += ", torn tail truncated";
    if (corrupt_records_skipped > 0) {
        text += ", " + std::to_string(corrupt_records_skipped) + " corrupt records skipped";
    }
    if (!missing_segments.empty()) {
        text += ", missing segments:";
        for (u64 number : missing_segments) text += " " + std::to_string(number);
    }
    if (error != 0) text += ", storage error: " + std::string(std::strerror(-error));
    if (space_needed != 0) {
        text += " (" + std::to_string(space_needed) + " bytes needed, " +
                std::to_string(space_free) + " free)";
    }
    return text;
}

Journal::RecoveryReport Journal::recover(const Visitor& visit) {
    LEPUS_ASSERT(!recovered_);
    Scan scan;
    for (u64 number : storage_.list_segments()) {
        i32 rc = storage_.open_segment(number);
        if (rc < 0) {
            scan.report.error = rc;
            fail(rc, "opening a segment for recovery");
            return scan.report;
        }
        recover_segment(scan, number, visit);
        if (failed()) {
            scan.report.error = failure_;
            return scan.report;
        }
    }
    recover_finish(scan);
    return scan.report;
}

void Journal::recover_segment(Scan& scan, u64 number, const Visitor& visit) {
    u64 size = storage_.segment_size(number);
    LEPUS_ASSERT(size % block_size == 0);
    if (size > scan.buffer_capacity) {
        scan.buffer.reset(static_cast<char*>(std::aligned_alloc(block_size, size)));
        LEPUS_ASSERT(scan.buffer != nullptr);
        scan.buffer_capacity = size;
    }
    char* data = scan.buffer.get();
    for (u64 offset = 0; offset < size;) {
        u32 length =
            static_cast<u32>(std::min<u64>(limits::journal_recovery_read_bytes, size - offset));
        i32 rc = storage_.read_sync(number, offset, data + offset, length);
        if (rc < 0) return fail(rc, "reading a segment for recovery");
        if (rc == 0) {  // shorter than it said: the rest reads as nothing written
            std::memset(data + offset, 0, size - offset);
            break;
        }
        offset += static_cast<u32>(rc);
    }
    scan.report.segments++;
    scan.report.bytes += size;
    segments_[number].size = size;
    bool adjacent = scan.previous_number != 0 && number == scan.previous_number + 1;
    scan.previous_number = number;

    u64 position = 0;
    while (position + record_header_size <= size) {
        RecordView view;
        RecordCheck check = record_check(data + position, size - position, view);
        bool aligned = position % block_size == 0;
        if (check == RecordCheck::valid && view.sequence > scan.last_sequence &&
            (view.sequence == scan.last_sequence + 1 || aligned)) {
            u64 gap = view.sequence - scan.last_sequence - 1;  // rows 1 and 4
            bool same_run = scan.last_segment == number || (position == 0 && adjacent);
            if (gap > 0 && scan.last_sequence > 0 && (same_run || scan.damage_pending)) {
                scan.report.corrupt_records_skipped += same_run ? gap : 1;
                LEPUS_LOG(warning,
                          "journal: segment %lu offset %lu: %lu records lost before "
                          "sequence %lu",
                          static_cast<unsigned long>(number), static_cast<unsigned long>(position),
                          static_cast<unsigned long>(gap),
                          static_cast<unsigned long>(view.sequence));
            }
            scan.damage_pending = false;
            scan.last_sequence = view.sequence;
            scan.last_segment = number;
            scan.last_end = position + view.size;
            segments_[number].sequence_last = view.sequence;
            if (view.kind >= record_kind_journal_min &&
                (view.kind != record_kind_segment_deleted || view.payload.size() != sizeof(u64))) {
                // Whole and checksummed, but no journal of this version writes it: damage that
                // happened before the checksum was computed, or a newer journal's record. Its
                // sequence is spent either way; recovery goes on without it.
                scan.report.corrupt_records_skipped++;
                LEPUS_LOG(warning,
                          "journal: segment %lu offset %lu: record %lu of unknown "
                          "journal kind %u (%zu bytes) skipped as corrupt",
                          static_cast<unsigned long>(number), static_cast<unsigned long>(position),
                          static_cast<unsigned long>(view.sequence), view.kind,
                          view.payload.size());
            } else if (view.kind >= record_kind_journal_min) {
                u64 deleted = 0;
                std::memcpy(&deleted, view.payload.data(), sizeof deleted);
                scan.deleted.insert(deleted);
                scan.deletion_records.emplace_back(number, deleted);
            } else {
                Location location{number, static_cast<u32>(position + record_header_size),
                                  static_cast<u32>(view.payload.size())};
                visit(view.kind, view.sequence, location, view.payload);
                scan.report.records++;
            }
            position += view.size;
            continue;
        }
        if (check == RecordCheck::zero && !aligned) {  // the zero tail of a write
            position = align_up(position, block_size);
            continue;
        }
        // The chain ends: nothing written (row 2), stale data (row 6) or damage (rows 3, 4).
        // Inside a write (not at a block boundary) only records and the zero tail can be, so
        // anything else is damage. At a block boundary a recycled segment holds old bytes, so
        // only a header naming the expected sequence shows a damaged continuation.
        bool plausible = check == RecordCheck::bad_checksum || check == RecordCheck::truncated;
        bool damaged = aligned ? plausible && view.sequence == scan.last_sequence + 1
                               : check != RecordCheck::zero && check != RecordCheck::valid;
        if (damaged) {
            scan.damage_pending = true;
            LEPUS_LOG(warning, "journal: segment %lu offset %lu: %s record",
                      static_cast<unsigned long>(number), static_cast<unsigned long>(position),
                      record_check_name(check));
        }
        u64 next = align_up(position + 1, block_size);
        for (; next + record_header_size <= size; next += block_size) {
            RecordView later;
            if (record_check(data + next, size - next, later) == RecordCheck::valid &&
                later.sequence > scan.last_sequence) {
                break;
            }
        }
        position = next;  // past the end when nothing follows: this segment's data ends
    }
}

void Journal::recover_finish(Scan& scan) {
    RecoveryReport& report = scan.report;
    last_sequence_ = scan.last_sequence;
    durable_sequence_ = scan.last_sequence;
    report.torn_tail = scan.damage_pending;
    std::vector<u64> present;
    for (const auto& [number, segment] : segments_) present.push_back(number);

    // Row 5: a hole among the segments that no deletion record explains.
    for (usize i = 1; i < present.size(); i++) {
        for (u64 number = present[i - 1] + 1; number < present[i]; number++) {
            if (scan.deleted.contains(number)) continue;
            if (report.missing_segments.size() == limits::journal_missing_segments_reported_max)
                break;
            report.missing_segments.push_back(number);
            LEPUS_LOG(error, "journal: segment %lu is missing", static_cast<unsigned long>(number));
        }
    }

    // Where writing resumes: after the last valid record, in a fresh block.
    if (scan.last_segment != 0) {
        active_ = scan.last_segment;
        write_offset_ = align_up(scan.last_end, block_size);
    } else if (!present.empty()) {
        active_ = present.front();
        write_offset_ = 0;
    } else {
        // A new journal: a segment as large as fits, with room for one write at least.
        i32 rc = segment_create(1, options_.segment_size, options_.write_size_max);
        if (rc < 0) {
            fail(rc, "creating the first segment", options_.write_size_max);
            return recover_failed(report);
        }
        active_ = 1;
        write_offset_ = 0;
        segments_[1].size = storage_.segment_size(1);
    }
    active_size_ = segments_[active_].size;

    // Segments after the active one hold nothing valid: one becomes the spare (whatever its
    // size: rotate() checks that it holds the record), the rest go.
    for (auto it = segments_.upper_bound(active_); it != segments_.end();) {
        u64 number = it->first;
        bool spare = number == active_ + 1;
        it = segments_.erase(it);
        if (spare) {
            spare_ = number;
            continue;
        }
        i32 rc = storage_.remove_segment(number);
        if (rc < 0) return fail(rc, "removing an empty segment"), recover_failed(report);
    }

    // Deleted on purpose, but the crash came before the removal. One the visitor retained is
    // kept: its records are live again for the broker, so they must stay readable.
    for (u64 number : scan.deleted) {
        auto found = segments_.find(number);
        if (found == segments_.end() || number == active_) continue;
        if (found->second.live > 0) {
            LEPUS_LOG(warning, "journal: segment %lu was being deleted but holds live records",
                      static_cast<unsigned long>(number));
            continue;
        }
        segments_.erase(found);
        i32 rc = storage_.remove_segment(number);
        if (rc < 0) return fail(rc, "removing a deleted segment"), recover_failed(report);
        stats_.segments_deleted++;
    }
    // The journal's own dependencies, as reclaim() set them when it wrote each deletion record.
    for (auto [holder, deleted] : scan.deletion_records) {
        if (!segments_.contains(holder)) continue;
        for (const auto& [number, segment] : segments_) {
            if (number >= deleted) break;
            depend(holder, number);
        }
    }

    recover_prefix();
    if (failed() || recover_room() < 0) return recover_failed(report);
    recovered_ = true;
    stats_.live_segments = segments_.size();
    LEPUS_LOG(info, "journal: recovered %s", report.summary().c_str());
    reclaim();
}

void Journal::recover_failed(RecoveryReport& report) const {
    report.error = failure_;
    report.space_needed = space_needed_;
    report.space_free = space_free_;
}

// The oldest segments that nothing retains go now, before anything is written: removing them
// leaves no hole among the segments present, so no deletion record is needed, and nothing
// older is left for them to outlive. On a full disk this is the room the start needs. The
// first one of the normal size becomes the spare, saving a zero-fill.
void Journal::recover_prefix() {
    for (auto it = segments_.begin(); it != segments_.end() && it->first != active_;) {
        if (it->second.live > 0) break;
        u64 number = it->first;
        bool recycle = spare_ == 0 && it->second.size == options_.segment_size;
        it = segments_.erase(it);
        stats_.segments_deleted++;
        i32 rc = recycle ? storage_.rename_segment(number, active_ + 1)
                         : storage_.remove_segment(number);
        if (rc < 0) return fail(rc, "removing an unused segment");
        if (recycle) spare_ = active_ + 1;
    }
}

// Start-up keeps room for one write (write_size_max) in the active segment's tail and the
// spare together, so the owner can go on (an acknowledgement needs a record) whatever else
// the disk holds. A spare of the normal size is made when it fits; on a nearly full disk one
// just large enough, or none when the tail is room enough. 0 or -errno (failed()).
i32 Journal::recover_room() {
    u64 room = active_size_ - write_offset_;
    if (spare_ != 0) {
        if (room + storage_.segment_size(spare_) >= options_.write_size_max) return 0;
        i32 rc = storage_.remove_segment(spare_);  // too small: its blocks go to a larger one
        if (rc < 0) return fail(rc, "removing the spare segment"), rc;
        spare_ = 0;
    }
    u64 lacking =
        room >= options_.write_size_max ? 0 : align_up(options_.write_size_max - room, block_size);
    u64 size_min = lacking == 0 ? options_.segment_size : lacking;
    i32 rc = segment_create(active_ + 1, options_.segment_size, size_min);
    if (rc == 0) {
        spare_ = active_ + 1;
        return 0;
    }
    if (no_space(rc) && lacking == 0) {
        LEPUS_LOG(warning,
                  "journal: no room for a spare segment (%lu bytes free): the next "
                  "segment is made when needed, as large as fits",
                  static_cast<unsigned long>(storage_.available_bytes()));
        return 0;
    }
    fail(rc, "making room to start", lacking);
    return rc;
}

}  // namespace lepus::persist
