#include "net/server/disk_monitor.h"

#include <sys/statvfs.h>

namespace lepus::server {

DiskMonitor::DiskMonitor(std::string data_dir, u64 limit_bytes)
    : data_dir_(std::move(data_dir)), limit_bytes_(limit_bytes) {}

std::optional<bool> DiskMonitor::check(u64 now_ms) {
    if (limit_bytes_ == 0) return std::nullopt;
    if (checked_ && now_ms - checked_ms_ < check_interval_ms) return std::nullopt;
    checked_ = true;
    checked_ms_ = now_ms;
    struct statvfs disk {};
    if (::statvfs(data_dir_.c_str(), &disk) != 0) return std::nullopt;
    // What an unprivileged writer may use, as lepusd's journal is one.
    return update(u64{disk.f_bavail} * disk.f_frsize);
}

std::optional<bool> DiskMonitor::update(u64 free_bytes) {
    free_bytes_ = free_bytes;
    bool alarm = limit_bytes_ != 0 && free_bytes < limit_bytes_;
    if (alarm == alarm_) return std::nullopt;
    alarm_ = alarm;
    return alarm;
}

}  // namespace lepus::server
