#include "core/queue_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/wire/field_table.h"
#include "tests/core/test_message.h"

namespace lepus::core {
namespace {

std::unique_ptr<Queue> make_queue(u64 id, std::string arguments = {}, bool durable = false,
                                  bool exclusive = false) {
    QueueInfo info;
    info.name = "q" + std::to_string(id);
    info.id = QueueId(id);
    info.home = ShardId(0);
    info.durable = durable;
    info.exclusive = exclusive;
    info.arguments = std::move(arguments);
    return std::make_unique<Queue>("/", info, 0);
}

// x-expires as a field table, the way a declare carries it.
std::string expires_after(i64 ms) {
    return wire::field_table_content({{"x-expires", wire::FieldValue::int64(ms)}});
}

TEST(QueueTableTest, FindsWhatWasAddedAndForgetsWhatWasErased) {
    QueueTable table;
    table.add(make_queue(1));
    table.add(make_queue(2));
    EXPECT_EQ(table.size(), 2u);
    ASSERT_NE(table.find(QueueId(1)), nullptr);
    EXPECT_EQ(table.find(QueueId(1))->info().name, "q1");
    table.erase(QueueId(1));
    EXPECT_EQ(table.find(QueueId(1)), nullptr);
    EXPECT_EQ(table.peek(QueueId(1)), nullptr);
    EXPECT_NE(table.peek(QueueId(2)), nullptr);
    EXPECT_EQ(table.size(), 1u);
}

TEST(QueueTableTest, HoldsDurableOnlyForDurableSharedQueues) {
    QueueTable table;
    table.add(make_queue(1, {}, /*durable=*/true));
    table.add(make_queue(2, {}, /*durable=*/false));
    table.add(make_queue(3, {}, /*durable=*/true, /*exclusive=*/true));
    EXPECT_TRUE(table.holds_durable(QueueId(1)));
    EXPECT_FALSE(table.holds_durable(QueueId(2)));
    EXPECT_FALSE(table.holds_durable(QueueId(3)));
    EXPECT_FALSE(table.holds_durable(QueueId(4)));
}

TEST(QueueTableTest, MarksEachQueueDirtyOnceInARow) {
    QueueTable table;
    Queue& a = table.add(make_queue(1));
    Queue& b = table.add(make_queue(2));
    table.mark_dirty(a);
    table.mark_dirty(a);
    table.mark_dirty(b);
    table.mark_dirty(a);
    EXPECT_EQ(table.dirty(), (std::vector<QueueId>{QueueId(1), QueueId(2), QueueId(1)}));
    table.clear_dirty();
    EXPECT_TRUE(table.dirty().empty());
}

TEST(QueueTableTest, DueListsTheQueuesWhoseDeadlineCameEarliestFirst) {
    QueueTable table;
    Queue& late = table.add(make_queue(1, expires_after(500)));
    Queue& early = table.add(make_queue(2, expires_after(100)));
    table.add(make_queue(3));  // no deadline
    table.reschedule(late);
    table.reschedule(early);
    EXPECT_EQ(table.next_deadline_ms(), 100u);
    table.advance(99);
    EXPECT_TRUE(table.due().empty());
    table.advance(100);
    EXPECT_EQ(table.due(), (std::vector<QueueId>{QueueId(2)}));
    table.advance(600);
    EXPECT_EQ(table.due(), (std::vector<QueueId>{QueueId(2), QueueId(1)}));
}

TEST(QueueTableTest, ErasingAQueueTakesItsDeadlineAway) {
    QueueTable table;
    Queue& queue = table.add(make_queue(1, expires_after(100)));
    table.reschedule(queue);
    ASSERT_EQ(table.next_deadline_ms(), 100u);
    table.erase(QueueId(1));
    EXPECT_EQ(table.next_deadline_ms(), UINT64_MAX);
    table.advance(1000);
    EXPECT_TRUE(table.due().empty());
}

TEST(QueueTableTest, FoundQueuesRunOnTheTablesClock) {
    QueueTable table;
    table.add(make_queue(1, expires_after(100)));
    table.advance(50);
    Queue* queue = table.find(QueueId(1));
    ASSERT_NE(queue, nullptr);
    queue->touch();  // used at 50: expires at 150
    table.reschedule(*queue);
    EXPECT_EQ(table.next_deadline_ms(), 150u);
}

}  // namespace
}  // namespace lepus::core
