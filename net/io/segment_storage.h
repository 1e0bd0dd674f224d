#pragma once
// The journal's segments on disk: files `<dir>/<20-digit number>.seg`, opened O_DIRECT, whose
// asynchronous reads and writes go on the io_uring of the shard that runs the journal. One ring
// per shard carries network and disk alike (as Seastar's and TigerBeetle's do): a disk
// completion wakes the shard like any other, with no eventfd between two rings, and the shard's
// one submit per loop turn hands over the turn's journal writes with its sends. Every write
// carries RWF_DSYNC, so its completion means the bytes are on stable storage: no separate
// fsync, and group commit costs one write per batch.
//
// Completions belong to the journal. Each asynchronous operation borrows an io::Completion from
// a pool sized at open() to what the journal can have in flight (its writes and its page-in
// reads), so starting I/O allocates nothing and the pool's bound is asserted; the ring runs that
// completion's callback as the shard reaps, and it hands the result to the issuer's
// persist::IoCompletion. submit() and poll() therefore do nothing: the ring's owner submits and
// reaps.
//
// The synchronous operations (listing, creating and zero-filling, removing and renaming
// segments, recovery's read_sync) stay plain system calls on the calling thread. Recovery runs
// before any shard's ring exists (the server reads the definitions journal first, on its main
// thread), and a segment the journal moves to must be ready before the append that needed it
// returns: through a ring, either would only wait for the same work in another place.
//
// Life: open() on any thread; bind() to the ring of the shard that will run the journal, on
// that shard's thread (the ring is SINGLE_ISSUER), before the first asynchronous operation.
// Owned by its journal's owner (server::DiskJournal) and used on the bound shard's thread only.
// Owns the segment file descriptors and the completion pool; the ring outlives every operation
// in flight.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/io/ring.h"
#include "persist/storage.h"

namespace lepus::io {

class SegmentStorage final : public persist::Storage {
public:
    SegmentStorage() = default;
    ~SegmentStorage() override;
    SegmentStorage(const SegmentStorage&) = delete;
    SegmentStorage& operator=(const SegmentStorage&) = delete;

    // Opens `directory` (which must exist) for a journal that has at most `operations_max`
    // asynchronous operations in flight. Returns an empty string, or a readable reason when
    // O_DIRECT is unavailable there.
    std::string open(const std::string& directory, u32 operations_max);
    // Where asynchronous operations go from now on; once, before the first of them.
    void bind(Ring& ring);
    u32 in_flight() const { return operations_max_ - static_cast<u32>(free_.size()); }

    u32 block_size() const override;
    std::vector<u64> list_segments() override;
    i32 create_segment(u64 number, u64 size) override;
    i32 open_segment(u64 number) override;
    i32 remove_segment(u64 number) override;
    i32 rename_segment(u64 from, u64 to) override;
    u64 segment_size(u64 number) override;
    u64 available_bytes() override;
    i32 read_sync(u64 number, u64 offset, void* buffer, u32 length) override;
    void write(u64 number, u64 offset, const void* buffer, u32 length,
               persist::IoCompletion& completion) override;
    void read(u64 number, u64 offset, void* buffer, u32 length,
              persist::IoCompletion& completion) override;
    void submit() override {}
    u32 poll() override { return 0; }
    void wait() override;

private:
    // One asynchronous operation on the ring, on behalf of `issuer`.
    struct Operation {
        Completion completion;
        SegmentStorage* storage = nullptr;
        persist::IoCompletion* issuer = nullptr;
    };
    static void on_complete(Completion& completion, i32 result, u32 flags);
    io_uring_sqe* prepare(persist::IoCompletion& issuer);

    std::string path(u64 number) const;
    int descriptor(u64 number);  // opens on first use; -errno on failure
    i32 sync_directory();
    i32 fill_segment(int fd, u64 size);  // preallocates and zero-fills; 0 or -errno

    std::string directory_;
    int directory_fd_ = -1;
    std::map<u64, int> files_;
    Ring* ring_ = nullptr;
    u32 operations_max_ = 0;
    std::unique_ptr<Operation[]> operations_;  // never moves: the ring holds pointers into it
    std::vector<Operation*> free_;
};

}  // namespace lepus::io
