// Record payloads round-trip, and damaged ones are refused rather than misread.
#include "core/journal_records.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lepus::core {
namespace {

TEST(JournalRecords, MessageRoundTrips) {
    std::string prefix;
    encode_message_prefix(prefix, QueueId(42), 7, "ex", "rk", 5);
    std::string payload = prefix + "HEADEbody bytes";
    MessageRecord r;
    ASSERT_TRUE(decode_message(payload, r));
    EXPECT_EQ(r.queue, QueueId(42));
    EXPECT_EQ(r.priority, 7);
    EXPECT_EQ(r.exchange, "ex");
    EXPECT_EQ(r.routing_key, "rk");
    EXPECT_EQ(r.header, "HEADE");
    EXPECT_EQ(r.body, "body bytes");
    EXPECT_FALSE(decode_message(payload.substr(0, prefix.size() + 2), r)) << "header cut off";
}

TEST(JournalRecords, SettleListsEverySequence) {
    std::string out;
    encode_settle_begin(out, QueueId(3));
    for (u64 s : {5ull, 9ull, 1ull << 40}) encode_settle_add(out, s);
    encode_settle_end(out);
    QueueId queue;
    std::vector<u64> got;
    ASSERT_TRUE(decode_settle(out, queue, [&](u64 s) { got.push_back(s); }));
    EXPECT_EQ(queue, QueueId(3));
    EXPECT_EQ(got, (std::vector<u64>{5, 9, 1ull << 40}));
    EXPECT_FALSE(decode_settle(out.substr(0, out.size() - 1), queue, [](u64) {}));
}

TEST(JournalRecords, SmallRecordsRoundTrip) {
    std::string out;
    QueueId queue;
    u64 value = 0;
    encode_enqueue(out, QueueId(8), 99);
    ASSERT_TRUE(decode_enqueue(out, queue, value));
    EXPECT_EQ(queue, QueueId(8));
    EXPECT_EQ(value, 99u);
    encode_queue_drop(out, QueueId(11));
    ASSERT_TRUE(decode_queue_drop(out, queue));
    EXPECT_EQ(queue, QueueId(11));
    encode_boot(out, 12);
    ASSERT_TRUE(decode_boot(out, value));
    EXPECT_EQ(value, 12u);
    EXPECT_FALSE(decode_boot(out + "x", value)) << "trailing bytes";
}

TEST(JournalRecords, EveryDefinitionRoundTrips) {
    ExchangeInfo x{"dx", routing::ExchangeType::headers, true, true, false, std::string("\0\1", 2)};
    QueueInfo q;
    q.name = "dq";
    q.id = QueueId((3ull << 32) + 5);
    q.home = ShardId(1);
    q.durable = true;
    q.auto_delete = true;
    q.arguments = "args";
    std::vector<CatalogUpdate> updates = {
        ExchangeAdded{"/", x},
        ExchangeRemoved{"/", "dx"},
        BindingChange{"v", "dx", routing::Destination::exchange("other"), "k.#", "a", true},
        BindingChange{"v", "dx", routing::Destination::queue("dq"), "", "", false},
        QueueAdded{"/", q},
        QueueRemoved{"/", "dq", q.id},
        PolicyPut{"v", Policy{PolicyKind::operator_policy, "limits", "^q", PolicyApplyTo::queues,
                              -3, R"({"max-length":5})"}},
        PolicyPut{"/", Policy{PolicyKind::regular, "ae", "", PolicyApplyTo::exchanges, 1 << 20,
                              R"({"alternate-exchange":"x"})"}},
        PolicyRemoved{"v", PolicyKind::operator_policy, "limits"},
    };
    for (const CatalogUpdate& update : updates) {
        std::string out;
        encode_definition(out, update);
        std::optional<CatalogUpdate> back = decode_definition(out);
        ASSERT_TRUE(back.has_value());
        std::string again;
        encode_definition(again, *back);
        EXPECT_EQ(again, out);
        for (usize cut = 0; cut < out.size(); cut++) {
            EXPECT_FALSE(decode_definition(out.substr(0, cut)).has_value()) << cut;
        }
    }
    EXPECT_FALSE(decode_definition(std::string("\x09", 1)).has_value()) << "unknown tag";
}

}  // namespace
}  // namespace lepus::core
