#include "net/server/disk_journal.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/base/assert.h"
#include "core/base/log.h"

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

persist::Journal::RecoveryReport DiskJournal::recover(const persist::Journal::Visitor& visit) {
    persist::Journal::RecoveryReport report = journal_->recover(visit);
    if (report.error != 0) {
        LEPUS_LOG(error, "%s journal in %s cannot be read: %s", name_.c_str(), directory_.c_str(),
                  std::strerror(-report.error));
    } else if (report.torn_tail || report.corrupt_records_skipped > 0 ||
               !report.missing_segments.empty()) {
        LEPUS_LOG(warning, "%s journal recovered with damage: %s", name_.c_str(),
                  report.summary().c_str());
    }
    return report;
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
        read->buffer = static_cast<char*>(std::aligned_alloc(4096, length));
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
        payload = std::string_view(
            read->buffer + persist::Journal::read_payload_offset(read->location),
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
    return core::RecordAppended{a.sequence,
                                core::RecordPlace{a.location.segment, a.location.offset,
                                                  a.location.length}};
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
    LEPUS_LOG(error,
              "%s journal write in %s failed: %s. Stopping now: what reached the disk is "
              "decided by recovery at the next start",
              name_.c_str(), directory_.c_str(), std::strerror(-journal_->failure()));
    _exit(75);
}

}  // namespace lepus::server
