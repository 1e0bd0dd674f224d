#pragma once
// One line per notable event: time, level, shard, text. Lines go to stderr (the console, which
// journald collects) and, when one is configured, to a log file, each with its own level. A
// line is written with one write(2) per destination, so lines from different shards never
// interleave, and control characters in the text are escaped (\n, \r, \t, \xNN; a backslash
// doubled), so text that came from a client can never end a line early and forge the next one.
#include <string>
#include <string_view>

#include "core/base/types.h"

namespace lepus::log {

enum class Level : u8 { error, warning, info, debug };

// Sets the level of both destinations.
void set_level(Level level);
void set_console_level(Level level);
void set_file_level(Level level);
// The console (stderr) on or off; on until told otherwise.
void set_console(bool on);
bool enabled(Level level);
bool parse_level(const char* text, Level& out);
// The shard this thread runs, shown on each line; -1 for threads that are not shards.
void set_thread_shard(int shard);

[[gnu::format(printf, 2, 3)]] void write(Level level, const char* format, ...);
// Writes `text` as it is, for text escaped already (log_fields.h); it must hold no newline.
void write_escaped(Level level, std::string_view text);

// Opens `path` for appending (created 0640 if missing) and writes every later line there too.
// Called once, at start-up, before any shard runs. Empty on success, else why it failed.
std::string open_file(const std::string& path);
// Opens the configured file's path again, for logrotate: after the file was moved away, the
// lines go to a new file at the path. The new file takes the old one's descriptor number
// (dup2), so a shard writing at that moment writes whole lines to one file or the other and
// needs no lock. Empty on success (or with no file configured), else why the old file stays.
std::string reopen_file();

}  // namespace lepus::log

#define LEPUS_LOG(level, ...)                                             \
    do {                                                                  \
        if (::lepus::log::enabled(::lepus::log::Level::level))            \
            ::lepus::log::write(::lepus::log::Level::level, __VA_ARGS__); \
    } while (0)
