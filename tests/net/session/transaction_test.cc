// A channel's transaction: what it holds until tx.commit, what commit and rollback do with the
// deliveries it took, and the commit's wait for the disk.
#include "net/session/transaction.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/net/session/test_ledger.h"

namespace lepus::session {
namespace {

using core::SettleKind;
using fixtures::ledger_of;

// What the client's basic.ack (or reject, or nack) of `tag` does in the transaction.
void name_in(Transaction& tx, UnackedLedger& ledger, u64 tag, bool multiple, SettleKind kind) {
    bool known = ledger.name(tag, multiple,
                             [&](UnackedLedger::Entry& entry) { tx.hold_settle(entry, kind); });
    ASSERT_TRUE(known) << "tag " << tag;
}

struct Settled {
    u64 tag;
    SettleKind kind;
    bool operator==(const Settled&) const = default;
};

std::vector<Settled> commit(Transaction& tx, UnackedLedger& ledger) {
    std::vector<Settled> settled;
    tx.commit_settles(ledger, [&](UnackedLedger::Entry& entry, SettleKind kind) {
        settled.push_back(Settled{entry.tag, kind});
        ledger.mark_settled(entry);
    });
    return settled;
}

std::vector<u64> open_tags(UnackedLedger& ledger) {
    std::vector<u64> tags;
    ledger.for_each_open([&](UnackedLedger::Entry& e) { tags.push_back(e.tag); });
    return tags;
}

void hold_publish(Transaction& tx, const std::string& exchange, bool mandatory) {
    const std::string headers = "headers of " + exchange;
    tx.hold(PublishAssembly::Complete{exchange, mandatory, headers, MessageRef(), std::nullopt});
}

TEST(Transaction, OffUntilSelectedAndOnForGood) {
    Transaction tx;
    EXPECT_FALSE(tx.on());
    tx.select();
    EXPECT_TRUE(tx.on());
    tx.select();  // tx.select again: still one transaction
    UnackedLedger ledger;
    tx.roll_back(ledger);
    EXPECT_TRUE(tx.on()) << "a rollback ends the transaction, not the channel's tx mode";
}

TEST(Transaction, PublishesWaitForTheCommitInTheirOrder) {
    Transaction tx;
    tx.select();
    hold_publish(tx, "a", false);
    hold_publish(tx, "b", true);
    std::vector<Transaction::Publish> taken = tx.take_publishes();
    ASSERT_EQ(taken.size(), 2u);
    EXPECT_EQ(taken[0].exchange, "a");
    EXPECT_FALSE(taken[0].mandatory);
    EXPECT_EQ(taken[0].headers, "headers of a");
    EXPECT_EQ(taken[1].exchange, "b");
    EXPECT_TRUE(taken[1].mandatory);
    EXPECT_TRUE(tx.take_publishes().empty()) << "a commit routes a publish once";
}

TEST(Transaction, ARollbackDropsThePublishes) {
    Transaction tx;
    tx.select();
    hold_publish(tx, "a", false);
    UnackedLedger ledger;
    tx.roll_back(ledger);
    EXPECT_TRUE(tx.take_publishes().empty());
}

TEST(Transaction, SettlesTakeTheDeliveryAtOnceAndCommitInTheOrderNamed) {
    UnackedLedger ledger = ledger_of(5);
    Transaction tx;
    tx.select();
    name_in(tx, ledger, 4, false, SettleKind::requeue);
    name_in(tx, ledger, 2, true, SettleKind::ack);  // 1 and 2
    EXPECT_EQ(open_tags(ledger), (std::vector<u64>{3, 5})) << "taken: not the client's to name";
    EXPECT_EQ(ledger.live(), 5u) << "taken ones still count against prefetch";

    std::vector<Settled> settled = commit(tx, ledger);
    EXPECT_EQ(settled, (std::vector<Settled>{
                           {4, SettleKind::requeue}, {1, SettleKind::ack}, {2, SettleKind::ack}}));
    EXPECT_EQ(ledger.live(), 2u);
    EXPECT_FALSE(ledger.find(1)->tx_pending);
    EXPECT_TRUE(ledger.find(1)->settled);
    EXPECT_TRUE(commit(tx, ledger).empty()) << "a second commit settles nothing again";
}

TEST(Transaction, ARollbackAfterACommitLeavesWhatItSettled) {
    UnackedLedger ledger = ledger_of(3);
    Transaction tx;
    tx.select();
    name_in(tx, ledger, 1, false, SettleKind::ack);
    EXPECT_EQ(commit(tx, ledger).size(), 1u);
    name_in(tx, ledger, 2, false, SettleKind::drop);
    tx.roll_back(ledger);
    EXPECT_TRUE(ledger.find(1)->settled) << "committed before the rollback";
    EXPECT_FALSE(ledger.find(2)->settled);
    EXPECT_FALSE(ledger.find(2)->tx_pending);
    EXPECT_EQ(open_tags(ledger), (std::vector<u64>{2, 3})) << "the client's to settle again";
    EXPECT_EQ(ledger.live(), 2u);
    EXPECT_TRUE(commit(tx, ledger).empty()) << "the rolled-back settle is forgotten";
    name_in(tx, ledger, 2, false, SettleKind::ack);
    EXPECT_EQ(commit(tx, ledger), (std::vector<Settled>{{2, SettleKind::ack}}));
}

TEST(Transaction, ACommitIsDurableOnceEveryCopyIsOnDisk) {
    Transaction tx;
    tx.select();
    EXPECT_FALSE(tx.committing());
    tx.begin_commit();
    EXPECT_TRUE(tx.committing());
    tx.routed(2);  // in two durable queues
    tx.routed(0);  // transient
    tx.routed(1);
    tx.end_commit();
    EXPECT_FALSE(tx.committing());
    EXPECT_FALSE(tx.durable());
    EXPECT_FALSE(tx.persisted());
    EXPECT_FALSE(tx.persisted());
    EXPECT_FALSE(tx.durable());
    EXPECT_TRUE(tx.persisted()) << "the last copy";
    EXPECT_TRUE(tx.durable());
}

TEST(Transaction, ACommitOfNothingDurableIsDurableAtOnce) {
    Transaction tx;
    tx.select();
    EXPECT_TRUE(tx.durable());
    tx.begin_commit();
    tx.routed(0);
    tx.end_commit();
    EXPECT_TRUE(tx.durable());
}

}  // namespace
}  // namespace lepus::session
