// The message journal alone over a fake journal: which records a turn writes, and when what
// waits for the disk is let go.
#include "core/message_journal.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "core/journal_records.h"
#include "tests/core/fake_journal.h"
#include "tests/core/recording_outbox.h"
#include "tests/core/test_message.h"

namespace lepus::core {
namespace {

using test_support::FakeJournal;
using test_support::RecordingOutbox;

constexpr QueueId first_queue{1};
constexpr QueueId second_queue{2};

MessageRef persistent(std::string_view body) {
    return test_support::make_message(body, "", "key", /*delivery_mode=*/2);
}

ChannelKey publisher() {
    ChannelKey key;
    key.connection = ConnectionKey{ShardId(1), 4, 1};
    key.channel = 1;
    key.generation = 1;
    return key;
}

class MessageJournalTest : public ::testing::Test, public ReadBack {
protected:
    MessageJournalTest() { journal_.attach(&sink_); }

    void message_read_back(QueueId queue, u64 sequence, MessageRef message) override {
        read_back_.push_back(ReadBackCall{queue, sequence, std::move(message)});
    }

    struct ReadBackCall {
        QueueId queue;
        u64 sequence;
        MessageRef message;
    };
    FakeJournal sink_{4};
    RecordingOutbox outbox_;
    MessageJournal journal_{outbox_, *this};
    std::vector<ReadBackCall> read_back_;
};

TEST_F(MessageJournalTest, PersistsOnlyPersistentMessagesOfDurableSharedQueues) {
    QueueInfo info;
    info.durable = true;
    EXPECT_TRUE(journal_.persists(info, *persistent("x")));
    EXPECT_FALSE(journal_.persists(info, *test_support::make_message("x")));
    info.exclusive = true;
    EXPECT_FALSE(journal_.persists(info, *persistent("x")));
    info.exclusive = false;
    info.durable = false;
    EXPECT_FALSE(journal_.persists(info, *persistent("x")));

    MessageJournal off(outbox_, *this);
    info.durable = true;
    EXPECT_FALSE(off.persists(info, *persistent("x"))) << "no journal, nothing persists";
}

TEST_F(MessageJournalTest, WritesABodyOncePerTurnAndEnqueueRecordsForTheOtherQueues) {
    MessageRef message = persistent("body");
    u64 first_record = 0;
    u64 second_record = 0;
    Stored first = journal_.write(first_queue, message, first_record);
    Stored second = journal_.write(second_queue, message, second_record);
    EXPECT_EQ(sink_.records_of(static_cast<u8>(RecordKind::message)).size(), 1u);
    EXPECT_EQ(sink_.records_of(static_cast<u8>(RecordKind::enqueue)).size(), 1u);
    EXPECT_EQ(first.message_sequence, second.message_sequence) << "one body, two queues";
    EXPECT_EQ(first.message_sequence, first_record);
    EXPECT_GT(second_record, first_record);
    EXPECT_EQ(sink_.live_references(), 4u) << "a queue's record and the body's, per queue";

    journal_.flush();  // a new turn: the same message is written again in full
    u64 third_record = 0;
    journal_.write(first_queue, message, third_record);
    EXPECT_EQ(sink_.records_of(static_cast<u8>(RecordKind::message)).size(), 2u);
}

TEST_F(MessageJournalTest, FlushWritesOneSettleRecordPerRunOfAQueueAndReleasesTheMessages) {
    u64 record = 0;
    Stored a = journal_.write(first_queue, persistent("a"), record);
    Stored b = journal_.write(first_queue, persistent("b"), record);
    Stored c = journal_.write(second_queue, persistent("c"), record);
    EXPECT_EQ(journal_.flush(), 0u) << "nothing left a queue";
    journal_.message_gone(first_queue, a);
    journal_.message_gone(first_queue, b);
    journal_.message_gone(second_queue, c);
    u64 last = journal_.flush();
    auto settles = sink_.records_of(static_cast<u8>(RecordKind::settle));
    ASSERT_EQ(settles.size(), 2u);
    EXPECT_EQ(last, settles.back().sequence);
    EXPECT_EQ(sink_.live_references(), 0u);
    // Each settle record's segment outlives the records it cancels.
    for (const Stored& s : {a, b, c}) {
        if (s.segment == settles.back().place.segment) continue;
        bool kept = sink_.dependencies().contains({settles[0].place.segment, s.segment}) ||
                    sink_.dependencies().contains({settles[1].place.segment, s.segment});
        EXPECT_TRUE(kept) << "segment " << s.segment;
    }
    EXPECT_EQ(journal_.flush(), 0u) << "written once";
}

TEST_F(MessageJournalTest, ConfirmsAndRepliesWaitForTheirRecordToBeDurable) {
    u64 record = 0;
    journal_.write(first_queue, persistent("a"), record);
    journal_.confirm_when_durable(record, publisher(), 17);
    journal_.reply_when_durable(record, ShardId(0), Pressure{first_queue, true});
    journal_.on_progress();
    EXPECT_TRUE(outbox_.sent.empty()) << "not on disk yet";

    sink_.complete();
    journal_.on_progress();
    ASSERT_EQ(outbox_.sent.size(), 2u);
    EXPECT_EQ(outbox_.sent[0].to, ShardId(1)) << "the publisher's shard";
    const auto& persisted = std::get<Persisted>(outbox_.sent[0].message);
    EXPECT_EQ(persisted.sequence, 17u);
    EXPECT_EQ(outbox_.sent[1].to, ShardId(0));

    journal_.reply_when_durable(record, ShardId(2), Pressure{first_queue, false});
    ASSERT_EQ(outbox_.sent.size(), 3u) << "already durable: sent at once";
    journal_.reply_when_durable(0, ShardId(2), Pressure{first_queue, false});
    EXPECT_EQ(outbox_.sent.size(), 4u) << "nothing written: sent at once";
}

TEST_F(MessageJournalTest, ReadsBackOnlyDurableBodiesAndReportsFailures) {
    u64 record = 0;
    Stored a = journal_.write(first_queue, persistent("paged"), record);
    Stored b = journal_.write(second_queue, persistent("lost"), record);
    journal_.read_message(first_queue, a);
    EXPECT_EQ(sink_.reads_pending(), 0u) << "a read waits for its record to be durable";
    sink_.complete();
    journal_.on_progress();
    EXPECT_EQ(sink_.reads_pending(), 1u);
    sink_.complete_reads();
    ASSERT_EQ(read_back_.size(), 1u);
    EXPECT_EQ(read_back_[0].queue, first_queue);
    EXPECT_EQ(read_back_[0].sequence, a.message_sequence);
    ASSERT_TRUE(read_back_[0].message);
    EXPECT_EQ(read_back_[0].message->routing_key(), "key");
    EXPECT_EQ(read_back_[0].message->body_size(), 5u);

    journal_.read_message(second_queue, b);
    sink_.complete_reads(/*fail=*/true);
    ASSERT_EQ(read_back_.size(), 2u);
    EXPECT_FALSE(read_back_[1].message) << "an unreadable body comes back empty";
}

}  // namespace
}  // namespace lepus::core
