#pragma once
// One journal on disk as a shard owns it: the segment files (O_DIRECT through an io_uring of
// their own, whose completions wake the shard), the persist::Journal over them, and the
// core::JournalSink view that core writes through. Lives on its shard's thread; the
// definitions journal is opened by the server before the shards start and then handed to
// shard 0.
//
// Failure is fail-stop: once a write fails, what reached the disk is unknowable, so the broker
// logs the error and exits at once (ExitCode::journal_failed) without answering anyone;
// recovery at the next start decides what survived.
#include <memory>
#include <string>

#include "core/journal_sink.h"
#include "net/server/exit_code.h"
#include "persist/journal.h"
#include "persist/uring_storage.h"

namespace lepus::server {

class DiskJournal final : public core::JournalSink {
public:
    explicit DiskJournal(std::string name) : name_(std::move(name)) {}
    ~DiskJournal() override;
    DiskJournal(const DiskJournal&) = delete;
    DiskJournal& operator=(const DiskJournal&) = delete;

    // Opens (creating if needed) `directory`. Returns "" or the reason it cannot be used.
    std::string open(const std::string& directory, int wake_fd,
                     const persist::JournalOptions& options);
    // Reads what is on disk; `visit` sees every valid record in order. Logs damage. Fails
    // with ExitCode::no_space, saying how many bytes to free where, when the journal cannot
    // make the room it needs to go on (persist/FORMAT.md, "Running out of space").
    StartError recover(const persist::Journal::Visitor& visit);

    core::RecordAppended append(u8 kind, std::span<const std::string_view> parts) override;
    u64 durable_sequence() const override { return journal_->durable_sequence(); }
    void retain(u64 segment) override { journal_->retain(segment); }
    void release(u64 segment) override { journal_->release(segment); }
    void depend(u64 later, u64 earlier) override { journal_->depend(later, earlier); }
    void read(const core::RecordPlace& place, u64 token, core::RecordReader& reader) override;

    // Once per loop turn, in this order: poll runs completions (true when durable_sequence
    // moved), flush writes what this turn appended as one group.
    bool poll();
    void flush();
    // Records buffered or writes in flight: the shard must not exit yet.
    bool busy() const { return journal_->busy(); }
    bool unsubmitted() const { return journal_->unsubmitted(); }
    // Blocks until nothing is in flight (shutdown).
    void drain();
    const persist::Journal::Stats& stats() const { return journal_->stats(); }
    persist::Journal& journal() { return *journal_; }

private:
    [[noreturn]] void fail_stop();
    // One read back in flight: O_DIRECT wants a block-aligned buffer covering the record.
    struct Read {
        persist::IoCompletion completion;
        DiskJournal* journal = nullptr;
        persist::Location location;
        u64 token = 0;
        core::RecordReader* reader = nullptr;
        char* buffer = nullptr;
        u32 capacity = 0;
    };
    static void read_done(persist::IoCompletion& completion, i32 result);
    std::vector<Read*> free_reads_;

    std::string name_;
    std::string directory_;
    persist::UringStorage storage_;
    std::unique_ptr<persist::Journal> journal_;
};

}  // namespace lepus::server
