#pragma once
// Storage in memory, for tests and the simulator, with the faults a disk can produce.
//
// Each segment has a durable image (what survives power loss). A write is queued on write();
// it completes (is applied to the image and its callback runs) during a later poll(), after
// `completion_delay_polls` polls, in submission order or shuffled (`reorder`). crash() is power
// loss: each write not yet completed is dropped, or torn (a random prefix of its 512-byte
// sectors reaches the image), decided by the seed. A capacity, when set, makes it a small
// disk: a segment that would not fit is refused with ENOSPC and nothing of it is kept, as
// io::SegmentStorage does. Owned by the test; single-threaded.
#include <map>
#include <random>
#include <string>

#include "persist/storage.h"

namespace lepus::persist {

class MemoryStorage final : public Storage {
public:
    MemoryStorage() = default;

    u32 block_size() const override;
    std::vector<u64> list_segments() override;
    i32 create_segment(u64 number, u64 size) override;
    i32 open_segment(u64 number) override;
    i32 remove_segment(u64 number) override;
    i32 rename_segment(u64 from, u64 to) override;
    u64 segment_size(u64 number) override;
    u64 available_bytes() override;
    i32 read_sync(u64 number, u64 offset, void* buffer, u32 length) override;
    void write(u64 number, u64 offset, const void* buffer, u32 length,
               IoCompletion& completion) override;
    void read(u64 number, u64 offset, void* buffer, u32 length, IoCompletion& completion) override;
    void submit() override {}
    u32 poll() override;
    void wait() override;
    // Completes only the queued operation at `index` (submission order): out-of-order
    // completions made to order.
    void complete(usize index);

    // Fault injection and inspection.
    void set_completion_delay_polls(u32 polls) { completion_delay_polls_ = polls; }
    void set_reorder(u64 seed) {
        reorder_ = true;
        rng_.seed(seed);
    }
    void crash(u64 seed);  // power loss; queued operations vanish without callbacks
    void fail_next_writes(u32 count, i32 error) {
        fail_count_ = count;
        fail_error_ = error;
    }
    // The disk's size: the segments present may take this many bytes in all.
    void set_capacity(u64 bytes) { capacity_ = bytes; }
    u64 used_bytes() const;
    void corrupt(u64 number, u64 offset, u8 mask = 0xFF);  // flips bits of one durable byte
    // Writes bytes into the durable image directly: stale data, hand-made damage.
    void poke(u64 number, u64 offset, std::string_view bytes);
    std::string& image(u64 number);  // the durable bytes of a segment
    u32 pending() const { return static_cast<u32>(queue_.size()); }
    u64 writes_completed() const { return writes_completed_; }

private:
    struct Operation {
        bool is_write = false;
        u64 number = 0;
        u64 offset = 0;
        // A write's source or a read's destination. A write's bytes are taken when it
        // completes, so a writer that reuses its buffer too early is caught by the tests.
        void* buffer = nullptr;
        u32 length = 0;
        u32 polls_left = 0;
        IoCompletion* completion = nullptr;
    };

    i32 finish(Operation& operation);
    void run(Operation& operation);

    std::map<u64, std::string> segments_;
    std::vector<Operation> queue_;
    u32 completion_delay_polls_ = 0;
    bool reorder_ = false;
    std::mt19937_64 rng_{1};
    u32 fail_count_ = 0;
    i32 fail_error_ = 0;
    u64 writes_completed_ = 0;
    u64 capacity_ = UINT64_MAX;
};

}  // namespace lepus::persist
