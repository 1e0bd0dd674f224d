#pragma once
// Tells a shard when to hand the memory it freed back to the kernel. The allocator keeps freed
// pages for reuse until the thread that owns them allocates again or asks it to let go, so a
// shard that goes quiet after a burst (65,535 channels opened and closed) would otherwise stay
// at its peak resident size for good. Releasing costs a walk of the shard's heap and refaults
// whatever is needed again, so it waits for a quiet spell instead of running per message.
//
// The shard reports each loop turn that did work and each time it slept; the tick asks. Pure
// logic, time passed in; lives in its shard and is used on its thread only.
#include "core/base/types.h"

namespace lepus::server {

class IdleWatch {
public:
    explicit IdleWatch(u64 now_ms);

    // A loop turn handled completions or shard messages.
    void note_work() { worked_ = true; }
    // The loop waited this long for completions.
    void note_asleep_ns(u64 ns) { asleep_ns_ += ns; }
    // Called at every tick. True when the shard should release its free memory now: it has
    // been idle (asleep for most of every tick) for limits::memory_release_quiet_ms, it has
    // done work since it last released, and either that work has stopped for as long or
    // limits::memory_release_interval_ms have passed since the last release (a shard that
    // always has a little to do, such as heartbeats for many idle connections).
    bool tick(u64 now_ms);

private:
    u64 window_start_ms_;     // the previous tick
    u64 asleep_ns_ = 0;       // since the previous tick
    bool worked_ = false;     // since the previous tick
    u64 idle_since_ms_;       // the end of the last tick window the shard was busy in
    u64 last_work_ms_;        // the end of the last tick window with work in it
    bool unreleased_ = true;  // work since the last release (start-up counts)
    u64 released_ms_;
};

}  // namespace lepus::server
