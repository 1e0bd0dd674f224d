// Power cuts under the whole durable path: brokers over the server's own journal adapter
// (server::DiskJournal) on the fault-injecting MemoryStorage, with writes and reads completing
// late and out of order. A confirming publisher and an acking consumer run, the consumer slower
// than the publisher, so the queue grows deep and, past a small paging budget, keeps only an
// index of its messages and reads their bodies back from the journal as they near the head. At
// a seeded moment the power goes (unfinished writes vanish or tear), the journals are recovered
// from what reached the "disk", and every confirmed message must be back exactly once and
// intact. Segments are small, so rotation and reclamation run throughout.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/broker.h"
#include "core/definitions.h"
#include "net/server/disk_journal.h"
#include "persist/journal.h"
#include "persist/memory_storage.h"
#include "tests/core/broker_sim.h"
#include "tests/core/test_message.h"

namespace lepus::core {
namespace {

constexpr u32 shard_count = 2;

// Paging, far below limits::queue_resident_bytes_max: a queue keeps about half a dozen bodies
// of ready messages in memory and reads the rest back a few at a time.
constexpr u64 paging_resident_bytes = 2048;
constexpr u32 paging_read_ahead = 4;
// The consumer's prefetch: fewer than the publisher's 3.5 messages a turn on average (a third
// of which it requeues), so the queue grows by a message or two a turn.
constexpr u16 consumer_prefetch = 2;

ChannelKey publisher() {
    ChannelKey key;
    key.connection = ConnectionKey{ShardId(0), 1, 1};
    key.channel = 1;
    key.generation = 1;
    return key;
}

std::string body_of(u64 n) {
    std::string body = "m" + std::to_string(n) + ":";
    body.append(static_cast<usize>(n * 37 % 700), static_cast<char>('a' + n % 26));
    return body;
}

class PowerCut {
public:
    explicit PowerCut(u64 seed) : rng_(seed), seed_(seed) {
        options_.segment_size = 64 * 1024;
        options_.write_size_max = 16 * 1024;
        options_.writes_in_flight_max = 3;
        for (u32 s = 0; s <= shard_count; s++) {
            storages_.push_back(std::make_unique<persist::MemoryStorage>());
            storages_.back()->set_completion_delay_polls(static_cast<u32>(seed % 3));
            storages_.back()->set_reorder(seed * 31 + s);
        }
    }

    // A start over what the storages hold: replay definitions, then each shard's messages.
    void boot() {
        journals_.clear();
        for (u32 s = 0; s <= shard_count; s++) {
            std::string name = s == shard_count ? "definitions" : "shard " + std::to_string(s);
            journals_.push_back(std::make_unique<server::DiskJournal>(name));
            journals_.back()->open(*storages_[s], options_);
        }
        server::DiskJournal& definitions = *journals_[shard_count];
        DefinitionsReplay replay({"/"});
        std::vector<u64> segments;
        server::StartError error = definitions.recover(
            [&](u8 kind, u64, const persist::Location& location, std::string_view payload) {
                if (segments.empty() || segments.back() != location.segment) {
                    segments.push_back(location.segment);
                    definitions.retain(location.segment);
                }
                replay.record(kind, payload);
            });
        ASSERT_FALSE(error.failed()) << error.reason;
        recovered_ = replay.finish(shard_count);
        log_ = std::make_unique<DefinitionsLog>(definitions);
        log_->adopt_recovered(segments);
        log_->write_boot(recovered_.epoch + 1);
        sim_ = std::make_unique<sim::Simulation>(sim::SimConfig{shard_count},
                                                 std::vector<std::string>{"/"});
        for (u32 s = 0; s < shard_count; s++) {
            Broker& b = sim_->broker(s);
            b.set_paging(paging_resident_bytes, paging_read_ahead);
            b.restore_definitions(recovered_.updates);
            b.set_journal(journals_[s].get());
            server::StartError recovered = journals_[s]->recover(
                [&](u8 kind, u64 sequence, const persist::Location& l, std::string_view p) {
                    b.recover_record(kind, sequence, {l.segment, l.offset, l.length}, p);
                });
            ASSERT_FALSE(recovered.failed()) << recovered.reason;
            b.finish_recovery();
        }
        sim_->broker(0).set_definitions_log(log_.get(), &definitions,
                                            ((recovered_.epoch + 1) << 32) + 1);
    }

    // One loop turn on every shard, as Shard::run drives its journals: flush the turn's
    // records, then poll (the memory storage completes writes and reads there), let the broker
    // release what became durable, and dispatch what the reads brought back (a shard dispatches
    // every turn, messages or not).
    void turn() {
        for (u32 s = 0; s < shard_count; s++) sim_->broker(s).flush_journal();
        for (auto& j : journals_) j->flush();
        for (auto& j : journals_) j->poll();
        for (u32 s = 0; s < shard_count; s++) {
            sim_->broker(s).on_journal_progress();
            sim_->broker(s).dispatch_pending();
        }
        sim_->run();
    }

    void declare() {
        auto request = std::make_unique<MetaRequest>();
        request->vhost = "/";
        request->requester = publisher();
        request->requester.connection.shard = ShardId(1);  // home: shard 1
        QueueDeclareOp op;
        op.info.name = "q";
        op.info.durable = true;
        request->op = op;
        sim_->post(1, 0, std::move(request));
        for (int i = 0; i < 50 && sim_->take<std::unique_ptr<MetaReply>>(1).empty(); i++) turn();
        ASSERT_NE(sim_->broker(0).catalog().find_queue("/", "q"), nullptr);
    }

    void consume() {
        const QueueInfo* info = sim_->broker(0).catalog().find_queue("/", "q");
        auto request = std::make_unique<ConsumeRequest>();
        request->consumer.channel = publisher();
        request->consumer.id = 1;
        request->queue = info->id;
        request->prefetch = consumer_prefetch;
        sim_->post(0, info->home.value, std::move(request));
        sim_->run();
    }

    void publish(u64 n) {
        Catalog& catalog = sim_->broker(0).catalog();
        auto* message = new Message(
            Message::Routing{"", "q"},
            test_support::slice_of(test_support::content_header_payload(body_of(n).size())),
            body_of(n).size(), 2, 0);
        message->append_body(test_support::slice_of(body_of(n)));
        Broker::PublishConfirm confirm{publisher(), n, 0};
        sim_->broker(0).publish(*catalog.find_vhost("/"), *catalog.find_exchange("/", ""),
                                MessageRef::adopt(message), {}, &confirm);
        ASSERT_EQ(confirm.awaiting_disk, 1u);
        sim_->broker(0).dispatch_pending();
    }

    // Publishes, consumes and acks for `steps` turns, then cuts the power.
    void run(int steps) {
        boot();
        declare();
        consume();
        u64 next = 1;
        for (int step = 0; step < steps; step++) {
            for (int k = 0; k < 1 + static_cast<int>(rng_() % 6); k++) publish(next++);
            turn();
            for (const Persisted& p : sim_->take<Persisted>(0)) confirmed_.insert(p.sequence);
            for (const Deliver& d : sim_->take<Deliver>(0)) {
                u64 n = std::strtoull(d.message->body_copy().c_str() + 1, nullptr, 10);
                bool ack = rng_() % 3 != 0;
                Settle settle{
                    d.queue, d.sequence, ack ? SettleKind::ack : SettleKind::requeue, {}, false};
                if (ack) acked_.insert(n);
                sim_->post(0, d.home.value, std::move(settle));
            }
        }
        // The queue ran deep enough to page: bodies were read back from the journal.
        for (u32 s = 0; s < shard_count; s++) records_read_ += journals_[s]->records_read();
        EXPECT_GT(records_read_, 0u) << "nothing was paged in";
        for (auto& storage : storages_) storage->crash(seed_);
        boot();
    }

    void check() {
        const QueueInfo* info = sim_->broker(0).catalog().find_queue("/", "q");
        ASSERT_NE(info, nullptr) << "the durable queue was lost";
        consume_all(*info);
        // The recovered backlog pages too: its bodies came back through reads.
        u64 read_after_boot = 0;
        for (u32 s = 0; s < shard_count; s++) read_after_boot += journals_[s]->records_read();
        EXPECT_GT(read_after_boot, 0u) << "nothing recovered was paged in";
        std::map<u64, int> seen;
        for (const std::string& body : bodies_) {
            u64 n = std::strtoull(body.c_str() + 1, nullptr, 10);
            EXPECT_EQ(body, body_of(n)) << "corrupted";
            seen[n]++;
        }
        for (const auto& [n, count] : seen) EXPECT_EQ(count, 1) << "message " << n << " twice";
        usize lost = 0;
        for (u64 n : confirmed_) {
            if (!seen.count(n) && !acked_.count(n)) lost++;
        }
        EXPECT_EQ(lost, 0u) << "confirmed messages lost, of " << confirmed_.size();
        EXPECT_GT(confirmed_.size(), 20u) << "the run hardly confirmed anything";
    }

private:
    void consume_all(const QueueInfo& info) {
        auto request = std::make_unique<ConsumeRequest>();
        request->consumer.channel = publisher();
        request->consumer.id = 2;
        request->queue = info.id;
        request->no_ack = true;
        sim_->post(0, info.home.value, std::move(request));
        // Until a few turns bring nothing: more than the storage's completion delay, so a
        // paged head that waits for its read is not taken for an empty queue.
        int idle_turns = 0;
        for (int i = 0; i < 2000 && idle_turns < 8; i++) {
            turn();
            std::vector<Deliver> got = sim_->take<Deliver>(0);
            for (const Deliver& d : got) {
                bodies_.push_back(d.message->body_copy());
                sim_->post(0, d.home.value,
                           Credit{d.queue, d.consumer, 1, d.message->transit_size()});
            }
            idle_turns = got.empty() ? idle_turns + 1 : 0;
        }
    }

    std::mt19937_64 rng_;
    u64 seed_;
    persist::JournalOptions options_;
    std::vector<std::unique_ptr<persist::MemoryStorage>> storages_;
    std::vector<std::unique_ptr<server::DiskJournal>> journals_;  // shards, then definitions
    std::unique_ptr<DefinitionsLog> log_;
    std::unique_ptr<sim::Simulation> sim_;
    RecoveredDefinitions recovered_;
    std::set<u64> confirmed_;
    std::set<u64> acked_;
    std::vector<std::string> bodies_;
    u64 records_read_ = 0;  // by the shards' journals before the power cut
};

TEST(PowerCut, NoConfirmedMessageIsLost) {
    for (u64 seed = 1; seed <= 40; seed++) {
        SCOPED_TRACE(seed);
        PowerCut cut(seed);
        cut.run(40 + static_cast<int>(seed % 7) * 15);
        cut.check();
        if (::testing::Test::HasFailure()) return;
    }
}

}  // namespace
}  // namespace lepus::core
