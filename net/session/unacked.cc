#include "net/session/unacked.h"

#include "core/base/assert.h"

namespace lepus::session {

void UnackedLedger::mark_settled(Entry& e) {
    LEPUS_ASSERT(!e.settled && live_ > 0);
    e.settled = true;
    live_--;
}

void UnackedLedger::drop_settled_front() {
    while (!entries_.empty() && entries_.front().settled) entries_.pop_front();
}

void UnackedLedger::drop_settled() {
    std::erase_if(entries_, [](const Entry& e) { return e.settled; });
}

}  // namespace lepus::session
