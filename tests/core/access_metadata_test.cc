// The access administration ops on the metadata shard: each op's outcome and rabbitmqctl 3.10's
// error line (checked against a running 3.10.8), and that every replica applies what shard 0
// decided.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/broker.h"
#include "tests/core/broker_sim.h"
#include "tests/net/amqp/reply_code_printer.h"

namespace lepus::core {
namespace {

using amqp::ReplyCode;
using sim::Interleaving;
using sim::SimConfig;
using sim::Simulation;

class AccessMetadataTest : public ::testing::TestWithParam<SimConfig> {
protected:
    AccessMetadataTest() : sim_(GetParam(), {"/"}) {}

    MetaReply meta(u32 from, MetaOp op) {
        return sim_.request(from, std::move(op), "no such vhost");  // an admin op names its own
    }
    void ok(MetaOp op) { EXPECT_EQ(meta(1 % sim_.shard_count(), std::move(op)).text, ""); }

    Simulation sim_;
};

TEST_P(AccessMetadataTest, EachOpAnswersAsRabbitmqctl) {
    ok(AddUserOp{"x", "y", {}});
    ok(AddVhostOp{"v1"});
    struct Row {
        const char* command;
        MetaOp op;
        ReplyCode code;
        std::string text;  // rabbitmqctl's error line; empty: success
    };
    const Row rows[] = {
        {"add_user x y (again)", AddUserOp{"x", "y", {}}, ReplyCode::precondition_failed,
         "User \"x\" already exists"},
        {"delete_user nobody", DeleteUserOp{"nobody"}, ReplyCode::not_found,
         "User \"nobody\" does not exist"},
        {"add_vhost v1 (again)", AddVhostOp{"v1"}, ReplyCode::reply_success, ""},
        {"delete_vhost nov", DeleteVhostOp{"nov"}, ReplyCode::not_found,
         "Virtual host 'nov' does not exist"},
        {"change_password nobody p", ChangePasswordOp{"nobody", "p"}, ReplyCode::not_found,
         "User \"nobody\" does not exist"},
        {"clear_password nobody", ClearPasswordOp{"nobody"}, ReplyCode::not_found,
         "{:no_such_user, \"nobody\"}"},
        {"set_user_tags nobody a", SetUserTagsOp{"nobody", {"a"}}, ReplyCode::not_found,
         "User \"nobody\" does not exist"},
        {"set_permissions -p nov x", SetPermissionsOp{"x", "nov", ".*", ".*", ".*"},
         ReplyCode::not_found, "Virtual host nov does not exist"},
        {"set_permissions -p / nobody", SetPermissionsOp{"nobody", "/", ".*", ".*", ".*"},
         ReplyCode::not_found, "User nobody does not exist"},
        {"set_permissions -p nov nobody (", SetPermissionsOp{"nobody", "nov", "(", ".*", ".*"},
         ReplyCode::precondition_failed, "regular expression '(' is invalid"},
        {"clear_permissions -p nov x", ClearPermissionsOp{"x", "nov"}, ReplyCode::not_found,
         "Virtual host nov does not exist"},
        {"clear_permissions -p / nobody", ClearPermissionsOp{"nobody", "/"}, ReplyCode::not_found,
         "User nobody does not exist"},
        {"clear_permissions -p / x (none set)", ClearPermissionsOp{"x", "/"},
         ReplyCode::reply_success, ""},
        {"set_topic_permissions -p nov x",
         SetTopicPermissionsOp{"x", "nov", "amq.topic", ".*", ".*"}, ReplyCode::not_found,
         "Virtual host nov does not exist"},
        {"clear_topic_permissions -p / nobody", ClearTopicPermissionsOp{"nobody", "/", {}},
         ReplyCode::not_found, "User nobody does not exist"},
        {"set_vhost_limits -p nov", SetVhostLimitsOp{"nov", {1, {}}}, ReplyCode::not_found,
         "Virtual host 'nov' does not exist"},
        {"clear_vhost_limits -p nov", ClearVhostLimitsOp{"nov"}, ReplyCode::not_found,
         "Parameter does not exist"},
        {"clear_vhost_limits -p v1 (none set)", ClearVhostLimitsOp{"v1"}, ReplyCode::not_found,
         "Parameter does not exist"},
        {"set_user_limits nobody", SetUserLimitsOp{"nobody", {1, {}}}, ReplyCode::not_found,
         "{:no_such_user, \"nobody\"}"},
        {"clear_user_limits nobody all", ClearUserLimitsOp{"nobody", "all"}, ReplyCode::not_found,
         "{:no_such_user, \"nobody\"}"},
    };
    for (const Row& row : rows) {
        MetaReply reply = meta(0, row.op);
        EXPECT_EQ(reply.code, row.code) << row.command;
        EXPECT_EQ(reply.text, row.text) << row.command;
    }
}

TEST_P(AccessMetadataTest, EveryReplicaHoldsWhatShardZeroDecided) {
    ok(AddUserOp{"alice", "pw", {"management"}});
    ok(AddVhostOp{"app"});
    ok(SetPermissionsOp{"alice", "app", "^app\\.", "^app\\.", ".*"});
    ok(SetTopicPermissionsOp{"alice", "app", "amq.topic", "^{username}\\.", ""});
    ok(SetVhostLimitsOp{"app", {10, 20}});
    ok(SetUserLimitsOp{"alice", {2, std::nullopt}});
    ok(SetUserLimitsOp{"alice", {std::nullopt, 5}});  // merged, as rabbitmqctl's
    const std::vector<u8>& hash = sim_.broker(0).catalog().users().find("alice")->password_hash;
    for (u32 s = 0; s < sim_.shard_count(); s++) {
        const Catalog& catalog = sim_.broker(s).catalog();
        ASSERT_NE(catalog.users().find("alice"), nullptr);
        EXPECT_EQ(catalog.users().find("alice")->password_hash, hash);
        EXPECT_EQ(catalog.users().authenticate("alice", "pw"), access::LoginOutcome::ok);
        EXPECT_NE(catalog.find_exchange("app", "amq.headers"), nullptr);
        EXPECT_FALSE(catalog.permissions().check_vhost("alice", "app"));
        EXPECT_TRUE(catalog.permissions().check_vhost("alice", "/"));
        EXPECT_EQ(catalog.find_vhost("app")->limits, (access::VhostLimits{10, 20}));
        EXPECT_EQ(catalog.user_limits("alice"), (access::UserLimits{2, 5}));
    }
    std::vector<u64> generations;
    for (u32 s = 0; s < sim_.shard_count(); s++) {
        generations.push_back(sim_.broker(s).catalog().access_generation());
    }
    ok(ChangePasswordOp{"alice", "new"});
    ok(ClearUserLimitsOp{"alice", "max-connections"});
    ok(ClearPermissionsOp{"alice", "app"});
    ok(ClearTopicPermissionsOp{"alice", "app", std::string("amq.topic")});
    ok(SetUserTagsOp{"alice", {"impersonator", "custom"}});
    for (u32 s = 0; s < sim_.shard_count(); s++) {
        const Catalog& catalog = sim_.broker(s).catalog();
        EXPECT_GT(catalog.access_generation(), generations[s]);  // cached decisions go
        EXPECT_EQ(catalog.users().authenticate("alice", "pw"),
                  access::LoginOutcome::invalid_credentials);
        EXPECT_EQ(catalog.users().authenticate("alice", "new"), access::LoginOutcome::ok);
        EXPECT_TRUE(catalog.users().find("alice")->has_tag("impersonator"));
        EXPECT_EQ(catalog.user_limits("alice"), (access::UserLimits{std::nullopt, 5}));
        EXPECT_TRUE(catalog.permissions().check_vhost("alice", "app"));
        EXPECT_EQ(catalog.permissions().find_topic("alice", "app", "amq.topic"), nullptr);
    }
    ok(ClearPasswordOp{"alice"});
    ok(DeleteUserOp{"alice"});
    for (u32 s = 0; s < sim_.shard_count(); s++) {
        const Catalog& catalog = sim_.broker(s).catalog();
        EXPECT_EQ(catalog.users().find("alice"), nullptr);
        EXPECT_EQ(catalog.user_limits("alice"), access::UserLimits{});
        std::vector<ConnectionClosure> closures = sim_.broker(s).catalog().take_closures();
        ASSERT_EQ(closures.size(), 1u);
        EXPECT_EQ(closures[0].kind, ConnectionClosure::Kind::user);
        EXPECT_EQ(closures[0].text, "user 'alice' is deleted");
    }
}

// max-queues counts the vhost's queues before the new one, and applies to new queues only.
TEST_P(AccessMetadataTest, VhostQueueLimit) {
    ok(SetVhostLimitsOp{"/", {std::nullopt, 1}});
    auto declare = [&](const std::string& name) {
        auto request = std::make_unique<MetaRequest>();
        request->vhost = "/";
        request->requester.connection = ConnectionKey{ShardId(0), 3, 1};
        QueueDeclareOp op;
        op.info.name = name;
        request->op = op;
        sim_.post(0, 0, std::move(request));
        sim_.run();
        auto replies = sim_.take<std::unique_ptr<MetaReply>>(0);
        EXPECT_EQ(replies.size(), 1u);
        return replies.empty() ? MetaReply{} : std::move(*replies[0]);
    };
    EXPECT_EQ(declare("q1").code, ReplyCode::reply_success);
    EXPECT_EQ(declare("q1").code, ReplyCode::reply_success);  // exists: no new queue
    MetaReply refused = declare("q2");
    EXPECT_EQ(refused.code, ReplyCode::precondition_failed);
    EXPECT_EQ(refused.text,
              "PRECONDITION_FAILED - cannot declare queue 'q2': queue limit in vhost '/' (1) is "
              "reached");
    ok(ClearVhostLimitsOp{"/"});
    EXPECT_EQ(declare("q2").code, ReplyCode::reply_success);
}

INSTANTIATE_TEST_SUITE_P(Shards, AccessMetadataTest,
                         ::testing::Values(SimConfig{1}, SimConfig{3},
                                           SimConfig{3, Interleaving::random, 7}));

}  // namespace
}  // namespace lepus::core
