// Recovery: one test per row of the decision table (journal_recovery.cc, FORMAT.md), then
// crashes at random points with torn and dropped writes.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "tests/persist/journal_test_util.h"

namespace lepus::persist {
namespace {

using testing::payload_for;
using testing::recover_all;
using testing::settle;
using testing::small_options;

// Writes `count` records, each in a write of its own (one block each), all retained, durable.
std::vector<Appended> write_records(MemoryStorage& storage, u64 count) {
    Journal journal(storage, small_options());
    recover_all(journal);
    std::vector<Appended> appended;
    for (u64 i = 1; i <= count; i++) {
        appended.push_back(journal.append(1, payload_for(i, 100)));
        journal.retain(appended.back().location.segment);
        settle(journal, storage);
    }
    return appended;
}

std::vector<u64> sequences(const testing::Recovery& recovery) {
    std::vector<u64> result;
    for (const auto& record : recovery.records) result.push_back(record.sequence);
    return result;
}

// Row 1 and row 2: valid records are visited; the zero header after them ends the journal.
TEST(Recovery, Row1And2ValidRecordsThenZeroEnd) {
    MemoryStorage storage;
    write_records(storage, 10);
    Journal journal(storage, small_options());
    auto recovery = recover_all(journal);
    EXPECT_EQ(recovery.records.size(), 10u);
    EXPECT_FALSE(recovery.report.torn_tail);
    EXPECT_EQ(recovery.report.corrupt_records_skipped, 0u);
    EXPECT_EQ(journal.last_sequence(), 10u);
}

// Row 3: the last record is torn; recovery truncates and the journal writes over it.
TEST(Recovery, Row3TornTailIsTruncated) {
    MemoryStorage storage;
    auto appended = write_records(storage, 10);
    storage.corrupt(1, appended[9].location.offset + 50);
    {
        Journal journal(storage, small_options());
        auto recovery = recover_all(journal);
        EXPECT_EQ(recovery.records.size(), 9u);
        EXPECT_TRUE(recovery.report.torn_tail);
        EXPECT_EQ(recovery.report.corrupt_records_skipped, 0u);
        Appended next = journal.append(1, "after the tear");
        EXPECT_EQ(next.sequence, 10u);
        EXPECT_EQ(next.location.offset, appended[9].location.offset);  // the torn one's block
        journal.retain(next.location.segment);
        settle(journal, storage);
    }
    Journal journal(storage, small_options());
    auto recovery = recover_all(journal);
    ASSERT_EQ(recovery.records.size(), 10u);
    EXPECT_EQ(recovery.records[9].payload, "after the tear");
    EXPECT_FALSE(recovery.report.torn_tail);
}

// Row 2: a header at the segment's end that is not the expected next sequence ends the data.
TEST(Recovery, Row2HeaderThatIsNotTheNextEndsTheData) {
    MemoryStorage storage;
    auto appended = write_records(storage, 3);
    std::string& image = storage.image(1);
    // A header naming sequence 4 in the last 24 bytes of the segment, its payload cut off.
    std::string header(record_header_size + 8, '\0');
    record_seal(header.data(), 1, 4, 8);
    storage.poke(1, image.size() - record_header_size, header.substr(0, record_header_size));
    Journal journal(storage, small_options());
    auto recovery = recover_all(journal);
    EXPECT_EQ(recovery.records.size(), 3u);
    EXPECT_FALSE(recovery.report.torn_tail);  // not a continuation of the chain: row 2
}

// Row 4: a corrupt record in the middle is skipped and counted; the rest is visited.
TEST(Recovery, Row4CorruptInTheMiddleIsSkipped) {
    MemoryStorage storage;
    auto appended = write_records(storage, 10);
    storage.corrupt(1, appended[4].location.offset + 3);  // record 5's payload
    Journal journal(storage, small_options());
    auto recovery = recover_all(journal);
    EXPECT_EQ(sequences(recovery), (std::vector<u64>{1, 2, 3, 4, 6, 7, 8, 9, 10}));
    EXPECT_EQ(recovery.report.corrupt_records_skipped, 1u);
    EXPECT_FALSE(recovery.report.torn_tail);
    EXPECT_EQ(journal.last_sequence(), 10u);
}

// Row 4 with a damaged header: the sequence field itself is hit.
TEST(Recovery, Row4DamagedHeaderIsSkipped) {
    MemoryStorage storage;
    auto appended = write_records(storage, 6);
    storage.corrupt(1, appended[2].location.offset - record_header_size + 9);
    Journal journal(storage, small_options());
    auto recovery = recover_all(journal);
    EXPECT_EQ(sequences(recovery), (std::vector<u64>{1, 2, 4, 5, 6}));
    EXPECT_EQ(recovery.report.corrupt_records_skipped, 1u);
}

// A whole record with a good checksum but a journal kind no writer produces (or the deletion
// kind with the wrong size) is counted as corrupt and skipped; recovery goes on past it.
TEST(Recovery, UnknownJournalKindIsSkippedAsCorrupt) {
    MemoryStorage storage;
    auto appended = write_records(storage, 6);
    for (u64 index : {2u, 4u}) {
        u64 header_at = appended[index].location.offset - record_header_size;
        // The whole record as written: header, payload and the padding to its alignment.
        std::string record = storage.image(1).substr(header_at, record_size(100));
        u8 kind = index == 2 ? u8{0xF7} : record_kind_segment_deleted;  // 100 bytes, not 8
        record_seal(record.data(), kind, index + 1, 100);
        storage.poke(1, header_at, record);
    }
    Journal journal(storage, small_options());
    auto recovery = recover_all(journal);
    EXPECT_EQ(sequences(recovery), (std::vector<u64>{1, 2, 4, 6}));
    EXPECT_EQ(recovery.report.corrupt_records_skipped, 2u);
    EXPECT_FALSE(recovery.report.torn_tail);
    EXPECT_EQ(journal.last_sequence(), 6u);
}

// Row 5: a segment that vanished without a deletion record is reported; the rest is read.
TEST(Recovery, Row5MissingSegmentIsReported) {
    MemoryStorage storage;
    {
        Journal journal(storage, small_options());
        recover_all(journal);
        for (u64 i = 1; i <= 150; i++) {
            journal.retain(journal.append(1, payload_for(i, 1500)).location.segment);
        }
        settle(journal, storage);
        ASSERT_GE(journal.active_segment(), 4u);
    }
    ASSERT_EQ(storage.remove_segment(2), 0);
    Journal journal(storage, small_options());
    auto recovery = recover_all(journal);
    EXPECT_EQ(recovery.report.missing_segments, (std::vector<u64>{2}));
    EXPECT_GT(recovery.records.size(), 50u);
    EXPECT_LT(recovery.records.size(), 150u);
    EXPECT_EQ(recovery.records.back().sequence, 150u);
    EXPECT_EQ(recovery.report.corrupt_records_skipped, 0u);
}

// Row 6: a valid record whose sequence is not the next (stale bytes of a recycled segment)
// ends the data.
TEST(Recovery, Row6StaleRecordEndsTheData) {
    MemoryStorage storage;
    write_records(storage, 5);
    std::string stale(record_size(10), '\0');
    std::memcpy(stale.data() + record_header_size, "stale data", 10);
    record_seal(stale.data(), 1, 3, 10);  // an old sequence, valid checksum
    storage.poke(1, 5 * block_size, stale);
    Journal journal(storage, small_options());
    auto recovery = recover_all(journal);
    EXPECT_EQ(recovery.records.size(), 5u);
    EXPECT_FALSE(recovery.report.torn_tail);
    EXPECT_EQ(recovery.report.corrupt_records_skipped, 0u);
    // Writing resumes right after record 5, over the stale bytes.
    EXPECT_EQ(journal.append(1, "x").location.offset, 5 * block_size + record_header_size);
}

// A segment deleted by reclamation is not reported missing: its deletion was recorded.
TEST(Recovery, DeletedSegmentIsNotMissing) {
    MemoryStorage storage;
    {
        Journal journal(storage, small_options());
        recover_all(journal);
        Appended first = journal.append(1, "kept in segment 1");
        journal.retain(first.location.segment);
        for (u64 i = 1; i <= 150; i++) journal.append(1, payload_for(i, 1500));  // not retained
        settle(journal, storage);
        EXPECT_TRUE(journal.segment_present(1));
        EXPECT_FALSE(journal.segment_present(2));
    }
    Journal journal(storage, small_options());
    u64 visited_first = 0;
    auto report =
        journal.recover([&](u8, u64 sequence, const Location& location, std::string_view) {
            if (sequence == 1) {
                visited_first = sequence;
                journal.retain(location.segment);
            }
        });
    EXPECT_EQ(visited_first, 1u);
    EXPECT_TRUE(report.missing_segments.empty());
    EXPECT_TRUE(journal.segment_present(1));
}

// After a crash at any point, every record that was durable is recovered intact, in order,
// and the journal goes on from there through a second crash.
TEST(Recovery, CrashesLoseNothingDurable) {
    for (u64 seed = 0; seed < 200; seed++) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        std::mt19937_64 rng(seed);
        MemoryStorage storage;
        storage.set_reorder(seed);
        std::map<u64, std::string> durable;  // what recovery must bring back
        std::map<u64, std::string> written;  // everything appended, by sequence
        for (int round = 0; round < 2; round++) {
            {
                Journal journal(storage, small_options());
                // Retained as they are visited, as an owner must: recovery removes at once
                // the oldest segments nothing retains.
                testing::Recovery recovery;
                recovery.report = journal.recover(
                    [&](u8 kind, u64 sequence, const Location& location, std::string_view payload) {
                        journal.retain(location.segment);
                        recovery.records.push_back(
                            testing::Visited{kind, sequence, location, std::string(payload)});
                    });
                u64 previous = 0;
                for (const auto& record : recovery.records) {
                    ASSERT_GT(record.sequence, previous);
                    previous = record.sequence;
                    ASSERT_EQ(record.payload, written[record.sequence]);
                }
                std::map<u64, std::string> seen;
                for (const auto& record : recovery.records) seen[record.sequence] = record.payload;
                for (const auto& [sequence, payload] : durable) {
                    ASSERT_TRUE(seen.contains(sequence)) << "lost durable " << sequence;
                }
                durable = seen;  // recovered records are durable
                written = seen;
                int steps = static_cast<int>(rng() % 60);
                for (int step = 0; step < steps; step++) {
                    u32 records = static_cast<u32>(rng() % 5);
                    for (u32 r = 0; r < records; r++) {
                        usize length = rng() % 4 == 0 ? rng() % 9000 : rng() % 300;
                        u64 sequence = journal.last_sequence() + 1;
                        std::string payload = payload_for(sequence * 7 + seed, length);
                        Appended appended = journal.append(1, payload);
                        ASSERT_EQ(appended.sequence, sequence);
                        journal.retain(appended.location.segment);
                        written[sequence] = payload;
                    }
                    journal.flush();
                    if (rng() % 2 == 0) storage.poll();
                }
                for (const auto& [sequence, payload] : written) {
                    if (sequence <= journal.durable_sequence()) durable[sequence] = payload;
                }
                storage.crash(seed * 31 + static_cast<u64>(round));
            }
        }
    }
}

}  // namespace
}  // namespace lepus::persist
