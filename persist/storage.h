#pragma once
// The seam between the journal and the disk. persist makes no system calls of its own: the
// broker's storage, io::SegmentStorage (net/io), writes files with O_DIRECT on its shard's
// io_uring; MemoryStorage keeps segments in memory and can drop, tear and fail writes, so every
// recovery path is tested without a disk. A segment is a file of fixed size named by a number.
#include <vector>

#include "core/base/assert.h"
#include "core/base/types.h"

namespace lepus::persist {

// One asynchronous I/O operation, owned by its issuer: starting I/O allocates nothing, and the
// issuer's bound on its completions bounds the operations in flight.
struct IoCompletion {
    using Callback = void (*)(IoCompletion& completion, i32 result);  // bytes or -errno
    Callback callback = nullptr;
    void* owner = nullptr;
    bool in_flight = false;

    // The storage's halves of the pairing: start() when it takes the operation, complete() when
    // it reaps the result. An operation started twice, or a completion that was never started,
    // is a bug in the storage or the issuer.
    void start() {
        LEPUS_ASSERT(!in_flight);
        LEPUS_ASSERT(callback != nullptr);
        in_flight = true;
    }
    void complete(i32 result) {
        LEPUS_ASSERT(in_flight);
        in_flight = false;
        callback(*this, result);
    }
};

class Storage {
public:
    virtual ~Storage() = default;

    virtual u32 block_size() const = 0;            // 4096: the unit of O_DIRECT writes
    virtual std::vector<u64> list_segments() = 0;  // segment numbers present, ascending
    // Creates a segment of `size` bytes, zero-filled: really written, so that later
    // O_DIRECT|DSYNC writes into it need no extent conversion. Durable on return (the
    // directory entry too). 0 or -errno; on failure (-ENOSPC on a full disk) nothing of
    // segment `number` is left.
    virtual i32 create_segment(u64 number, u64 size) = 0;
    virtual i32 open_segment(u64 number) = 0;    // an existing segment, for recovery; 0 or -errno
    virtual i32 remove_segment(u64 number) = 0;  // durable on return; 0 or -errno
    // Gives segment `from` the number `to` (which must not exist), durably: a deleted segment
    // is recycled as the next spare without zero-filling a new one. 0 or -errno.
    virtual i32 rename_segment(u64 from, u64 to) = 0;
    virtual u64 segment_size(u64 number) = 0;
    // Bytes the file system would still give the journal: what is left when a segment of the
    // size wanted does not fit. An estimate (a file also takes some blocks for its layout).
    virtual u64 available_bytes() = 0;
    // For recovery: blocks until done; bytes read or -errno. Offsets and lengths are
    // block-aligned and `buffer` is block-aligned.
    virtual i32 read_sync(u64 number, u64 offset, void* buffer, u32 length) = 0;

    // Asynchronous operations, aligned like read_sync. A write's completion runs only once its
    // bytes are on stable storage. Completions may run in any order, never inside the call that
    // started the operation.
    virtual void write(u64 number, u64 offset, const void* buffer, u32 length,
                       IoCompletion& completion) = 0;
    virtual void read(u64 number, u64 offset, void* buffer, u32 length,
                      IoCompletion& completion) = 0;
    // Hands queued operations on. A storage on a shared ring does nothing here: the ring's
    // owner submits once per loop turn, for everything on it.
    virtual void submit() = 0;
    // Runs the callbacks of finished operations, without blocking; returns how many. A storage
    // on a shared ring runs none here: they run as the ring's owner reaps its completions.
    virtual u32 poll() = 0;
    // Blocks until at least one operation finishes (shutdown and tests; never the loop).
    virtual void wait() {}
};

}  // namespace lepus::persist
