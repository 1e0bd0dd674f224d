#include "core/queue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base/limits.h"
#include "tests/core/test_message.h"
#include "tests/net/amqp/reply_code_printer.h"

namespace lepus::core {
namespace {

using amqp::ReplyCode;
using lepus::test_support::make_message;

constexpr QueueId queue_id{7};
constexpr ShardId home{1};

QueueInfo queue_info(std::string name = "q") {
    QueueInfo info;
    info.name = std::move(name);
    info.id = queue_id;
    info.home = home;
    return info;
}

ConsumerKey consumer(u64 id) { return test_support::consumer_key(id); }

enum class Ack : u8 { manual, none };
enum class Exclusive : u8 { no, yes };

ReplyCode add(Queue& queue, u64 id, u16 prefetch = 0, Ack ack = Ack::manual,
              Exclusive exclusive = Exclusive::no, std::string* text_out = nullptr) {
    ConsumeRequest request;
    request.consumer = consumer(id);
    request.queue = queue_id;
    request.tag = "ctag-" + std::to_string(id);
    request.no_ack = ack == Ack::none;
    request.exclusive = exclusive == Exclusive::yes;
    request.prefetch = prefetch;
    std::string text;
    ReplyCode code = queue.add_consumer(request, text);
    if (text_out != nullptr) *text_out = text;
    return code;
}

std::vector<Deliver> dispatch(Queue& queue) {
    std::vector<Deliver> out;
    queue.dispatch([&](Deliver&& d) { out.push_back(std::move(d)); });
    return out;
}

void enqueue_bodies(Queue& queue, u32 count, u32 first = 0) {
    for (u32 i = first; i < first + count; i++) {
        queue.enqueue(make_message("m" + std::to_string(i)));
    }
}

std::vector<u64> consumer_ids(const std::vector<Deliver>& delivered) {
    std::vector<u64> ids;
    for (const Deliver& d : delivered) ids.push_back(d.consumer.id);
    return ids;
}

TEST(QueueTest, DispatchesRoundRobinInQueueOrder) {
    Queue queue("/", queue_info());
    for (u64 id : {1, 2, 3}) ASSERT_EQ(add(queue, id), ReplyCode::reply_success);
    enqueue_bodies(queue, 7);
    std::vector<Deliver> delivered = dispatch(queue);
    ASSERT_EQ(delivered.size(), 7u);
    EXPECT_EQ(consumer_ids(delivered), (std::vector<u64>{1, 2, 3, 1, 2, 3, 1}));
    for (usize i = 0; i < delivered.size(); i++) {
        const Deliver& d = delivered[i];
        EXPECT_EQ(d.sequence, i + 1);
        EXPECT_EQ(d.message->body_copy(), "m" + std::to_string(i));
        EXPECT_EQ(d.queue, queue_id);
        EXPECT_EQ(d.home, home);
        EXPECT_FALSE(d.redelivered);
        EXPECT_FALSE(d.no_ack);
    }
    EXPECT_EQ(queue.ready_count(), 0u);
    EXPECT_EQ(queue.unsettled_count(), 7u);

    // The rotation continues where it stopped.
    enqueue_bodies(queue, 2, 7);
    EXPECT_EQ(consumer_ids(dispatch(queue)), (std::vector<u64>{2, 3}));
}

TEST(QueueTest, DispatchWithoutConsumersKeepsMessagesReady) {
    Queue queue("/", queue_info());
    enqueue_bodies(queue, 3);
    EXPECT_TRUE(dispatch(queue).empty());
    EXPECT_EQ(queue.ready_count(), 3u);
    EXPECT_FALSE(queue.has_had_consumers());
}

struct PrefetchCase {
    u16 prefetch;
    u32 consumer_count;
    u32 message_count;
    u32 delivered_first;  // in the first dispatch
};

TEST(QueueTest, PrefetchBoundsUnsettledDeliveriesPerConsumer) {
    const PrefetchCase cases[] = {
        {0, 1, 10, 10},  // 0 is unlimited
        {0, 2, 10, 10},  // unlimited for every consumer
        {1, 1, 10, 1},   // one unsettled at a time
        {1, 2, 10, 2},   // one each
        {2, 3, 10, 6},   // two each
        {5, 2, 10, 10},  // room for everything
        {5, 2, 3, 3},    // fewer messages than room
    };
    for (const PrefetchCase& c : cases) {
        SCOPED_TRACE("prefetch " + std::to_string(c.prefetch) + ", consumers " +
                     std::to_string(c.consumer_count));
        Queue queue("/", queue_info());
        for (u32 i = 1; i <= c.consumer_count; i++) {
            ASSERT_EQ(add(queue, i, c.prefetch), ReplyCode::reply_success);
        }
        enqueue_bodies(queue, c.message_count);
        std::vector<Deliver> delivered = dispatch(queue);
        EXPECT_EQ(delivered.size(), c.delivered_first);
        EXPECT_EQ(queue.ready_count(), c.message_count - c.delivered_first);
        EXPECT_EQ(queue.unsettled_count(), c.delivered_first);
        if (c.prefetch != 0) {
            for (u32 i = 1; i <= c.consumer_count; i++) {
                usize count = 0;
                for (const Deliver& d : delivered) count += d.consumer.id == i;
                EXPECT_LE(count, c.prefetch);
            }
        }
        EXPECT_TRUE(dispatch(queue).empty()) << "nothing more until something is settled";
    }
}

TEST(QueueTest, AckFreesRoomForTheConsumerThatAcked) {
    Queue queue("/", queue_info());
    ASSERT_EQ(add(queue, 1, 1), ReplyCode::reply_success);
    ASSERT_EQ(add(queue, 2, 1), ReplyCode::reply_success);
    enqueue_bodies(queue, 5);
    std::vector<Deliver> first = dispatch(queue);
    ASSERT_EQ(consumer_ids(first), (std::vector<u64>{1, 2}));
    EXPECT_TRUE(dispatch(queue).empty());

    // Consumer 2 acks: only it has room, whoever's turn it is.
    EXPECT_TRUE(queue.settle(first[1].sequence, SettleKind::ack));
    std::vector<Deliver> second = dispatch(queue);
    ASSERT_EQ(consumer_ids(second), (std::vector<u64>{2}));
    EXPECT_EQ(second[0].sequence, 3u);

    EXPECT_TRUE(queue.settle(first[0].sequence, SettleKind::ack));
    EXPECT_TRUE(queue.settle(second[0].sequence, SettleKind::ack));
    EXPECT_EQ(consumer_ids(dispatch(queue)), (std::vector<u64>{1, 2}));
    EXPECT_EQ(queue.ready_count(), 0u);
}

TEST(QueueTest, BlockedConsumerIsSkippedNotWaitedFor) {
    Queue queue("/", queue_info());
    ASSERT_EQ(add(queue, 1, 1), ReplyCode::reply_success);
    ASSERT_EQ(add(queue, 2, 0), ReplyCode::reply_success);
    enqueue_bodies(queue, 4);
    EXPECT_EQ(consumer_ids(dispatch(queue)), (std::vector<u64>{1, 2, 2, 2}));
}

TEST(QueueTest, NoAckConsumersAreNotTracked) {
    Queue queue("/", queue_info());
    ASSERT_EQ(add(queue, 1, /*prefetch=*/1, Ack::none), ReplyCode::reply_success);
    enqueue_bodies(queue, 3);
    std::vector<Deliver> delivered = dispatch(queue);
    ASSERT_EQ(delivered.size(), 3u) << "prefetch does not apply without acks";
    for (const Deliver& d : delivered) {
        EXPECT_TRUE(d.no_ack);
        ASSERT_TRUE(d.message);
    }
    EXPECT_EQ(queue.unsettled_count(), 0u);
    EXPECT_FALSE(queue.settle(delivered[0].sequence, SettleKind::ack));
}

TEST(QueueTest, TransitLimitBlocksUntilCredit) {
    for (Ack ack : {Ack::manual, Ack::none}) {
        SCOPED_TRACE(ack == Ack::none ? "no-ack" : "manual ack");
        Queue queue("/", queue_info());
        ASSERT_EQ(add(queue, 1, 0, ack), ReplyCode::reply_success);
        constexpr u32 limit = limits::consumer_transit_max;
        enqueue_bodies(queue, limit + 10);
        EXPECT_EQ(dispatch(queue).size(), limit);
        EXPECT_EQ(queue.ready_count(), 10u);
        EXPECT_TRUE(dispatch(queue).empty());

        // Acks do not make room in transit: only the consumer's shard writing them does.
        if (ack == Ack::manual) {
            EXPECT_TRUE(queue.settle(1, SettleKind::ack));
            EXPECT_TRUE(dispatch(queue).empty());
        }

        queue.credit(consumer(99), 5, 0);  // someone else's credit changes nothing
        EXPECT_TRUE(dispatch(queue).empty());

        queue.credit(consumer(1), 3, 0);
        std::vector<Deliver> more = dispatch(queue);
        ASSERT_EQ(more.size(), 3u);
        EXPECT_EQ(more[0].sequence, limit + 1);

        queue.credit(consumer(1), limit * 2, 0);  // more than in transit: clamps at zero
        EXPECT_EQ(dispatch(queue).size(), 7u);
        EXPECT_EQ(queue.ready_count(), 0u);
    }
}

// A no-ack consumer that never reads its socket is handed at most
// consumer_transit_bytes_max of large messages, not consumer_transit_max of them.
TEST(QueueTest, TransitBytesLimitBlocksLargeMessagesUntilCredit) {
    for (u64 body_size : {u64{1} << 20, limits::consumer_transit_bytes_max + 1}) {
        SCOPED_TRACE(body_size);
        Queue queue("/", queue_info());
        ASSERT_EQ(add(queue, 1, 0, Ack::none), ReplyCode::reply_success);
        for (int i = 0; i < 20; i++) queue.enqueue(make_message(std::string(body_size, 'b')));
        std::vector<Deliver> first = dispatch(queue);
        ASSERT_FALSE(first.empty());
        u64 size = first[0].message->transit_size();
        // Deliveries go until the bytes in transit reach the limit; one larger than the limit
        // still goes, alone.
        u64 expected = (limits::consumer_transit_bytes_max + size - 1) / size;
        EXPECT_EQ(first.size(), expected);
        EXPECT_TRUE(dispatch(queue).empty());

        queue.credit(consumer(1), 1, size);  // one written: room for one more
        EXPECT_EQ(dispatch(queue).size(), 1u);
        EXPECT_TRUE(dispatch(queue).empty());
    }
}

// What each settlement does with a delivered message, first delivered and then redelivered.
struct SettleCase {
    SettleKind kind;
    bool returns;  // back among the ready messages
    bool redelivered_after_first;
    bool redelivered_after_second;
};

TEST(QueueTest, SettleKindsDecideWhereTheMessageGoes) {
    const SettleCase cases[] = {
        {SettleKind::ack, false, false, false},
        {SettleKind::drop, false, false, false},
        {SettleKind::requeue, true, true, true},
        {SettleKind::undelivered, true, false, true},
    };
    for (const SettleCase& c : cases) {
        SCOPED_TRACE(static_cast<int>(c.kind));
        for (bool second_round : {false, true}) {
            Queue queue("/", queue_info());
            enqueue_bodies(queue, 1);
            Queue::Got got;
            if (second_round) {
                // Make the message a redelivery first.
                ASSERT_TRUE(queue.get(false, got));
                ASSERT_TRUE(queue.settle(got.sequence, SettleKind::requeue));
            }
            ASSERT_TRUE(queue.get(false, got));
            EXPECT_EQ(got.redelivered, second_round);
            EXPECT_TRUE(queue.settle(got.sequence, c.kind));
            EXPECT_EQ(queue.unsettled_count(), 0u);
            EXPECT_EQ(queue.ready_count(), c.returns ? 1u : 0u);
            if (!c.returns) continue;
            Queue::Got back;
            ASSERT_TRUE(queue.get(true, back));
            EXPECT_EQ(back.sequence, got.sequence);
            EXPECT_EQ(back.message->body_copy(), "m0");
            EXPECT_EQ(back.redelivered,
                      second_round ? c.redelivered_after_second : c.redelivered_after_first);
        }
    }
}

TEST(QueueTest, RequeueReturnsMessagesToTheirOriginalPlaces) {
    Queue queue("/", queue_info());
    enqueue_bodies(queue, 5);  // sequences 1..5
    std::vector<Queue::Got> taken(3);
    for (Queue::Got& got : taken) ASSERT_TRUE(queue.get(false, got));  // 1, 2, 3
    // Settled out of order; each goes back to where it was.
    EXPECT_TRUE(queue.settle(3, SettleKind::requeue));
    EXPECT_TRUE(queue.settle(1, SettleKind::requeue));
    EXPECT_TRUE(queue.settle(2, SettleKind::undelivered));
    queue.enqueue(make_message("m5"));

    struct Expected {
        u64 sequence;
        const char* body;
        bool redelivered;
    };
    const Expected order[] = {{1, "m0", true},  {2, "m1", false}, {3, "m2", true},
                              {4, "m3", false}, {5, "m4", false}, {6, "m5", false}};
    for (const Expected& e : order) {
        Queue::Got got;
        ASSERT_TRUE(queue.get(true, got));
        EXPECT_EQ(got.sequence, e.sequence);
        EXPECT_EQ(got.message->body_copy(), e.body);
        EXPECT_EQ(got.redelivered, e.redelivered);
    }
    EXPECT_EQ(queue.ready_count(), 0u);
}

TEST(QueueTest, RequeuedMessageIsRedeliveredToConsumers) {
    Queue queue("/", queue_info());
    ASSERT_EQ(add(queue, 1, 1), ReplyCode::reply_success);
    enqueue_bodies(queue, 2);
    std::vector<Deliver> first = dispatch(queue);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_TRUE(queue.settle(first[0].sequence, SettleKind::requeue));
    std::vector<Deliver> again = dispatch(queue);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].sequence, first[0].sequence);
    EXPECT_TRUE(again[0].redelivered);
    EXPECT_EQ(again[0].message.get(), first[0].message.get());
}

TEST(QueueTest, UndeliveredNoAckMessageReturnsWithItsFlag) {
    for (bool redelivered : {false, true}) {
        Queue queue("/", queue_info());
        ASSERT_EQ(add(queue, 1, 0, Ack::none), ReplyCode::reply_success);
        enqueue_bodies(queue, 3);
        std::vector<Deliver> delivered = dispatch(queue);
        ASSERT_EQ(delivered.size(), 3u);
        // The channel went before the second reached the client; the message travels back.
        EXPECT_FALSE(queue.settle(delivered[1].sequence, SettleKind::undelivered));
        queue.return_undelivered(delivered[1].sequence, std::move(delivered[1].message),
                                 redelivered, Stored{});
        ASSERT_TRUE(queue.remove_consumer(consumer(1)));
        Queue::Got got;
        ASSERT_TRUE(queue.get(true, got));
        EXPECT_EQ(got.sequence, 2u);
        EXPECT_EQ(got.message->body_copy(), "m1");
        EXPECT_EQ(got.redelivered, redelivered);
    }
}

TEST(QueueTest, GetTracksUnlessNoAck) {
    Queue queue("/", queue_info());
    Queue::Got got;
    EXPECT_FALSE(queue.get(false, got)) << "empty";
    enqueue_bodies(queue, 2);

    ASSERT_TRUE(queue.get(true, got));
    EXPECT_EQ(got.sequence, 1u);
    EXPECT_EQ(got.message->body_copy(), "m0");
    EXPECT_FALSE(got.redelivered);
    EXPECT_EQ(queue.unsettled_count(), 0u);
    EXPECT_FALSE(queue.settle(1, SettleKind::ack));

    ASSERT_TRUE(queue.get(false, got));
    EXPECT_EQ(got.sequence, 2u);
    EXPECT_EQ(queue.unsettled_count(), 1u);
    EXPECT_EQ(queue.ready_count(), 0u);
    EXPECT_TRUE(queue.settle(2, SettleKind::ack));
    EXPECT_EQ(queue.unsettled_count(), 0u);
    EXPECT_FALSE(queue.get(false, got));
}

TEST(QueueTest, GetSettlementDoesNotDisturbConsumerAccounting) {
    Queue queue("/", queue_info());
    ASSERT_EQ(add(queue, 1, 1), ReplyCode::reply_success);
    enqueue_bodies(queue, 1);
    Queue::Got got;
    ASSERT_TRUE(queue.get(false, got));
    EXPECT_TRUE(queue.settle(got.sequence, SettleKind::ack));
    enqueue_bodies(queue, 2, 1);
    // The consumer's single slot is still free, and still only one.
    EXPECT_EQ(dispatch(queue).size(), 1u);
}

TEST(QueueTest, PurgeDropsReadyMessagesOnly) {
    Queue queue("/", queue_info());
    enqueue_bodies(queue, 5);
    Queue::Got got;
    ASSERT_TRUE(queue.get(false, got));
    ASSERT_TRUE(queue.get(false, got));
    EXPECT_EQ(queue.purge(), 3u);
    EXPECT_EQ(queue.ready_count(), 0u);
    EXPECT_EQ(queue.unsettled_count(), 2u);
    EXPECT_EQ(queue.purge(), 0u);
    // Unsettled messages survive the purge and can still come back.
    EXPECT_TRUE(queue.settle(got.sequence, SettleKind::requeue));
    EXPECT_EQ(queue.ready_count(), 1u);
}

// Consuming next to consumers already there, exclusive or not.
struct ExclusiveCase {
    const char* existing;  // "", "plain" or "exclusive"
    Exclusive request;
    ReplyCode code;
};

TEST(QueueTest, ExclusiveConsumersRefuseAndAreRefused) {
    const std::string in_use = "ACCESS_REFUSED - queue 'jobs' in vhost 'v1' in exclusive use";
    const ExclusiveCase cases[] = {
        {"", Exclusive::no, ReplyCode::reply_success},
        {"", Exclusive::yes, ReplyCode::reply_success},
        {"plain", Exclusive::no, ReplyCode::reply_success},
        {"plain", Exclusive::yes, ReplyCode::access_refused},
        {"exclusive", Exclusive::no, ReplyCode::access_refused},
        {"exclusive", Exclusive::yes, ReplyCode::access_refused},
    };
    for (const ExclusiveCase& c : cases) {
        SCOPED_TRACE(std::string("existing '") + c.existing + "', exclusive request " +
                     (c.request == Exclusive::yes ? "yes" : "no"));
        Queue queue("v1", queue_info("jobs"));
        std::string existing = c.existing;
        if (!existing.empty()) {
            ASSERT_EQ(add(queue, 1, 0, Ack::manual,
                          existing == "exclusive" ? Exclusive::yes : Exclusive::no),
                      ReplyCode::reply_success);
        }
        std::string text;
        EXPECT_EQ(add(queue, 2, 0, Ack::manual, c.request, &text), c.code);
        EXPECT_EQ(text, c.code == ReplyCode::reply_success ? "" : in_use);
        bool added = c.code == ReplyCode::reply_success;
        EXPECT_EQ(queue.consumer_count(), (existing.empty() ? 0u : 1u) + (added ? 1u : 0u));
    }
}

TEST(QueueTest, ExclusiveConsumerLeavingFreesTheQueue) {
    Queue queue("/", queue_info());
    ASSERT_EQ(add(queue, 1, 0, Ack::manual, Exclusive::yes), ReplyCode::reply_success);
    ASSERT_EQ(add(queue, 2), ReplyCode::access_refused);
    ASSERT_TRUE(queue.remove_consumer(consumer(1)));
    EXPECT_EQ(add(queue, 2), ReplyCode::reply_success);
}

// Removing a consumer keeps the rotation on the consumer that was next.
struct RemovalCase {
    u32 delivered_before;  // messages dispatched to consumers 1, 2, 3 before the removal
    u64 removed;
    std::vector<u64> next_order;  // the next three deliveries
};

TEST(QueueTest, RemoveConsumerKeepsTheRoundRobinTurn) {
    const RemovalCase cases[] = {
        {0, 1, {2, 3, 2}},  // next is 1, the removed one: its successor goes next
        {0, 3, {1, 2, 1}},  // next is 1, removed is last
        {1, 1, {2, 3, 2}},  // next is 2, removed sits before it
        {1, 2, {3, 1, 3}},  // next is the removed one
        {1, 3, {2, 1, 2}},  // removed sits after the next
        {2, 3, {1, 2, 1}},  // next is the last one, removed: wrap to the first
        {2, 1, {3, 2, 3}},  // next is 3, removed sits two before it
    };
    for (const RemovalCase& c : cases) {
        SCOPED_TRACE("delivered " + std::to_string(c.delivered_before) + ", removed " +
                     std::to_string(c.removed));
        Queue queue("/", queue_info());
        for (u64 id : {1, 2, 3}) ASSERT_EQ(add(queue, id), ReplyCode::reply_success);
        enqueue_bodies(queue, c.delivered_before);
        ASSERT_EQ(dispatch(queue).size(), c.delivered_before);
        ASSERT_TRUE(queue.remove_consumer(consumer(c.removed)));
        EXPECT_EQ(queue.consumer_count(), 2u);
        enqueue_bodies(queue, 3, 100);
        EXPECT_EQ(consumer_ids(dispatch(queue)), c.next_order);
    }
}

TEST(QueueTest, RemoveUnknownConsumerIsFalse) {
    Queue queue("/", queue_info());
    EXPECT_FALSE(queue.remove_consumer(consumer(1)));
    ASSERT_EQ(add(queue, 1), ReplyCode::reply_success);
    EXPECT_TRUE(queue.has_had_consumers());
    EXPECT_TRUE(queue.remove_consumer(consumer(1)));
    EXPECT_FALSE(queue.remove_consumer(consumer(1)));
    EXPECT_TRUE(queue.has_had_consumers()) << "remembered after the last consumer goes";
}

TEST(QueueTest, RemovedConsumersUnsettledMessagesCanStillBeSettled) {
    Queue queue("/", queue_info());
    ASSERT_EQ(add(queue, 1, 1), ReplyCode::reply_success);
    enqueue_bodies(queue, 1);
    std::vector<Deliver> delivered = dispatch(queue);
    ASSERT_EQ(delivered.size(), 1u);
    ASSERT_TRUE(queue.remove_consumer(consumer(1)));
    EXPECT_TRUE(queue.settle(delivered[0].sequence, SettleKind::requeue));
    EXPECT_EQ(queue.ready_count(), 1u);
}

TEST(QueueTest, RemoveAllConsumersReportsEach) {
    Queue queue("/", queue_info());
    for (u64 id : {1, 2, 3}) ASSERT_EQ(add(queue, id), ReplyCode::reply_success);
    std::vector<u64> removed;
    queue.remove_all_consumers([&](const Queue::Consumer& c) { removed.push_back(c.key.id); });
    EXPECT_EQ(removed, (std::vector<u64>{1, 2, 3}));
    EXPECT_EQ(queue.consumer_count(), 0u);
}

TEST(QueueTest, SettleOfUnknownSequenceIsFalse) {
    Queue queue("/", queue_info());
    for (SettleKind kind :
         {SettleKind::ack, SettleKind::drop, SettleKind::requeue, SettleKind::undelivered}) {
        EXPECT_FALSE(queue.settle(42, kind));
    }
    enqueue_bodies(queue, 1);
    Queue::Got got;
    ASSERT_TRUE(queue.get(false, got));
    EXPECT_FALSE(queue.settle(got.sequence + 1, SettleKind::ack));
    EXPECT_TRUE(queue.settle(got.sequence, SettleKind::ack));
    EXPECT_FALSE(queue.settle(got.sequence, SettleKind::ack)) << "a duplicate";
    EXPECT_EQ(queue.ready_count(), 0u);
}

}  // namespace
}  // namespace lepus::core

namespace lepus::core {
namespace {

ReplyCode add_with_priority(Queue& queue, u64 id, i32 priority, u16 prefetch) {
    ConsumeRequest request;
    request.consumer = consumer(id);
    request.queue = queue_id;
    request.tag = "ctag-" + std::to_string(id);
    request.prefetch = prefetch;
    request.priority = priority;
    std::string text;
    return queue.add_consumer(request, text);
}

TEST(QueuePriorityTest, HigherPriorityConsumersAreServedWhileTheyHaveRoom) {
    Queue queue("/", queue_info());
    ASSERT_EQ(add_with_priority(queue, 1, 0, 0), ReplyCode::reply_success);
    ASSERT_EQ(add_with_priority(queue, 2, 10, 2), ReplyCode::reply_success);
    ASSERT_EQ(add_with_priority(queue, 3, 10, 2), ReplyCode::reply_success);
    enqueue_bodies(queue, 7);
    // Consumers 2 and 3 (priority 10) share the first four round-robin until their prefetch
    // is full; only then does consumer 1 (priority 0) get the rest.
    EXPECT_EQ(consumer_ids(dispatch(queue)), (std::vector<u64>{2, 3, 2, 3, 1, 1, 1}));
}

TEST(QueuePriorityTest, RoomAtAHigherPriorityTakesTheNextMessage) {
    Queue queue("/", queue_info());
    ASSERT_EQ(add_with_priority(queue, 1, -5, 0), ReplyCode::reply_success);
    ASSERT_EQ(add_with_priority(queue, 2, 5, 1), ReplyCode::reply_success);
    enqueue_bodies(queue, 2);
    std::vector<Deliver> first = dispatch(queue);
    ASSERT_EQ(consumer_ids(first), (std::vector<u64>{2, 1}));
    queue.settle(first[0].sequence, SettleKind::ack);
    enqueue_bodies(queue, 1, 2);
    EXPECT_EQ(consumer_ids(dispatch(queue)), (std::vector<u64>{2}));
}

TEST(QueuePriorityTest, EqualPrioritiesKeepPlainRoundRobin) {
    Queue queue("/", queue_info());
    for (u64 id = 1; id <= 3; id++)
        ASSERT_EQ(add_with_priority(queue, id, 3, 0), ReplyCode::reply_success);
    enqueue_bodies(queue, 6);
    EXPECT_EQ(consumer_ids(dispatch(queue)), (std::vector<u64>{1, 2, 3, 1, 2, 3}));
}

}  // namespace
}  // namespace lepus::core
