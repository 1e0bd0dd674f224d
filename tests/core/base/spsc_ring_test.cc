#include "core/base/spsc_ring.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <thread>

namespace lepus {
namespace {

TEST(SpscRingTest, PopsInPushOrder) {
    SpscRing<u32> ring(8);
    for (u32 i = 0; i < 5; i++) {
        u32 v = i;
        ASSERT_TRUE(ring.try_push(v));
    }
    for (u32 i = 0; i < 5; i++) {
        std::optional<u32> v = ring.try_pop();
        ASSERT_TRUE(v.has_value());
        EXPECT_EQ(*v, i);
    }
    EXPECT_FALSE(ring.try_pop().has_value());
}

TEST(SpscRingTest, EmptyUntilPushedAndAfterDrained) {
    SpscRing<u32> ring(2);
    EXPECT_TRUE(ring.empty());
    EXPECT_FALSE(ring.try_pop().has_value());
    u32 v = 7;
    ASSERT_TRUE(ring.try_push(v));
    EXPECT_FALSE(ring.empty());
    EXPECT_EQ(ring.try_pop(), std::optional<u32>(7));
    EXPECT_TRUE(ring.empty());
}

TEST(SpscRingTest, FullAtCapacityLeavesTheValueUntouched) {
    constexpr u32 capacity = 4;
    SpscRing<std::unique_ptr<u32>> ring(capacity);
    for (u32 i = 0; i < capacity; i++) {
        auto v = std::make_unique<u32>(i);
        ASSERT_TRUE(ring.try_push(v));
        EXPECT_EQ(v, nullptr) << "a pushed value is moved from";
    }
    auto extra = std::make_unique<u32>(99);
    EXPECT_FALSE(ring.try_push(extra));
    ASSERT_NE(extra, nullptr) << "a refused push must not move the value";
    EXPECT_EQ(*extra, 99u);

    // One pop makes room for exactly one more.
    std::optional<std::unique_ptr<u32>> first = ring.try_pop();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(**first, 0u);
    EXPECT_TRUE(ring.try_push(extra));
    auto another = std::make_unique<u32>(100);
    EXPECT_FALSE(ring.try_push(another));

    for (u32 expected : {1u, 2u, 3u, 99u}) {
        std::optional<std::unique_ptr<u32>> v = ring.try_pop();
        ASSERT_TRUE(v.has_value());
        EXPECT_EQ(**v, expected);
    }
    EXPECT_TRUE(ring.empty());
}

TEST(SpscRingTest, WrapsAroundManyTimes) {
    SpscRing<u64> ring(4);
    u64 next_pop = 0;
    for (u64 i = 0; i < 1000; i++) {
        u64 v = i;
        ASSERT_TRUE(ring.try_push(v));
        if (i % 3 == 2) {
            while (std::optional<u64> got = ring.try_pop()) EXPECT_EQ(*got, next_pop++);
        }
    }
    while (std::optional<u64> got = ring.try_pop()) EXPECT_EQ(*got, next_pop++);
    EXPECT_EQ(next_pop, 1000u);
}

// Counts live instances, so a test can see that the ring destroys what it holds.
struct Tracked {
    static inline int live = 0;
    int value;
    explicit Tracked(int v) : value(v) { live++; }
    Tracked(Tracked&& other) noexcept : value(other.value) { live++; }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;
    Tracked& operator=(Tracked&&) = delete;
    ~Tracked() { live--; }
};

TEST(SpscRingTest, DestroysValuesPoppedAndLeftBehind) {
    Tracked::live = 0;
    {
        SpscRing<Tracked> ring(8);
        for (int i = 0; i < 5; i++) {
            Tracked t(i);
            ASSERT_TRUE(ring.try_push(t));
        }
        EXPECT_EQ(Tracked::live, 5);
        {
            std::optional<Tracked> popped = ring.try_pop();
            ASSERT_TRUE(popped.has_value());
            EXPECT_EQ(popped->value, 0);
            EXPECT_EQ(Tracked::live, 5);
        }
        EXPECT_EQ(Tracked::live, 4);
    }
    EXPECT_EQ(Tracked::live, 0) << "the destructor drains what is left";
}

TEST(SpscRingTest, OneProducerOneConsumerKeepOrderAndCount) {
    constexpr u64 item_count = 1'000'000;
    SpscRing<u64> ring(1024);
    std::thread producer([&] {
        for (u64 i = 0; i < item_count; i++) {
            u64 v = i;
            while (!ring.try_push(v)) std::this_thread::yield();
        }
    });
    u64 received = 0;
    u64 out_of_order = 0;
    while (received < item_count) {
        std::optional<u64> v = ring.try_pop();
        if (!v) {
            std::this_thread::yield();
            continue;
        }
        if (*v != received) out_of_order++;
        received++;
    }
    producer.join();
    EXPECT_EQ(received, item_count);
    EXPECT_EQ(out_of_order, 0u);
    EXPECT_FALSE(ring.try_pop().has_value());
}

}  // namespace
}  // namespace lepus
