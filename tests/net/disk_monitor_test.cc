// The disk alarm's decision: on below the limit, off at or above it, reported once per change.
#include "net/server/disk_monitor.h"

#include <gtest/gtest.h>

namespace lepus::server {
namespace {

TEST(DiskMonitor, RaisesBelowTheLimitAndClearsAtIt) {
    DiskMonitor monitor("/", 1000);
    EXPECT_EQ(monitor.update(5000), std::nullopt) << "no alarm to begin with";
    EXPECT_EQ(monitor.update(999), std::optional<bool>(true));
    EXPECT_EQ(monitor.update(10), std::nullopt) << "reported once";
    EXPECT_TRUE(monitor.alarm());
    EXPECT_EQ(monitor.update(1000), std::optional<bool>(false));
    EXPECT_FALSE(monitor.alarm());
    EXPECT_EQ(monitor.free_bytes(), 1000u);
}

TEST(DiskMonitor, ReadsTheFileSystemOnceASecond) {
    // No file system has this much free: the alarm is on at the first reading.
    DiskMonitor monitor("/", u64{1} << 62);
    EXPECT_EQ(monitor.check(10'000), std::optional<bool>(true));
    EXPECT_GT(monitor.free_bytes(), 0u);
    EXPECT_EQ(monitor.check(10'500), std::nullopt);
    EXPECT_EQ(monitor.check(11'000), std::nullopt) << "still on";
}

TEST(DiskMonitor, ALimitOfZeroIsNoAlarm) {
    DiskMonitor monitor("/", 0);
    EXPECT_EQ(monitor.check(1'000), std::nullopt);
    EXPECT_EQ(monitor.update(0), std::nullopt);
    EXPECT_FALSE(monitor.alarm());
}

}  // namespace
}  // namespace lepus::server
