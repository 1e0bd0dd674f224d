#pragma once
// The transaction of one channel (tx.select), owned by its Channel on the connection's shard
// for the channel's life. Once selected, the channel's publishes and settlements are held here
// until tx.commit carries them out or tx.rollback drops them; the channel stays transactional
// from then on, as AMQP says.
//
// A settlement is checked when its basic.ack, reject or nack arrives (the channel does that
// against its UnackedLedger), and the delivery is taken at once: its entry is marked
// tx_pending, so the client cannot name it again, and it still counts against prefetch.
// Commit settles the taken entries in the order they were named; rollback hands them back.
//
// tx.commit routes the held publishes, then waits, as RabbitMQ does, until their copies in
// durable queues are on disk: core sends one Persisted (numbered tx_sequence) per copy, and
// the commit is durable, and commit-ok may go, when the last has come.
//
// The channel keeps the wire: it sends select-ok and commit-ok, routes the publishes and fails
// with the reply codes; this holds the state and its rules.
#include <string>
#include <vector>

#include "core/base/assert.h"
#include "core/base/types.h"
#include "core/message.h"
#include "core/shard_message.h"
#include "net/session/publish_assembly.h"
#include "net/session/unacked.h"

namespace lepus::session {

// The Persisted sequence of a committing transaction's publishes (confirm mode, which numbers
// publishes from 1, cannot be on at the same time).
inline constexpr u64 tx_sequence = UINT64_MAX;

class Transaction {
public:
    // A publish held for tx.commit. Unlike a PublishAssembly::Complete it owns its exchange
    // name and headers, since the next publish reuses the assembly's.
    struct Publish {
        std::string exchange;
        bool mandatory = false;
        std::string headers;
        MessageRef message;
    };

    bool on() const { return on_; }
    // tx.select; selecting again changes nothing.
    void select() { on_ = true; }

    // A publish completed in the transaction: routed by the next commit, dropped by a rollback.
    void hold(PublishAssembly::Complete&& publish);
    // The held publishes, in the order they arrived, for tx.commit to route; none are left.
    std::vector<Publish> take_publishes();

    // The client named `entry` (an open delivery of the channel's ledger) with basic.ack,
    // reject or nack: it is taken now and settled as `kind` by the next commit.
    void hold_settle(UnackedLedger::Entry& entry, core::SettleKind kind);
    // tx.commit: each taken entry, in the order it was named, goes to `settle(entry, kind)`,
    // which must mark it settled. None are held afterwards.
    template <typename Settle>
    void commit_settles(UnackedLedger& unacked, Settle settle) {
        for (const HeldSettle& held : settles_) {
            UnackedLedger::Entry* entry = unacked.find(held.tag);
            LEPUS_ASSERT(entry != nullptr && entry->tx_pending && !entry->settled);
            entry->tx_pending = false;
            settle(*entry, held.kind);
            LEPUS_ASSERT(entry->settled);
        }
        settles_.clear();
    }
    // tx.rollback, or the channel going with a transaction open: the held publishes are
    // dropped and the taken entries are the client's again, to settle or to be requeued.
    void roll_back(UnackedLedger& unacked);

    // tx.commit routes the held publishes between begin_commit and end_commit, telling
    // `routed` how many copies of each went to durable queues and are not on disk yet.
    void begin_commit();
    bool committing() const { return committing_; }
    // Held until commit (list_channels' messages_uncommitted and acks_uncommitted).
    usize held_publishes() const { return publishes_.size(); }
    usize held_settles() const { return settles_.size(); }
    void routed(u32 awaiting_disk);
    void end_commit();
    // Every copy the commits routed is on disk: commit-ok may go.
    bool durable() const { return awaiting_disk_ == 0; }
    // One Persisted of tx_sequence came in; true when it was the last: the commit is durable.
    bool persisted();

private:
    struct HeldSettle {
        u64 tag;
        core::SettleKind kind;
    };

    bool on_ = false;
    bool committing_ = false;
    u32 awaiting_disk_ = 0;  // Persisted still to come for what the commits routed
    std::vector<Publish> publishes_;
    std::vector<HeldSettle> settles_;
};

}  // namespace lepus::session
