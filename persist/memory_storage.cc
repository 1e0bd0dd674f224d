#include "persist/memory_storage.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/base/assert.h"
#include "persist/record.h"

namespace lepus::persist {

u32 MemoryStorage::block_size() const { return persist::block_size; }

std::vector<u64> MemoryStorage::list_segments() {
    std::vector<u64> numbers;
    for (const auto& [number, bytes] : segments_) numbers.push_back(number);
    return numbers;
}

i32 MemoryStorage::create_segment(u64 number, u64 size) {
    LEPUS_ASSERT(size % persist::block_size == 0);
    u64 replaced = segment_size(number);  // O_TRUNC: an old file of that number gives its room
    if (size > available_bytes() + replaced) {
        segments_.erase(number);
        return -ENOSPC;
    }
    segments_[number] = std::string(size, '\0');
    return 0;
}

i32 MemoryStorage::open_segment(u64 number) { return segments_.contains(number) ? 0 : -ENOENT; }

i32 MemoryStorage::remove_segment(u64 number) { return segments_.erase(number) == 1 ? 0 : -ENOENT; }

i32 MemoryStorage::rename_segment(u64 from, u64 to) {
    auto found = segments_.find(from);
    if (found == segments_.end()) return -ENOENT;
    if (segments_.contains(to)) return -EEXIST;
    segments_[to] = std::move(found->second);
    segments_.erase(from);
    return 0;
}

u64 MemoryStorage::segment_size(u64 number) {
    auto found = segments_.find(number);
    return found == segments_.end() ? 0 : found->second.size();
}

u64 MemoryStorage::used_bytes() const {
    u64 used = 0;
    for (const auto& [number, bytes] : segments_) used += bytes.size();
    return used;
}

u64 MemoryStorage::available_bytes() {
    u64 used = used_bytes();
    return used >= capacity_ ? 0 : capacity_ - used;
}

i32 MemoryStorage::read_sync(u64 number, u64 offset, void* buffer, u32 length) {
    auto found = segments_.find(number);
    if (found == segments_.end()) return -ENOENT;
    LEPUS_ASSERT(offset % persist::block_size == 0 && length % persist::block_size == 0);
    const std::string& bytes = found->second;
    if (offset >= bytes.size()) return 0;
    u64 count = std::min<u64>(length, bytes.size() - offset);
    std::memcpy(buffer, bytes.data() + offset, count);
    return static_cast<i32>(count);
}

void MemoryStorage::write(u64 number, u64 offset, const void* buffer, u32 length,
                          IoCompletion& completion) {
    LEPUS_ASSERT(offset % persist::block_size == 0 && length % persist::block_size == 0);
    LEPUS_ASSERT(reinterpret_cast<uintptr_t>(buffer) % persist::block_size == 0);
    completion.start();
    queue_.push_back(Operation{true, number, offset, const_cast<void*>(buffer), length,
                               completion_delay_polls_, &completion});
}

void MemoryStorage::read(u64 number, u64 offset, void* buffer, u32 length,
                         IoCompletion& completion) {
    LEPUS_ASSERT(offset % persist::block_size == 0 && length % persist::block_size == 0);
    LEPUS_ASSERT(reinterpret_cast<uintptr_t>(buffer) % persist::block_size == 0);
    completion.start();
    queue_.push_back(
        Operation{false, number, offset, buffer, length, completion_delay_polls_, &completion});
}

i32 MemoryStorage::finish(Operation& operation) {
    if (!operation.is_write)
        return read_sync(operation.number, operation.offset, operation.buffer, operation.length);
    if (fail_count_ > 0) {
        fail_count_--;
        return -fail_error_;
    }
    auto found = segments_.find(operation.number);
    if (found == segments_.end()) return -ENOENT;
    if (operation.offset + operation.length > found->second.size()) return -ENOSPC;
    std::memcpy(found->second.data() + operation.offset, operation.buffer, operation.length);
    writes_completed_++;
    return static_cast<i32>(operation.length);
}

u32 MemoryStorage::poll() {
    if (reorder_) std::shuffle(queue_.begin(), queue_.end(), rng_);
    // Callbacks may queue new operations: finish a snapshot of the ready ones first.
    std::vector<Operation> ready;
    std::vector<Operation> waiting;
    for (Operation& operation : queue_) {
        if (operation.polls_left == 0) {
            ready.push_back(operation);
        } else {
            operation.polls_left--;
            waiting.push_back(operation);
        }
    }
    queue_ = std::move(waiting);
    for (Operation& operation : ready) run(operation);
    return static_cast<u32>(ready.size());
}

void MemoryStorage::run(Operation& operation) {
    i32 result = finish(operation);
    operation.completion->complete(result);
}

void MemoryStorage::complete(usize index) {
    LEPUS_ASSERT(index < queue_.size());
    Operation operation = queue_[index];
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(index));
    run(operation);
}

void MemoryStorage::wait() {
    // Nothing runs in the background: waiting means letting every delay run out.
    for (Operation& operation : queue_) operation.polls_left = 0;
}

void MemoryStorage::crash(u64 seed) {
    std::mt19937_64 rng(seed);
    for (Operation& operation : queue_) {
        if (!operation.is_write) continue;
        auto found = segments_.find(operation.number);
        if (found == segments_.end()) continue;
        u32 sectors = operation.length / sector_size;
        // Half of the unfinished writes vanish; the others leave a prefix of their sectors.
        u32 applied = rng() % 2 == 0 ? 0 : static_cast<u32>(rng() % (sectors + 1));
        u64 end =
            std::min<u64>(operation.offset + u64{applied} * sector_size, found->second.size());
        if (end > operation.offset) {
            std::memcpy(found->second.data() + operation.offset, operation.buffer,
                        end - operation.offset);
        }
    }
    for (Operation& operation : queue_) operation.completion->in_flight = false;
    queue_.clear();
    fail_count_ = 0;
}

void MemoryStorage::corrupt(u64 number, u64 offset, u8 mask) {
    std::string& bytes = image(number);
    LEPUS_ASSERT(offset < bytes.size());
    bytes[offset] = static_cast<char>(static_cast<u8>(bytes[offset]) ^ mask);
}

void MemoryStorage::poke(u64 number, u64 offset, std::string_view bytes) {
    std::string& target = image(number);
    LEPUS_ASSERT(offset + bytes.size() <= target.size());
    std::memcpy(target.data() + offset, bytes.data(), bytes.size());
}

std::string& MemoryStorage::image(u64 number) {
    auto found = segments_.find(number);
    LEPUS_ASSERT(found != segments_.end());
    return found->second;
}

}  // namespace lepus::persist
