// A channel's prefetch: which deliveries wait under the channel's limit, and how they come out
// when acks or a new limit make room.
#include "net/session/prefetch_window.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace lepus::session {
namespace {

// A delivery from queue 7, told apart by its sequence.
core::Deliver delivery(u64 sequence) {
    core::Deliver d;
    d.consumer.id = 3;
    d.queue = QueueId(7);
    d.home = ShardId(1);
    d.sequence = sequence;
    return d;
}

core::Deliver no_ack_delivery(u64 sequence) {
    core::Deliver d = delivery(sequence);
    d.no_ack = true;
    return d;
}

// What the channel does with a delivery: holds it, or sends it out, where one that awaits an
// ack takes a tag and counts against the limit.
struct ChannelModel {
    PrefetchWindow window;
    UnackedLedger unacked;
    std::vector<u64> delivered;  // sequences, in the order they went out

    void send(core::Deliver& d) {
        u64 tag = unacked.next_tag();
        if (!d.no_ack) unacked.add(tag, d.queue, d.home, d.sequence, d.consumer.id);
        delivered.push_back(d.sequence);
    }
    void arrive(core::Deliver d) {
        if (window.must_hold(d, unacked)) {
            window.hold(std::move(d));
            return;
        }
        send(d);
    }
    void release() {
        window.release(unacked, [&](core::Deliver& d) { send(d); });
    }
    // basic.ack of the delivery of `sequence`, then the held ones that fit.
    void ack(u64 sequence) {
        bool found = false;
        unacked.for_each_open([&](UnackedLedger::Entry& e) {
            if (e.sequence == sequence) {
                unacked.mark_settled(e);
                found = true;
            }
        });
        ASSERT_TRUE(found) << sequence;
        unacked.drop_settled_front();
        release();
    }
};

// A channel with the limit `global` that deliveries 1..`arrivals` reached, in order.
ChannelModel limited(u16 global, u64 arrivals) {
    ChannelModel c;
    c.window.set_global(global);
    for (u64 s = 1; s <= arrivals; s++) c.arrive(delivery(s));
    return c;
}

TEST(PrefetchWindow, NoLimitByDefaultAndZeroIsNone) {
    ChannelModel c;
    EXPECT_EQ(c.window.global(), 0u);
    EXPECT_EQ(c.window.per_consumer(), 0u);
    for (u64 s = 1; s <= 1000; s++) c.arrive(delivery(s));
    EXPECT_EQ(c.delivered.size(), 1000u);
    EXPECT_EQ(c.window.held(), 0u);
}

TEST(PrefetchWindow, TheChannelsLimitHoldsWhatDoesNotFit) {
    ChannelModel c = limited(2, 5);
    EXPECT_EQ(c.delivered, (std::vector<u64>{1, 2}));
    EXPECT_EQ(c.window.held(), 3u);
    EXPECT_EQ(c.unacked.live(), 2u);
}

TEST(PrefetchWindow, AcksReleaseHeldDeliveriesInTheirOrder) {
    ChannelModel c = limited(2, 5);
    c.ack(2);
    EXPECT_EQ(c.delivered, (std::vector<u64>{1, 2, 3})) << "room for one";
    c.ack(1);
    c.ack(3);
    EXPECT_EQ(c.delivered, (std::vector<u64>{1, 2, 3, 4, 5}));
    EXPECT_EQ(c.window.held(), 0u);
    EXPECT_EQ(c.unacked.live(), 2u);
}

TEST(PrefetchWindow, ANewDeliveryWaitsBehindHeldOnesEvenWithRoom) {
    ChannelModel c = limited(1, 2);
    // Room has come (an ack settled 1) but the channel has not released yet: 3 arrives first.
    c.unacked.mark_settled(*c.unacked.find(1));
    c.arrive(delivery(3));
    EXPECT_EQ(c.delivered, (std::vector<u64>{1})) << "3 may not overtake 2";
    c.release();
    EXPECT_EQ(c.delivered, (std::vector<u64>{1, 2}));
    EXPECT_EQ(c.window.held(), 1u);
}

TEST(PrefetchWindow, NoAckDeliveriesNeitherCountNorWait) {
    ChannelModel c = limited(1, 2);  // 2 is held
    c.arrive(no_ack_delivery(3));
    c.arrive(no_ack_delivery(4));
    EXPECT_EQ(c.delivered, (std::vector<u64>{1, 3, 4}));
    EXPECT_EQ(c.unacked.live(), 1u);
}

TEST(PrefetchWindow, RaisingOrRemovingTheLimitReleases) {
    ChannelModel c = limited(1, 4);
    c.window.set_global(2);
    c.release();
    EXPECT_EQ(c.delivered, (std::vector<u64>{1, 2}));
    c.window.set_global(0);
    c.release();
    EXPECT_EQ(c.delivered, (std::vector<u64>{1, 2, 3, 4}));
    EXPECT_EQ(c.window.held(), 0u);
}

TEST(PrefetchWindow, LoweringTheLimitHoldsNewOnesAndRecallsNothing) {
    ChannelModel c = limited(3, 3);
    c.window.set_global(1);
    c.arrive(delivery(4));
    c.ack(1);
    EXPECT_EQ(c.delivered, (std::vector<u64>{1, 2, 3})) << "two still out, limit one";
    c.ack(2);
    c.ack(3);
    EXPECT_EQ(c.delivered, (std::vector<u64>{1, 2, 3, 4}));
}

TEST(PrefetchWindow, TheReleaseChecksTheLimitAfterEachDelivery) {
    ChannelModel c = limited(1, 3);
    // The first held one is bounced (its consumer is gone): it takes no room.
    std::vector<u64> bounced;
    c.unacked.mark_settled(*c.unacked.find(1));
    c.window.release(c.unacked, [&](core::Deliver& d) {
        if (d.sequence == 2) {
            bounced.push_back(d.sequence);
            return;
        }
        c.send(d);
    });
    EXPECT_EQ(bounced, std::vector<u64>{2});
    EXPECT_EQ(c.delivered, (std::vector<u64>{1, 3}));
    EXPECT_EQ(c.window.held(), 0u);
}

TEST(PrefetchWindow, ThePerConsumerLimitIsTheQueuesToEnforce) {
    ChannelModel c;
    c.window.set_per_consumer(1);
    for (u64 s = 1; s <= 3; s++) c.arrive(delivery(s));
    EXPECT_EQ(c.delivered.size(), 3u) << "nothing waits here for a consumer's limit";
    EXPECT_EQ(c.window.per_consumer(), 1u) << "kept for the next basic.consume";
    EXPECT_EQ(c.window.global(), 0u);
}

TEST(PrefetchWindow, AGoingChannelBouncesEveryHeldDeliveryInOrder) {
    ChannelModel c = limited(1, 4);
    std::vector<u64> bounced;
    c.window.drop_held([&](core::Deliver& d) { bounced.push_back(d.sequence); });
    EXPECT_EQ(bounced, (std::vector<u64>{2, 3, 4}));
    EXPECT_EQ(c.window.held(), 0u);
    c.ack(1);
    EXPECT_EQ(c.delivered, std::vector<u64>{1}) << "nothing left to release";
}

}  // namespace
}  // namespace lepus::session
