// The journal on real files: O_DIRECT writes on an io::Ring, as a shard runs them, in a
// temporary directory.
#include "net/io/segment_storage.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "tests/persist/journal_test_util.h"

namespace lepus::io {
namespace {

using persist::Appended;
using persist::block_size;
using persist::IoCompletion;
using persist::Journal;
using persist::JournalOptions;
using persist::Location;
using persist::testing::payload_for;
namespace testing = persist::testing;

// Operations a test journal may have in flight: its writes and a read.
constexpr u32 operations_max = 8;
constexpr u32 ring_entries = 64;

class SegmentStorageTest : public ::testing::Test {
protected:
    void SetUp() override {
        // On the build's file system, which takes O_DIRECT (tmpfs, often /tmp, does not): a
        // storage that cannot start is a failure here, never a skip.
        std::string pattern = std::string(LEPUS_SCRATCH_DIR) + "/lepus-journal-XXXXXX";
        ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern << ": " << std::strerror(errno);
        directory_ = pattern.c_str();
    }
    void TearDown() override { std::filesystem::remove_all(directory_); }

    static JournalOptions options() {
        JournalOptions result;
        result.segment_size = 512 * 1024;
        result.write_size_max = 64 * 1024;
        return result;
    }
    static void run_until_idle(Journal& journal, SegmentStorage& storage) {
        while (journal.busy()) {
            journal.flush();
            storage.wait();
        }
    }

    std::string directory_;
};

// Recovery reads synchronously, before the storage has a ring (as the server recovers the
// definitions journal before any shard runs); writes and reads then go on the ring it is bound
// to.
TEST_F(SegmentStorageTest, WriteDurablyReadBackAndRecover) {
    std::vector<Appended> appended;
    {
        SegmentStorage storage;
        std::string error = storage.open(directory_, operations_max);
        ASSERT_TRUE(error.empty()) << error;
        Journal journal(storage, options());
        testing::recover_all(journal);
        Ring ring;
        ASSERT_EQ(ring.init(ring_entries), 0);
        storage.bind(ring);
        for (u64 i = 1; i <= 300; i++) {
            appended.push_back(journal.append(1, payload_for(i, 1000 + i * 10)));
            journal.retain(appended.back().location.segment);
            if (i % 50 == 0) journal.flush();
        }
        run_until_idle(journal, storage);
        EXPECT_EQ(journal.durable_sequence(), 300u);
        EXPECT_GE(journal.active_segment(), 2u);  // rotated at least once
        EXPECT_FALSE(journal.failed());

        const Location& location = appended[123].location;
        u32 length = Journal::read_length(location);
        char* buffer = static_cast<char*>(std::aligned_alloc(block_size, length));
        struct Read {
            IoCompletion completion;
            i32 result = 0;
            bool done = false;
        } read;
        read.completion.owner = &read;
        read.completion.callback = [](IoCompletion& completion, i32 result) {
            auto& self = *static_cast<Read*>(completion.owner);
            self.result = result;
            self.done = true;
        };
        journal.read(location, buffer, read.completion);
        journal.flush();
        while (!read.done) storage.wait();
        EXPECT_EQ(read.result, static_cast<i32>(length));
        EXPECT_TRUE(Journal::read_check(location, buffer));
        EXPECT_EQ(
            std::string_view(buffer + Journal::read_payload_offset(location), location.length),
            payload_for(124, 1000 + 124 * 10));
        std::free(buffer);
        EXPECT_EQ(storage.in_flight(), 0u);
    }
    SegmentStorage storage;
    ASSERT_EQ(storage.open(directory_, operations_max), "");
    Journal journal(storage, options());
    auto recovery = testing::recover_all(journal);
    ASSERT_EQ(recovery.records.size(), 300u);
    for (u64 i = 0; i < 300; i++) {
        EXPECT_EQ(recovery.records[i].payload, payload_for(i + 1, 1000 + (i + 1) * 10));
    }
    EXPECT_FALSE(recovery.report.torn_tail);
}

// The storage neither submits nor reaps: a flushed write waits in the ring's submission queue
// for the ring owner's one submit of the turn, and its completion runs as the owner reaps, with
// both completions (the ring's and the journal's) in flight in between.
TEST_F(SegmentStorageTest, WritesGoOnTheRingItsOwnerSubmitsAndReaps) {
    SegmentStorage storage;
    std::string error = storage.open(directory_, operations_max);
    ASSERT_TRUE(error.empty()) << error;
    Journal journal(storage, options());
    testing::recover_all(journal);
    Ring ring;
    ASSERT_EQ(ring.init(ring_entries), 0);
    storage.bind(ring);

    Appended appended = journal.append(1, "on the shard's ring");
    journal.flush();
    EXPECT_EQ(io_uring_sq_ready(ring.raw()), 1u);  // prepared, not submitted
    EXPECT_EQ(storage.in_flight(), 1u);
    EXPECT_EQ(storage.poll(), 0u);  // nothing runs outside the ring's reaping
    EXPECT_EQ(journal.durable_sequence(), 0u);

    for (int turn = 0; turn < 100 && journal.durable_sequence() < appended.sequence; turn++) {
        ring.submit_and_wait(100);
        ring.run_completions(16);
    }
    EXPECT_EQ(journal.durable_sequence(), appended.sequence);
    EXPECT_EQ(storage.in_flight(), 0u);
    EXPECT_FALSE(journal.busy());
}

// A file size limit makes the creation fail part-way, as a full disk does, without needing a
// small file system: the kernel refuses (EFBIG) whatever would grow the file past the limit.
TEST_F(SegmentStorageTest, FailedCreationLeavesNoSegmentBehind) {
    SegmentStorage storage;  // creation is synchronous: no ring
    std::string error = storage.open(directory_, operations_max);
    ASSERT_TRUE(error.empty()) << error;
    ASSERT_EQ(storage.create_segment(1, 256 * 1024), 0);

    rlimit saved{};
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
    rlimit limited = saved;
    limited.rlim_cur = 512 * 1024;
    sighandler_t previous = signal(SIGXFSZ, SIG_IGN);  // the error code, not the signal
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
    i32 rc = storage.create_segment(2, 2u << 20);
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, previous);

    EXPECT_EQ(rc, -EFBIG);
    EXPECT_EQ(storage.list_segments(), std::vector<u64>{1});
    EXPECT_FALSE(std::filesystem::exists(directory_ + "/00000000000000000002.seg"));
    // The segment before it is untouched.
    EXPECT_EQ(storage.segment_size(1), 256u * 1024);
}

}  // namespace
}  // namespace lepus::io
