#include "net/server/disk_journal.h"

#include <unistd.h>

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
