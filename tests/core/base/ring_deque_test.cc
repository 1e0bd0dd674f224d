#include "core/base/ring_deque.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <random>

namespace lepus {
namespace {

TEST(RingDeque, KeepsOrderAcrossGrowthAndWrapAround) {
    RingDeque<std::unique_ptr<int>> ring;
    std::deque<int> model;
    std::mt19937 rng(7);
    int next = 0;
    for (int step = 0; step < 100000; step++) {
        if (model.empty() || rng() % 3 != 0) {
            ring.push_back(std::make_unique<int>(next));
            model.push_back(next++);
        } else {
            ASSERT_EQ(*ring.front(), model.front());
            ring.pop_front();
            model.pop_front();
        }
        ASSERT_EQ(ring.size(), model.size());
    }
    while (!model.empty()) {
        ASSERT_EQ(*ring.front(), model.front());
        ring.pop_front();
        model.pop_front();
    }
    EXPECT_TRUE(ring.empty());
}

TEST(RingDeque, SteadyFlowKeepsItsCapacity) {
    RingDeque<int> ring;
    for (int i = 0; i < 100; i++) ring.push_back(i);
    usize capacity = ring.capacity();
    for (int i = 0; i < 100000; i++) {
        ring.push_back(i);
        ring.pop_front();
    }
    EXPECT_EQ(ring.capacity(), capacity);
}

TEST(RingDeque, DestroysWhatItHolds) {
    auto counter = std::make_shared<int>(0);
    {
        RingDeque<std::shared_ptr<int>> ring;
        for (int i = 0; i < 200; i++) ring.push_back(counter);
        EXPECT_EQ(counter.use_count(), 201);
        for (int i = 0; i < 50; i++) ring.pop_front();
        EXPECT_EQ(counter.use_count(), 151);
    }
    EXPECT_EQ(counter.use_count(), 1);
}

}  // namespace
}  // namespace lepus
