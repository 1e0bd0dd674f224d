#include "core/base/log.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string_view>

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

// Copies `text` into out[0, capacity) with every control byte written as an escape (\n, \r,
// \t or \xNN) and every backslash doubled, so each call writes exactly one line whatever a
// client put in the text: a user name holding "\n2026-01-01T00:00:00.000Z [error] ..." shows as
// one line with a visible \n, never as a second, forged line. Bytes of 0x80 and up (UTF-8)
// pass unchanged. An escape that does not fit whole is left out, with everything after it.
usize append_escaped(std::string_view text, char* out, usize capacity) {
    usize n = 0;
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        char escaped[4] = {'\\', 0, 0, 0};
        usize length = 2;
        if (c == '\n') {
            escaped[1] = 'n';
        } else if (c == '\r') {
            escaped[1] = 'r';
        } else if (c == '\t') {
            escaped[1] = 't';
        } else if (c == '\\') {
            escaped[1] = '\\';
        } else if (byte < 0x20 || byte == 0x7f) {
            escaped[1] = 'x';
            escaped[2] = "0123456789abcdef"[byte >> 4];
            escaped[3] = "0123456789abcdef"[byte & 0xf];
            length = 4;
        } else {
            escaped[0] = c;
            length = 1;
        }
        if (n + length > capacity) break;
        std::memcpy(out + n, escaped, length);
        n += length;
    }
    return n;
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
                          utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                          utc.tm_sec, now.tv_nsec / 1000000, level_name(level));
    if (thread_shard >= 0 && n < static_cast<int>(sizeof line)) {
        n += std::snprintf(line + n, sizeof line - n, "shard %d: ", thread_shard);
    }
    // The text is formatted apart and escaped into the line: its arguments are often what a
    // client sent (user names, queue names, reply texts).
    char text[sizeof line];
    va_list args;
    va_start(args, format);
    int text_size = std::vsnprintf(text, sizeof text, format, args);
    va_end(args);
    text_size = std::clamp(text_size, 0, static_cast<int>(sizeof text) - 1);
    const usize prefix = std::min<usize>(static_cast<usize>(n), sizeof line - 1);
    usize size = prefix + append_escaped(std::string_view(text, static_cast<usize>(text_size)),
                                         line + prefix, sizeof line - 1 - prefix);
    line[size++] = '\n';  // the one newline of the line
    ssize_t ignored = ::write(STDERR_FILENO, line, size);
    (void)ignored;
}

}  // namespace lepus::log
