#include "net/server/disk_journal.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/base/assert.h"
#include "core/base/limits.h"
#include "core/base/log.h"
#include "persist/record.h"

namespace lepus::server {

std::string DiskJournal::open(const std::string& directory,
                              const persist::JournalOptions& options) {
    directory_ = directory;
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    if (ec) return "cannot create journal directory '" + directory + "': " + ec.message();
    // What this journal can have on the ring at once: its writes, and the page-in reads the
    // broker keeps in flight (core bounds them by limits::shard_reads_in_flight_max).
    u32 operations_max = options.writes_in_flight_max + limits::shard_reads_in_flight_max;
    auto segments = std::make_unique<io::SegmentStorage>();
    std::string error = segments->open(directory, operations_max);
    if (!error.empty()) return "journal '" + directory + "': " + error;
    segments_ = std::move(segments);
    open(*segments_, options);
    return {};
}

void DiskJournal::open(persist::Storage& storage, const persist::JournalOptions& options) {
    LEPUS_ASSERT(journal_ == nullptr);
    storage_ = &storage;
    journal_ = std::make_unique<persist::Journal>(storage, options);
}

void DiskJournal::bind(io::Ring& ring) {
    LEPUS_ASSERT_MSG(segments_ != nullptr, "only a journal on disk runs on a ring");
    segments_->bind(ring);
}

StartError DiskJournal::recover(const persist::Journal::Visitor& visit) {
    persist::Journal::RecoveryReport report = journal_->recover(visit);
    if (report.space_needed != 0) {
        std::string data_dir = std::filesystem::path(directory_).parent_path().string();
        return StartError(
            "not enough free space in data directory '" + data_dir + "' to start: the " + name_ +
                " journal (" + directory_ + ") needs " + std::to_string(report.space_needed) +
                " bytes free and the file system has " + std::to_string(report.space_free) +
                "; free some space there and start again",
            ExitCode::no_space);
    }
    durable_seen_ = journal_->durable_sequence();
    if (report.error != 0) {
        return "cannot read the " + name_ + " journal in " + directory_ + ": " +
               std::strerror(-report.error);
    }
    if (report.torn_tail || report.corrupt_records_skipped > 0 ||
        !report.missing_segments.empty()) {
        LEPUS_LOG(warning, "%s journal recovered with damage: %s", name_.c_str(),
                  report.summary().c_str());
    }
    return {};
}

DiskJournal::~DiskJournal() {
    // A read still in flight belongs to the storage until its completion runs (the kernel may
    // yet write its buffer): it is left alone. This happens only when a shard stops with reads
    // outstanding, as the process ends.
    for (Read* read : reads_) {
        if (read->completion.in_flight) continue;
        std::free(read->buffer);
        delete read;
    }
}

void DiskJournal::read(const core::RecordPlace& place, u64 token, core::RecordReader& reader) {
    Read* read;
    if (free_reads_.empty()) {
        read = new Read;
        read->journal = this;
        read->completion.callback = &DiskJournal::read_done;
        read->completion.owner = read;
        reads_.push_back(read);
    } else {
        read = free_reads_.back();
        free_reads_.pop_back();
    }
    read->location = persist::Location{place.segment, place.offset, place.length};
    read->token = token;
    read->reader = &reader;
    u32 length = persist::Journal::read_length(read->location);
    if (read->capacity < length) {
        std::free(read->buffer);
        read->buffer = static_cast<char*>(std::aligned_alloc(persist::block_size, length));
        LEPUS_ASSERT(read->buffer != nullptr);
        read->capacity = length;
    }
    journal_->read(read->location, read->buffer, read->completion);
}

void DiskJournal::read_done(persist::IoCompletion& completion, i32 result) {
    Read* read = static_cast<Read*>(completion.owner);
    u32 length = persist::Journal::read_length(read->location);
    bool ok = result == static_cast<i32>(length) &&
              persist::Journal::read_check(read->location, read->buffer);
    std::string_view payload;
    if (ok) {
        payload =
            std::string_view(read->buffer + persist::Journal::read_payload_offset(read->location),
                             read->location.length);
    } else {
        LEPUS_LOG(error, "%s journal: reading segment %llu at %u failed: %s",
                  read->journal->name_.c_str(), (unsigned long long)read->location.segment,
                  read->location.offset, result < 0 ? std::strerror(-result) : "bad record");
    }
    read->journal->records_read_++;
    // The payload lives in this read's buffer: it goes back to the free list only after.
    read->reader->record_read(read->token, payload, ok);
    read->journal->free_reads_.push_back(read);
}

core::RecordAppended DiskJournal::append(u8 kind, std::span<const std::string_view> parts) {
    persist::Appended a = journal_->append(kind, parts);
    if (a.sequence == 0) fail_stop();
    return core::RecordAppended{
        a.sequence, core::RecordPlace{a.location.segment, a.location.offset, a.location.length}};
}

bool DiskJournal::poll() {
    storage_->poll();
    if (journal_->failed()) fail_stop();
    u64 durable = journal_->durable_sequence();
    bool moved = durable != durable_seen_;
    durable_seen_ = durable;
    return moved;
}

void DiskJournal::flush() {
    journal_->flush();
    if (journal_->failed()) fail_stop();
}

void DiskJournal::drain() {
    while (journal_->busy()) {
        journal_->flush();
        storage_->wait();
        storage_->poll();
        if (journal_->failed()) fail_stop();
    }
}

void DiskJournal::fail_stop() {
    std::string space;
    if (journal_->space_needed() != 0) {
        space = " (a segment of " + std::to_string(journal_->space_needed()) + " bytes needed, " +
                std::to_string(journal_->space_free()) + " free)";
    }
    LEPUS_LOG(error,
              "%s journal write in %s failed: %s%s. Stopping now: what reached the disk is "
              "decided by recovery at the next start",
              name_.c_str(), directory_.c_str(), std::strerror(-journal_->failure()),
              space.c_str());
    _exit(exit_status(ExitCode::journal_failed));
}

}  // namespace lepus::server
