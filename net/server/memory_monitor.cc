#include "net/server/memory_monitor.h"

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "net/server/options.h"

// Declared weak so that builds without mimalloc (the sanitizer builds, the tests) link too.
extern "C" void mi_collect(bool force) __attribute__((weak));
extern "C" void mi_option_set(int option, long value) __attribute__((weak));
extern "C" long mi_option_get(int option) __attribute__((weak));

namespace lepus::server {

void release_free_memory() {
    if (mi_collect != nullptr) {
        mi_collect(true);
        return;
    }
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer's allocator owns the heap, so glibc's has nothing to give back; and
    // malloc_trim on a shard thread that never used glibc's malloc leaves its arena bookkeeping
    // inconsistent, which glibc finds (and aborts on) when the thread exits.
#else
    malloc_trim(0);
#endif
}

namespace {

std::mutex prompt_decommit_mutex;
u32 prompt_decommit_requests = 0;  // guarded by prompt_decommit_mutex

// Counts a request in (+1) or out (-1); the option follows the count.
void request_prompt_decommit(int change) {
    if (mi_option_set == nullptr || mi_option_get == nullptr) return;
    // mimalloc.h's mi_option_decommit_delay (2.0.x): declared by number so that builds without
    // mimalloc's header link too.
    constexpr int decommit_delay = 15;
    std::lock_guard lock(prompt_decommit_mutex);
    static const long usual = mi_option_get(decommit_delay);
    LEPUS_ASSERT(change > 0 || prompt_decommit_requests > 0);
    u32 before = prompt_decommit_requests;
    prompt_decommit_requests = change > 0 ? before + 1 : before - 1;
    if (before == 0) mi_option_set(decommit_delay, 0);
    if (prompt_decommit_requests == 0) mi_option_set(decommit_delay, usual);
}

}  // namespace

PromptDecommit::PromptDecommit() { request_prompt_decommit(+1); }

PromptDecommit::~PromptDecommit() { request_prompt_decommit(-1); }

void set_prompt_decommit(bool on) {
    static std::optional<PromptDecommit> for_the_alarm;  // shard 0's thread only
    if (on && !for_the_alarm) for_the_alarm.emplace();
    if (!on) for_the_alarm.reset();
}

u64 physical_memory_bytes() {
    long pages = ::sysconf(_SC_PHYS_PAGES);
    long page_size = ::sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0) return 0;
    return static_cast<u64>(pages) * static_cast<u64>(page_size);
}

u64 memory_limit_bytes(const Options& options) {
    if (options.memory_limit_mb > 0) return u64{options.memory_limit_mb} << 20;
    return static_cast<u64>(static_cast<double>(physical_memory_bytes()) *
                            options.memory_high_watermark);
}

MemoryMonitor::MemoryMonitor(u64 limit_bytes) : limit_bytes_(limit_bytes) {
    long page_size = ::sysconf(_SC_PAGESIZE);
    if (page_size > 0) page_size_ = static_cast<u64>(page_size);
    statm_fd_ = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (statm_fd_ < 0) {
        LEPUS_LOG(warning, "cannot open /proc/self/statm (%s): the memory alarm is off",
                  std::strerror(errno));
    }
}

MemoryMonitor::~MemoryMonitor() {
    if (statm_fd_ >= 0) ::close(statm_fd_);
}

std::optional<bool> MemoryMonitor::check() {
    if (statm_fd_ < 0 || limit_bytes_ == 0) return std::nullopt;
    // "size resident shared text lib data dt", in pages.
    char text[128];
    ssize_t n = ::pread(statm_fd_, text, sizeof(text) - 1, 0);
    if (n <= 0) return std::nullopt;
    const char* end = text + n;
    const char* space = static_cast<const char*>(std::memchr(text, ' ', static_cast<usize>(n)));
    if (space == nullptr) return std::nullopt;
    u64 resident_pages = 0;
    if (std::from_chars(space + 1, end, resident_pages).ec != std::errc{}) return std::nullopt;
    resident_bytes_ = resident_pages * page_size_;
    bool alarm = resident_bytes_ > limit_bytes_;
    if (alarm == alarm_) return std::nullopt;
    alarm_ = alarm;
    return alarm;
}

}  // namespace lepus::server
