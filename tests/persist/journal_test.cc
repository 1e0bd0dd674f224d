#include "persist/journal.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "tests/persist/journal_test_util.h"

namespace lepus::persist {
namespace {

using testing::payload_for;
using testing::recover_all;
using testing::settle;
using testing::small_options;

TEST(Journal, EmptyStorageStartsSegmentOneWithASpare) {
    MemoryStorage storage;
    Journal journal(storage, small_options());
    auto recovery = recover_all(journal);
    EXPECT_EQ(recovery.report.records, 0u);
    EXPECT_EQ(journal.active_segment(), 1u);
    EXPECT_EQ(journal.spare_segment(), 2u);
    EXPECT_EQ(storage.list_segments(), (std::vector<u64>{1, 2}));
    EXPECT_FALSE(journal.busy());
}

TEST(Journal, AppendFlushCompleteAndRecover) {
    MemoryStorage storage;
    {
        Journal journal(storage, small_options());
        recover_all(journal);
        std::string_view parts[] = {"hel", "lo"};
        Appended first = journal.append(1, parts);
        Appended second = journal.append(2, "world");
        EXPECT_EQ(first.sequence, 1u);
        EXPECT_EQ(second.sequence, 2u);
        EXPECT_EQ(first.location.segment, 1u);
        EXPECT_EQ(first.location.offset, record_header_size);
        EXPECT_EQ(first.location.length, 5u);
        EXPECT_EQ(second.location.offset, record_size(5) + record_header_size);
        EXPECT_EQ(journal.durable_sequence(), 0u);
        EXPECT_TRUE(journal.busy());
        journal.flush();
        EXPECT_EQ(journal.durable_sequence(), 0u);  // submitted, not complete
        storage.poll();
        EXPECT_EQ(journal.durable_sequence(), 2u);
        EXPECT_FALSE(journal.busy());
        EXPECT_EQ(journal.stats().writes, 1u);
        EXPECT_EQ(journal.stats().bytes_written, block_size);
    }
    Journal again(storage, small_options());
    auto recovery = recover_all(again);
    ASSERT_EQ(recovery.records.size(), 2u);
    EXPECT_EQ(recovery.records[0].payload, "hello");
    EXPECT_EQ(recovery.records[0].kind, 1);
    EXPECT_EQ(recovery.records[1].payload, "world");
    EXPECT_EQ(recovery.records[1].location.offset, record_size(5) + record_header_size);
    EXPECT_EQ(again.last_sequence(), 2u);
    EXPECT_EQ(again.durable_sequence(), 2u);
    // Appends continue the sequence, in a fresh block.
    Appended next = again.append(1, "more");
    EXPECT_EQ(next.sequence, 3u);
    EXPECT_EQ(next.location.offset, block_size + record_header_size);
}

TEST(Journal, GroupCommitPacksManyAppendsIntoOneWrite) {
    MemoryStorage storage;
    Journal journal(storage, small_options());
    recover_all(journal);
    for (int i = 0; i < 100; i++) journal.append(1, "0123456789abcdef0123456789abcdef");
    journal.flush();
    EXPECT_EQ(storage.pending(), 1u);
    storage.poll();
    EXPECT_EQ(journal.durable_sequence(), 100u);
    EXPECT_EQ(journal.stats().writes, 1u);
}

TEST(Journal, DurableSequenceAdvancesOnlyOverAContiguousPrefix) {
    MemoryStorage storage;
    Journal journal(storage, small_options());
    recover_all(journal);
    journal.append(1, "first");
    journal.flush();
    journal.append(1, "second");
    journal.flush();
    ASSERT_EQ(storage.pending(), 2u);
    storage.complete(1);  // the second write finishes first
    EXPECT_EQ(journal.durable_sequence(), 0u);
    storage.complete(0);
    EXPECT_EQ(journal.durable_sequence(), 2u);
}

TEST(Journal, WritesInFlightAreBounded) {
    MemoryStorage storage;
    JournalOptions options = small_options();
    Journal journal(storage, options);
    recover_all(journal);
    std::string record(3000, 'x');
    for (int i = 0; i < 10; i++) journal.append(1, record);  // two records per 8 KiB write
    journal.flush();
    EXPECT_EQ(storage.pending(), options.writes_in_flight_max);
    journal.flush();  // nothing more while both are in flight
    EXPECT_EQ(storage.pending(), options.writes_in_flight_max);
    storage.poll();
    EXPECT_EQ(journal.durable_sequence(), 4u);
    settle(journal, storage);
    EXPECT_EQ(journal.durable_sequence(), 10u);
    EXPECT_EQ(journal.stats().writes, 5u);
}

TEST(Journal, BufferedRecordsKeepGrowingWhileWritesAreInFlight) {
    MemoryStorage storage;
    JournalOptions options = small_options();
    options.writes_in_flight_max = 1;
    Journal journal(storage, options);
    recover_all(journal);
    journal.append(1, "a");
    journal.flush();
    for (int i = 0; i < 20; i++) {
        journal.append(1, "b");
        journal.flush();  // the one slot is taken: these gather into one write
    }
    storage.poll();
    journal.flush();
    storage.poll();
    EXPECT_EQ(journal.durable_sequence(), 21u);
    EXPECT_EQ(journal.stats().writes, 2u);
}

TEST(Journal, LargeRecordIsItsOwnWrite) {
    MemoryStorage storage;
    Journal journal(storage, small_options());
    recover_all(journal);
    std::string big = payload_for(1, 20000);  // larger than write_size_max
    Appended appended = journal.append(3, big);
    settle(journal, storage);
    EXPECT_EQ(journal.durable_sequence(), appended.sequence);
    Journal again(storage, small_options());
    auto recovery = recover_all(again);
    ASSERT_EQ(recovery.records.size(), 1u);
    EXPECT_EQ(recovery.records[0].payload, big);
}

TEST(Journal, RecordLargerThanASegmentGetsALargerSegment) {
    MemoryStorage storage;
    Journal journal(storage, small_options());
    recover_all(journal);
    journal.retain(journal.append(1, "small").location.segment);
    std::string huge = payload_for(2, 100000);  // segments are 64 KiB
    Appended appended = journal.append(1, huge);
    journal.retain(appended.location.segment);
    EXPECT_EQ(appended.location.segment, 2u);
    settle(journal, storage);
    EXPECT_GE(storage.segment_size(2), 100000u);
    Journal again(storage, small_options());
    auto recovery = recover_all(again);
    ASSERT_EQ(recovery.records.size(), 2u);
    EXPECT_EQ(recovery.records[1].payload, huge);
}

TEST(Journal, RotatesSegmentsAndRecoversAcrossThem) {
    MemoryStorage storage;
    std::vector<Appended> appended;
    {
        Journal journal(storage, small_options());
        recover_all(journal);
        for (u64 i = 1; i <= 100; i++) {
            appended.push_back(journal.append(1, payload_for(i, 1500)));
            journal.retain(appended.back().location.segment);  // live: nothing is reclaimed
            if (i % 7 == 0) settle(journal, storage);
        }
        settle(journal, storage);
        EXPECT_GE(journal.active_segment(), 3u);
    }
    Journal again(storage, small_options());
    auto recovery = recover_all(again);
    ASSERT_EQ(recovery.records.size(), 100u);
    for (u64 i = 0; i < 100; i++) {
        EXPECT_EQ(recovery.records[i].sequence, i + 1);
        EXPECT_EQ(recovery.records[i].payload, payload_for(i + 1, 1500));
        EXPECT_EQ(recovery.records[i].location.segment, appended[i].location.segment);
        EXPECT_EQ(recovery.records[i].location.offset, appended[i].location.offset);
    }
    EXPECT_FALSE(recovery.report.torn_tail);
    EXPECT_TRUE(recovery.report.missing_segments.empty());
}

TEST(Journal, FailedWriteStopsTheJournal) {
    MemoryStorage storage;
    Journal journal(storage, small_options());
    recover_all(journal);
    journal.append(1, "durable");
    settle(journal, storage);
    storage.fail_next_writes(1, EIO);
    journal.append(1, "lost");
    journal.flush();
    storage.poll();
    EXPECT_TRUE(journal.failed());
    EXPECT_EQ(journal.failure(), -EIO);
    EXPECT_EQ(journal.durable_sequence(), 1u);
    EXPECT_EQ(journal.append(1, "refused").sequence, 0u);
}

TEST(Journal, ReadsARecordBack) {
    MemoryStorage storage;
    Journal journal(storage, small_options());
    recover_all(journal);
    journal.append(1, "padding the block a little");
    std::string body = payload_for(9, 6000);
    Appended appended = journal.append(2, body);
    settle(journal, storage);

    u32 length = Journal::read_length(appended.location);
    EXPECT_EQ(length % block_size, 0u);
    char* buffer = static_cast<char*>(std::aligned_alloc(block_size, length));
    struct Read {
        IoCompletion completion;
        i32 result = 0;
    } read;
    read.completion.owner = &read;
    read.completion.callback = [](IoCompletion& completion, i32 result) {
        static_cast<Read*>(completion.owner)->result = result;
    };
    journal.read(appended.location, buffer, read.completion);
    journal.flush();
    storage.poll();
    EXPECT_EQ(read.result, static_cast<i32>(length));
    EXPECT_TRUE(Journal::read_check(appended.location, buffer));
    EXPECT_EQ(std::string_view(buffer + Journal::read_payload_offset(appended.location),
                               appended.location.length),
              body);
    buffer[Journal::read_payload_offset(appended.location)] ^= 1;
    EXPECT_FALSE(Journal::read_check(appended.location, buffer));
    std::free(buffer);
}

}  // namespace
}  // namespace lepus::persist
