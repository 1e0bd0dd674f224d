#pragma once
// The delivery tags of one channel and the deliveries its client has yet to settle. Tags
// number every delivery and get-ok on the channel from 1, acknowledged or not; an entry is kept
// for each that waits for basic.ack, reject or nack, in tag order, until it is settled.
//
// In a transaction a named delivery is taken at once (tx_pending: the client may not settle it
// again) and settled only by tx.commit; tx.rollback gives it back (see Channel::settle and
// transaction.h).
#include <algorithm>
#include <deque>

#include "core/base/types.h"

namespace lepus::session {

class UnackedLedger {
public:
    struct Entry {
        u64 tag = 0;
        QueueId queue;
        ShardId home;
        u64 sequence = 0;
        u64 consumer_id = 0;  // 0 for basic.get
        bool settled = false;
        bool tx_pending = false;
    };

    u64 next_tag() { return next_tag_++; }
    void add(u64 tag, QueueId queue, ShardId home, u64 sequence, u64 consumer_id) {
        entries_.push_back(Entry{tag, queue, home, sequence, consumer_id});
        live_++;
    }
    // Deliveries not yet settled (a transaction's taken ones included): what the channel's
    // prefetch counts.
    u32 live() const { return live_; }

    // The client names `tag`, or with `multiple` every open delivery up to it (all of them for
    // tag 0): `take` sees each open one, in tag order. Returns false, taking none, when `tag`
    // is not an open delivery. Open: neither settled nor taken by the transaction.
    template <typename Take>
    bool name(u64 tag, bool multiple, Take take) {
        if (multiple && tag == 0) {
            for (Entry& e : entries_) {
                if (open(e)) take(e);
            }
            return true;
        }
        auto it = at(tag);
        if (it == entries_.end() || it->tag != tag || !open(*it)) return false;
        if (multiple) {
            for (auto m = entries_.begin(); m != it; ++m) {
                if (open(*m)) take(*m);
            }
        }
        take(*it);
        return true;
    }

    Entry* find(u64 tag) {
        auto it = at(tag);
        return it == entries_.end() || it->tag != tag ? nullptr : &*it;
    }
    void mark_settled(Entry& e);
    // Every open delivery, in tag order.
    template <typename Fn>
    void for_each_open(Fn fn) {
        for (Entry& e : entries_) {
            if (open(e)) fn(e);
        }
    }
    // Settled entries leave: those at the front, or every one.
    void drop_settled_front();
    void drop_settled();

private:
    static bool open(const Entry& e) { return !e.settled && !e.tx_pending; }
    // The first entry whose tag is not below `tag`.
    std::deque<Entry>::iterator at(u64 tag) {
        return std::lower_bound(entries_.begin(), entries_.end(), tag,
                                [](const Entry& e, u64 t) { return e.tag < t; });
    }

    std::deque<Entry> entries_;  // in tag order
    u32 live_ = 0;
    u64 next_tag_ = 1;
};

}  // namespace lepus::session
