#pragma once
// One io_uring per shard, used only by the shard's thread. Set-up flags and why:
// - SINGLE_ISSUER: only this thread submits, which lets the kernel skip locking.
// - DEFER_TASKRUN: completion work runs when we wait, in our thread, not as interrupts
//   of whatever we are doing; completions are then reaped in one batch per loop turn.
// - A CQ four times the SQ: multishot receives post many completions per submission.
//
// Network and disk share it: connections, the listener and the wake-up put their operations
// here, and so do the journals' storage (io::SegmentStorage), so one submit per loop turn hands
// over everything and one wait sleeps until anything completes.
//
// Completions belong to their issuer: each operation's user_data is a Completion that lives
// inside the object that started it, so starting I/O allocates nothing. `in_flight` is set by
// prepare() and asserted and cleared as the completion is reaped, so a completion is never
// started twice nor reaped unstarted.
#include <liburing.h>

#include "core/base/types.h"

namespace lepus::io {

struct Completion {
    // result: bytes or -errno, as the CQE says; flags: the CQE's flags (F_MORE, F_BUFFER).
    using Callback = void (*)(Completion& completion, i32 result, u32 flags);
    Callback callback = nullptr;
    void* owner = nullptr;
    bool in_flight = false;
};

class Ring {
public:
    Ring() = default;
    ~Ring();
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    // Returns 0 or -errno; the caller stops the broker with the reason.
    int init(u32 entries);
    io_uring* raw() { return &ring_; }

    // A submission entry bound to `completion`; submits pending entries first when the SQ is
    // full, so it never fails.
    io_uring_sqe* prepare(Completion& completion);
    // A submission entry whose completion is ignored (cancellations, fire-and-forget).
    io_uring_sqe* prepare_untracked();

    // Submits what is pending and waits until at least one completion arrives or
    // `timeout_ms` passes (0: do not wait), then runs the callbacks of up to `batch_max`
    // available completions; the rest stay in the CQ for the next call. Returns the number
    // of completions handled.
    u32 submit_and_run(u32 timeout_ms, u32 batch_max);
    // The two halves of submit_and_run, for a caller that reads its clock between them so
    // the callbacks see the time after the wait, not before it.
    void submit_and_wait(u32 timeout_ms);
    u32 run_completions(u32 batch_max);
    // Completions already in the CQ, waiting for the next submit_and_run.
    bool has_completions() { return io_uring_cq_ready(&ring_) > 0; }

private:
    io_uring_sqe* get_sqe();

    io_uring ring_{};
    bool initialised_ = false;
};

}  // namespace lepus::io
