#pragma once
// Ledgers for the session units' tests.
#include "net/session/unacked.h"

namespace lepus::session::fixtures {

// Tags 1..n, every one awaiting an ack: deliveries of queue 7 (home shard 1) at sequences
// 101..100+n, to consumer 3.
inline UnackedLedger ledger_of(u64 n) {
    UnackedLedger ledger;
    for (u64 i = 0; i < n; i++) {
        u64 tag = ledger.next_tag();
        ledger.add(tag, QueueId(7), ShardId(1), 100 + tag, 3);
    }
    return ledger;
}

}  // namespace lepus::session::fixtures
