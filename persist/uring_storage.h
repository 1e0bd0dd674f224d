#pragma once
// Storage on files `<dir>/<20-digit number>.seg`, opened O_DIRECT, written and read through an
// io_uring of its own. Every write carries RWF_DSYNC, so its completion means the bytes are on
// stable storage: no separate fsync, and group commit costs one write per batch.
//
// Ring set-up: plain flags. The owning shard sleeps in its own ring, not in this one, so
// DEFER_TASKRUN (which runs completion work only while waiting in this ring) would stall
// completions; instead an eventfd registered with this ring wakes the shard's ring.
//
// Owned by one shard thread; not thread-safe. Owns the ring and the segment file descriptors.
#include <liburing.h>

#include <map>
#include <string>

#include "persist/storage.h"

namespace lepus::persist {

class UringStorage final : public Storage {
public:
    UringStorage() = default;
    ~UringStorage() override;
    UringStorage(const UringStorage&) = delete;
    UringStorage& operator=(const UringStorage&) = delete;

    // Opens `directory` (which must exist) and sets up the ring. `wake_fd` is an eventfd to
    // signal on every completion (the shard's wake-up), or -1 for none. Returns an empty string
    // or a readable reason when io_uring or O_DIRECT is unavailable.
    std::string init(const std::string& directory, int wake_fd);
    int event_fd() const { return wake_fd_; }

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
               IoCompletion& completion) override;
    void read(u64 number, u64 offset, void* buffer, u32 length, IoCompletion& completion) override;
    void submit() override;
    u32 poll() override;
    void wait() override;

private:
    std::string path(u64 number) const;
    int descriptor(u64 number);  // opens on first use; -errno on failure
    i32 sync_directory();
    i32 fill_segment(int fd, u64 size);  // preallocates and zero-fills; 0 or -errno
    io_uring_sqe* prepare(IoCompletion& completion);

    std::string directory_;
    int directory_fd_ = -1;
    int wake_fd_ = -1;
    io_uring ring_{};
    bool ring_ready_ = false;
    std::map<u64, int> files_;
    u32 pending_ = 0;  // prepared, not yet submitted
};

}  // namespace lepus::persist
