#pragma once
// A first-in first-out queue in one circular buffer that doubles when full and keeps its
// capacity. Unlike std::deque, which allocates and frees a block every few hundred bytes of
// flow, a steady stream through it allocates nothing once it has grown to the stream's depth:
// the shard's outboxes carry every cross-shard message through one of these.
//
// Not thread-safe; elements are moved in and out. Storage is raw, so elements are constructed
// on push and destroyed on pop.
#include <cstddef>
#include <new>
#include <utility>

#include "core/base/assert.h"
#include "core/base/types.h"

namespace lepus {

template <typename T>
class RingDeque {
public:
    RingDeque() = default;
    ~RingDeque() {
        clear();
        release(slots_);
    }
    RingDeque(const RingDeque&) = delete;
    RingDeque& operator=(const RingDeque&) = delete;
    RingDeque(RingDeque&& other) noexcept
        : slots_(std::exchange(other.slots_, nullptr)),
          capacity_(std::exchange(other.capacity_, 0)),
          head_(std::exchange(other.head_, 0)),
          size_(std::exchange(other.size_, 0)) {}
    RingDeque& operator=(RingDeque&&) = delete;

    bool empty() const { return size_ == 0; }
    usize size() const { return size_; }
    usize capacity() const { return capacity_; }

    T& front() {
        LEPUS_ASSERT(size_ > 0);
        return slots_[head_];
    }

    void push_back(T value) {
        if (size_ == capacity_) grow();
        new (&slots_[(head_ + size_) & (capacity_ - 1)]) T(std::move(value));
        size_++;
    }

    void pop_front() {
        LEPUS_ASSERT(size_ > 0);
        slots_[head_].~T();
        head_ = (head_ + 1) & (capacity_ - 1);
        size_--;
    }

    void clear() {
        while (size_ > 0) pop_front();
    }

private:
    static constexpr usize initial_capacity = 64;  // a power of two, as the mask needs

    static T* allocate(usize count) {
        return static_cast<T*>(::operator new (count * sizeof(T), std::align_val_t{alignof(T)}));
    }
    static void release(T* slots) {
        if (slots != nullptr) ::operator delete (slots, std::align_val_t{alignof(T)});
    }

    void grow() {
        usize capacity = capacity_ == 0 ? initial_capacity : capacity_ * 2;
        T* slots = allocate(capacity);
        for (usize i = 0; i < size_; i++) {
            T& from = slots_[(head_ + i) & (capacity_ - 1)];
            new (&slots[i]) T(std::move(from));
            from.~T();
        }
        release(slots_);
        slots_ = slots;
        capacity_ = capacity;
        head_ = 0;
    }

    T* slots_ = nullptr;
    usize capacity_ = 0;  // zero or a power of two
    usize head_ = 0;
    usize size_ = 0;
};

}  // namespace lepus
