#include "net/server/idle_watch.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/base/limits.h"

namespace lepus::server {
namespace {

constexpr u64 tick_ms = 250;  // the shard's tick
constexpr u64 start_ms = 1'000'000;

// What the shard did in one tick window.
struct Window {
    bool worked;
    u64 asleep_ms;
};

// Runs `ticks` windows from a fresh watch; returns the ticks (1-based) that said to release.
std::vector<u32> releases(u32 ticks, const std::function<Window(u32)>& pattern) {
    IdleWatch watch(start_ms);
    std::vector<u32> out;
    for (u32 tick = 1; tick <= ticks; tick++) {
        Window window = pattern(tick);
        if (window.worked) watch.note_work();
        watch.note_asleep_ns(window.asleep_ms * 1'000'000);
        if (watch.tick(start_ms + tick * tick_ms)) out.push_back(tick);
    }
    return out;
}

constexpr u32 quiet_ticks = limits::memory_release_quiet_ms / tick_ms;
constexpr u32 interval_ticks = limits::memory_release_interval_ms / tick_ms;
static_assert(quiet_ticks == 4 && interval_ticks == 40, "the rows below count ticks");

struct Row {
    std::string name;
    u32 ticks;
    std::function<Window(u32)> pattern;
    std::vector<u32> expected;
};

TEST(IdleWatchTest, ReleasesAfterAQuietSpellFollowingWork) {
    const Window asleep{false, tick_ms};
    const Window busy{true, 0};
    const Window light{true, tick_ms - 10};  // a heartbeat or two: idle, but working
    std::vector<Row> rows = {
        // Start-up allocated and freed (recovery): released once the shard has been quiet.
        {"quiet from the start", 40, [&](u32) { return asleep; }, {quiet_ticks}},
        // A burst (busy ticks), then nothing: one release a quiet spell after the burst.
        {"burst then quiet",
         40,
         [&](u32 tick) { return tick >= 10 && tick < 20 ? busy : asleep; },
         {quiet_ticks, 19 + quiet_ticks}},
        // A burst whose ticks were still mostly asleep (little work, quickly done): the work
        // counts, and the release waits until it has stopped for a quiet spell.
        {"light work then quiet",
         40,
         [&](u32 tick) { return tick >= 10 && tick < 20 ? light : asleep; },
         {quiet_ticks, 19 + quiet_ticks}},
        // Never idle: never released, whatever it frees (mimalloc reuses it as it goes).
        {"always busy", 200, [&](u32) { return busy; }, {}},
        // Idle but never without work (heartbeats of many idle connections): at most once per
        // interval, counted from the last release.
        {"always lightly loaded",
         100,
         [&](u32) { return light; },
         {interval_ticks, 2 * interval_ticks}},
        // Busy for half of each tick: not idle.
        {"half busy",
         100,
         [&](u32) {
             return Window{true, tick_ms / 2};
         },
         {}},
        // A pause shorter than the quiet spell between bursts releases nothing.
        {"short pauses between bursts",
         60,
         [&](u32 tick) { return tick % quiet_ticks == 0 ? busy : asleep; },
         {}},
    };
    for (const Row& row : rows) {
        EXPECT_EQ(releases(row.ticks, row.pattern), row.expected) << row.name;
    }
}

}  // namespace
}  // namespace lepus::server
