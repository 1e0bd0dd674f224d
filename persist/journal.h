#pragma once
// The journal: an append-only log of self-checking records in numbered segments, written with
// group commit through a Storage (O_DIRECT on the shard's io_uring in the broker, see
// net/io/segment_storage.h; memory in tests), and read back by recovery. Records are opaque: a
// kind byte and a payload.
//
// Owned by one shard and used only on its thread; not thread-safe. It owns its write buffers
// (one extent per write, at most writes_in_flight_max in flight) and their completions; the
// Storage outlives it. FORMAT.md describes the bytes on disk and the recovery decision table.
//
// Life: construct, recover() (also on an empty directory), then append()/flush() each loop
// turn while the owner runs the Storage's completions (as its ring is reaped, or with
// Storage::poll). A failed write fails the journal for good (fail-stop): after a failed
// O_DIRECT|DSYNC write what reached the disk is unknowable, so the owner stops and recovery
// sorts it out at the next start.
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/types.h"
#include "persist/record.h"
#include "persist/storage.h"

namespace lepus::persist {

struct JournalOptions {
    u64 segment_size = 64ull << 20;
    u32 write_size_max = 1u << 20;  // bytes per write (group commit extent), whole blocks
    u32 writes_in_flight_max = 4;
};

// A record's payload on disk: `offset` is where the payload starts (after the header).
struct Location {
    u64 segment = 0;
    u32 offset = 0;
    u32 length = 0;
};

struct Appended {
    u64 sequence = 0;  // 0: the journal has failed and the record was not taken
    Location location;
};

class Journal {
public:
    Journal(Storage& storage, JournalOptions options);
    ~Journal();
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;

    struct RecoveryReport {
        u64 records = 0;   // records visited
        u64 segments = 0;  // segments read
        u64 bytes = 0;     // bytes read
        bool torn_tail = false;
        u64 corrupt_records_skipped = 0;  // sequence numbers lost before a valid record
        std::vector<u64> missing_segments;
        i32 error = 0;  // -errno when storage failed; the journal is then failed()
        // When the disk was full (-ENOSPC, -EDQUOT): the room start-up needed and the bytes
        // the file system had free.
        u64 space_needed = 0;
        u64 space_free = 0;
        std::string summary() const;
    };
    // Called for each valid record in sequence order. `payload` is valid during the call only.
    using Visitor = std::function<void(u8 kind, u64 sequence, const Location& location,
                                       std::string_view payload)>;

    // Must run once, before any append. Reads every segment in order, verifies every record,
    // visits the valid ones, applies the decision table of FORMAT.md to damage, positions the
    // journal after the last valid record in a fresh block, then deletes what nothing retained.
    // It writes nothing before it has read everything, and then needs room for one write
    // (write_size_max) only: in the last segment's tail, or as a spare segment (FORMAT.md,
    // "Running out of space"). Without it, error is -ENOSPC and space_needed says how much.
    RecoveryReport recover(const Visitor& visit);

    // Copies the record into the pending write and assigns the next sequence number. Kinds
    // from record_kind_journal_min up are the journal's own. Returns sequence 0 when failed().
    Appended append(u8 kind, std::span<const std::string_view> parts);
    Appended append(u8 kind, std::string_view payload) {
        return append(kind, std::span<const std::string_view>(&payload, 1));
    }

    // Group commit: submits what was appended since the last flush as one write (several when
    // over write_size_max) while fewer than writes_in_flight_max are in flight; the rest stays
    // buffered, still growing, for the next flush. Then Storage::submit hands them and any
    // queued reads on (on the shard's ring, its owner's one submit of the turn does). Once per
    // turn.
    void flush();

    // Everything with sequence <= durable_sequence() is durable. Advances only over a
    // contiguous prefix of completed writes, whatever order they complete in.
    u64 durable_sequence() const { return durable_sequence_; }
    u64 last_sequence() const { return last_sequence_; }
    bool busy() const { return !extents_.empty(); }
    // Records appended but not yet handed to the storage (they wait for the next flush).
    bool unsubmitted() const {
        for (const Extent* extent : extents_) {
            if (extent->state == ExtentState::filling || extent->state == ExtentState::sealed)
                return true;
        }
        return false;
    }
    bool failed() const { return failure_ != 0; }
    i32 failure() const { return failure_; }  // -errno of the first failure
    // When the failure is a segment that did not fit: the least it needed, and the bytes the
    // storage said were free then. 0 otherwise.
    u64 space_needed() const { return space_needed_; }
    u64 space_free() const { return space_free_; }

    // Space reclamation. A segment is deleted once it is not being written, all its records are
    // durable, nothing retains it, and every segment it depends on is gone.
    void retain(u64 segment, u32 count = 1);
    void release(u64 segment, u32 count = 1);
    // A record in `later` (an ack, a deletion) cancels one in `earlier`: `later` must outlive
    // `earlier`, or recovery would bring back what `later` cancelled.
    void depend(u64 later, u64 earlier);

    // Reads a durable record back (sequence <= durable_sequence()). O_DIRECT needs aligned
    // reads, so the caller passes a block-aligned buffer of read_length(location) bytes; the
    // whole record lands there, its payload at read_payload_offset(location). The read is
    // handed on with the next flush(); check it with read_check() in the completion.
    void read(const Location& location, char* buffer, IoCompletion& completion);
    static u64 read_offset(const Location& location);
    static u32 read_length(const Location& location);
    static u32 read_payload_offset(const Location& location);
    // True when the record read into `buffer` is intact and is the one at `location`.
    static bool read_check(const Location& location, const char* buffer);

    struct Stats {
        u64 bytes_written = 0;
        u64 writes = 0;
        u64 records = 0;
        u64 payload_bytes = 0;
        u64 segments_created = 0;
        u64 segments_deleted = 0;
        u64 live_segments = 0;
    };
    const Stats& stats() const { return stats_; }
    u64 active_segment() const { return active_; }
    u64 spare_segment() const { return spare_; }  // 0 when none
    bool segment_present(u64 number) const { return segments_.contains(number); }

private:
    enum class ExtentState : u8 { filling, sealed, writing, done, failed };
    // One write: a block-aligned buffer that records are packed into, zero-padded to whole
    // blocks, written at `offset` of `segment`.
    struct Extent {
        Journal* journal = nullptr;
        char* buffer = nullptr;
        u32 capacity = 0;
        u32 used = 0;
        u64 segment = 0;
        u64 offset = 0;
        u64 sequence_first = 0;
        u64 sequence_last = 0;
        ExtentState state = ExtentState::filling;
        IoCompletion completion;
    };
    struct Segment {
        u64 size = 0;
        u32 live = 0;                 // retain() minus release()
        u64 sequence_last = 0;        // the last record written into it
        std::vector<u64> depends_on;  // earlier segments that must be deleted first
        u64 deletion_sequence = 0;    // its deletion record, once reclamation started
    };
    struct Scan;  // recovery's state (journal_recovery.cc)

    Extent* extent_open(u32 record_bytes);
    Extent* extent_allocate(u32 capacity);
    void extent_seal(Extent& extent);
    void extent_submit(Extent& extent);
    void extent_retire(Extent& extent);
    static void write_callback(IoCompletion& completion, i32 result);
    bool rotate(u32 record_bytes);
    i32 segment_create(u64 number, u64 size_wanted, u64 size_min);
    // Fails the journal for good. `size_min`: the least a segment that did not fit needed,
    // which is kept for space_needed() when the error says the disk is full.
    void fail(i32 error, const char* what, u64 size_min = 0);
    // A full disk (ENOSPC) or a full quota (EDQUOT): a smaller segment may still fit.
    static bool no_space(i32 error) { return error == -ENOSPC || error == -EDQUOT; }
    void reclaim();
    bool reclaim_one(u64 number, Segment& segment);
    void segment_delete(u64 number);

    void recover_segment(Scan& scan, u64 number, const Visitor& visit);
    void recover_finish(Scan& scan);
    void recover_failed(RecoveryReport& report) const;
    void recover_prefix();
    i32 recover_room();

    Storage& storage_;
    const JournalOptions options_;
    bool recovered_ = false;
    i32 failure_ = 0;
    u64 space_needed_ = 0;
    u64 space_free_ = 0;

    u64 last_sequence_ = 0;
    u64 durable_sequence_ = 0;
    std::deque<Extent*> extents_;  // not yet retired, in sequence order
    Extent* filling_ = nullptr;    // the back of extents_ while records are added to it
    std::vector<Extent*> extents_free_;
    u32 writes_in_flight_ = 0;

    std::map<u64, Segment> segments_;  // present segments, the spare excepted
    u64 active_ = 0;                   // the segment being written
    u64 active_size_ = 0;
    u64 write_offset_ = 0;  // where the next extent starts in the active segment
    u64 spare_ = 0;         // active_ + 1, pre-created or recycled; 0 when none
    bool reclaiming_ = false;
    Stats stats_;
};

}  // namespace lepus::persist
