#include "net/io/buffer_ring.h"

#include <sys/mman.h>

#include <cerrno>

#include "core/base/assert.h"

namespace lepus::io {

BufferRing::BufferRing(ChunkPool& pool, u32 count, u16 group_id)
    : pool_(pool), count_(count), group_id_(group_id), slots_(count, nullptr) {
    LEPUS_ASSERT(count > 0 && count <= 32768 && (count & (count - 1)) == 0);
}

BufferRing::~BufferRing() {
    if (buffers_ != nullptr) {
        io_uring_unregister_buf_ring(ring_, group_id_);
        munmap(buffers_, count_ * sizeof(io_uring_buf));
    }
    for (Chunk* chunk : slots_) {
        if (chunk != nullptr) chunk->release();
    }
}

int BufferRing::init(io_uring* ring) {
    ring_ = ring;
    usize bytes = count_ * sizeof(io_uring_buf);
    void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (memory == MAP_FAILED) return -errno;
    buffers_ = static_cast<io_uring_buf_ring*>(memory);
    io_uring_buf_ring_init(buffers_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<u64>(buffers_);
    reg.ring_entries = count_;
    reg.bgid = group_id_;
    int rc = io_uring_register_buf_ring(ring, &reg, 0);
    if (rc < 0) {
        munmap(buffers_, bytes);
        buffers_ = nullptr;
        return rc;
    }
    for (u32 bid = 0; bid < count_; bid++) provide(static_cast<u16>(bid), pool_.take());
    return 0;
}

void BufferRing::provide(u16 bid, Chunk* chunk) {
    slots_[bid] = chunk;
    io_uring_buf_ring_add(buffers_, chunk->data(), chunk->capacity, bid,
                          io_uring_buf_ring_mask(count_), 0);
    io_uring_buf_ring_advance(buffers_, 1);
}

Chunk* BufferRing::take(u16 bid) {
    LEPUS_ASSERT(bid < count_ && slots_[bid] != nullptr);
    Chunk* filled = slots_[bid];
    provide(bid, pool_.take());
    return filled;
}

}  // namespace lepus::io
