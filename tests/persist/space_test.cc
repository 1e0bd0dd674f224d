// Running out of space: on a nearly full disk the journal writes into the room there is, stops
// saying how many bytes it needed when there is none, and starts again once a write's worth is
// free, without losing a durable record. MemoryStorage's capacity is the small disk.
#include <gtest/gtest.h>

#include <cerrno>
#include <map>

#include "tests/persist/journal_test_util.h"

namespace lepus::persist {
namespace {

using testing::payload_for;
using testing::recover_all;
using testing::settle;
using testing::small_options;

constexpr u64 segment_bytes = 64 * 1024;  // small_options()
constexpr u64 write_bytes = 8 * 1024;

// Appends retained records, each written on its own (one block), until the journal stops.
// Returns the durable ones by sequence.
std::map<u64, std::string> fill_until_full(Journal& journal, MemoryStorage& storage) {
    std::map<u64, std::string> written;
    for (int i = 0; i < 10000 && !journal.failed(); i++) {
        std::string payload = payload_for(journal.last_sequence() + 1, 1500);
        Appended appended = journal.append(1, payload);
        if (appended.sequence == 0) break;
        journal.retain(appended.location.segment);
        written[appended.sequence] = payload;
        settle(journal, storage);
    }
    std::map<u64, std::string> durable;
    for (const auto& [sequence, payload] : written) {
        if (sequence <= journal.durable_sequence()) durable[sequence] = payload;
    }
    return durable;
}

// A recovery whose visitor retains every record, as the broker does with unsettled messages.
testing::Recovery recover_retaining(Journal& journal) {
    testing::Recovery recovery;
    recovery.report = journal.recover(
        [&](u8 kind, u64 sequence, const Location& location, std::string_view payload) {
            journal.retain(location.segment);
            recovery.records.push_back(
                testing::Visited{kind, sequence, location, std::string(payload)});
        });
    return recovery;
}

std::map<u64, std::string> payloads(const testing::Recovery& recovery) {
    std::map<u64, std::string> result;
    for (const auto& record : recovery.records) result[record.sequence] = record.payload;
    return result;
}

TEST(Space, RotationTakesTheRoomLeftWhenASegmentDoesNotFit) {
    MemoryStorage storage;
    storage.set_capacity(2 * segment_bytes + 40 * 1024);  // segment 1, its spare, 40 KiB
    Journal journal(storage, small_options());
    recover_all(journal);
    fill_until_full(journal, storage);
    EXPECT_EQ(storage.segment_size(3), 40u * 1024);
    EXPECT_GE(journal.last_sequence(), 2 * segment_bytes / block_size + 40 * 1024 / block_size);
}

TEST(Space, WithNoRoomLeftTheJournalStopsAndSaysWhatItNeeded) {
    MemoryStorage storage;
    storage.set_capacity(2 * segment_bytes + 40 * 1024);
    Journal journal(storage, small_options());
    recover_all(journal);
    fill_until_full(journal, storage);
    EXPECT_TRUE(journal.failed());
    EXPECT_EQ(journal.failure(), -ENOSPC);
    EXPECT_EQ(journal.space_needed(), block_size);  // one record of 1500 bytes: one block
    EXPECT_EQ(journal.space_free(), 0u);
    EXPECT_EQ(storage.list_segments(), (std::vector<u64>{1, 2, 3}));
}

TEST(Space, AfterADiskFullStopStartingNeedsRoomForOneWriteOnly) {
    MemoryStorage storage;
    u64 capacity = 2 * segment_bytes + 40 * 1024;
    storage.set_capacity(capacity);
    std::map<u64, std::string> durable;
    {
        Journal journal(storage, small_options());
        recover_all(journal);
        durable = fill_until_full(journal, storage);
        ASSERT_TRUE(journal.failed());
    }
    {
        // Segment 3 is full to its last block: not one write fits anywhere.
        Journal journal(storage, small_options());
        auto recovery = recover_retaining(journal);
        EXPECT_EQ(recovery.report.error, -ENOSPC);
        EXPECT_EQ(recovery.report.space_needed, write_bytes);
        EXPECT_EQ(recovery.report.space_free, 0u);
        EXPECT_EQ(storage.list_segments(), (std::vector<u64>{1, 2, 3}));
    }
    storage.set_capacity(capacity + write_bytes);  // a write's worth is freed
    Journal journal(storage, small_options());
    auto recovery = recover_retaining(journal);
    ASSERT_EQ(recovery.report.error, 0);
    EXPECT_EQ(payloads(recovery), durable);
    EXPECT_EQ(journal.spare_segment(), 4u);
    EXPECT_EQ(storage.segment_size(4), write_bytes);
    // The owner can write again (an acknowledgement, say): into the small spare.
    for (u64 i = 0; i < write_bytes / block_size; i++) {
        Appended appended = journal.append(1, payload_for(i, 1500));
        ASSERT_NE(appended.sequence, 0u);
        EXPECT_EQ(appended.location.segment, 4u);
        journal.retain(appended.location.segment);
        settle(journal, storage);
    }
    EXPECT_FALSE(journal.failed());
    Journal again(storage, small_options());
    auto after = recover_all(again);
    EXPECT_EQ(after.records.size(), durable.size() + write_bytes / block_size);
}

TEST(Space, StartingRemovesTheOldestSegmentsNothingRetainsFirst) {
    MemoryStorage storage;
    storage.set_capacity(3 * segment_bytes);
    {
        Journal journal(storage, small_options());
        recover_all(journal);
        fill_until_full(journal, storage);
        ASSERT_EQ(storage.list_segments(), (std::vector<u64>{1, 2, 3}));
    }
    // Segments 1 and 2 were settled meanwhile: the owner keeps only what is in segment 3.
    Journal journal(storage, small_options());
    auto report = journal.recover([&](u8, u64, const Location& location, std::string_view) {
        if (location.segment == 3) journal.retain(location.segment);
    });
    ASSERT_EQ(report.error, 0);
    EXPECT_EQ(journal.active_segment(), 3u);
    EXPECT_EQ(journal.spare_segment(), 4u);  // segment 1, renamed: no zero-fill needed
    EXPECT_EQ(storage.list_segments(), (std::vector<u64>{3, 4}));
    journal.retain(journal.append(1, "after").location.segment);
    settle(journal, storage);
    Journal again(storage, small_options());
    auto recovery = recover_all(again);
    EXPECT_EQ(recovery.report.error, 0);
    EXPECT_TRUE(recovery.report.missing_segments.empty());
    EXPECT_EQ(recovery.records.back().payload, "after");
}

TEST(Space, ANewJournalOnASmallDiskTakesTheSegmentThatFits) {
    MemoryStorage storage;
    storage.set_capacity(40 * 1024);
    Journal journal(storage, small_options());
    auto recovery = recover_all(journal);
    ASSERT_EQ(recovery.report.error, 0);
    EXPECT_EQ(storage.list_segments(), std::vector<u64>{1});
    EXPECT_EQ(storage.segment_size(1), 40u * 1024);
    EXPECT_EQ(journal.spare_segment(), 0u);  // the segment itself has room for a write
    journal.append(1, "fits");
    settle(journal, storage);
    EXPECT_EQ(journal.durable_sequence(), 1u);
}

TEST(Space, ANewJournalWithoutRoomForOneWriteDoesNotStart) {
    MemoryStorage storage;
    storage.set_capacity(block_size);
    Journal journal(storage, small_options());
    auto recovery = recover_all(journal);
    EXPECT_EQ(recovery.report.error, -ENOSPC);
    EXPECT_EQ(recovery.report.space_needed, write_bytes);
    EXPECT_EQ(recovery.report.space_free, block_size);
    EXPECT_TRUE(storage.list_segments().empty());
}

}  // namespace
}  // namespace lepus::persist
