#pragma once
// Chunks are the memory that received bytes land in, and the only memory message bodies ever
// occupy: a message refers to the chunk its body arrived in instead of copying it.
//
// Ownership rules:
// - A chunk is reference counted. Every holder (a connection parsing it, a message whose
//   header or body lies in it, an outgoing send that points at it) owns one reference.
// - The count is atomic because a message received on one shard is delivered from another.
//   The bytes are immutable once a message refers to them, so sharing needs no other sync.
// - When the last reference goes: on the shard whose pool made the chunk, it returns to that
//   pool for reuse; anywhere else it is freed, and the allocator hands the memory back to its
//   home thread (mimalloc's remote free). Pools are compared by address only, so a chunk may
//   outlive its pool.
#include <atomic>
#include <utility>

#include "core/base/assert.h"
#include "core/base/types.h"

namespace lepus {

class ChunkPool;

struct alignas(64) Chunk {
    std::atomic<u32> refs{1};
    u32 capacity = 0;
    ChunkPool* pool = nullptr;  // the pool that made it; nullptr for a one-off chunk

    char* data() { return reinterpret_cast<char*>(this + 1); }
    const char* data() const { return reinterpret_cast<const char*>(this + 1); }

    // A chunk of `capacity` bytes outside any pool, with one reference held by the caller.
    static Chunk* allocate(u32 capacity);
    void retain() { refs.fetch_add(1, std::memory_order_relaxed); }
    void release();
};

// An owning handle: one reference.
class ChunkRef {
public:
    ChunkRef() = default;
    // Adopts a reference the caller already holds.
    static ChunkRef adopt(Chunk* chunk) {
        ChunkRef ref;
        ref.chunk_ = chunk;
        return ref;
    }
    static ChunkRef share(Chunk* chunk) {
        if (chunk) chunk->retain();
        return adopt(chunk);
    }
    ChunkRef(const ChunkRef& other) : chunk_(other.chunk_) {
        if (chunk_) chunk_->retain();
    }
    ChunkRef(ChunkRef&& other) noexcept : chunk_(std::exchange(other.chunk_, nullptr)) {}
    ChunkRef& operator=(ChunkRef other) noexcept {
        std::swap(chunk_, other.chunk_);
        return *this;
    }
    ~ChunkRef() {
        if (chunk_) chunk_->release();
    }

    Chunk* get() const { return chunk_; }
    explicit operator bool() const { return chunk_ != nullptr; }
    void reset() { *this = ChunkRef(); }

private:
    Chunk* chunk_ = nullptr;
};

// A per-shard free list of equal-sized chunks, so receiving allocates nothing in steady state.
class ChunkPool {
public:
    explicit ChunkPool(u32 chunk_capacity, u32 free_count_max);
    ~ChunkPool();
    ChunkPool(const ChunkPool&) = delete;
    ChunkPool& operator=(const ChunkPool&) = delete;

    // Marks this pool as the calling thread's: releases on this thread recycle into it.
    void bind_to_current_thread();
    // A chunk with one reference held by the caller.
    Chunk* take();
    u32 chunk_capacity() const { return chunk_capacity_; }
    u32 free_count() const { return free_count_; }
    // Returns every free chunk to the allocator (under the memory alarm).
    void trim();

private:
    friend struct Chunk;
    void recycle(Chunk* chunk);

    u32 chunk_capacity_;
    u32 free_count_max_;
    Chunk* free_ = nullptr;  // intrusive list through the chunk's data
    u32 free_count_ = 0;
};

}  // namespace lepus
