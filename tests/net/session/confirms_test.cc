// Publisher confirms' bookkeeping: numbering, the wait for the disk, and acks in order.
#include "net/session/confirms.h"

#include <gtest/gtest.h>

namespace lepus::session {
namespace {

TEST(Confirms, NothingUntilTurnedOn) {
    Confirms c;
    Confirms::Ack ack;
    EXPECT_FALSE(c.on());
    EXPECT_FALSE(c.take_ack(ack));
}

TEST(Confirms, PublishesNumberFromOneAndAckAsOneRun) {
    Confirms c;
    c.turn_on();
    EXPECT_EQ(c.next_sequence(), 1u);
    c.published(0);
    Confirms::Ack ack;
    ASSERT_TRUE(c.take_ack(ack));
    EXPECT_EQ(ack.tag, 1u);
    EXPECT_FALSE(ack.multiple);
    c.published(0);
    c.published(0);
    c.published(0);
    EXPECT_EQ(c.next_sequence(), 5u);
    ASSERT_TRUE(c.take_ack(ack));
    EXPECT_EQ(ack.tag, 4u);
    EXPECT_TRUE(ack.multiple);
    EXPECT_FALSE(c.take_ack(ack)) << "nothing new to confirm";
}

TEST(Confirms, APublishWaitingForTheDiskHoldsBackThoseAfterIt) {
    Confirms c;
    c.turn_on();
    c.published(0);  // 1: transient
    c.published(2);  // 2: in two durable queues
    c.published(0);  // 3: transient, but after 2
    Confirms::Ack ack;
    ASSERT_TRUE(c.take_ack(ack));
    EXPECT_EQ(ack.tag, 1u);
    EXPECT_FALSE(c.take_ack(ack));
    c.persisted(2);
    EXPECT_FALSE(c.take_ack(ack)) << "one copy of 2 is still on its way";
    c.persisted(2);
    ASSERT_TRUE(c.take_ack(ack));
    EXPECT_EQ(ack.tag, 3u);
    EXPECT_TRUE(ack.multiple);
}

TEST(Confirms, LaterPublishesReachingTheDiskFirstWaitTheirTurn) {
    Confirms c;
    c.turn_on();
    c.published(1);
    c.published(1);
    c.persisted(2);
    Confirms::Ack ack;
    EXPECT_FALSE(c.take_ack(ack));
    c.persisted(1);
    ASSERT_TRUE(c.take_ack(ack));
    EXPECT_EQ(ack.tag, 2u);
    EXPECT_TRUE(ack.multiple);
}

}  // namespace
}  // namespace lepus::session
