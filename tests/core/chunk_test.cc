#include "core/chunk.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <thread>
#include <utility>

namespace lepus {
namespace {

u32 refs(const Chunk* chunk) { return chunk->refs.load(std::memory_order_relaxed); }

TEST(ChunkTest, AllocateGivesOneReferenceAndNoPool) {
    Chunk* chunk = Chunk::allocate(100);
    EXPECT_EQ(refs(chunk), 1u);
    EXPECT_EQ(chunk->capacity, 100u);
    EXPECT_EQ(chunk->pool, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(chunk) % 64, 0u);
    EXPECT_EQ(chunk->data(), reinterpret_cast<char*>(chunk + 1));
    chunk->release();
}

TEST(ChunkTest, PoolReusesChunksReleasedOnItsOwnThread) {
    ChunkPool pool(256, 4);
    pool.bind_to_current_thread();
    Chunk* first = pool.take();
    EXPECT_EQ(first->pool, &pool);
    EXPECT_EQ(first->capacity, 256u);
    first->release();
    Chunk* again = pool.take();
    EXPECT_EQ(again, first) << "a chunk released on the pool's thread is taken again";
    EXPECT_EQ(refs(again), 1u) << "a recycled chunk starts with one reference";
    again->release();
}

TEST(ChunkTest, PoolHandsOutTheMostRecentlyReleasedFirst) {
    ChunkPool pool(64, 4);
    pool.bind_to_current_thread();
    Chunk* a = pool.take();
    Chunk* b = pool.take();
    EXPECT_NE(a, b);
    a->release();
    b->release();
    Chunk* first = pool.take();
    Chunk* second = pool.take();
    EXPECT_EQ(first, b);
    EXPECT_EQ(second, a);
    first->release();
    second->release();
}

TEST(ChunkTest, PoolKeepsAtMostItsFreeCountMax) {
    ChunkPool pool(64, 1);
    pool.bind_to_current_thread();
    Chunk* a = pool.take();
    Chunk* b = pool.take();
    a->release();  // kept
    b->release();  // over the limit: freed
    Chunk* taken = pool.take();
    EXPECT_EQ(taken, a);
    taken->release();
}

TEST(ChunkTest, ReleaseOnAnotherThreadFreesWithoutTouchingThePool) {
    ChunkPool pool(128, 4);
    pool.bind_to_current_thread();
    Chunk* kept = pool.take();
    Chunk* remote = pool.take();
    kept->release();  // the pool's free list is now exactly {kept}
    std::thread other([remote] { remote->release(); });
    other.join();
    // Had the remote release recycled into the pool, it would be on top of the free list.
    Chunk* taken = pool.take();
    EXPECT_EQ(taken, kept);
    taken->release();
}

TEST(ChunkTest, ReleaseOnAThreadWithAnotherPoolDoesNotRecycleIntoIt) {
    ChunkPool home(128, 4);
    Chunk* foreign = nullptr;
    std::thread maker([&] {
        home.bind_to_current_thread();
        foreign = home.take();
    });
    maker.join();

    ChunkPool local(128, 4);
    local.bind_to_current_thread();
    Chunk* marker = local.take();
    marker->release();
    foreign->release();  // home's chunk, released where `local` is bound
    Chunk* taken = local.take();
    EXPECT_EQ(taken, marker);
    taken->release();
}

TEST(ChunkTest, ChunkMayOutliveItsPool) {
    auto pool = std::make_unique<ChunkPool>(128, 4);
    pool->bind_to_current_thread();
    Chunk* survivor = pool->take();
    pool.reset();
    // The pool is gone; releasing must free the chunk, not touch the dead pool.
    survivor->release();
    ChunkPool next(128, 4);
    next.bind_to_current_thread();
    Chunk* fresh = next.take();
    EXPECT_EQ(fresh->pool, &next);
    fresh->release();
}

TEST(ChunkRefTest, CopiesCountMovesDoNot) {
    ChunkRef owner = ChunkRef::adopt(Chunk::allocate(16));
    Chunk* chunk = owner.get();
    ASSERT_NE(chunk, nullptr);
    EXPECT_EQ(refs(chunk), 1u) << "adopt takes over the caller's reference";
    {
        ChunkRef copy = owner;
        EXPECT_EQ(refs(chunk), 2u);
        ChunkRef moved = std::move(copy);
        EXPECT_EQ(refs(chunk), 2u);
        EXPECT_FALSE(copy);  // NOLINT(bugprone-use-after-move): moved-from is empty
        EXPECT_EQ(moved.get(), chunk);
        ChunkRef assigned;
        assigned = moved;
        EXPECT_EQ(refs(chunk), 3u);
        assigned = std::move(moved);
        EXPECT_EQ(refs(chunk), 2u) << "move-assigning over a holder drops its old reference";
        assigned.reset();
        EXPECT_FALSE(assigned);
        EXPECT_EQ(refs(chunk), 1u);
    }
    EXPECT_EQ(refs(chunk), 1u);
    ChunkRef shared = ChunkRef::share(chunk);
    EXPECT_EQ(refs(chunk), 2u) << "share adds a reference";
    shared.reset();
    EXPECT_EQ(refs(chunk), 1u);
    EXPECT_FALSE(ChunkRef::share(nullptr));
}

TEST(ChunkRefTest, SelfAssignmentKeepsTheReference) {
    ChunkRef ref = ChunkRef::adopt(Chunk::allocate(16));
    Chunk* chunk = ref.get();
    ChunkRef& alias = ref;
    ref = alias;
    EXPECT_EQ(ref.get(), chunk);
    EXPECT_EQ(refs(chunk), 1u);
}

}  // namespace
}  // namespace lepus
