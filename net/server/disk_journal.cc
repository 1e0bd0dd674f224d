#include "net/server/disk_journal.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/base/assert.h"
#include "core/base/log.h"
#include "persist/record.h"

namespace lepus::server {

std::string DiskJournal::open(const std::string& directory, int wake_fd,
                              const persist::JournalOptions& options) {
    directory_ = directory;
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    if (ec) return "cannot create journal directory '" + directory + "': " + ec.message();
    std::string error = storage_.init(directory, wake_fd);
    if (!error.empty()) return "journal '" + directory + "': " + error;
    journal_ = std::make_unique<persist::Journal>(storage_, options);
    return {};
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
    for (Read* read : free_reads_) {
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
    u64 before = journal_->durable_sequence();
    storage_.poll();
    if (journal_->failed()) fail_stop();
    return journal_->durable_sequence() != before;
}

void DiskJournal::flush() {
    journal_->flush();
    if (journal_->failed()) fail_stop();
}

void DiskJournal::drain() {
    while (journal_->busy()) {
        journal_->flush();
        storage_.wait();
        storage_.poll();
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
