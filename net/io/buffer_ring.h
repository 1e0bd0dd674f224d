#pragma once
// The shard's provided-buffer ring for multishot receives: the kernel picks a free buffer for
// each receive, so idle connections hold no buffer. Each buffer is the data area of a Chunk.
// When a receive completes, its chunk is handed to the connection (which shares it with the
// messages that point into it) and the ring slot is refilled at once with another chunk from
// the shard's pool, so the ring never waits for a message to be consumed.
#include <liburing.h>

#include <vector>

#include "core/base/types.h"
#include "core/chunk.h"

namespace lepus::io {

class BufferRing {
public:
    BufferRing(ChunkPool& pool, u32 count, u16 group_id);
    ~BufferRing();
    BufferRing(const BufferRing&) = delete;
    BufferRing& operator=(const BufferRing&) = delete;

    // Registers with the ring and fills every slot. Returns 0 or -errno.
    int init(io_uring* ring);
    u16 group_id() const { return group_id_; }
    u32 buffer_size() const { return pool_.chunk_capacity(); }

    // Takes the chunk the kernel filled for buffer id `bid` (one reference, the caller's)
    // and puts a fresh chunk in its place.
    Chunk* take(u16 bid);

private:
    void provide(u16 bid, Chunk* chunk);

    ChunkPool& pool_;
    u32 count_;
    u16 group_id_;
    io_uring* ring_ = nullptr;
    io_uring_buf_ring* buffers_ = nullptr;
    std::vector<Chunk*> slots_;  // bid -> the chunk currently offered to the kernel
};

}  // namespace lepus::io
