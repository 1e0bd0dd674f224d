#include "net/session/transaction.h"

#include <utility>

namespace lepus::session {

void Transaction::hold(PublishAssembly::Complete&& publish) {
    LEPUS_ASSERT(on_);
    publishes_.push_back(Publish{publish.exchange, publish.mandatory, std::string(publish.headers),
                                 std::move(publish.message)});
}

std::vector<Transaction::Publish> Transaction::take_publishes() {
    std::vector<Publish> taken = std::move(publishes_);
    publishes_.clear();  // a moved-from vector is valid but unspecified
    return taken;
}

void Transaction::hold_settle(UnackedLedger::Entry& entry, core::SettleKind kind) {
    LEPUS_ASSERT(on_);
    LEPUS_ASSERT(!entry.settled && !entry.tx_pending);
    entry.tx_pending = true;
    settles_.push_back(HeldSettle{entry.tag, kind});
}

void Transaction::roll_back(UnackedLedger& unacked) {
    publishes_.clear();
    for (const HeldSettle& held : settles_) {
        UnackedLedger::Entry* entry = unacked.find(held.tag);
        LEPUS_ASSERT(entry != nullptr && entry->tx_pending);
        entry->tx_pending = false;
    }
    settles_.clear();
}

void Transaction::begin_commit() {
    LEPUS_ASSERT(on_ && !committing_);
    committing_ = true;
}

void Transaction::routed(u32 awaiting_disk) {
    LEPUS_ASSERT(committing_);
    LEPUS_ASSERT(awaiting_disk_ <= UINT32_MAX - awaiting_disk);
    awaiting_disk_ += awaiting_disk;
}

void Transaction::end_commit() {
    LEPUS_ASSERT(committing_);
    committing_ = false;
}

bool Transaction::persisted() {
    LEPUS_ASSERT(awaiting_disk_ > 0);
    return --awaiting_disk_ == 0;
}

}  // namespace lepus::session
