#pragma once
// One journal as a shard owns it: its storage, the persist::Journal over it, and the
// core::JournalSink view that core writes through. On disk the storage is io::SegmentStorage,
// O_DIRECT segment files whose reads and writes go on the shard's own ring (bind()); the
// simulation and tests inject any persist::Storage instead, so they run this very adapter.
// Lives on its shard's thread; the definitions journal is opened and recovered by the server
// before the shards start (recovery needs no ring), then handed to shard 0, which binds it to
// its ring before the first write.
//
// Failure is fail-stop: once a write fails, what reached the disk is unknowable, so the broker
// logs the error and exits at once (ExitCode::journal_failed) without answering anyone;
// recovery at the next start decides what survived.
#include <memory>
#include <string>

#include "core/journal_sink.h"
#include "net/io/segment_storage.h"
#include "net/server/exit_code.h"
#include "persist/journal.h"

namespace lepus::server {

class DiskJournal final : public core::JournalSink {
public:
    explicit DiskJournal(std::string name) : name_(std::move(name)) {}
    ~DiskJournal() override;
    DiskJournal(const DiskJournal&) = delete;
    DiskJournal& operator=(const DiskJournal&) = delete;

    // On disk: opens (creating if needed) `directory`. Returns "" or the reason it cannot be
    // used. Its asynchronous I/O waits for bind().
    std::string open(const std::string& directory, const persist::JournalOptions& options);
    // Over `storage`, which the caller owns and keeps for longer (the simulation and tests).
    void open(persist::Storage& storage, const persist::JournalOptions& options);
    // A journal on disk: its reads and writes go on `ring`, the ring of the shard that runs it,
    // from now on. On that shard's thread, before the first flush.
    void bind(io::Ring& ring);
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

    // Once per loop turn, in this order: poll (true when durable_sequence moved since the last
    // poll; a failed write stops the broker here), flush writes what this turn appended as one
    // group. On disk the completions ran as the shard reaped its ring; an injected storage runs
    // them in poll.
    bool poll();
    void flush();
    // Records buffered or writes in flight: the shard must not exit yet.
    bool busy() const { return journal_->busy(); }
    bool unsubmitted() const { return journal_->unsubmitted(); }
    // Blocks until nothing is in flight (shutdown).
    void drain();
    const persist::Journal::Stats& stats() const { return journal_->stats(); }
    // Records read back so far (paged-out message bodies).
    u64 records_read() const { return records_read_; }
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
    std::vector<Read*> reads_;  // every Read, in flight or free, for the destructor
    u64 records_read_ = 0;

    std::string name_;
    std::string directory_;
    std::unique_ptr<io::SegmentStorage> segments_;  // on disk; null when injected
    persist::Storage* storage_ = nullptr;           // segments_, or the injected one
    std::unique_ptr<persist::Journal> journal_;
    u64 durable_seen_ = 0;  // durable_sequence() at the last poll
};

}  // namespace lepus::server
