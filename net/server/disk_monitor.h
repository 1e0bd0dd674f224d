#pragma once
// The broker's disk alarm, as RabbitMQ's: when the file system of the data directory has less
// free space than disk_free_limit, connections that publish are blocked (connection.blocked
// "low on disk" to clients that support it) until there is enough again. Consumers go on: what
// they settle gives journal space back. Shard 0 reads the free space once a second (statvfs,
// a cheap system call) on its own loop; a limit of 0 turns the alarm off.
#include <optional>
#include <string>

#include "core/base/types.h"

namespace lepus::server {

class DiskMonitor {
public:
    DiskMonitor(std::string data_dir, u64 limit_bytes);

    // Once a second at most: reads the free space; returns the alarm's new state when it
    // changed. A failed read leaves the alarm as it was.
    std::optional<bool> check(u64 now_ms);
    // The decision alone, for a given figure (what check applies to its reading).
    std::optional<bool> update(u64 free_bytes);

    u64 free_bytes() const { return free_bytes_; }
    u64 limit_bytes() const { return limit_bytes_; }
    bool alarm() const { return alarm_; }

    static constexpr u64 check_interval_ms = 1000;

private:
    std::string data_dir_;
    u64 limit_bytes_;
    u64 free_bytes_ = 0;
    u64 checked_ms_ = 0;
    bool checked_ = false;
    bool alarm_ = false;
};

}  // namespace lepus::server
