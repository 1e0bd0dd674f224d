#pragma once
// The prefetch limits of one channel (basic.qos) and the deliveries they hold back, owned by
// its Channel on the connection's shard for the channel's life.
//
// The per-consumer limit (global=false) applies to consumers started after it; it travels
// with their basic.consume and their queue enforces it, so nothing waits here for it. The
// channel's limit (global=true) covers every delivery of the channel that awaits an ack, and
// since its consumers' queues live on any shard, it is enforced here: a delivery that arrives
// with the limit reached waits in `held_` until acks make room. Later ones wait behind it, so
// the client sees deliveries in the order they came. A limit of 0 is no limit. No-ack
// deliveries never count and never wait.
//
// What counts against the limit is the channel's UnackedLedger::live(), which the channel
// passes in: delivering adds to it, settling takes from it.
#include <deque>
#include <utility>

#include "core/base/assert.h"
#include "core/base/types.h"
#include "core/shard_message.h"
#include "net/session/unacked.h"

namespace lepus::session {

class PrefetchWindow {
public:
    u16 per_consumer() const { return per_consumer_; }
    void set_per_consumer(u16 count) { per_consumer_ = count; }
    u16 global() const { return global_; }
    // A raised (or removed) limit may leave room for held deliveries: release them after.
    void set_global(u16 count) { global_ = count; }

    // Whether `deliver` must wait instead of going out now (checked for every delivery).
    bool must_hold(const core::Deliver& deliver, const UnackedLedger& unacked) const {
        return !deliver.no_ack && (limit_reached(unacked) || !held_.empty());
    }
    void hold(core::Deliver&& deliver) {
        LEPUS_ASSERT(!deliver.no_ack);
        held_.push_back(std::move(deliver));
    }
    u64 held() const { return held_.size(); }

    // Hands the held deliveries that fit under the limit now to `deliver`, in the order they
    // arrived. `deliver` either delivers one (adding it to `unacked`) or bounces it, so the
    // limit is checked again before each.
    template <typename Deliver>
    void release(const UnackedLedger& unacked, Deliver deliver) {
        while (!held_.empty() && !limit_reached(unacked)) {
            core::Deliver next = std::move(held_.front());
            held_.pop_front();
            deliver(next);
        }
    }
    // The channel is going: every held delivery goes to `bounce`, in order; none are left.
    template <typename Bounce>
    void drop_held(Bounce bounce) {
        for (core::Deliver& d : held_) bounce(d);
        held_.clear();
    }

private:
    bool limit_reached(const UnackedLedger& unacked) const {
        return global_ != 0 && unacked.live() >= global_;
    }

    u16 per_consumer_ = 0;
    u16 global_ = 0;
    std::deque<core::Deliver> held_;  // waiting for room under the channel's limit
};

}  // namespace lepus::session
