#include "core/base/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace lepus::log {
namespace {

std::atomic<Level> current_level{Level::info};
thread_local int thread_shard = -1;

const char* level_name(Level level) {
    switch (level) {
        case Level::error: return "error";
        case Level::warning: return "warning";
        case Level::info: return "info";
        case Level::debug: return "debug";
    }
    return "?";
}

}  // namespace

void set_level(Level level) { current_level.store(level, std::memory_order_relaxed); }

bool enabled(Level level) { return level <= current_level.load(std::memory_order_relaxed); }

bool parse_level(const char* text, Level& out) {
    for (Level level : {Level::error, Level::warning, Level::info, Level::debug}) {
        if (std::strcmp(text, level_name(level)) == 0) {
            out = level;
            return true;
        }
    }
    return false;
}

void set_thread_shard(int shard) { thread_shard = shard; }

void write(Level level, const char* format, ...) {
    char line[1024];
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    tm utc{};
    gmtime_r(&now.tv_sec, &utc);
    int n = std::snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] ",
                          utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                          utc.tm_min, utc.tm_sec, now.tv_nsec / 1000000, level_name(level));
    if (thread_shard >= 0 && n < static_cast<int>(sizeof line)) {
        n += std::snprintf(line + n, sizeof line - n, "shard %d: ", thread_shard);
    }
    va_list args;
    va_start(args, format);
    if (n < static_cast<int>(sizeof line)) {
        n += std::vsnprintf(line + n, sizeof line - n, format, args);
    }
    va_end(args);
    if (n > static_cast<int>(sizeof line) - 2) n = static_cast<int>(sizeof line) - 2;
    line[n++] = '\n';
    ssize_t ignored = ::write(STDERR_FILENO, line, static_cast<usize>(n));
    (void)ignored;
}

}  // namespace lepus::log
