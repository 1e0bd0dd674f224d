#include "core/publish_pressure.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "core/base/limits.h"
#include "tests/core/recording_outbox.h"
#include "tests/core/test_message.h"

namespace lepus::core {
namespace {

using test_support::RecordingOutbox;

Queue make_queue() {
    QueueInfo info;
    info.name = "q";
    info.id = QueueId(5);
    info.home = ShardId(0);
    return Queue("/", info, 0);
}

void enqueue(Queue& queue, u32 count) {
    for (u32 i = 0; i < count; i++) queue.enqueue(test_support::make_message("m"));
}

// A no-ack consumer that has been handed all it may have in transit: the queue is bound by
// delivery.
void add_busy_consumer(Queue& queue) {
    ConsumeRequest request;
    request.consumer = test_support::consumer_key(1);
    request.queue = queue.info().id;
    request.tag = "c";
    request.no_ack = true;
    std::string text;
    queue.add_consumer(request, text);
    queue.dispatch([](Deliver&&) {});
}

TEST(PublishPressureTest, ABacklogWithoutConsumersHoldsNoPublisherBack) {
    PublishPressure pressure;
    Queue queue = make_queue();
    enqueue(queue, limits::queue_pressure_high * 2);
    pressure.update(queue);
    EXPECT_FALSE(pressure.any());
    EXPECT_FALSE(queue.pressured);
}

TEST(PublishPressureTest, ADeliveryBoundBacklogComesUnderPressureAndLeavesBelowTheLowMark) {
    PublishPressure pressure;
    Queue queue = make_queue();
    add_busy_consumer(queue);
    enqueue(queue, limits::queue_pressure_high - 1);
    pressure.update(queue);
    EXPECT_FALSE(pressure.pressured(queue.info().id)) << "below the high mark";
    enqueue(queue, 1);
    pressure.update(queue);
    EXPECT_TRUE(pressure.pressured(queue.info().id));
    EXPECT_TRUE(queue.pressured);

    // Hysteresis: between the marks it stays.
    queue.purge();
    enqueue(queue, limits::queue_pressure_low);
    pressure.update(queue);
    EXPECT_TRUE(pressure.pressured(queue.info().id));
    EXPECT_EQ(pressure.lifts(), 0u);

    queue.purge();
    enqueue(queue, limits::queue_pressure_low - 1);
    pressure.update(queue);
    EXPECT_FALSE(pressure.pressured(queue.info().id));
    EXPECT_EQ(pressure.lifts(), 1u);
}

TEST(PublishPressureTest, AnnouncesEachChangeToEveryOtherShardOnce) {
    PublishPressure pressure;
    Queue queue = make_queue();
    add_busy_consumer(queue);
    enqueue(queue, limits::queue_pressure_high);
    pressure.update(queue);
    RecordingOutbox outbox;
    pressure.announce(outbox, ShardId(1), 3);
    ASSERT_EQ(outbox.sent.size(), 2u);
    EXPECT_EQ(outbox.sent[0].to, ShardId(0));
    EXPECT_EQ(outbox.sent[1].to, ShardId(2));
    const auto& change = std::get<Pressure>(outbox.sent[0].message);
    EXPECT_EQ(change.queue, queue.info().id);
    EXPECT_TRUE(change.on);
    pressure.announce(outbox, ShardId(1), 3);
    EXPECT_EQ(outbox.sent.size(), 2u) << "announced once";

    pressure.queue_gone(queue);
    EXPECT_FALSE(pressure.any());
    pressure.announce(outbox, ShardId(1), 3);
    ASSERT_EQ(outbox.sent.size(), 4u);
    EXPECT_FALSE(std::get<Pressure>(outbox.sent[3].message).on);
}

TEST(PublishPressureTest, OtherShardsAnnouncementsAreFollowedAndLiftsCounted) {
    PublishPressure pressure;
    pressure.on(Pressure{QueueId(9), true});
    pressure.on(Pressure{QueueId(9), true});
    EXPECT_TRUE(pressure.pressured(QueueId(9)));
    EXPECT_FALSE(pressure.pressured(QueueId(8)));
    pressure.on(Pressure{QueueId(9), false});
    pressure.on(Pressure{QueueId(9), false});
    EXPECT_FALSE(pressure.any());
    EXPECT_EQ(pressure.lifts(), 1u) << "one lift, however often it is announced";
}

TEST(PublishPressureTest, KeepsTheResourceAlarms) {
    PublishPressure pressure;
    EXPECT_FALSE(pressure.alarm());
    pressure.set_alarm(Resource::memory, true);
    pressure.set_alarm(Resource::disk, true);
    EXPECT_TRUE(pressure.alarm());
    pressure.set_alarm(Resource::memory, false);
    EXPECT_TRUE(pressure.alarm()) << "the disk alarm holds";
    EXPECT_FALSE(pressure.alarm(Resource::memory));
    pressure.set_alarm(Resource::disk, false);
    EXPECT_FALSE(pressure.alarm());
}

}  // namespace
}  // namespace lepus::core
