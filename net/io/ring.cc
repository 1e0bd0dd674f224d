#include "net/io/ring.h"

#include <cerrno>
#include <cstring>

#include "core/base/assert.h"
#include "core/base/log.h"

namespace lepus::io {

Ring::~Ring() {
    if (initialised_) io_uring_queue_exit(&ring_);
}

int Ring::init(u32 entries) {
    io_uring_params params{};
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
                   IORING_SETUP_SUBMIT_ALL;
    params.cq_entries = entries * 4;
    int rc = io_uring_queue_init_params(entries, &ring_, &params);
    if (rc < 0) return rc;
    initialised_ = true;
    u32 needed = IORING_FEAT_NODROP | IORING_FEAT_FAST_POLL;
    if ((params.features & needed) != needed) return -ENOTSUP;
    return 0;
}

io_uring_sqe* Ring::get_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
        io_uring_submit(&ring_);
        sqe = io_uring_get_sqe(&ring_);
    }
    LEPUS_ASSERT_MSG(sqe != nullptr, "submission queue still full after submit");
    return sqe;
}

// Submission half of the pairing asserted in run_completions: an operation is started only when
// its completion is free, so one completion never stands for two operations.
io_uring_sqe* Ring::prepare(Completion& completion) {
    LEPUS_ASSERT_MSG(!completion.in_flight, "a completion already in flight started again");
    LEPUS_ASSERT(completion.callback != nullptr);
    io_uring_sqe* sqe = get_sqe();
    io_uring_sqe_set_data(sqe, &completion);
    completion.in_flight = true;
    return sqe;
}

io_uring_sqe* Ring::prepare_untracked() {
    io_uring_sqe* sqe = get_sqe();
    io_uring_sqe_set_data(sqe, nullptr);
    return sqe;
}

u32 Ring::submit_and_run(u32 timeout_ms, u32 batch_max) {
    submit_and_wait(timeout_ms);
    return run_completions(batch_max);
}

void Ring::submit_and_wait(u32 timeout_ms) {
    if (timeout_ms == 0) {
        io_uring_submit_and_get_events(&ring_);
    } else {
        __kernel_timespec ts{};
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
        io_uring_cqe* cqe = nullptr;
        int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
        if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
            LEPUS_LOG(error, "io_uring wait failed: %s", std::strerror(-rc));
        }
    }
}

u32 Ring::run_completions(u32 batch_max) {
    u32 handled = 0;
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0;
    // Callbacks may prepare new submissions but never reap, so walking the CQ is safe; the
    // batch is released with one advance.
    io_uring_for_each_cqe(&ring_, head, cqe) {
        if (handled == batch_max) break;
        handled++;
        auto* completion = static_cast<Completion*>(io_uring_cqe_get_data(cqe));
        if (completion == nullptr) continue;
        // Reaping half: only a started operation completes. A multishot one stays in flight
        // until its last completion (no F_MORE).
        LEPUS_ASSERT_MSG(completion->in_flight, "a completion reaped that was not in flight");
        if (!(cqe->flags & IORING_CQE_F_MORE)) completion->in_flight = false;
        completion->callback(*completion, cqe->res, cqe->flags);
    }
    io_uring_cq_advance(&ring_, handled);
    return handled;
}

}  // namespace lepus::io
