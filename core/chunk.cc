#include "core/chunk.h"

#include <cstdlib>
#include <new>

namespace lepus {
namespace {

// The pool owned by the shard running on this thread; see ChunkPool::bind_to_current_thread.
thread_local ChunkPool* thread_pool = nullptr;

Chunk* allocate_raw(u32 capacity, ChunkPool* pool) {
    // Chunks are 64-byte aligned so provided buffers start on a cache line.
    void* memory = std::aligned_alloc(64, (sizeof(Chunk) + capacity + 63) / 64 * 64);
    LEPUS_ASSERT_MSG(memory != nullptr, "out of memory for a receive chunk");
    auto* chunk = new (memory) Chunk();
    chunk->capacity = capacity;
    chunk->pool = pool;
    return chunk;
}

Chunk*& next_free(Chunk* chunk) { return *reinterpret_cast<Chunk**>(chunk->data()); }

}  // namespace

Chunk* Chunk::allocate(u32 capacity) { return allocate_raw(capacity, nullptr); }

void Chunk::release() {
    u32 before = refs.fetch_sub(1, std::memory_order_acq_rel);
    LEPUS_ASSERT(before >= 1);
    if (before != 1) return;
    if (pool != nullptr && pool == thread_pool) {
        pool->recycle(this);
        return;
    }
    this->~Chunk();
    std::free(this);
}

ChunkPool::ChunkPool(u32 chunk_capacity, u32 free_count_max)
    : chunk_capacity_(chunk_capacity), free_count_max_(free_count_max) {
    static_assert(sizeof(Chunk) <= 64, "chunk header fits one cache line");
}

ChunkPool::~ChunkPool() {
    if (thread_pool == this) thread_pool = nullptr;
    trim();
}

void ChunkPool::trim() {
    while (free_ != nullptr) {
        Chunk* chunk = free_;
        free_ = next_free(chunk);
        chunk->~Chunk();
        std::free(chunk);
    }
    free_count_ = 0;
}

void ChunkPool::bind_to_current_thread() { thread_pool = this; }

Chunk* ChunkPool::take() {
    if (free_ == nullptr) return allocate_raw(chunk_capacity_, this);
    Chunk* chunk = free_;
    free_ = next_free(chunk);
    free_count_--;
    chunk->refs.store(1, std::memory_order_relaxed);
    return chunk;
}

void ChunkPool::recycle(Chunk* chunk) {
    if (free_count_ >= free_count_max_) {
        chunk->~Chunk();
        std::free(chunk);
        return;
    }
    next_free(chunk) = free_;
    free_ = chunk;
    free_count_++;
}

}  // namespace lepus
