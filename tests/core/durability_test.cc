// The broker's durability logic over a fake journal: what is written, when confirms and
// declare-oks are released, and what a restart rebuilds from the durable records.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/broker.h"
#include "core/definitions.h"
#include "core/journal_records.h"
#include "tests/core/broker_sim.h"
#include "tests/core/fake_journal.h"
#include "tests/core/test_message.h"
#include "tests/net/amqp/reply_code_printer.h"

namespace lepus::core {
namespace {

using amqp::ReplyCode;
using sim::SimConfig;
using sim::Simulation;
using test_support::FakeJournal;

constexpr u32 shard_count = 2;

MessageRef persistent_message(std::string_view body, std::string routing_key, u8 mode = 2) {
    auto* message =
        new Message(Message::Routing{"", std::move(routing_key)},
                    test_support::slice_of(test_support::content_header_payload(body.size())),
                    body.size(), mode, /*priority=*/0);
    if (!body.empty()) message->append_body(test_support::slice_of(body));
    return MessageRef::adopt(message);
}

ChannelKey channel_on(u32 shard) {
    ChannelKey key;
    key.connection = ConnectionKey{ShardId(shard), 7, 1};
    key.channel = 1;
    key.generation = 1;
    return key;
}

class DurabilityTest : public ::testing::Test {
protected:
    DurabilityTest() {
        for (u32 s = 0; s < shard_count; s++) journals_.push_back(std::make_unique<FakeJournal>());
        definitions_journal_ = std::make_unique<FakeJournal>(8);
        boot({});
    }

    // A start: fresh brokers over the journals as they are, restoring what they hold.
    void boot(const std::vector<CatalogUpdate>& definitions) {
        sim_ = std::make_unique<Simulation>(SimConfig{shard_count}, std::vector<std::string>{"/"});
        log_ = std::make_unique<DefinitionsLog>(*definitions_journal_);
        for (u32 s = 0; s < shard_count; s++) {
            broker(s).restore_definitions(definitions);
            broker(s).set_journal(journals_[s].get());
        }
        epoch_++;
        broker(0).set_definitions_log(log_.get(), definitions_journal_.get(), epoch_ << 32);
        log_->write_boot(epoch_);
    }

    // Power loss and restart: replays the durable records of every journal.
    void restart() {
        definitions_journal_->crash();
        DefinitionsReplay replay({"/"});
        for (const auto& r : definitions_journal_->records()) replay.record(r.kind, r.payload);
        RecoveredDefinitions recovered = replay.finish(shard_count);
        EXPECT_EQ(recovered.epoch, epoch_);
        recovered_definition_count_ = recovered.updates.size();
        for (auto& j : journals_) j->crash();
        boot(recovered.updates);
        recovered_messages_ = 0;
        for (u32 s = 0; s < shard_count; s++) {
            for (const auto& r : journals_[s]->records()) {
                broker(s).recover_record(r.kind, r.sequence, r.place, r.payload);
            }
            recovered_messages_ += broker(s).finish_recovery();
        }
        sim_->run();
    }

    Broker& broker(u32 shard) { return sim_->broker(shard); }

    // Every journal write completes and the brokers act on it, as loop turns do, until the
    // work this releases writes nothing more.
    void complete_writes() {
        for (int turn = 0; turn < 16; turn++) {
            usize before = definitions_journal_->records().size();
            for (auto& j : journals_) before += j->records().size();
            for (u32 s = 0; s < shard_count; s++) broker(s).flush_journal();
            for (auto& j : journals_) j->complete();
            definitions_journal_->complete();
            for (u32 s = 0; s < shard_count; s++) broker(s).on_journal_progress();
            sim_->run();
            usize after = definitions_journal_->records().size();
            for (auto& j : journals_) after += j->records().size();
            if (after == before) return;
        }
        FAIL() << "the journals did not go quiet";
    }

    // A metadata request and its reply, with the disk keeping up.
    MetaReply meta(u32 from, MetaOp op) {
        post_meta(from, std::move(op));
        complete_writes();
        return take_reply(from);
    }
    void post_meta(u32 from, MetaOp op) {
        auto request = std::make_unique<MetaRequest>();
        request->vhost = "/";
        request->requester = channel_on(from);
        request->op = std::move(op);
        sim_->post(from, 0, std::move(request));
        sim_->run();
    }
    MetaReply take_reply(u32 shard) {
        auto replies = sim_->take<std::unique_ptr<MetaReply>>(shard);
        EXPECT_EQ(replies.size(), 1u);
        if (replies.empty()) return MetaReply{};
        return std::move(*replies[0]);
    }
    void declare_queue(u32 from, std::string name, bool durable) {
        QueueDeclareOp op;
        op.info.name = std::move(name);
        op.info.durable = durable;
        EXPECT_EQ(meta(from, op).code, ReplyCode::reply_success);
    }
    const QueueInfo* queue_info(u32 shard, const std::string& name) {
        return broker(shard).catalog().find_queue("/", name);
    }
    const Queue* home_queue(const std::string& name) {
        const QueueInfo* info = queue_info(0, name);
        if (info == nullptr) return nullptr;
        return broker(info->home.value).find_local_queue(info->id);
    }

    // basic.publish on shard `from` to the default exchange; returns awaiting_disk.
    u32 publish(u32 from, const std::string& queue, std::string_view body, u64 confirm = 0,
                u8 mode = 2) {
        Catalog& catalog = broker(from).catalog();
        Broker::PublishConfirm c{channel_on(from), confirm, 0};
        broker(from).publish(*catalog.find_vhost("/"), *catalog.find_exchange("/", ""),
                             persistent_message(body, queue, mode), {},
                             confirm != 0 ? &c : nullptr);
        broker(from).dispatch_pending();
        sim_->run();
        return c.awaiting_disk;
    }
    std::vector<Persisted> persisted(u32 shard) { return sim_->take<Persisted>(shard); }

    std::vector<Deliver> consume_all(u32 from, const std::string& queue, bool no_ack) {
        const QueueInfo* info = queue_info(from, queue);
        EXPECT_NE(info, nullptr);
        auto request = std::make_unique<ConsumeRequest>();
        request->consumer.channel = channel_on(from);
        request->consumer.id = ++consumer_id_;
        request->queue = info->id;
        request->no_ack = no_ack;
        sim_->post(from, info->home.value, std::move(request));
        sim_->run();
        sim_->take<std::unique_ptr<ConsumeReply>>(from);
        return sim_->take<Deliver>(from);
    }
    void settle(u32 from, const Deliver& d, SettleKind kind) {
        sim_->post(from, d.home.value, Settle{d.queue, d.sequence, kind, {}, false});
        sim_->run();
    }

    std::vector<std::unique_ptr<FakeJournal>> journals_;
    std::unique_ptr<FakeJournal> definitions_journal_;
    std::unique_ptr<DefinitionsLog> log_;
    std::unique_ptr<Simulation> sim_;
    u64 epoch_ = 0;
    u64 consumer_id_ = 0;
    usize recovered_definition_count_ = 0;
    u64 recovered_messages_ = 0;
};

TEST_F(DurabilityTest, DeclareOkForADurableQueueWaitsForTheDisk) {
    QueueDeclareOp op;
    op.info.name = "d";
    op.info.durable = true;
    post_meta(1, op);
    EXPECT_TRUE(sim_->take<std::unique_ptr<MetaReply>>(1).empty())
        << "declare-ok before the definition was on disk";
    EXPECT_EQ(queue_info(1, "d"), nullptr) << "other shards learn of it after the disk, too";
    complete_writes();
    EXPECT_EQ(take_reply(1).code, ReplyCode::reply_success);
    EXPECT_NE(queue_info(1, "d"), nullptr);
}

TEST_F(DurabilityTest, TransientDefinitionsAreNotWritten) {
    usize before = definitions_journal_->records().size();
    declare_queue(0, "t", /*durable=*/false);
    ExchangeDeclareOp x;
    x.info.name = "tx";
    x.info.type = routing::ExchangeType::fanout;
    EXPECT_EQ(meta(0, x).code, ReplyCode::reply_success);
    QueueDeclareOp exclusive;
    exclusive.info.name = "ex";
    exclusive.info.durable = true;
    exclusive.info.exclusive = true;
    EXPECT_EQ(meta(0, exclusive).code, ReplyCode::reply_success);
    EXPECT_EQ(definitions_journal_->records().size(), before);
}

TEST_F(DurabilityTest, DurableDefinitionsSurviveARestart) {
    ExchangeDeclareOp x;
    x.info.name = "dx";
    x.info.type = routing::ExchangeType::topic;
    x.info.durable = true;
    EXPECT_EQ(meta(0, x).code, ReplyCode::reply_success);
    ExchangeDeclareOp tx;
    tx.info.name = "tx";
    tx.info.type = routing::ExchangeType::fanout;
    EXPECT_EQ(meta(0, tx).code, ReplyCode::reply_success);
    declare_queue(1, "dq", true);
    declare_queue(0, "tq", false);
    declare_queue(0, "gone", true);
    EXPECT_EQ(meta(0, QueueBindOp{"dq", "dx", "a.#", {}, false}).code, ReplyCode::reply_success);
    EXPECT_EQ(meta(0, QueueBindOp{"dq", "amq.direct", "k", {}, false}).code,
              ReplyCode::reply_success);
    EXPECT_EQ(meta(0, QueueBindOp{"tq", "dx", "b", {}, false}).code, ReplyCode::reply_success);
    EXPECT_EQ(meta(0, QueueBindOp{"dq", "tx", "", {}, false}).code, ReplyCode::reply_success);
    EXPECT_EQ(meta(0, QueueDeleteOp{"gone", false, false}).code, ReplyCode::reply_success);
    QueueId dq_id = queue_info(0, "dq")->id;

    restart();

    for (u32 s = 0; s < shard_count; s++) {
        EXPECT_NE(broker(s).catalog().find_exchange("/", "dx"), nullptr);
        EXPECT_EQ(broker(s).catalog().find_exchange("/", "tx"), nullptr);
        const QueueInfo* dq = queue_info(s, "dq");
        ASSERT_NE(dq, nullptr);
        EXPECT_EQ(dq->id, dq_id);
        EXPECT_EQ(dq->home, ShardId(1));
        EXPECT_EQ(queue_info(s, "tq"), nullptr);
        EXPECT_EQ(queue_info(s, "gone"), nullptr);
    }
    EXPECT_NE(home_queue("dq"), nullptr);
    const VHost* vhost = broker(0).catalog().find_vhost("/");
    std::vector<const QueueInfo*> out;
    broker(0).catalog().route(*vhost, *broker(0).catalog().find_exchange("/", "dx"), "a.b", {},
                              out);
    ASSERT_EQ(out.size(), 1u);
    broker(0).catalog().route(*vhost, *broker(0).catalog().find_exchange("/", "amq.direct"), "k",
                              {}, out);
    EXPECT_EQ(out.size(), 1u);
    // Queue ids of the new start never repeat the old ones.
    declare_queue(0, "new", true);
    EXPECT_GT(queue_info(0, "new")->id.value >> 32, dq_id.value >> 32);
}

TEST_F(DurabilityTest, DefinitionsLostBeforeTheDiskAreNotRecovered) {
    declare_queue(0, "kept", true);
    QueueDeclareOp op;
    op.info.name = "lost";
    op.info.durable = true;
    post_meta(0, op);  // never completed: the power goes first
    restart();
    EXPECT_NE(queue_info(0, "kept"), nullptr);
    EXPECT_EQ(queue_info(0, "lost"), nullptr);
}

TEST_F(DurabilityTest, PersistentMessageIsConfirmedOnlyOnceOnDisk) {
    declare_queue(1, "q", true);  // home: shard 1; the publisher is on shard 0
    EXPECT_EQ(publish(0, "q", "hello", /*confirm=*/1), 1u);
    EXPECT_TRUE(persisted(0).empty());
    ASSERT_EQ(journals_[1]->records_of(static_cast<u8>(RecordKind::message)).size(), 1u);
    EXPECT_TRUE(journals_[0]->records().empty()) << "written by the queue's home shard";
    complete_writes();
    std::vector<Persisted> done = persisted(0);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].sequence, 1u);
    EXPECT_TRUE(done[0].channel == channel_on(0));
}

TEST_F(DurabilityTest, TransientMessagesAndQueuesAreNotWritten) {
    declare_queue(0, "durable", true);
    declare_queue(0, "transient", false);
    EXPECT_EQ(publish(0, "durable", "x", 1, /*mode=*/1), 0u);
    EXPECT_EQ(publish(0, "transient", "y", 2, /*mode=*/2), 0u);
    complete_writes();
    EXPECT_TRUE(journals_[0]->records().empty());
    EXPECT_TRUE(persisted(0).empty()) << "nothing awaited, nothing reported";
}

TEST_F(DurabilityTest, ConfirmForADeletedQueueIsNotLost) {
    declare_queue(1, "q", true);
    QueueId id = queue_info(0, "q")->id;
    EXPECT_EQ(meta(0, QueueDeleteOp{"q", false, false}).code, ReplyCode::reply_success);
    // A publish routed on a stale view: the Enqueue finds no queue at home.
    sim_->post(0, 1, Enqueue{id, persistent_message("m", "q"), 5, channel_on(0)});
    sim_->run();
    std::vector<Persisted> done = persisted(0);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].sequence, 5u);
}

TEST_F(DurabilityTest, BodyIsWrittenOncePerShard) {
    ExchangeDeclareOp x;
    x.info.name = "fan";
    x.info.type = routing::ExchangeType::fanout;
    x.info.durable = true;
    EXPECT_EQ(meta(0, x).code, ReplyCode::reply_success);
    for (const char* q : {"a", "b", "c"}) {
        declare_queue(0, q, true);
        EXPECT_EQ(meta(0, QueueBindOp{q, "fan", "", {}, false}).code, ReplyCode::reply_success);
    }
    Catalog& catalog = broker(0).catalog();
    Broker::PublishConfirm c{channel_on(0), 1, 0};
    broker(0).publish(*catalog.find_vhost("/"), *catalog.find_exchange("/", "fan"),
                      persistent_message("body", "k"), {}, &c);
    EXPECT_EQ(c.awaiting_disk, 3u);
    EXPECT_EQ(journals_[0]->records_of(static_cast<u8>(RecordKind::message)).size(), 1u);
    EXPECT_EQ(journals_[0]->records_of(static_cast<u8>(RecordKind::enqueue)).size(), 2u);
    complete_writes();
    EXPECT_EQ(persisted(0).size(), 3u);
    restart();
    EXPECT_EQ(recovered_messages_, 3u);
    for (const char* q : {"a", "b", "c"}) EXPECT_EQ(home_queue(q)->ready_count(), 1u) << q;
}

TEST_F(DurabilityTest, MessageSurvivesTheDeletionOfTheQueueThatWroteItsBody) {
    ExchangeDeclareOp x;
    x.info.name = "fan";
    x.info.type = routing::ExchangeType::fanout;
    x.info.durable = true;
    EXPECT_EQ(meta(0, x).code, ReplyCode::reply_success);
    for (const char* q : {"first", "second"}) {
        declare_queue(0, q, true);
        EXPECT_EQ(meta(0, QueueBindOp{q, "fan", "", {}, false}).code, ReplyCode::reply_success);
    }
    Catalog& catalog = broker(0).catalog();
    broker(0).publish(*catalog.find_vhost("/"), *catalog.find_exchange("/", "fan"),
                      persistent_message("shared", "k"), {});
    complete_writes();
    EXPECT_EQ(meta(0, QueueDeleteOp{"first", false, false}).code, ReplyCode::reply_success);
    complete_writes();
    restart();
    EXPECT_EQ(recovered_messages_, 1u);
    std::vector<Deliver> got = consume_all(0, "second", true);
    if (got.empty()) {  // recovered as an index entry: read back from the journal
        journals_[0]->complete_reads();
        for (u32 s = 0; s < shard_count; s++) broker(s).dispatch_pending();
        sim_->run();
        got = sim_->take<Deliver>(0);
    }
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].message->body_copy(), "shared");
}

TEST_F(DurabilityTest, UnackedComeBackRedeliveredAndAckedDoNot) {
    declare_queue(1, "q", true);
    for (int i = 0; i < 5; i++) publish(0, "q", "m" + std::to_string(i));
    std::vector<Deliver> got = consume_all(0, "q", /*no_ack=*/false);
    ASSERT_EQ(got.size(), 5u);
    settle(0, got[0], SettleKind::ack);
    settle(0, got[3], SettleKind::ack);
    settle(0, got[4], SettleKind::requeue);
    complete_writes();
    // Both acks of one turn share a settle record.
    auto settles = journals_[1]->records_of(static_cast<u8>(RecordKind::settle));
    ASSERT_EQ(settles.size(), 1u);
    QueueId settled_queue;
    std::vector<u64> sequences;
    ASSERT_TRUE(
        decode_settle(settles[0].payload, settled_queue, [&](u64 s) { sequences.push_back(s); }));
    EXPECT_EQ(sequences.size(), 2u);

    restart();
    EXPECT_EQ(recovered_messages_, 3u);
    std::vector<Deliver> again = consume_all(0, "q", true);
    ASSERT_EQ(again.size(), 3u);
    EXPECT_EQ(again[0].message->body_copy(), "m1");
    EXPECT_EQ(again[1].message->body_copy(), "m2");
    EXPECT_EQ(again[2].message->body_copy(), "m4");
    for (const Deliver& d : again) {
        EXPECT_TRUE(d.redelivered);
        EXPECT_TRUE(d.message->persistent());
        EXPECT_EQ(d.message->routing_key(), "q");
    }
    // The no-ack deliveries left the queue: a second restart finds nothing.
    complete_writes();
    restart();
    EXPECT_EQ(recovered_messages_, 0u);
    EXPECT_EQ(journals_[1]->live_references(), 0u);
}

TEST_F(DurabilityTest, AnUndeliveredNoAckMessageIsWrittenAgain) {
    declare_queue(1, "q", true);
    publish(0, "q", "in-transit");
    std::vector<Deliver> got = consume_all(0, "q", /*no_ack=*/true);
    ASSERT_EQ(got.size(), 1u);
    complete_writes();  // its leaving, at delivery, is on disk
    // The channel closes before the delivery reaches the client: the consumer goes and the
    // message comes back to the queue.
    const Deliver& d = got[0];
    sim_->post(0, d.home.value, CancelRequest{d.queue, d.consumer});
    sim_->post(0, d.home.value,
               Settle{d.queue, d.sequence, SettleKind::undelivered, d.message, false});
    sim_->run();
    EXPECT_EQ(home_queue("q")->ready_count(), 1u);
    complete_writes();

    restart();
    EXPECT_EQ(recovered_messages_, 1u) << "back in the queue, and on disk again";
    std::vector<Deliver> again = consume_all(0, "q", /*no_ack=*/false);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].message->body_copy(), "in-transit");
    settle(0, again[0], SettleKind::ack);
    complete_writes();
    EXPECT_EQ(journals_[1]->live_references(), 0u);
}

TEST_F(DurabilityTest, EveryRetainedSegmentIsReleasedWhenMessagesLeave) {
    declare_queue(0, "q", true);
    for (int i = 0; i < 20; i++) publish(0, "q", "m");
    EXPECT_GT(journals_[0]->live_references(), 0u);
    std::vector<Deliver> got = consume_all(0, "q", false);
    ASSERT_EQ(got.size(), 20u);
    for (const Deliver& d : got) settle(0, d, SettleKind::ack);
    complete_writes();
    EXPECT_EQ(journals_[0]->live_references(), 0u);
    for (const auto& [later, earlier] : journals_[0]->dependencies()) EXPECT_GT(later, earlier);
    EXPECT_FALSE(journals_[0]->dependencies().empty());
}

TEST_F(DurabilityTest, PurgeAndDeleteAreWritten) {
    declare_queue(0, "p", true);
    declare_queue(0, "d", true);
    for (int i = 0; i < 3; i++) {
        publish(0, "p", "x");
        publish(0, "d", "y");
    }
    EXPECT_EQ(meta(0, QueuePurgeOp{"p"}).code, ReplyCode::reply_success);
    EXPECT_EQ(meta(0, QueueDeleteOp{"d", false, false}).code, ReplyCode::reply_success);
    complete_writes();
    EXPECT_EQ(journals_[0]->records_of(static_cast<u8>(RecordKind::queue_drop)).size(), 1u);
    EXPECT_EQ(journals_[0]->live_references(), 0u);
    restart();
    EXPECT_EQ(recovered_messages_, 0u);
    ASSERT_NE(home_queue("p"), nullptr);
    EXPECT_EQ(queue_info(0, "d"), nullptr);
}

TEST_F(DurabilityTest, PurgeOkWaitsForTheDisk) {
    declare_queue(1, "p", true);
    for (int i = 0; i < 3; i++) publish(1, "p", "x");
    complete_writes();
    post_meta(1, QueuePurgeOp{"p"});
    EXPECT_TRUE(sim_->take<std::unique_ptr<MetaReply>>(1).empty())
        << "purge-ok before the purge was on disk";
    complete_writes();
    MetaReply reply = take_reply(1);
    EXPECT_EQ(reply.code, ReplyCode::reply_success);
    EXPECT_EQ(reply.message_count, 3u);
    // Once purge-ok is out, a crash does not bring the messages back.
    restart();
    EXPECT_EQ(recovered_messages_, 0u);
    ASSERT_NE(home_queue("p"), nullptr);
    EXPECT_EQ(home_queue("p")->ready_count(), 0u);
}

TEST_F(DurabilityTest, MessagesNotOnDiskAtTheCrashAreNotRecovered) {
    declare_queue(0, "q", true);
    publish(0, "q", "on disk");
    complete_writes();
    publish(0, "q", "in flight");
    restart();
    EXPECT_EQ(recovered_messages_, 1u);
    EXPECT_EQ(home_queue("q")->ready_count(), 1u);
}

TEST_F(DurabilityTest, SnapshotKeepsTheDefinitionsJournalSmall) {
    declare_queue(0, "keep", true);
    ExchangeDeclareOp x;
    x.info.type = routing::ExchangeType::direct;
    x.info.durable = true;
    // Enough declare/delete churn to pass the snapshot threshold.
    for (int i = 0; i < 12000; i++) {
        x.info.name = "churn";
        EXPECT_EQ(meta(0, x).code, ReplyCode::reply_success);
        EXPECT_EQ(meta(0, ExchangeDeleteOp{"churn", false}).code, ReplyCode::reply_success);
    }
    complete_writes();
    EXPECT_EQ(definitions_journal_->records_of(static_cast<u8>(RecordKind::snapshot_begin)).size(),
              1u);
    EXPECT_EQ(definitions_journal_->records_of(static_cast<u8>(RecordKind::snapshot_end)).size(),
              1u);
    // What the snapshot replaced was released; only its own segments (and later) stay live.
    u64 first_live = 0;
    for (u64 segment = 1; first_live == 0 && segment < 100000; segment++) {
        if (definitions_journal_->live(segment) > 0) first_live = segment;
    }
    u64 begin_segment =
        definitions_journal_->records_of(static_cast<u8>(RecordKind::snapshot_begin))[0]
            .place.segment;
    EXPECT_EQ(first_live, begin_segment);
    restart();
    EXPECT_NE(queue_info(0, "keep"), nullptr);
    EXPECT_EQ(broker(0).catalog().find_exchange("/", "churn"), nullptr);
    // The vhost, guest and guest's permissions there (the simulation's first start), the queue.
    EXPECT_EQ(recovered_definition_count_, 4u);
}

// ---- access state: users, vhosts, permissions and limits ----

TEST_F(DurabilityTest, AccessStateSurvivesARestart) {
    EXPECT_EQ(meta(1, AddUserOp{"alice", "s3cret", {"monitoring", "impersonator"}}).code,
              ReplyCode::reply_success);
    EXPECT_EQ(meta(1, AddUserOp{"bob", "pw", {}}).code, ReplyCode::reply_success);
    EXPECT_EQ(meta(0, AddVhostOp{"v1"}).code, ReplyCode::reply_success);
    EXPECT_EQ(meta(0, AddVhostOp{"v2"}).code, ReplyCode::reply_success);
    EXPECT_EQ(meta(1, SetPermissionsOp{"alice", "v1", "^a", "^b", ""}).code,
              ReplyCode::reply_success);
    EXPECT_EQ(meta(1, SetPermissionsOp{"bob", "v1", ".*", ".*", ".*"}).code,
              ReplyCode::reply_success);
    EXPECT_EQ(
        meta(1, SetTopicPermissionsOp{"alice", "v1", "amq.topic", "^{username}\\.", "^x"}).code,
        ReplyCode::reply_success);
    access::VhostLimits vhost_limits{5, 2};
    EXPECT_EQ(meta(0, SetVhostLimitsOp{"v1", vhost_limits}).code, ReplyCode::reply_success);
    EXPECT_EQ(meta(0, SetUserLimitsOp{"alice", {std::nullopt, 3}}).code, ReplyCode::reply_success);
    EXPECT_EQ(meta(0, DeleteUserOp{"bob"}).code, ReplyCode::reply_success);
    EXPECT_EQ(meta(0, DeleteVhostOp{"v2"}).code, ReplyCode::reply_success);
    std::vector<u8> hash = broker(1).catalog().users().find("alice")->password_hash;

    restart();

    for (u32 s = 0; s < shard_count; s++) {
        const Catalog& catalog = broker(s).catalog();
        const access::User* alice = catalog.users().find("alice");
        ASSERT_NE(alice, nullptr);
        EXPECT_EQ(alice->password_hash, hash);  // the same salt: hashes are not redone
        EXPECT_EQ(alice->tags, (std::vector<std::string>{"monitoring", "impersonator"}));
        EXPECT_EQ(catalog.users().authenticate("alice", "s3cret"), access::LoginOutcome::ok);
        EXPECT_EQ(catalog.users().find("bob"), nullptr);
        ASSERT_NE(catalog.find_vhost("v1"), nullptr);
        EXPECT_NE(catalog.find_exchange("v1", "amq.topic"), nullptr);
        EXPECT_EQ(catalog.find_vhost("v2"), nullptr);
        const access::Permissions* p = catalog.permissions().find("alice", "v1");
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(p->configure.source(), "^a");
        EXPECT_EQ(p->write.source(), "^b");
        EXPECT_EQ(p->read.source(), "");
        EXPECT_EQ(catalog.permissions().find("bob", "v1"), nullptr);
        EXPECT_FALSE(catalog.permissions().check_topic("alice", "v1", "amq.topic", "alice.k",
                                                       access::Permission::write, std::nullopt));
        EXPECT_TRUE(catalog.permissions().check_topic("alice", "v1", "amq.topic", "bob.k",
                                                      access::Permission::write, std::nullopt));
        EXPECT_EQ(catalog.find_vhost("v1")->limits, vhost_limits);
        EXPECT_EQ(catalog.user_limits("alice").max_channels, std::optional<i64>(3));
    }
}

TEST_F(DurabilityTest, AnAdministratorsChangeIsAnsweredOnceOnDisk) {
    complete_writes();  // the boot record
    post_meta(1, AddUserOp{"carol", "pw", {}});
    EXPECT_TRUE(sim_->take<std::unique_ptr<MetaReply>>(1).empty());
    // Lost before the disk had it: the user is not there after a restart.
    restart();
    EXPECT_EQ(broker(0).catalog().users().find("carol"), nullptr);
    post_meta(1, AddUserOp{"carol", "pw", {}});
    complete_writes();
    EXPECT_EQ(take_reply(1).code, ReplyCode::reply_success);
    restart();
    EXPECT_NE(broker(1).catalog().users().find("carol"), nullptr);
}

TEST_F(DurabilityTest, DeletingAVhostDeletesItsQueuesAndTheirMessages) {
    EXPECT_EQ(meta(0, AddVhostOp{"v"}).code, ReplyCode::reply_success);
    auto in_v = [&](u32 from, MetaOp op) {
        auto request = std::make_unique<MetaRequest>();
        request->vhost = "v";
        request->requester = channel_on(from);
        request->op = std::move(op);
        sim_->post(from, 0, std::move(request));
        sim_->run();
        complete_writes();
        return take_reply(from);
    };
    for (u32 s = 0; s < shard_count; s++) {
        QueueDeclareOp op;
        op.info.name = "q" + std::to_string(s);
        op.info.durable = true;
        EXPECT_EQ(in_v(s, op).code, ReplyCode::reply_success);
    }
    ExchangeDeclareOp x;
    x.info.name = "vx";
    x.info.durable = true;
    EXPECT_EQ(in_v(0, x).code, ReplyCode::reply_success);
    EXPECT_EQ(in_v(0, QueueBindOp{"q1", "vx", "k", {}, false}).code, ReplyCode::reply_success);
    QueueId q1 = broker(0).catalog().find_queue("v", "q1")->id;
    EXPECT_NE(broker(1).find_local_queue(q1), nullptr);

    EXPECT_EQ(meta(1, DeleteVhostOp{"v"}).code, ReplyCode::reply_success);
    for (u32 s = 0; s < shard_count; s++) {
        EXPECT_EQ(broker(s).catalog().find_vhost("v"), nullptr);
        EXPECT_EQ(broker(s).local_queue_count(), 0u);
        // Each replica asks its shard to close the vhost's connections.
        std::vector<ConnectionClosure> closures = broker(s).catalog().take_closures();
        ASSERT_EQ(closures.size(), 1u);
        EXPECT_EQ(closures[0].text, "vhost 'v' is down");
    }
    EXPECT_EQ(meta(1, DeleteVhostOp{"v"}).text, "Virtual host 'v' does not exist");
    restart();
    for (u32 s = 0; s < shard_count; s++) {
        EXPECT_EQ(broker(s).catalog().find_vhost("v"), nullptr);
        EXPECT_EQ(broker(s).local_queue_count(), 0u);
    }
    // A vhost of the same name starts empty, with its predeclared exchanges.
    EXPECT_EQ(meta(0, AddVhostOp{"v"}).code, ReplyCode::reply_success);
    EXPECT_NE(broker(1).catalog().find_exchange("v", "amq.fanout"), nullptr);
    EXPECT_EQ(broker(1).catalog().find_exchange("v", "vx"), nullptr);
    EXPECT_EQ(broker(1).catalog().find_queue("v", "q1"), nullptr);
}

// A snapshot of the definitions holds the access state too, and replays into the same state.
TEST_F(DurabilityTest, SnapshotHoldsTheAccessState) {
    EXPECT_EQ(meta(0, AddUserOp{"dave", "pw", {"administrator"}}).code, ReplyCode::reply_success);
    EXPECT_EQ(meta(0, AddVhostOp{"sv"}).code, ReplyCode::reply_success);
    EXPECT_EQ(meta(0, SetPermissionsOp{"dave", "sv", "c", "w", "r"}).code,
              ReplyCode::reply_success);
    EXPECT_EQ(meta(0, SetTopicPermissionsOp{"dave", "sv", "t", "tw", "tr"}).code,
              ReplyCode::reply_success);
    EXPECT_EQ(meta(0, SetVhostLimitsOp{"sv", {std::nullopt, 7}}).code, ReplyCode::reply_success);
    EXPECT_EQ(meta(0, SetUserLimitsOp{"dave", {4, std::nullopt}}).code, ReplyCode::reply_success);
    std::vector<CatalogUpdate> definitions;
    durable_definitions(broker(0).catalog(), definitions);
    DefinitionsReplay replay({});
    std::string payload;
    encode_boot(payload, 9);
    replay.record(static_cast<u8>(RecordKind::snapshot_begin), payload);
    for (const CatalogUpdate& update : definitions) {
        encode_definition(payload, update);
        replay.record(static_cast<u8>(RecordKind::definition), payload);
    }
    replay.record(static_cast<u8>(RecordKind::snapshot_end), {});
    RecoveredDefinitions recovered = replay.finish(shard_count);
    EXPECT_EQ(recovered.skipped, 0u);
    Catalog restored;
    for (const CatalogUpdate& update : recovered.updates) restored.apply(update);
    ASSERT_NE(restored.users().find("dave"), nullptr);
    EXPECT_EQ(restored.users().find("dave")->password_hash,
              broker(0).catalog().users().find("dave")->password_hash);
    EXPECT_EQ(restored.users().find("guest")->tags, std::vector<std::string>{"administrator"});
    EXPECT_EQ(restored.permissions().find("dave", "sv")->read.source(), "r");
    EXPECT_EQ(restored.permissions().find_topic("dave", "sv", "t")->write.source, "tw");
    EXPECT_EQ(restored.find_vhost("sv")->limits.max_queues, std::optional<i64>(7));
    EXPECT_EQ(restored.user_limits("dave").max_connections, std::optional<i64>(4));
    EXPECT_NE(restored.find_exchange("/", "amq.direct"), nullptr);
}

class PagingTest : public DurabilityTest {
protected:
    PagingTest() {
        // Five 20-byte bodies resident per queue; four entries read ahead.
        for (u32 s = 0; s < shard_count; s++) broker(s).set_paging(100, 4);
    }
    std::string body(int i) { return "message-body-" + std::to_string(1000000 + i); }

    // Delivers what arrives, answering the journal's reads until nothing more comes.
    std::vector<Deliver> collect(u32 shard, std::vector<Deliver> first) {
        std::vector<Deliver> all = std::move(first);
        for (int round = 0; round < 100; round++) {
            usize reads = 0;
            for (auto& j : journals_) reads += j->complete_reads();
            for (u32 s = 0; s < shard_count; s++) broker(s).dispatch_pending();
            sim_->run();
            std::vector<Deliver> more = sim_->take<Deliver>(shard);
            all.insert(all.end(), std::make_move_iterator(more.begin()),
                       std::make_move_iterator(more.end()));
            if (reads == 0 && more.empty()) break;
        }
        return all;
    }
};

TEST_F(PagingTest, DeepQueueKeepsOnlyAnIndexAndDeliversInOrder) {
    declare_queue(1, "deep", true);
    for (int i = 0; i < 40; i++) publish(0, "deep", body(i));
    complete_writes();
    const Queue* queue = home_queue("deep");
    ASSERT_NE(queue, nullptr);
    EXPECT_EQ(queue->ready_count(), 40u);
    EXPECT_LE(queue->resident_bytes(), 100u);
    EXPECT_EQ(queue->paged_count(), 35u);
    std::vector<Deliver> got = collect(0, consume_all(0, "deep", /*no_ack=*/true));
    ASSERT_EQ(got.size(), 40u);
    for (int i = 0; i < 40; i++) EXPECT_EQ(got[i].message->body_copy(), body(i)) << i;
    EXPECT_EQ(got[39].message->routing_key(), "deep");
    EXPECT_EQ(home_queue("deep")->ready_count(), 0u);
    complete_writes();
    EXPECT_EQ(journals_[1]->live_references(), 0u);
}

TEST_F(PagingTest, ReadsWaitForTheDisk) {
    declare_queue(0, "deep", true);
    for (int i = 0; i < 10; i++) publish(0, "deep", body(i));
    // Not yet durable: the paged bodies cannot be read back yet.
    std::vector<Deliver> first = consume_all(0, "deep", true);
    EXPECT_EQ(first.size(), 5u);
    EXPECT_EQ(journals_[0]->reads_pending(), 0u);
    complete_writes();
    EXPECT_GT(journals_[0]->reads_pending(), 0u);
    EXPECT_EQ(collect(0, std::move(first)).size(), 10u);
}

TEST_F(PagingTest, GetWaitsForAPagedHead) {
    declare_queue(0, "deep", true);
    for (int i = 0; i < 8; i++) publish(0, "deep", body(i));
    complete_writes();
    const QueueInfo* info = queue_info(0, "deep");
    auto get = [&] {
        auto request = std::make_unique<GetRequest>();
        request->channel = channel_on(0);
        request->queue = info->id;
        request->no_ack = true;
        sim_->post(0, 0, std::move(request));
        sim_->run();
    };
    for (int i = 0; i < 6; i++) get();
    std::vector<std::unique_ptr<GetReply>> replies = sim_->take<std::unique_ptr<GetReply>>(0);
    ASSERT_EQ(replies.size(), 5u) << "the sixth waits for its body";
    journals_[0]->complete_reads();
    sim_->run();
    replies = sim_->take<std::unique_ptr<GetReply>>(0);
    ASSERT_EQ(replies.size(), 1u);
    ASSERT_TRUE(replies[0]->message);
    EXPECT_EQ(replies[0]->message->body_copy(), body(5));
}

TEST_F(PagingTest, UnreadableMessageIsDroppedAndTheRestFlow) {
    declare_queue(0, "deep", true);
    for (int i = 0; i < 8; i++) publish(0, "deep", body(i));
    complete_writes();
    std::vector<Deliver> first = consume_all(0, "deep", true);
    EXPECT_EQ(first.size(), 5u);
    EXPECT_EQ(journals_[0]->complete_reads(/*fail=*/true), 3u);
    sim_->run();
    EXPECT_EQ(home_queue("deep")->ready_count(), 0u);
}

TEST_F(PagingTest, PagedMessagesSurviveARestart) {
    declare_queue(1, "deep", true);
    for (int i = 0; i < 30; i++) publish(0, "deep", body(i));
    complete_writes();
    restart();
    EXPECT_EQ(recovered_messages_, 30u);
    std::vector<Deliver> got = collect(0, consume_all(0, "deep", true));
    ASSERT_EQ(got.size(), 30u);
    for (int i = 0; i < 30; i++) EXPECT_EQ(got[i].message->body_copy(), body(i));
}

}  // namespace
}  // namespace lepus::core
