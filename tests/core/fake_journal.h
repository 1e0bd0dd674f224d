#pragma once
// A JournalSink for tests: records are kept in memory, a segment holds a fixed number of
// records, writes become durable only when the test says so, and segment references are
// counted so a test can check that everything retained is released. For tests only.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/journal_sink.h"

namespace lepus::test_support {

class FakeJournal final : public core::JournalSink {
public:
    struct Record {
        u8 kind;
        u64 sequence;
        core::RecordPlace place;
        std::string payload;
    };

    explicit FakeJournal(u32 records_per_segment = 4) : per_segment_(records_per_segment) {}

    core::RecordAppended append(u8 kind, std::span<const std::string_view> parts) override {
        Record r;
        r.kind = kind;
        r.sequence = ++last_;
        for (std::string_view part : parts) r.payload.append(part);
        r.place.segment = 1 + (r.sequence - 1) / per_segment_;
        r.place.offset = static_cast<u32>((r.sequence - 1) % per_segment_);
        r.place.length = static_cast<u32>(r.payload.size());
        records_.push_back(r);
        return {r.sequence, r.place};
    }
    u64 durable_sequence() const override { return durable_; }
    void read(const core::RecordPlace& place, u64 token, core::RecordReader& reader) override {
        reads_.push_back(Read{place, token, &reader});
    }
    // Answers every read asked so far (`fail`: as a failed read); returns how many.
    usize complete_reads(bool fail = false) {
        std::vector<Read> reads;
        std::swap(reads, reads_);
        for (const Read& r : reads) {
            const Record* found = nullptr;
            for (const Record& record : records_) {
                if (record.place.segment == r.place.segment &&
                    record.place.offset == r.place.offset) {
                    found = &record;
                }
            }
            EXPECT_NE(found, nullptr) << "a read of a record that is not there";
            EXPECT_LE(found ? found->sequence : 0, durable_) << "a read before the disk";
            r.reader->record_read(r.token, found ? found->payload : std::string_view{},
                                  found != nullptr && !fail);
        }
        return reads.size();
    }
    usize reads_pending() const { return reads_.size(); }
    void retain(u64 segment) override { live_[segment]++; }
    void release(u64 segment) override {
        EXPECT_GT(live_[segment], 0u) << "segment " << segment << " released more than retained";
        live_[segment]--;
    }
    void depend(u64 later, u64 earlier) override {
        EXPECT_GT(later, earlier) << "a cancelling record precedes what it cancels";
        dependencies_.insert({later, earlier});
    }

    // Everything appended so far is on disk.
    void complete() { durable_ = last_; }
    // A crash and restart: what was not durable is gone, and reference counts start again
    // (recovery rebuilds them).
    void crash() {
        while (!records_.empty() && records_.back().sequence > durable_) records_.pop_back();
        last_ = durable_;
        live_.clear();
        dependencies_.clear();
    }
    const std::vector<Record>& records() const { return records_; }
    std::vector<Record> records_of(u8 kind) const {
        std::vector<Record> out;
        for (const Record& r : records_) {
            if (r.kind == kind) out.push_back(r);
        }
        return out;
    }
    u64 live_references() const {
        u64 total = 0;
        for (const auto& [segment, count] : live_) total += count;
        return total;
    }
    u64 live(u64 segment) const {
        auto it = live_.find(segment);
        return it == live_.end() ? 0 : it->second;
    }
    const std::set<std::pair<u64, u64>>& dependencies() const { return dependencies_; }

private:
    struct Read {
        core::RecordPlace place;
        u64 token;
        core::RecordReader* reader;
    };
    std::vector<Read> reads_;
    u32 per_segment_;
    u64 last_ = 0;
    u64 durable_ = 0;
    std::vector<Record> records_;
    std::map<u64, u64> live_;
    std::set<std::pair<u64, u64>> dependencies_;
};

}  // namespace lepus::test_support
