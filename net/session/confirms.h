#pragma once
// Publisher confirms of one channel (confirm.select): publishes are numbered from 1, and a
// publish is confirmed once every durable queue it reached has it on disk (core sends one
// Persisted per such copy). Confirms go out in order, as one basic.ack with `multiple` for a
// run: a publish still waiting for the disk holds back those after it, as RabbitMQ's
// confirms, which clients expect in order, would.
#include <deque>

#include "core/base/types.h"

namespace lepus::session {

class Confirms {
public:
    bool on() const { return on_; }
    void turn_on() { on_ = true; }

    // The number the next publish gets.
    u64 next_sequence() const { return published_ + 1; }
    // A publish was routed; `awaiting_disk` copies of it are not on disk yet.
    void published(u32 awaiting_disk);
    // One copy of publish `sequence` reached the disk.
    void persisted(u64 sequence);

    // Publishes not yet confirmed: take_ack may have one to send (checked once per delivery
    // on every channel, so inline and first).
    bool due() const { return confirmed_ != published_; }
    // Publishes not yet confirmed (list_channels' messages_unconfirmed).
    u64 unconfirmed() const { return published_ - confirmed_; }
    // Publishes confirmed so far (message_stats' confirm).
    u64 confirmed() const { return confirmed_; }
    // The basic.ack to send now, if any: every publish up to `tag` is confirmed.
    struct Ack {
        u64 tag = 0;
        bool multiple = false;
    };
    bool take_ack(Ack& ack);

private:
    bool on_ = false;
    u64 published_ = 0;
    u64 confirmed_ = 0;
    // For each publish from awaiting_base_ on, how many Persisted are still to come
    // (0: confirmable, in order).
    std::deque<u32> awaiting_disk_;
    u64 awaiting_base_ = 0;
};

}  // namespace lepus::session
