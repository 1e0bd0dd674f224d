#include "net/io/segment_storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/base/assert.h"
#include "core/base/limits.h"
#include "persist/record.h"

namespace lepus::io {

namespace {

constexpr usize segment_name_length = 20 + 4;  // 20 digits and ".seg"

}  // namespace

SegmentStorage::~SegmentStorage() {
    for (auto& [number, fd] : files_) close(fd);
    if (directory_fd_ >= 0) close(directory_fd_);
}

std::string SegmentStorage::open(const std::string& directory, u32 operations_max) {
    LEPUS_ASSERT(directory_fd_ < 0);
    LEPUS_ASSERT(operations_max > 0);
    directory_ = directory;
    directory_fd_ = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory_fd_ < 0) {
        return "journal directory " + directory + ": " + std::strerror(errno);
    }
    // O_DIRECT is refused at open by file systems without it (tmpfs, some overlays).
    std::string probe = directory + "/.direct-probe";
    int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return "O_DIRECT is unavailable in " + directory + " (" + std::strerror(errno) +
               "): put the journal on a file system that supports it, such as ext4 or xfs";
    }
    close(fd);
    unlink(probe.c_str());

    operations_max_ = operations_max;
    operations_ = std::make_unique<Operation[]>(operations_max);
    free_.reserve(operations_max);
    for (u32 i = operations_max; i > 0; i--) {
        Operation& operation = operations_[i - 1];
        operation.completion.callback = &SegmentStorage::on_complete;
        operation.completion.owner = &operation;
        operation.storage = this;
        free_.push_back(&operation);
    }
    return {};
}

void SegmentStorage::bind(Ring& ring) {
    LEPUS_ASSERT(ring_ == nullptr);
    LEPUS_ASSERT(operations_ != nullptr);
    ring_ = &ring;
}

u32 SegmentStorage::block_size() const { return persist::block_size; }

std::string SegmentStorage::path(u64 number) const {
    char name[segment_name_length + 1];
    std::snprintf(name, sizeof name, "%020lu.seg", static_cast<unsigned long>(number));
    return directory_ + "/" + name;
}

std::vector<u64> SegmentStorage::list_segments() {
    std::vector<u64> numbers;
    DIR* dir = opendir(directory_.c_str());
    if (dir == nullptr) return numbers;
    while (dirent* entry = readdir(dir)) {
        std::string_view name(entry->d_name);
        if (name.size() != segment_name_length || !name.ends_with(".seg")) continue;
        auto digit = [](char c) { return c >= '0' && c <= '9'; };
        if (!std::all_of(name.begin(), name.begin() + 20, digit)) continue;
        numbers.push_back(std::strtoull(std::string(name.substr(0, 20)).c_str(), nullptr, 10));
    }
    closedir(dir);
    std::sort(numbers.begin(), numbers.end());
    return numbers;
}

i32 SegmentStorage::sync_directory() { return fsync(directory_fd_) == 0 ? 0 : -errno; }

int SegmentStorage::descriptor(u64 number) {
    auto found = files_.find(number);
    if (found != files_.end()) return found->second;
    int fd = ::open(path(number).c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
    if (fd < 0) return -errno;
    files_[number] = fd;
    return fd;
}

i32 SegmentStorage::create_segment(u64 number, u64 size) {
    LEPUS_ASSERT(size % persist::block_size == 0);
    auto old = files_.find(number);
    if (old != files_.end()) {
        close(old->second);
        files_.erase(old);
    }
    // O_TRUNC: a file left by a crash during an earlier creation is started over.
    int fd = ::open(path(number).c_str(), O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    i32 rc = fill_segment(fd, size);
    if (rc < 0) {
        // A segment cut short by a full disk must not stay behind: it holds blocks the next
        // attempt needs, and it would be taken for a segment at the next start.
        close(fd);
        unlink(path(number).c_str());
        sync_directory();
        return rc;
    }
    files_[number] = fd;
    return sync_directory();
}

// Reserves the blocks first, so a disk without room for the segment refuses at once instead
// of after writing most of it, then writes the zeros (fallocate leaves unwritten extents,
// which every later O_DIRECT|DSYNC write would have to convert).
i32 SegmentStorage::fill_segment(int fd, u64 size) {
    if (fallocate(fd, 0, 0, static_cast<off_t>(size)) != 0 && errno != EOPNOTSUPP) return -errno;
    auto free_buffer = [](void* pointer) { std::free(pointer); };
    std::unique_ptr<void, decltype(free_buffer)> zeros(
        std::aligned_alloc(persist::block_size, limits::journal_zero_fill_bytes), free_buffer);
    std::memset(zeros.get(), 0, limits::journal_zero_fill_bytes);
    for (u64 offset = 0; offset < size;) {
        u64 length = std::min<u64>(limits::journal_zero_fill_bytes, size - offset);
        ssize_t written = pwrite(fd, zeros.get(), length, static_cast<off_t>(offset));
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return written < 0 ? -errno : -EIO;
        offset += static_cast<u64>(written);
    }
    return fsync(fd) == 0 ? 0 : -errno;
}

i32 SegmentStorage::open_segment(u64 number) {
    int fd = descriptor(number);
    return fd < 0 ? fd : 0;
}

i32 SegmentStorage::remove_segment(u64 number) {
    auto found = files_.find(number);
    if (found != files_.end()) {
        close(found->second);
        files_.erase(found);
    }
    if (unlink(path(number).c_str()) != 0) return -errno;
    return sync_directory();
}

i32 SegmentStorage::rename_segment(u64 from, u64 to) {
    // RENAME_NOREPLACE would say it in one call; a check is enough on the journal's own thread.
    if (access(path(to).c_str(), F_OK) == 0) return -EEXIST;
    if (rename(path(from).c_str(), path(to).c_str()) != 0) return -errno;
    auto found = files_.find(from);
    if (found != files_.end()) {
        files_[to] = found->second;  // the descriptor follows the file
        files_.erase(found);
    }
    return sync_directory();
}

u64 SegmentStorage::segment_size(u64 number) {
    struct stat status {};
    if (stat(path(number).c_str(), &status) != 0) return 0;
    return static_cast<u64>(status.st_size);
}

u64 SegmentStorage::available_bytes() {
    // f_bavail, df's "Available", which is what an operator checks. Root may also take the
    // blocks ext4 reserves for it, but f_bfree would count the ones kept back even from root,
    // so the figure errs on the side of too little: creation tries the least needed anyway.
    struct statvfs status {};
    if (fstatvfs(directory_fd_, &status) != 0) return 0;
    return static_cast<u64>(status.f_bavail) * status.f_frsize;
}

i32 SegmentStorage::read_sync(u64 number, u64 offset, void* buffer, u32 length) {
    int fd = descriptor(number);
    if (fd < 0) return fd;
    for (;;) {
        ssize_t count = pread(fd, buffer, length, static_cast<off_t>(offset));
        if (count >= 0) return static_cast<i32>(count);
        if (errno != EINTR) return -errno;
    }
}

// Submission half of the pairing: the issuer's completion and the ring's are both marked in
// flight here (persist::IoCompletion::start, Ring::prepare) and both cleared in on_complete.
io_uring_sqe* SegmentStorage::prepare(persist::IoCompletion& issuer) {
    LEPUS_ASSERT_MSG(ring_ != nullptr, "asynchronous journal I/O before bind()");
    LEPUS_ASSERT_MSG(!free_.empty(), "more journal operations in flight than open() allowed");
    Operation& operation = *free_.back();
    free_.pop_back();
    LEPUS_ASSERT(operation.issuer == nullptr);
    issuer.start();
    operation.issuer = &issuer;
    return ring_->prepare(operation.completion);
}

// Reaping half: the ring cleared its completion's in_flight; the issuer's is asserted and
// cleared by complete(). The operation goes back to the pool first, so the callback may start
// another (a page-in read that finishes asks for the next).
void SegmentStorage::on_complete(Completion& completion, i32 result, u32 flags) {
    LEPUS_ASSERT(!(flags & IORING_CQE_F_MORE));  // a read or write completes once
    auto& operation = *static_cast<Operation*>(completion.owner);
    SegmentStorage& self = *operation.storage;
    persist::IoCompletion* issuer = operation.issuer;
    LEPUS_ASSERT(issuer != nullptr);
    operation.issuer = nullptr;
    self.free_.push_back(&operation);
    LEPUS_ASSERT(self.free_.size() <= self.operations_max_);
    issuer->complete(result);
}

void SegmentStorage::write(u64 number, u64 offset, const void* buffer, u32 length,
                           persist::IoCompletion& completion) {
    LEPUS_ASSERT(offset % persist::block_size == 0 && length % persist::block_size == 0);
    int fd = descriptor(number);
    io_uring_sqe* sqe = prepare(completion);
    if (fd < 0) {
        // A segment that cannot be opened: the write completes having written nothing, which
        // the journal takes as a failed write.
        io_uring_prep_nop(sqe);
        return;
    }
    io_uring_prep_write(sqe, fd, buffer, length, offset);
    sqe->rw_flags = RWF_DSYNC;  // durable on completion
}

void SegmentStorage::read(u64 number, u64 offset, void* buffer, u32 length,
                          persist::IoCompletion& completion) {
    LEPUS_ASSERT(offset % persist::block_size == 0 && length % persist::block_size == 0);
    int fd = descriptor(number);
    io_uring_sqe* sqe = prepare(completion);
    if (fd < 0) {
        io_uring_prep_nop(sqe);  // reads nothing: the reader's check fails
        return;
    }
    io_uring_prep_read(sqe, fd, buffer, length, offset);
}

void SegmentStorage::wait() {
    // The shard's loop never waits here: it sleeps in its ring with everything else. This is
    // for shutdown and tests, when the journal is what the ring waits for; whatever else is on
    // the ring completes too, through its own callbacks.
    LEPUS_ASSERT(ring_ != nullptr);
    if (in_flight() == 0) return;
    ring_->submit_and_wait(limits::tick_interval_ms);
    ring_->run_completions(limits::completion_batch_max);
}

}  // namespace lepus::io
