#pragma once
// One line per notable event on stderr: time, level, shard, text. A line is written with one
// write(2) so lines from different shards never interleave, and control characters in the text
// are escaped (\n, \r, \t, \xNN; a backslash doubled), so text that came from a client can
// never end a line early and forge the next one.
#include "core/base/types.h"

namespace lepus::log {

enum class Level : u8 { error, warning, info, debug };

void set_level(Level level);
bool enabled(Level level);
bool parse_level(const char* text, Level& out);
// The shard this thread runs, shown on each line; -1 for threads that are not shards.
void set_thread_shard(int shard);

[[gnu::format(printf, 2, 3)]] void write(Level level, const char* format, ...);

}  // namespace lepus::log

#define LEPUS_LOG(level, ...)                                             \
    do {                                                                  \
        if (::lepus::log::enabled(::lepus::log::Level::level))            \
            ::lepus::log::write(::lepus::log::Level::level, __VA_ARGS__); \
    } while (0)
