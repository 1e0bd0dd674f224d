// Policies through the metadata shard: set_policy and clear_policy answer as rabbitmqctl 3.10
// does, every replica holds the policies and resolves its exchanges' alternate exchange, each
// queue's home shard applies a change to the queue at once (also to queues declared later),
// and the policies are durable definitions that replay.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/broker.h"
#include "core/definitions.h"
#include "core/journal_records.h"
#include "tests/core/broker_sim.h"
#include "tests/core/test_message.h"
#include "tests/net/amqp/reply_code_printer.h"

namespace lepus::core {
namespace {

using amqp::ReplyCode;
using sim::Interleaving;
using sim::SimConfig;
using sim::Simulation;

SetPolicyOp set_policy(std::string name, std::string pattern, std::string definition,
                       i64 priority = 0, PolicyKind kind = PolicyKind::regular) {
    SetPolicyOp op;
    op.vhost = "/";
    op.policy.kind = kind;
    op.policy.name = std::move(name);
    op.policy.pattern = std::move(pattern);
    op.policy.definition = std::move(definition);
    op.policy.priority = priority;
    return op;
}

class PolicyMetadataTest : public ::testing::TestWithParam<SimConfig> {
protected:
    PolicyMetadataTest() : sim_(GetParam(), {"/"}) {}

    u32 last() const { return sim_.shard_count() - 1; }

    MetaReply meta(u32 from, MetaOp op) { return sim_.request(from, std::move(op), "/"); }
    void ok(MetaOp op) { EXPECT_EQ(meta(last(), std::move(op)).text, ""); }

    // A queue declared from the last shard, which is therefore its home.
    const Queue& declare(const std::string& name) {
        QueueDeclareOp op;
        op.info.name = name;
        ok(op);
        const QueueInfo* info = sim_.broker(0).catalog().find_queue("/", name);
        EXPECT_NE(info, nullptr);
        return *sim_.broker(last()).find_local_queue(info->id);
    }
    void publish(const std::string& queue, int count) {
        Broker& broker = sim_.broker(last());
        const VHost* vhost = broker.catalog().find_vhost("/");
        for (int i = 0; i < count; i++) {
            broker.publish(*vhost, vhost->exchanges.at(""),
                           test_support::make_message("m", "", queue), {});
        }
        broker.dispatch_pending();
        sim_.run();
    }

    Simulation sim_;
};

TEST_P(PolicyMetadataTest, AnswersAsRabbitmqctl) {
    SetPolicyOp nowhere = set_policy("p", "x", R"({"max-length":1})");
    nowhere.vhost = "nov";
    MetaReply reply = meta(0, nowhere);
    EXPECT_EQ(reply.code, ReplyCode::not_found);
    EXPECT_EQ(reply.text, "Virtual host 'nov' does not exist");
    reply = meta(0, set_policy("p", "x", R"({"max-length":-1})"));
    EXPECT_EQ(reply.code, ReplyCode::precondition_failed);
    EXPECT_EQ(reply.text, "Validation failed\n\n-1 is not a valid maximum length\n");
    reply = meta(0, ClearPolicyOp{"/", PolicyKind::regular, "nope"});
    EXPECT_EQ(reply.code, ReplyCode::not_found);
    EXPECT_EQ(reply.text, "Parameter does not exist");
    ok(set_policy("p", "x", R"({"max-length":1})"));
    reply = meta(0, ClearPolicyOp{"/", PolicyKind::operator_policy, "p"});
    EXPECT_EQ(reply.text, "Parameter does not exist") << "kinds have their own names";
    ok(ClearPolicyOp{"/", PolicyKind::regular, "p"});
}

TEST_P(PolicyMetadataTest, ExistingAndLaterQueuesTakeThePolicy) {
    const Queue& before = declare("q1");
    publish("q1", 5);
    EXPECT_EQ(before.ready_count(), 5u);
    ok(set_policy("limit", "^q", R"({"max-length":2})"));
    EXPECT_EQ(before.ready_count(), 2u) << "the excess goes at once";
    EXPECT_EQ(before.policy().policy, "limit");
    const Queue& after = declare("q2");
    EXPECT_EQ(after.arguments().max_length, 2u);
    ok(set_policy("op", "^q", R"({"max-length":1})", 0, PolicyKind::operator_policy));
    EXPECT_EQ(before.ready_count(), 1u);
    EXPECT_EQ(after.policy().operator_policy, "op");
    ok(set_policy("higher", "^q1$", R"({"message-ttl":1000})", 1));
    EXPECT_EQ(before.policy().policy, "higher");
    EXPECT_EQ(before.arguments().max_length, 1u) << "the operator policy still applies";
    ok(ClearPolicyOp{"/", PolicyKind::operator_policy, "op"});
    ok(ClearPolicyOp{"/", PolicyKind::regular, "higher"});
    ok(ClearPolicyOp{"/", PolicyKind::regular, "limit"});
    EXPECT_EQ(before.policy().policy, "");
    EXPECT_EQ(before.arguments().max_length, std::nullopt);
    publish("q1", 3);
    EXPECT_EQ(before.ready_count(), 4u);
}

TEST_P(PolicyMetadataTest, EveryReplicaResolvesItsExchanges) {
    ExchangeDeclareOp declare_exchange;
    declare_exchange.info.name = "x1";
    ok(declare_exchange);
    SetPolicyOp ae = set_policy("ae", "^x", R"({"alternate-exchange":"amq.fanout"})");
    ae.apply_to = "exchanges";
    ok(ae);
    for (u32 shard = 0; shard < sim_.shard_count(); shard++) {
        const Exchange* x = sim_.broker(shard).catalog().find_exchange("/", "x1");
        ASSERT_NE(x, nullptr);
        EXPECT_EQ(x->policy, "ae") << shard;
        EXPECT_EQ(x->alternate_exchange, "amq.fanout") << shard;
    }
    ok(ClearPolicyOp{"/", PolicyKind::regular, "ae"});
    for (u32 shard = 0; shard < sim_.shard_count(); shard++) {
        const Exchange* x = sim_.broker(shard).catalog().find_exchange("/", "x1");
        EXPECT_EQ(x->policy, "") << shard;
        EXPECT_EQ(x->alternate_exchange, std::nullopt) << shard;
    }
}

TEST_P(PolicyMetadataTest, PoliciesAreDurableDefinitions) {
    ok(set_policy("b", "^q", R"({"max-length":2})"));
    ok(set_policy("a", "^q", R"({"max-length":1})", 0, PolicyKind::operator_policy));
    ok(set_policy("c", "^z", R"({"expires":1000})"));
    ok(ClearPolicyOp{"/", PolicyKind::regular, "c"});
    std::vector<CatalogUpdate> updates;
    durable_definitions(sim_.broker(0).catalog(), updates);
    DefinitionsReplay replay({"/"});
    for (const CatalogUpdate& update : updates) {
        std::string payload;
        encode_definition(payload, update);
        replay.record(static_cast<u8>(RecordKind::definition), payload);
    }
    RecoveredDefinitions recovered = replay.finish(sim_.shard_count());
    std::vector<std::string> names;
    for (const CatalogUpdate& update : recovered.updates) {
        if (const auto* put = std::get_if<PolicyPut>(&update)) names.push_back(put->policy.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"b", "a"}));
}

INSTANTIATE_TEST_SUITE_P(Shards, PolicyMetadataTest,
                         ::testing::Values(SimConfig{1}, SimConfig{3},
                                           SimConfig{3, Interleaving::random, 7}));

}  // namespace
}  // namespace lepus::core
