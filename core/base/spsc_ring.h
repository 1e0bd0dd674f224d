#pragma once
// A bounded single-producer single-consumer ring. One shard pushes, one shard pops; nothing
// else touches it. Head and tail live on their own cache lines so the two cores do not fight
// over one line, and each side caches the other's index to touch the shared line rarely.
#include <atomic>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "core/base/assert.h"
#include "core/base/types.h"

namespace lepus {

template <typename T>
class SpscRing {
public:
    explicit SpscRing(u32 capacity)
        : capacity_(capacity), mask_(capacity - 1), slots_(new Slot[capacity]) {
        LEPUS_ASSERT(capacity >= 2 && (capacity & (capacity - 1)) == 0);
    }
    ~SpscRing() {
        while (try_pop()) {
        }
    }
    SpscRing(const SpscRing&) = delete;
    SpscRing& operator=(const SpscRing&) = delete;

    // Producer side. Returns false when full; the value is left untouched.
    bool try_push(T& value) {
        u64 tail = tail_.value.load(std::memory_order_relaxed);
        if (tail - head_cache_ >= capacity_) {
            head_cache_ = head_.value.load(std::memory_order_acquire);
            if (tail - head_cache_ >= capacity_) return false;
        }
        new (slots_[tail & mask_].storage) T(std::move(value));
        tail_.value.store(tail + 1, std::memory_order_release);
        return true;
    }

    // Consumer side.
    std::optional<T> try_pop() {
        u64 head = head_.value.load(std::memory_order_relaxed);
        if (head == tail_cache_) {
            tail_cache_ = tail_.value.load(std::memory_order_acquire);
            if (head == tail_cache_) return std::nullopt;
        }
        T* slot = std::launder(reinterpret_cast<T*>(slots_[head & mask_].storage));
        std::optional<T> value(std::move(*slot));
        slot->~T();
        head_.value.store(head + 1, std::memory_order_release);
        return value;
    }

    // Either side: a snapshot, exact only for the consumer.
    bool empty() const {
        return head_.value.load(std::memory_order_acquire) ==
               tail_.value.load(std::memory_order_acquire);
    }

private:
    struct Slot {
        alignas(T) unsigned char storage[sizeof(T)];
    };
    struct alignas(64) Index {
        std::atomic<u64> value{0};
    };

    const u64 capacity_;
    const u64 mask_;
    std::unique_ptr<Slot[]> slots_;
    Index head_;                      // written by the consumer
    Index tail_;                      // written by the producer
    alignas(64) u64 head_cache_ = 0;  // producer's last view of head_
    alignas(64) u64 tail_cache_ = 0;  // consumer's last view of tail_
};

}  // namespace lepus
