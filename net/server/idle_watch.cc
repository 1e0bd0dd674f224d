#include "net/server/idle_watch.h"

#include "core/base/limits.h"

namespace lepus::server {

IdleWatch::IdleWatch(u64 now_ms)
    : window_start_ms_(now_ms),
      idle_since_ms_(now_ms),
      last_work_ms_(now_ms),
      released_ms_(now_ms) {}

bool IdleWatch::tick(u64 now_ms) {
    u64 window_ns = (now_ms - window_start_ms_) * 1'000'000;
    // Asleep for three quarters of the window: the little work there was is done quickly.
    bool idle = asleep_ns_ * 4 >= window_ns * 3;
    window_start_ms_ = now_ms;
    asleep_ns_ = 0;
    if (worked_) {
        worked_ = false;
        last_work_ms_ = now_ms;
        unreleased_ = true;
    }
    if (!idle) {
        idle_since_ms_ = now_ms;
        return false;
    }
    if (!unreleased_ || now_ms - idle_since_ms_ < limits::memory_release_quiet_ms) return false;
    bool quiet = now_ms - last_work_ms_ >= limits::memory_release_quiet_ms;
    if (!quiet && now_ms - released_ms_ < limits::memory_release_interval_ms) return false;
    unreleased_ = false;
    released_ms_ = now_ms;
    return true;
}

}  // namespace lepus::server
