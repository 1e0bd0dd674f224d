// Space reclamation: retain/release counts, dependencies between segments, the spare.
#include <gtest/gtest.h>

#include "tests/persist/journal_test_util.h"

namespace lepus::persist {
namespace {

using testing::payload_for;
using testing::recover_all;
using testing::settle;
using testing::small_options;

// Appends unretained filler until the active segment is `segment`.
void fill_until(Journal& journal, MemoryStorage& storage, u64 segment) {
    for (u64 i = 0; journal.active_segment() < segment; i++) {
        journal.append(1, payload_for(i, 2000));
    }
    settle(journal, storage);
}

TEST(Reclaim, ReleasedSegmentIsDeletedAndRecycledAsTheSpare) {
    MemoryStorage storage;
    Journal journal(storage, small_options());
    recover_all(journal);
    Appended kept = journal.append(1, "live");
    journal.retain(kept.location.segment);
    fill_until(journal, storage, 3);
    EXPECT_TRUE(journal.segment_present(1));   // retained
    EXPECT_FALSE(journal.segment_present(2));  // nothing retained it
    journal.release(kept.location.segment);
    settle(journal, storage);  // the deletion record becomes durable, then the segment goes
    EXPECT_FALSE(journal.segment_present(1));
    EXPECT_EQ(journal.stats().segments_deleted, 2u);
    // The spare is a recycled segment, not a new one.
    EXPECT_EQ(journal.spare_segment(), journal.active_segment() + 1);
    for (u64 number : storage.list_segments()) EXPECT_GE(number, journal.active_segment());
}

TEST(Reclaim, ActiveSegmentIsNeverDeleted) {
    MemoryStorage storage;
    Journal journal(storage, small_options());
    recover_all(journal);
    journal.append(1, "not retained");
    settle(journal, storage);
    EXPECT_TRUE(journal.segment_present(1));
}

TEST(Reclaim, SegmentIsKeptUntilItsRecordsAreDurable) {
    MemoryStorage storage;
    Journal journal(storage, small_options());
    recover_all(journal);
    fill_until(journal, storage, 2);
    Appended last = journal.append(1, "in segment 2");
    EXPECT_EQ(last.location.segment, 2u);
    // Segment 1 was durable before: gone. Now write segment 2's tail, rotate, and hold it.
    journal.flush();
    storage.set_completion_delay_polls(1000);
    for (u64 i = 0; journal.active_segment() < 3; i++) journal.append(1, payload_for(i, 2000));
    journal.flush();
    storage.poll();
    EXPECT_TRUE(journal.segment_present(2));  // not yet durable
    storage.set_completion_delay_polls(0);
    storage.wait();
    settle(journal, storage);
    EXPECT_FALSE(journal.segment_present(2));
}

TEST(Reclaim, LaterSegmentOutlivesTheEarlierItDependsOn) {
    MemoryStorage storage;
    Journal journal(storage, small_options());
    recover_all(journal);
    Appended message = journal.append(1, "message");
    journal.retain(message.location.segment);
    fill_until(journal, storage, 2);
    Appended ack = journal.append(2, "ack of message");
    journal.depend(ack.location.segment, message.location.segment);
    fill_until(journal, storage, 3);
    // Segment 2 holds nothing live, but its ack cancels a record in segment 1.
    EXPECT_TRUE(journal.segment_present(1));
    EXPECT_TRUE(journal.segment_present(2));
    journal.release(message.location.segment);
    settle(journal, storage);
    settle(journal, storage);
    EXPECT_FALSE(journal.segment_present(1));
    EXPECT_FALSE(journal.segment_present(2));
}

TEST(Reclaim, RecoveryKeepsWhatTheVisitorRetainsAndDeletesTheRest) {
    MemoryStorage storage;
    u64 kept_segment = 0;
    {
        Journal journal(storage, small_options());
        recover_all(journal);
        for (u64 segment = 1; segment <= 3; segment++) {
            Appended appended = journal.append(1, "record " + std::to_string(segment));
            journal.retain(appended.location.segment);
            if (segment == 2) kept_segment = appended.location.segment;
            fill_until(journal, storage, segment + 1);
        }
        EXPECT_TRUE(journal.segment_present(1) && journal.segment_present(2));
    }
    Journal journal(storage, small_options());
    journal.recover([&](u8, u64, const Location& location, std::string_view payload) {
        if (payload == "record 2") journal.retain(location.segment);
    });
    settle(journal, storage);
    EXPECT_FALSE(journal.segment_present(1));
    EXPECT_TRUE(journal.segment_present(kept_segment));
    EXPECT_FALSE(journal.segment_present(3));
    EXPECT_TRUE(journal.segment_present(journal.active_segment()));
    // And a restart after that finds no hole where segments were deleted.
    journal.append(1, "after");
    settle(journal, storage);
    Journal again(storage, small_options());
    auto recovery = recover_all(again);
    EXPECT_TRUE(recovery.report.missing_segments.empty());
}

}  // namespace
}  // namespace lepus::persist
