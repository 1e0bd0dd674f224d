#include "core/base/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string_view>

namespace lepus::log {
namespace {

std::atomic<Level> console_level{Level::info};
std::atomic<Level> file_level{Level::info};
std::atomic<bool> console_on{true};
// The log file's descriptor, -1 without one. Its number never changes once opened: a reopen
// puts the new file under it with dup2, so writers need no lock.
std::atomic<int> file_fd{-1};
std::string file_path;  // written once before the shards start, then only read
// The most verbose level some destination takes, as a number; -1 when none takes any. One
// load per LEPUS_LOG, whatever the destinations.
std::atomic<int> threshold{static_cast<int>(Level::info)};
thread_local int thread_shard = -1;

void update_threshold() {
    int most = -1;
    if (console_on.load(std::memory_order_relaxed)) {
        most = static_cast<int>(console_level.load(std::memory_order_relaxed));
    }
    if (file_fd.load(std::memory_order_relaxed) >= 0) {
        most = std::max(most, static_cast<int>(file_level.load(std::memory_order_relaxed)));
    }
    threshold.store(most, std::memory_order_relaxed);
}

int open_for_append(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

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

void set_level(Level level) {
    console_level.store(level, std::memory_order_relaxed);
    file_level.store(level, std::memory_order_relaxed);
    update_threshold();
}

void set_console_level(Level level) {
    console_level.store(level, std::memory_order_relaxed);
    update_threshold();
}

void set_file_level(Level level) {
    file_level.store(level, std::memory_order_relaxed);
    update_threshold();
}

void set_console(bool on) {
    console_on.store(on, std::memory_order_relaxed);
    update_threshold();
}

bool enabled(Level level) {
    return static_cast<int>(level) <= threshold.load(std::memory_order_relaxed);
}

std::string open_file(const std::string& path) {
    int fd = open_for_append(path);
    if (fd < 0) return "cannot open log file '" + path + "': " + std::strerror(errno);
    file_path = path;
    file_fd.store(fd, std::memory_order_release);
    update_threshold();
    return {};
}

std::string reopen_file() {
    int fd = file_fd.load(std::memory_order_acquire);
    if (fd < 0) return {};
    int fresh = open_for_append(file_path);
    if (fresh < 0) return "cannot reopen log file '" + file_path + "': " + std::strerror(errno);
    // Atomic for writers: each write(2) goes wholly to the old file or wholly to the new one.
    int result = ::dup3(fresh, fd, O_CLOEXEC);
    int error = errno;
    ::close(fresh);
    if (result < 0) return "cannot reopen log file '" + file_path + "': " + std::strerror(error);
    return {};
}

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

namespace {

enum class Escape : u8 { needed, done };

// One line: the prefix (time, level, shard), `text` (escaped unless the caller did it) and the
// newline, written with one write(2) to each destination that takes `level`.
void emit(Level level, std::string_view text, Escape escape) {
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
    const usize prefix = std::min<usize>(static_cast<usize>(n), sizeof line - 1);
    usize size = prefix;
    if (escape == Escape::needed) {
        size += append_escaped(text, line + prefix, sizeof line - 1 - prefix);
    } else {
        usize length = std::min(text.size(), sizeof line - 1 - prefix);
        std::memcpy(line + prefix, text.data(), length);
        size += length;
    }
    line[size++] = '\n';  // the one newline of the line
    // A failed log write has nowhere to be reported: the line is lost, the broker goes on.
    if (console_on.load(std::memory_order_relaxed) &&
        level <= console_level.load(std::memory_order_relaxed)) {
        ssize_t ignored = ::write(STDERR_FILENO, line, size);
        (void)ignored;
    }
    int fd = file_fd.load(std::memory_order_acquire);
    if (fd >= 0 && level <= file_level.load(std::memory_order_relaxed)) {
        ssize_t ignored = ::write(fd, line, size);
        (void)ignored;
    }
}

}  // namespace

void write(Level level, const char* format, ...) {
    // The text is formatted apart and escaped into the line: its arguments are often what a
    // client sent (user names, queue names, reply texts).
    char text[1024];
    va_list args;
    va_start(args, format);
    int text_size = std::vsnprintf(text, sizeof text, format, args);
    va_end(args);
    text_size = std::clamp(text_size, 0, static_cast<int>(sizeof text) - 1);
    emit(level, std::string_view(text, static_cast<usize>(text_size)), Escape::needed);
}

void write_escaped(Level level, std::string_view text) { emit(level, text, Escape::done); }

}  // namespace lepus::log
