// A publish assembled from its frames: across body frames, with no body, and every refusal of
// its content header or body, as RabbitMQ refuses them.
#include "net/session/publish_assembly.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/base/limits.h"
#include "core/queue_arguments.h"
#include "core/wire/wire_writer.h"

namespace lepus::session {
namespace {

using namespace lepus::amqp;

// Bytes in a chunk of their own, as a receive would leave them.
ChunkRef chunk_of(std::string_view bytes) {
    Chunk* chunk = Chunk::allocate(static_cast<u32>(bytes.size()));
    std::memcpy(chunk->data(), bytes.data(), bytes.size());
    return ChunkRef::adopt(chunk);
}

std::string header_payload(const ContentHeader& header) {
    std::string bytes;
    wire::WireWriter writer(bytes);
    encode_content_header(header, writer);
    return bytes;
}

ContentHeader header_of(u64 body_size) {
    ContentHeader header;
    header.body_size = body_size;
    return header;
}

BasicPublish publish_to(std::string_view exchange, std::string_view key, bool mandatory) {
    BasicPublish m;
    m.exchange = exchange;
    m.routing_key = key;
    m.mandatory = mandatory;
    return m;
}

struct Fed {
    ChunkRef chunk;
    std::optional<PublishAssembly::Problem> problem;
};

Fed feed_header(PublishAssembly& a, const ContentHeader& header, std::string_view user = "guest",
                const DirectReplyName* reply_to = nullptr) {
    std::string payload = header_payload(header);
    ChunkRef chunk = chunk_of(payload);
    auto problem =
        a.header(std::string_view(chunk.get()->data(), payload.size()), chunk, user, reply_to);
    return {chunk, problem};
}

std::string body_of(const Message& message) {
    std::string body;
    for (const ChunkSlice& s : message.body()) body.append(s.data, s.size);
    return body;
}

TEST(PublishAssembly, BodyFramesJoinAsSlicesOfTheirBuffers) {
    PublishAssembly a;
    EXPECT_EQ(a.expect(), PublishAssembly::Expect::method);
    a.begin(publish_to("amq.direct", "k", true));
    EXPECT_EQ(a.expect(), PublishAssembly::Expect::header);
    Fed h = feed_header(a, header_of(11));
    ASSERT_FALSE(h.problem);
    EXPECT_FALSE(a.complete());
    ChunkRef first = chunk_of("hello ");
    ChunkRef second = chunk_of("world");
    ASSERT_FALSE(a.body(std::string_view(first.get()->data(), 6), first));
    EXPECT_FALSE(a.complete());
    ASSERT_FALSE(a.body(std::string_view(second.get()->data(), 5), second));
    ASSERT_TRUE(a.complete());
    PublishAssembly::Complete done = a.take();
    EXPECT_EQ(done.exchange, "amq.direct");
    EXPECT_TRUE(done.mandatory);
    EXPECT_EQ(done.message->routing_key(), "k");
    EXPECT_EQ(body_of(*done.message), "hello world");
    ASSERT_EQ(done.message->body().size(), 2u);
    EXPECT_EQ(done.message->body()[1].data, second.get()->data()) << "a slice, not a copy";
    EXPECT_EQ(a.expect(), PublishAssembly::Expect::method);
}

TEST(PublishAssembly, AnEmptyBodyIsCompleteWithItsHeader) {
    PublishAssembly a;
    a.begin(publish_to("", "q", false));
    ContentHeader header = header_of(0);
    header.properties.set_headers(
        std::string_view("\x01"
                         "at\x01",
                         4));  // {a: true}
    ASSERT_FALSE(feed_header(a, header).problem);
    ASSERT_TRUE(a.complete());
    PublishAssembly::Complete done = a.take();
    EXPECT_EQ(done.message->body_size(), 0u);
    EXPECT_EQ(done.headers.size(), 4u);
}

TEST(PublishAssembly, ABodyLargerThanItsHeaderSaysIsAFrameError) {
    PublishAssembly a;
    a.begin(publish_to("", "q", false));
    ASSERT_FALSE(feed_header(a, header_of(3)).problem);
    ChunkRef body = chunk_of("four");
    auto problem = a.body(std::string_view(body.get()->data(), 4), body);
    ASSERT_TRUE(problem);
    EXPECT_EQ(problem->code, ReplyCode::frame_error);
    EXPECT_EQ(a.expect(), PublishAssembly::Expect::method);
}

TEST(PublishAssembly, RefusesTheHeadersRabbitMQRefuses) {
    struct Row {
        const char* name;
        ContentHeader header;
        ReplyCode code;
        std::string text;
    };
    ContentHeader bad_expiration = header_of(1);
    bad_expiration.properties.set_expiration("soon");
    ContentHeader reply_without_consumer = header_of(1);
    reply_without_consumer.properties.set_reply_to("amq.rabbitmq.reply-to");
    const Row rows[] = {
        {"too large", header_of(limits::message_size_max + 1), ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - message size " + std::to_string(limits::message_size_max + 1) +
             " is larger than configured max size " + std::to_string(limits::message_size_max)},
        {"bad expiration", bad_expiration, ReplyCode::precondition_failed,
         core::invalid_expiration_text("soon")},
        {"reply-to without a reply consumer", reply_without_consumer,
         ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - fast reply consumer does not exist"},
    };
    for (const Row& row : rows) {
        PublishAssembly a;
        a.begin(publish_to("", "q", false));
        auto problem = feed_header(a, row.header).problem;
        ASSERT_TRUE(problem) << row.name;
        EXPECT_EQ(problem->code, row.code) << row.name;
        EXPECT_EQ(problem->text, row.text) << row.name;
        EXPECT_EQ(a.expect(), PublishAssembly::Expect::method) << row.name;
    }
    PublishAssembly a;
    a.begin(publish_to("", "q", false));
    ChunkRef garbage = chunk_of("xx");
    auto problem = a.header(std::string_view(garbage.get()->data(), 2), garbage, "guest", nullptr);
    ASSERT_TRUE(problem);
    EXPECT_EQ(problem->code, ReplyCode::syntax_error);
}

// The channel refuses a foreign user_id after its permission checks (RabbitMQ's order), and
// lets an impersonator's through: the assembly only reports it.
TEST(PublishAssembly, ReportsAUserIdThatIsNotTheUsers) {
    for (const char* claimed : {"mallory", "guest", ""}) {
        PublishAssembly a;
        a.begin(publish_to("", "q", false));
        ContentHeader header = header_of(0);
        if (*claimed != '\0') header.properties.set_user_id(claimed);
        ASSERT_FALSE(feed_header(a, header, "guest", nullptr).problem) << claimed;
        PublishAssembly::Complete done = a.take();
        if (std::string_view(claimed) == "mallory") {
            EXPECT_EQ(done.foreign_user_id, std::optional<std::string_view>("mallory"));
        } else {
            EXPECT_FALSE(done.foreign_user_id) << claimed;
        }
    }
}

TEST(PublishAssembly, ReplyToBecomesTheChannelsReplyName) {
    PublishAssembly a;
    a.begin(publish_to("", "rpc", false));
    ContentHeader header = header_of(0);
    header.properties.set_reply_to("amq.rabbitmq.reply-to");
    header.properties.set_correlation_id("42");
    DirectReplyName name{core::ChannelKey{core::ConnectionKey{ShardId(1), 2, 3}, 4, 5}, {6, 7}};
    ASSERT_FALSE(feed_header(a, header, "guest", &name).problem);
    PublishAssembly::Complete done = a.take();
    ContentHeader sent;
    ASSERT_TRUE(decode_content_header(done.message->header_payload(), sent));
    EXPECT_EQ(sent.properties.reply_to, direct_reply_name(name));
    EXPECT_EQ(sent.properties.correlation_id, "42");
}

}  // namespace
}  // namespace lepus::session
