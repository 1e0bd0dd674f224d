// The delivery-tag ledger: what basic.ack, reject and nack may name, in and out of a
// transaction's hold, and what prefetch counts.
#include "net/session/unacked.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/net/session/test_ledger.h"

namespace lepus::session {
namespace {

using fixtures::ledger_of;

std::vector<u64> named(UnackedLedger& ledger, u64 tag, bool multiple, bool& known) {
    std::vector<u64> tags;
    known = ledger.name(tag, multiple, [&](UnackedLedger::Entry& e) {
        tags.push_back(e.tag);
        ledger.mark_settled(e);
    });
    return tags;
}

TEST(UnackedLedger, TagsCountEveryDeliveryFromOne) {
    UnackedLedger ledger;
    EXPECT_EQ(ledger.next_tag(), 1u);
    EXPECT_EQ(ledger.next_tag(), 2u);  // a no-ack delivery takes a tag and no entry
    ledger.add(ledger.next_tag(), QueueId(1), ShardId(0), 5, 0);
    EXPECT_EQ(ledger.live(), 1u);
    ASSERT_NE(ledger.find(3), nullptr);
    EXPECT_EQ(ledger.find(3)->sequence, 5u);
    EXPECT_EQ(ledger.find(2), nullptr);
}

TEST(UnackedLedger, OneTagMultipleAndAll) {
    UnackedLedger ledger = ledger_of(6);
    bool known = false;
    EXPECT_EQ(named(ledger, 2, false, known), std::vector<u64>{2});
    EXPECT_TRUE(known);
    EXPECT_EQ(named(ledger, 4, true, known), (std::vector<u64>{1, 3, 4}));
    EXPECT_TRUE(known);
    EXPECT_EQ(ledger.live(), 2u);
    EXPECT_EQ(named(ledger, 0, true, known), (std::vector<u64>{5, 6}));
    EXPECT_TRUE(known);
    EXPECT_EQ(ledger.live(), 0u);
}

TEST(UnackedLedger, AnUnknownOrSettledTagNamesNothing) {
    UnackedLedger ledger = ledger_of(3);
    bool known = true;
    EXPECT_TRUE(named(ledger, 9, false, known).empty());
    EXPECT_FALSE(known);
    named(ledger, 2, false, known);
    EXPECT_TRUE(named(ledger, 2, false, known).empty()) << "acked twice";
    EXPECT_FALSE(known);
    EXPECT_TRUE(named(ledger, 2, true, known).empty()) << "multiple up to a settled tag";
    EXPECT_FALSE(known);
    EXPECT_EQ(ledger.live(), 2u) << "a refused multiple settles none of those before it";
}

TEST(UnackedLedger, ATransactionsTakenDeliveriesAreNotTheClientsToName) {
    UnackedLedger ledger = ledger_of(3);
    ledger.find(2)->tx_pending = true;  // acked inside a transaction
    bool known = true;
    EXPECT_TRUE(named(ledger, 2, false, known).empty());
    EXPECT_FALSE(known);
    EXPECT_EQ(named(ledger, 3, true, known), (std::vector<u64>{1, 3}));
    EXPECT_EQ(ledger.live(), 1u) << "the taken one still counts against prefetch";
    std::vector<u64> open;
    ledger.for_each_open([&](UnackedLedger::Entry& e) { open.push_back(e.tag); });
    EXPECT_TRUE(open.empty());
    ledger.find(2)->tx_pending = false;  // rolled back: the client's again
    EXPECT_EQ(named(ledger, 2, false, known), std::vector<u64>{2});
}

TEST(UnackedLedger, SettledEntriesLeave) {
    UnackedLedger ledger = ledger_of(4);
    bool known = false;
    named(ledger, 1, false, known);
    named(ledger, 3, false, known);
    ledger.drop_settled_front();
    EXPECT_EQ(ledger.find(1), nullptr);
    EXPECT_NE(ledger.find(3), nullptr) << "behind an unsettled one, it stays until then";
    ledger.drop_settled();
    EXPECT_EQ(ledger.find(3), nullptr);
    EXPECT_NE(ledger.find(2), nullptr);
    EXPECT_NE(ledger.find(4), nullptr);
}

}  // namespace
}  // namespace lepus::session
