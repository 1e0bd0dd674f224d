#pragma once
// The broker's memory alarm, as RabbitMQ's: when the resident memory of lepusd passes the high
// watermark, connections that publish are blocked (connection.blocked to clients that support
// it) until it falls below again. Consumers go on, so they can relieve the pressure.
//
// The figure is the resident set from /proc/self/statm, which is what operators see in top
// and what the kernel's OOM killer weighs. Shard 0 reads it at every tick.
#include <optional>

#include "core/base/types.h"

namespace lepus::server {

struct Options;

// The machine's physical memory in bytes.
u64 physical_memory_bytes();
// The high watermark the options ask for: memory_limit_mb when set, else the fraction
// memory_high_watermark of physical memory.
u64 memory_limit_bytes(const Options& options);

// Hands the calling thread's free memory back to the kernel: with mimalloc as the process
// allocator (lepusd's release builds), freed pages otherwise stay resident until the thread
// allocates again, and the alarm could not clear on an idle broker. mimalloc's heaps are per
// thread, so each shard calls this on its own thread. mimalloc 2.0 (Debian 12's) purges only
// the free pages of segments that became entirely free: a segment that still holds a live
// block keeps its free pages until the thread allocates in it again (2.1 purges those too).
// Without mimalloc (the sanitizer builds, the tests), glibc's malloc_trim releases the free
// pages of every arena.
void release_free_memory();

// While one of these exists anywhere in the process, memory freed goes back to the kernel at
// once rather than after a delay. mimalloc 2.0 returns a freed span of a segment that still
// holds live blocks only after mi_option_decommit_delay (25 ms), and only when that segment is
// allocated from again, which release_free_memory cannot force: memory freed as consumers drain
// a backlog, or by connections that held thousands of channels, could stay resident for good
// (and the alarm never clear). With no delay each emptied span costs an madvise, so it is on
// only while something frees a lot and will not allocate it again soon: the memory alarm,
// the teardown of connections, the idle release. The option is process-wide; the requests
// are counted under a mutex (never taken on the message path). A no-op without mimalloc.
class PromptDecommit {
public:
    PromptDecommit();
    ~PromptDecommit();
    PromptDecommit(const PromptDecommit&) = delete;
    PromptDecommit& operator=(const PromptDecommit&) = delete;
};

// The memory alarm holds one PromptDecommit while it is on.
void set_prompt_decommit(bool on);

class MemoryMonitor {
public:
    explicit MemoryMonitor(u64 limit_bytes);
    ~MemoryMonitor();
    MemoryMonitor(const MemoryMonitor&) = delete;
    MemoryMonitor& operator=(const MemoryMonitor&) = delete;

    // Reads the resident set; returns the alarm's new state when it changed.
    std::optional<bool> check();
    u64 resident_bytes() const { return resident_bytes_; }
    u64 limit_bytes() const { return limit_bytes_; }

private:
    int statm_fd_ = -1;
    u64 page_size_ = 4096;
    u64 limit_bytes_;
    u64 resident_bytes_ = 0;
    bool alarm_ = false;
};

}  // namespace lepus::server
