// The x-* queue arguments and the alternate-exchange argument, as RabbitMQ 3.10 applies them:
// validation (every key, good and bad values, the reply texts), message TTL, length limits,
// dead lettering with its x-death header and cycle rule, priorities, single active consumer,
// alternate exchanges and queue expiry. The texts and behaviours were checked against a real
// RabbitMQ 3.10; tests/clients/arguments_test.py checks the same through a client.
#include "core/queue_arguments.h"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/broker.h"
#include "core/content_header.h"
#include "core/dead_letter.h"
#include "core/queue.h"
#include "core/wire/field_table.h"
#include "core/wire/wire_writer.h"
#include "tests/core/broker_sim.h"
#include "tests/core/test_message.h"
#include "tests/net/amqp/reply_code_printer.h"

namespace lepus::wire {
// Readable failures; internal linkage, so no other test's printer can clash.
[[maybe_unused]] static void PrintTo(const FieldValue& value, std::ostream* out) {
    *out << to_string(value);
}
}  // namespace lepus::wire

namespace lepus::core {
namespace {

using amqp::ReplyCode;
using test_support::slice_of;
using wire::FieldArray;
using wire::FieldTable;
using wire::FieldValue;

// ---- building messages with properties ----

struct Properties {
    std::optional<std::string> content_type{};
    std::optional<FieldTable> headers{};
    std::optional<u8> priority{};
    std::optional<std::string> expiration{};
    std::optional<std::string> message_id{};
};

// A basic content header payload, properties in spec order.
std::string header_payload(u64 body_size, const Properties& p) {
    u16 flags = 0;
    if (p.content_type) flags |= 1u << 15;
    if (p.headers) flags |= 1u << 13;
    if (p.priority) flags |= 1u << 11;
    if (p.expiration) flags |= 1u << 8;
    if (p.message_id) flags |= 1u << 7;
    std::string out;
    wire::WireWriter writer(out);
    writer.write_u16(60);
    writer.write_u16(0);
    writer.write_u64(body_size);
    writer.write_u16(flags);
    if (p.content_type) writer.write_shortstr(*p.content_type);
    if (p.headers) wire::encode_field_table(*p.headers, writer);
    if (p.priority) writer.write_u8(*p.priority);
    if (p.expiration) writer.write_shortstr(*p.expiration);
    if (p.message_id) writer.write_shortstr(*p.message_id);
    return out;
}

MessageRef message(std::string_view body, const Properties& p = {}, std::string exchange = "x",
                   std::string routing_key = "rk") {
    auto* m = new Message(Message::Routing{std::move(exchange), std::move(routing_key)},
                          slice_of(header_payload(body.size(), p)), body.size(), 2,
                          p.priority.value_or(0));
    if (!body.empty()) m->append_body(slice_of(body));
    return MessageRef::adopt(m);
}

MessageRef expiring(std::string_view body, std::string expiration) {
    return message(body, Properties{.expiration = std::move(expiration)});
}

MessageRef with_priority(std::string_view body, u8 priority) {
    return message(body, Properties{.priority = priority});
}

FieldTable headers_of(const Message& m) {
    FieldTable table;
    EXPECT_TRUE(wire::decode_field_table(m.headers(), table));
    return table;
}

const FieldTable& table_at(const FieldArray& array, usize i) {
    return std::get<FieldTable>(array.at(i).value);
}

std::string string_field(const FieldTable& table, std::string_view key) {
    const FieldValue* v = wire::find_field(table, key);
    return v && v->as_string() ? std::string(*v->as_string()) : "<missing>";
}

i64 count_field(const FieldTable& entry) {
    const FieldValue* v = wire::find_field(entry, "count");
    EXPECT_TRUE(v != nullptr && v->type == 'l');
    return v ? v->as_integer().value_or(-1) : -1;
}

// ---- queues ----

QueueInfo queue_info(const FieldTable& arguments, std::string name = "q") {
    QueueInfo info;
    info.name = std::move(name);
    info.id = QueueId(7);
    info.home = ShardId(0);
    info.arguments = wire::field_table_content(arguments);
    return info;
}

ConsumerKey consumer(u64 id) { return test_support::consumer_key(id); }

void add_consumer(Queue& queue, u64 id, u16 prefetch = 0) {
    ConsumeRequest request;
    request.consumer = consumer(id);
    request.queue = queue.info().id;
    request.tag = "c" + std::to_string(id);
    request.prefetch = prefetch;
    std::string text;
    ASSERT_EQ(queue.add_consumer(request, text), ReplyCode::reply_success) << text;
}

std::vector<Deliver> dispatch(Queue& queue) {
    std::vector<Deliver> out;
    queue.dispatch([&](Deliver&& d) { out.push_back(std::move(d)); });
    return out;
}

std::vector<std::string> bodies(const std::vector<Deliver>& delivered) {
    std::vector<std::string> out;
    for (const Deliver& d : delivered) out.push_back(d.message->body_copy());
    return out;
}

std::vector<std::string> get_all(Queue& queue) {
    std::vector<std::string> out;
    Queue::Got got;
    while (queue.get(/*no_ack=*/true, got)) out.push_back(got.message->body_copy());
    return out;
}

std::vector<std::string> dead_bodies(Queue& queue, DeathReason reason) {
    std::vector<std::string> out;
    for (const Queue::DeadLetter& letter : queue.dead_letters()) {
        EXPECT_EQ(letter.reason, reason);
        out.push_back(letter.message->body_copy());
    }
    queue.dead_letters().clear();
    return out;
}

const FieldTable dlx{{"x-dead-letter-exchange", FieldValue::string("dlx")}};

FieldTable with(FieldTable table, std::string key, FieldValue value) {
    table.emplace_back(std::move(key), std::move(value));
    return table;
}

// ---- validation ----

struct ValidationCase {
    const char* what;
    FieldTable arguments;
    std::string error;  // empty: accepted
};

std::string invalid(const char* key, const char* error) {
    return std::string("PRECONDITION_FAILED - invalid arg '") + key +
           "' for queue 'q' in vhost '/': " + error;
}

TEST(QueueArgumentsTest, ValidationMatchesRabbitMQ) {
    using V = FieldValue;
    const ValidationCase cases[] = {
        {"no arguments", {}, ""},
        {"unknown keys are ignored", {{"x-foo", V::array({V::int32(1)})}, {"bar", V::int8(1)}}, ""},
        {"ttl 0", {{"x-message-ttl", V::int32(0)}}, ""},
        {"ttl as long", {{"x-message-ttl", V::int64(315360000000)}}, ""},
        {"ttl as unsigned byte", {{"x-message-ttl", V::uint8(5)}}, ""},
        {"ttl negative",
         {{"x-message-ttl", V::int32(-1)}},
         invalid("x-message-ttl", "{value_negative,-1}")},
        {"ttl too large",
         {{"x-message-ttl", V::int64(315360000001)}},
         invalid("x-message-ttl", "{value_too_large,315360000001}")},
        {"ttl a string",
         {{"x-message-ttl", V::string("5")}},
         invalid("x-message-ttl", "\"expected integer, got longstr\"")},
        {"ttl a bool",
         {{"x-message-ttl", V::boolean(true)}},
         invalid("x-message-ttl", "\"expected integer, got bool\"")},
        {"ttl a timestamp",
         {{"x-message-ttl", V::timestamp(5)}},
         invalid("x-message-ttl", "\"expected integer, got timestamp\"")},
        {"ttl a decimal",
         {{"x-message-ttl", V::decimal(1, 15)}},
         invalid("x-message-ttl", "\"expected integer, got decimal\"")},
        {"ttl void",
         {{"x-message-ttl", V::void_value()}},
         invalid("x-message-ttl", "\"expected integer, got void\"")},
        {"expires 1", {{"x-expires", V::int32(1)}}, ""},
        {"expires 0", {{"x-expires", V::int32(0)}}, invalid("x-expires", "{value_zero,0}")},
        {"expires negative",
         {{"x-expires", V::int16(-5)}},
         invalid("x-expires", "{value_negative,-5}")},
        {"expires too large",
         {{"x-expires", V::int64(1099511627776)}},
         invalid("x-expires", "{value_too_large,1099511627776}")},
        {"expires checked before ttl",
         {{"x-message-ttl", V::int32(-1)}, {"x-expires", V::int32(0)}},
         invalid("x-expires", "{value_zero,0}")},
        {"max-length 0", {{"x-max-length", V::int32(0)}}, ""},
        {"max-length huge", {{"x-max-length", V::int64(1099511627776)}}, ""},
        {"max-length negative",
         {{"x-max-length", V::int32(-1)}},
         invalid("x-max-length", "{value_negative,-1}")},
        {"max-length a bool",
         {{"x-max-length", V::boolean(true)}},
         invalid("x-max-length", "\"expected integer, got bool\"")},
        {"max-length-bytes negative",
         {{"x-max-length-bytes", V::int32(-3)}},
         invalid("x-max-length-bytes", "{value_negative,-3}")},
        {"max-length-bytes a string",
         {{"x-max-length-bytes", V::string("x")}},
         invalid("x-max-length-bytes", "\"expected integer, got longstr\"")},
        {"overflow drop-head", {{"x-overflow", V::string("drop-head")}}, ""},
        {"overflow reject-publish",
         {{"x-overflow", V::string("reject-publish")}},
         invalid("x-overflow",
                 "\"overflow mode 'reject-publish' is not supported, only 'drop-head'\"")},
        {"overflow reject-publish-dlx",
         {{"x-overflow", V::string("reject-publish-dlx")}},
         invalid("x-overflow",
                 "\"overflow mode 'reject-publish-dlx' is not supported, only 'drop-head'\"")},
        {"overflow unknown",
         {{"x-overflow", V::string("foo")}},
         invalid("x-overflow", "invalid_overflow")},
        {"overflow an int",
         {{"x-overflow", V::int32(1)}},
         invalid("x-overflow", "{unacceptable_type,signedint}")},
        {"dlx", {{"x-dead-letter-exchange", V::string("dlx")}}, ""},
        {"dlx the default exchange", {{"x-dead-letter-exchange", V::string("")}}, ""},
        {"dlx an int",
         {{"x-dead-letter-exchange", V::int32(5)}},
         "PRECONDITION_FAILED - invalid type 'signedint' for arg 'x-dead-letter-exchange' in "
         "queue 'q' in vhost '/'"},
        {"dlx bytes",
         {{"x-dead-letter-exchange", V::bytes("b")}},
         "PRECONDITION_FAILED - invalid type 'binary' for arg 'x-dead-letter-exchange' in queue "
         "'q' in vhost '/'"},
        {"dlx type checked first",
         {{"x-message-ttl", V::int32(-1)}, {"x-dead-letter-exchange", V::int32(5)}},
         "PRECONDITION_FAILED - invalid type 'signedint' for arg 'x-dead-letter-exchange' in "
         "queue 'q' in vhost '/'"},
        {"dl routing key",
         {{"x-dead-letter-exchange", V::string("d")},
          {"x-dead-letter-routing-key", V::string("k")}},
         ""},
        {"dl routing key without dlx",
         {{"x-dead-letter-routing-key", V::string("k")}},
         invalid("x-dead-letter-routing-key", "routing_key_but_no_dlx_defined")},
        {"dl routing key an int",
         {{"x-dead-letter-exchange", V::string("d")}, {"x-dead-letter-routing-key", V::int32(5)}},
         invalid("x-dead-letter-routing-key", "{unacceptable_type,signedint}")},
        {"ttl checked before the dl routing key",
         {{"x-dead-letter-routing-key", V::string("k")}, {"x-message-ttl", V::int32(-1)}},
         invalid("x-message-ttl", "{value_negative,-1}")},
        {"max-priority 0", {{"x-max-priority", V::int32(0)}}, ""},
        {"max-priority 255", {{"x-max-priority", V::uint8(255)}}, ""},
        {"max-priority 256",
         {{"x-max-priority", V::int32(256)}},
         invalid("x-max-priority", "{max_value_exceeded,256}")},
        {"max-priority negative",
         {{"x-max-priority", V::int32(-1)}},
         invalid("x-max-priority", "{value_negative,-1}")},
        {"max-priority a string",
         {{"x-max-priority", V::string("a")}},
         invalid("x-max-priority", "\"expected integer, got longstr\"")},
        {"single active consumer", {{"x-single-active-consumer", V::boolean(true)}}, ""},
        {"single active consumer an int",
         {{"x-single-active-consumer", V::int32(1)}},
         invalid("x-single-active-consumer", "{unacceptable_type,signedint}")},
        {"single active consumer a string",
         {{"x-single-active-consumer", V::string("true")}},
         invalid("x-single-active-consumer", "{unacceptable_type,longstr}")},
        {"queue type classic", {{"x-queue-type", V::string("classic")}}, ""},
        {"queue type quorum",
         {{"x-queue-type", V::string("quorum")}},
         invalid("x-queue-type", "\"queue type 'quorum' is not supported, only 'classic'\"")},
        {"queue type stream",
         {{"x-queue-type", V::string("stream")}},
         invalid("x-queue-type", "\"queue type 'stream' is not supported, only 'classic'\"")},
        {"queue type unknown",
         {{"x-queue-type", V::string("foo")}},
         invalid("x-queue-type", "\"unsupported queue type 'foo'\"")},
        {"queue type an int",
         {{"x-queue-type", V::int32(7)}},
         invalid("x-queue-type", "{unacceptable_type,signedint}")},
        {"queue type before ttl",
         {{"x-message-ttl", V::int32(-1)}, {"x-queue-type", V::string("foo")}},
         invalid("x-queue-type", "\"unsupported queue type 'foo'\"")},
        {"queue mode lazy", {{"x-queue-mode", V::string("lazy")}}, ""},
        {"queue mode unknown",
         {{"x-queue-mode", V::string("bar")}},
         invalid("x-queue-mode", "\"unsupported queue mode 'bar'\"")},
        {"a quorum queue argument",
         {{"x-delivery-limit", V::int32(1)}},
         "PRECONDITION_FAILED - invalid arg 'x-delivery-limit' for queue 'q' in vhost '/' of "
         "queue type rabbit_classic_queue"},
        {"value errors before other queue types' keys",
         {{"x-max-in-memory-length", V::int32(-1)}, {"x-message-ttl", V::int32(-1)}},
         invalid("x-message-ttl", "{value_negative,-1}")},
    };
    for (const ValidationCase& c : cases) {
        SCOPED_TRACE(c.what);
        QueueArguments parsed;
        std::string text;
        ReplyCode code =
            parse_queue_arguments(wire::field_table_content(c.arguments), "q", "/", parsed, text);
        EXPECT_EQ(code,
                  c.error.empty() ? ReplyCode::reply_success : ReplyCode::precondition_failed);
        EXPECT_EQ(text, c.error);
    }
}

TEST(QueueArgumentsTest, ParsedValues) {
    FieldTable table{{"x-message-ttl", FieldValue::int32(1000)},
                     {"x-expires", FieldValue::int64(5000)},
                     {"x-max-length", FieldValue::uint16(10)},
                     {"x-max-length-bytes", FieldValue::int32(100)},
                     {"x-dead-letter-exchange", FieldValue::string("d")},
                     {"x-dead-letter-routing-key", FieldValue::string("k")},
                     {"x-max-priority", FieldValue::int8(9)},
                     {"x-single-active-consumer", FieldValue::boolean(true)}};
    QueueArguments a;
    std::string text;
    ASSERT_EQ(parse_queue_arguments(wire::field_table_content(table), "q", "/", a, text),
              ReplyCode::reply_success);
    EXPECT_EQ(a.message_ttl_ms, 1000u);
    EXPECT_EQ(a.expires_ms, 5000u);
    EXPECT_EQ(a.max_length, 10u);
    EXPECT_EQ(a.max_length_bytes, 100u);
    EXPECT_EQ(a.dead_letter_exchange, "d");
    EXPECT_EQ(a.dead_letter_routing_key, "k");
    EXPECT_EQ(a.max_priority, 9);
    EXPECT_EQ(a.priority_band_count(), 10u);
    EXPECT_TRUE(a.single_active_consumer);
}

TEST(QueueArgumentsTest, ExchangeArguments) {
    std::string text;
    FieldTable good{{"alternate-exchange", FieldValue::string("ae")}};
    EXPECT_EQ(check_exchange_arguments(wire::field_table_content(good), "x", "/", text),
              ReplyCode::reply_success);
    FieldTable bad{{"alternate-exchange", FieldValue::int32(5)}};
    EXPECT_EQ(check_exchange_arguments(wire::field_table_content(bad), "x", "/", text),
              ReplyCode::precondition_failed);
    EXPECT_EQ(text,
              "PRECONDITION_FAILED - invalid type 'signedint' for arg 'alternate-exchange' in "
              "exchange 'x' in vhost '/'");
}

TEST(QueueArgumentsTest, ExpirationProperty) {
    struct Case {
        const char* text;
        std::optional<u64> ms;  // nullopt: refused
        const char* error;
    };
    const Case cases[] = {
        {"0", 0, ""},
        {"1000", 1000, ""},
        {"+5", 5, ""},
        {"007", 7, ""},
        {"-0", 0, ""},
        {"315360000000", 315360000000, ""},
        {"abc", std::nullopt, "no_integer"},
        {"", std::nullopt, "no_integer"},
        {" 5", std::nullopt, "no_integer"},
        {"-1", std::nullopt, "{value_negative,-1}"},
        {"5x", std::nullopt, "{leftover_string,\"x\"}"},
        {"1.5", std::nullopt, "{leftover_string,\".5\"}"},
        {"315360000001", std::nullopt, "{value_too_large,315360000001}"},
        {"99999999999999999999999", std::nullopt, "{value_too_large,99999999999999999999999}"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.text);
        u64 ms = 12345;
        EXPECT_EQ(parse_expiration(c.text, ms), c.ms.has_value());
        if (c.ms) {
            EXPECT_EQ(ms, *c.ms);
        } else {
            EXPECT_EQ(invalid_expiration_text(c.text),
                      "PRECONDITION_FAILED - invalid expiration '" + std::string(c.text) +
                          "': " + c.error);
        }
    }
}

// ---- the content header ----

TEST(ContentHeaderTest, MessageReadsHeadersAndExpiration) {
    FieldTable headers{{"h", FieldValue::int32(1)}};
    MessageRef m = message("body", Properties{.content_type = "text/plain",
                                              .headers = headers,
                                              .expiration = "1500",
                                              .message_id = "id-1"});
    EXPECT_EQ(headers_of(*m), headers);
    EXPECT_TRUE(m->has_expiration());
    EXPECT_EQ(m->expiration(), "1500");
    u64 ms = 0;
    EXPECT_TRUE(m->expiration_ms(ms));
    EXPECT_EQ(ms, 1500u);

    MessageRef invalid_expiration = expiring("b", "soon");
    EXPECT_FALSE(invalid_expiration->expiration_ms(ms)) << "treated as no expiry by queues";
    MessageRef plain = message("b");
    EXPECT_FALSE(plain->has_expiration());
    EXPECT_TRUE(plain->headers().empty());
}

TEST(ContentHeaderTest, RewriteReplacesHeadersAndDropsExpiration) {
    FieldTable old_headers{{"a", FieldValue::string("1")}};
    FieldTable new_headers{{"b", FieldValue::int64(2)}};
    for (bool with_headers : {false, true}) {
        for (bool with_expiration : {false, true}) {
            Properties before{.content_type = "text/plain", .priority = 3, .message_id = "m"};
            if (with_headers) before.headers = old_headers;
            if (with_expiration) before.expiration = "60";
            std::string payload = header_payload(4, before);
            ContentHeaderLayout layout;
            ASSERT_TRUE(read_content_header_layout(payload, layout));
            Properties after = before;
            after.headers = new_headers;
            after.expiration.reset();
            EXPECT_EQ(
                rewrite_content_header(payload, layout, wire::field_table_content(new_headers)),
                header_payload(4, after))
                << with_headers << with_expiration;
        }
    }
}

// ---- message TTL ----

TEST(QueueTtlTest, ExpiresAtTheHeadAndIsNeverDelivered) {
    Queue queue("/", queue_info(with(dlx, "x-message-ttl", FieldValue::int32(100))), 0);
    queue.enqueue(message("m0"));
    queue.set_time(50);
    queue.enqueue(message("m1"));
    EXPECT_EQ(queue.next_deadline_ms(), 101u) << "m0 may go out through its 100th ms";
    queue.set_time(100);
    queue.expire_messages();
    EXPECT_EQ(queue.ready_count(), 2u);
    queue.set_time(101);
    queue.expire_messages();
    EXPECT_EQ(queue.ready_count(), 1u);
    EXPECT_EQ(dead_bodies(queue, DeathReason::expired), (std::vector<std::string>{"m0"}));
    EXPECT_EQ(queue.next_deadline_ms(), 151u);
    // Without a timer run, get and dispatch still refuse what has expired.
    queue.set_time(500);
    EXPECT_TRUE(get_all(queue).empty());
    EXPECT_EQ(dead_bodies(queue, DeathReason::expired), (std::vector<std::string>{"m1"}));
    queue.enqueue(message("m2"));
    add_consumer(queue, 1);
    queue.set_time(601);
    EXPECT_TRUE(dispatch(queue).empty());
    EXPECT_EQ(dead_bodies(queue, DeathReason::expired), (std::vector<std::string>{"m2"}));
    EXPECT_EQ(queue.next_deadline_ms(), Queue::never);
}

TEST(QueueTtlTest, PerMessageExpirationAndTheSmallerOfBoth) {
    Queue queue("/", queue_info(with(dlx, "x-message-ttl", FieldValue::int32(1000))), 0);
    queue.enqueue(expiring("long", "5000"));  // the queue's 1000 wins
    queue.enqueue(expiring("short", "10"));   // its own 10 wins, but it waits behind the head
    queue.enqueue(expiring("garbage", "x"));  // unparsable: the queue's TTL only
    queue.enqueue(message("plain"));
    EXPECT_EQ(queue.next_deadline_ms(), 1001u) << "only the head's deadline counts";
    queue.set_time(11);
    queue.expire_messages();
    EXPECT_EQ(queue.ready_count(), 4u) << "expiry happens at the head, as in RabbitMQ";
    Queue::Got got;
    ASSERT_TRUE(queue.get(true, got));
    EXPECT_EQ(got.message->body_copy(), "long");
    // The expired message that is now at the head is dropped, never returned.
    EXPECT_EQ(get_all(queue), (std::vector<std::string>{"garbage", "plain"}));
    EXPECT_EQ(dead_bodies(queue, DeathReason::expired), (std::vector<std::string>{"short"}));

    Queue no_ttl("/", queue_info(dlx), 0);
    no_ttl.enqueue(expiring("a", "20"));
    no_ttl.enqueue(message("b"));
    EXPECT_EQ(no_ttl.next_deadline_ms(), 21u);
    no_ttl.set_time(21);
    no_ttl.expire_messages();
    EXPECT_EQ(dead_bodies(no_ttl, DeathReason::expired), (std::vector<std::string>{"a"}));
    EXPECT_EQ(no_ttl.next_deadline_ms(), Queue::never);
}

TEST(QueueTtlTest, TtlZeroOnlyWhenAConsumerCanTakeItAtOnce) {
    Queue queue("/", queue_info(with(dlx, "x-message-ttl", FieldValue::int32(0))), 10);
    queue.enqueue(message("nobody"));
    EXPECT_EQ(queue.ready_count(), 0u);
    EXPECT_EQ(dead_bodies(queue, DeathReason::expired), (std::vector<std::string>{"nobody"}));
    add_consumer(queue, 1, /*prefetch=*/1);
    queue.enqueue(message("taken"));
    queue.enqueue(message("too many"));  // the consumer has room for one only
    EXPECT_EQ(queue.next_deadline_ms(), Queue::never) << "the next dispatch decides";
    queue.set_time(25);  // the dispatch may come in a later millisecond
    EXPECT_EQ(bodies(dispatch(queue)), (std::vector<std::string>{"taken"}));
    EXPECT_EQ(queue.ready_count(), 0u);
    EXPECT_EQ(dead_bodies(queue, DeathReason::expired), (std::vector<std::string>{"too many"}));
    queue.enqueue(message("full"));  // the consumer's prefetch is used up
    EXPECT_EQ(queue.ready_count(), 0u);
    EXPECT_EQ(dead_bodies(queue, DeathReason::expired), (std::vector<std::string>{"full"}));

    Queue per_message("/", queue_info(dlx), 10);
    per_message.enqueue(expiring("zero", "0"));
    EXPECT_EQ(per_message.ready_count(), 0u);
    EXPECT_EQ(dead_bodies(per_message, DeathReason::expired), (std::vector<std::string>{"zero"}));
}

TEST(QueueTtlTest, RequeueKeepsTheOriginalDeadline) {
    Queue queue("/", queue_info(with(dlx, "x-message-ttl", FieldValue::int32(100))), 0);
    add_consumer(queue, 1);
    queue.enqueue(message("m0"));
    queue.enqueue(message("m1"));
    std::vector<Deliver> first = dispatch(queue);
    ASSERT_EQ(first.size(), 2u);
    queue.set_time(60);
    ASSERT_TRUE(queue.settle(first[1].sequence, SettleKind::requeue));
    std::vector<Deliver> again = dispatch(queue);
    ASSERT_EQ(bodies(again), (std::vector<std::string>{"m1"}));
    EXPECT_TRUE(again[0].redelivered);
    queue.set_time(150);
    ASSERT_TRUE(queue.settle(first[0].sequence, SettleKind::requeue));
    ASSERT_TRUE(queue.settle(again[0].sequence, SettleKind::requeue));
    EXPECT_EQ(queue.next_deadline_ms(), 101u) << "due already: the deadline did not restart";
    EXPECT_TRUE(dispatch(queue).empty());
    EXPECT_EQ(dead_bodies(queue, DeathReason::expired), (std::vector<std::string>{"m0", "m1"}));
}

// ---- length limits ----

TEST(QueueLengthTest, DropHeadDeadLettersWithReasonMaxlen) {
    Queue queue("/", queue_info(with(dlx, "x-max-length", FieldValue::int32(2))), 0);
    for (const char* body : {"m0", "m1", "m2", "m3"}) queue.enqueue(message(body));
    EXPECT_EQ(queue.ready_count(), 2u);
    EXPECT_EQ(dead_bodies(queue, DeathReason::maxlen), (std::vector<std::string>{"m0", "m1"}));
    EXPECT_EQ(get_all(queue), (std::vector<std::string>{"m2", "m3"}));

    Queue bytes("/", queue_info(with(dlx, "x-max-length-bytes", FieldValue::int32(10))), 0);
    bytes.enqueue(message("aaaa"));
    bytes.enqueue(message("bbbb"));
    bytes.enqueue(message("cccc"));  // 12 bytes: the head goes
    EXPECT_EQ(bytes.ready_bytes(), 8u);
    EXPECT_EQ(dead_bodies(bytes, DeathReason::maxlen), (std::vector<std::string>{"aaaa"}));
    bytes.enqueue(message("a message longer than the limit"));
    EXPECT_EQ(bytes.ready_count(), 0u) << "a message bigger than the limit drops itself";

    Queue zero("/", queue_info({{"x-max-length", FieldValue::int32(0)}}), 0);
    zero.enqueue(message("gone"));
    EXPECT_EQ(zero.ready_count(), 0u);
    EXPECT_TRUE(zero.dead_letters().empty()) << "without a DLX the message is discarded";
}

TEST(QueueLengthTest, AConsumerWithRoomTakesMessagesPastTheLimit) {
    // RabbitMQ hands a message straight to a waiting consumer, so a burst published to a
    // consumed queue loses only what the consumer could not take.
    Queue queue("/", queue_info(with(dlx, "x-max-length", FieldValue::int32(1))), 0);
    add_consumer(queue, 1, /*prefetch=*/2);
    for (const char* body : {"m0", "m1", "m2", "m3"}) queue.enqueue(message(body));
    EXPECT_EQ(bodies(dispatch(queue)), (std::vector<std::string>{"m0", "m1"}));
    EXPECT_EQ(dead_bodies(queue, DeathReason::maxlen), (std::vector<std::string>{"m2"}));
    EXPECT_EQ(get_all(queue), (std::vector<std::string>{"m3"}));
}

// ---- dead lettering ----

TEST(DeadLetterTest, XDeathAsRabbitMQWritesIt) {
    FieldTable headers{{"user", FieldValue::string("u")}};
    MessageRef original =
        message("the body", Properties{.headers = headers, .priority = 4, .expiration = "5000"},
                "orders", "order.created");
    std::optional<std::string> no_key;
    Death death{DeathReason::expired, "q1", "dlx", &no_key, 1700000000};
    FieldArray deaths;
    MessageRef dead = make_dead_letter(*original, death, deaths);

    EXPECT_EQ(dead->exchange(), "dlx");
    EXPECT_EQ(dead->routing_key(), "order.created");
    EXPECT_EQ(dead->priority(), 4);
    EXPECT_TRUE(dead->persistent());
    EXPECT_FALSE(dead->has_expiration()) << "RabbitMQ removes the expiration";
    ASSERT_EQ(dead->body().size(), original->body().size());
    EXPECT_EQ(dead->body()[0].data, original->body()[0].data) << "the body is shared, not copied";
    EXPECT_EQ(dead->body_size(), original->body_size());

    FieldTable h = headers_of(*dead);
    EXPECT_EQ(string_field(h, "user"), "u");
    EXPECT_EQ(string_field(h, "x-first-death-reason"), "expired");
    EXPECT_EQ(string_field(h, "x-first-death-queue"), "q1");
    EXPECT_EQ(string_field(h, "x-first-death-exchange"), "orders");
    const FieldValue* x_death = wire::find_field(h, "x-death");
    ASSERT_TRUE(x_death != nullptr && x_death->type == 'A');
    const FieldArray& array = std::get<FieldArray>(x_death->value);
    ASSERT_EQ(array.size(), 1u);
    EXPECT_EQ(array, deaths);
    const FieldTable& entry = table_at(array, 0);
    FieldTable expected{
        {"count", FieldValue::int64(1)},
        {"reason", FieldValue::string("expired")},
        {"queue", FieldValue::string("q1")},
        {"time", FieldValue::timestamp(1700000000)},
        {"exchange", FieldValue::string("orders")},
        {"routing-keys", FieldValue::array({FieldValue::string("order.created")})},
        {"original-expiration", FieldValue::string("5000")},
    };
    EXPECT_EQ(entry, expected);
}

TEST(DeadLetterTest, CountsRepeatsAndPutsTheLatestFirst) {
    std::optional<std::string> key = "retry";
    MessageRef m = message("b", {}, "x", "k");
    FieldArray deaths;
    m = make_dead_letter(*m, Death{DeathReason::rejected, "work", "dlx", &key, 100}, deaths);
    EXPECT_EQ(m->routing_key(), "retry");
    m = make_dead_letter(*m, Death{DeathReason::expired, "wait", "", &key, 200}, deaths);
    m = make_dead_letter(*m, Death{DeathReason::rejected, "work", "dlx", &key, 300}, deaths);
    ASSERT_EQ(deaths.size(), 2u);
    const FieldTable& latest = table_at(deaths, 0);
    EXPECT_EQ(string_field(latest, "queue"), "work");
    EXPECT_EQ(string_field(latest, "reason"), "rejected");
    EXPECT_EQ(count_field(latest), 2);
    // RabbitMQ increments the old entry: its time and exchange stay those of the first death.
    EXPECT_EQ(wire::find_field(latest, "time")->value, FieldValue::timestamp(100).value);
    EXPECT_EQ(string_field(latest, "exchange"), "x");
    EXPECT_EQ(string_field(table_at(deaths, 1), "queue"), "wait");
    EXPECT_EQ(count_field(table_at(deaths, 1)), 1);
    EXPECT_EQ(string_field(table_at(deaths, 1), "exchange"), "dlx");
    FieldTable h = headers_of(*m);
    EXPECT_EQ(string_field(h, "x-first-death-queue"), "work") << "set by the first death only";
    EXPECT_EQ(string_field(h, "x-first-death-reason"), "rejected");
}

TEST(DeadLetterTest, CycleRule) {
    auto entry = [](const char* queue, const char* reason) {
        return FieldValue::table(
            {{"queue", FieldValue::string(queue)}, {"reason", FieldValue::string(reason)}});
    };
    struct Case {
        const char* what;
        DeathReason reason;
        FieldArray deaths;
        const char* target;
        bool cycle;
    };
    const Case cases[] = {
        {"back to the queue it expired in",
         DeathReason::expired,
         {entry("a", "expired")},
         "a",
         true},
        {"a new queue", DeathReason::expired, {entry("a", "expired")}, "b", false},
        {"round a loop of two",
         DeathReason::maxlen,
         {entry("b", "maxlen"), entry("a", "expired")},
         "a",
         true},
        {"a rejection on the way",
         DeathReason::expired,
         {entry("b", "expired"), entry("a", "rejected")},
         "a",
         false},
        {"a rejection before, not in the loop",
         DeathReason::expired,
         {entry("a", "expired"), entry("z", "rejected")},
         "a",
         true},
        {"rejections never cycle", DeathReason::rejected, {entry("a", "rejected")}, "a", false},
        {"something a client wrote",
         DeathReason::expired,
         {FieldValue::string("junk"), entry("a", "expired")},
         "a",
         false},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        EXPECT_EQ(is_dead_letter_cycle(c.reason, c.deaths, c.target), c.cycle);
    }
}

// ---- priorities and consumers ----

TEST(QueuePriorityTest, HigherFirstCappedAtTheMaximumRequeueKeepsOrder) {
    Queue queue("/", queue_info({{"x-max-priority", FieldValue::int32(5)}}), 0);
    queue.enqueue(with_priority("p0-a", 0));
    queue.enqueue(with_priority("p9", 9));  // counts as 5
    queue.enqueue(with_priority("p3", 3));
    queue.enqueue(with_priority("p5", 5));
    queue.enqueue(with_priority("p0-b", 0));
    add_consumer(queue, 1);
    std::vector<Deliver> first = dispatch(queue);
    EXPECT_EQ(bodies(first), (std::vector<std::string>{"p9", "p5", "p3", "p0-a", "p0-b"}));
    for (usize i : {4, 0, 3, 2, 1})
        ASSERT_TRUE(queue.settle(first[i].sequence, SettleKind::requeue));
    EXPECT_EQ(bodies(dispatch(queue)),
              (std::vector<std::string>{"p9", "p5", "p3", "p0-a", "p0-b"}));

    Queue plain("/", queue_info({}), 0);
    plain.enqueue(with_priority("low", 0));
    plain.enqueue(with_priority("high", 9));
    EXPECT_EQ(get_all(plain), (std::vector<std::string>{"low", "high"}))
        << "without x-max-priority, priorities are ignored";
}

TEST(SingleActiveConsumerTest, OnlyTheFirstReceivesUntilItGoes) {
    Queue queue("/", queue_info({{"x-single-active-consumer", FieldValue::boolean(true)}}), 0);
    add_consumer(queue, 1, /*prefetch=*/2);
    add_consumer(queue, 2);
    add_consumer(queue, 3);
    for (const char* body : {"m0", "m1", "m2", "m3"}) queue.enqueue(message(body));
    std::vector<Deliver> first = dispatch(queue);
    ASSERT_EQ(first.size(), 2u) << "the others wait although they have room";
    for (const Deliver& d : first) EXPECT_EQ(d.consumer.id, 1u);
    ASSERT_TRUE(queue.remove_consumer(consumer(1)));
    std::vector<Deliver> next = dispatch(queue);
    ASSERT_EQ(next.size(), 2u);
    for (const Deliver& d : next) EXPECT_EQ(d.consumer.id, 2u) << "the next registered one";
    for (const Deliver& d : first) ASSERT_TRUE(queue.settle(d.sequence, SettleKind::requeue));
    for (const Deliver& d : dispatch(queue)) EXPECT_EQ(d.consumer.id, 2u);
}

// ---- the broker: dead-letter routing, alternate exchanges, queue expiry ----

class ArgumentsSimTest : public ::testing::Test {
protected:
    ArgumentsSimTest() : sim_(sim::SimConfig{}, {"/"}) {}

    static ChannelKey channel(u32 shard) {
        ChannelKey key;
        key.connection = ConnectionKey{ShardId(shard), 1, 1};
        key.channel = 1;
        key.generation = 1;
        return key;
    }

    MetaReply meta(u32 shard, MetaOp op) {
        auto request = std::make_unique<MetaRequest>();
        request->vhost = "/";
        request->requester = channel(shard);
        request->op = std::move(op);
        sim_.post(shard, 0, std::move(request));
        sim_.run();
        auto replies = sim_.take<std::unique_ptr<MetaReply>>(shard);
        EXPECT_EQ(replies.size(), 1u);
        return replies.empty() ? MetaReply{} : std::move(*replies[0]);
    }
    void declare_queue(u32 shard, std::string name, const FieldTable& arguments = {}) {
        QueueDeclareOp op;
        op.info.name = std::move(name);
        op.info.arguments = wire::field_table_content(arguments);
        MetaReply reply = meta(shard, std::move(op));
        EXPECT_EQ(reply.code, ReplyCode::reply_success) << reply.text;
    }
    void declare_exchange(std::string name, routing::ExchangeType type,
                          const FieldTable& arguments = {}) {
        ExchangeDeclareOp op;
        op.info.name = std::move(name);
        op.info.type = type;
        op.info.arguments = wire::field_table_content(arguments);
        MetaReply reply = meta(0, std::move(op));
        EXPECT_EQ(reply.code, ReplyCode::reply_success) << reply.text;
    }
    void bind(std::string queue, std::string exchange, std::string key) {
        MetaReply reply =
            meta(0, QueueBindOp{std::move(queue), std::move(exchange), std::move(key), {}, false});
        EXPECT_EQ(reply.code, ReplyCode::reply_success) << reply.text;
    }
    u32 publish(u32 shard, const std::string& exchange, MessageRef m) {
        Catalog& catalog = sim_.broker(shard).catalog();
        const Exchange* x = catalog.find_exchange("/", exchange);
        EXPECT_NE(x, nullptr);
        u32 routed = sim_.broker(shard).publish(*catalog.find_vhost("/"), *x, m, m->headers());
        sim_.broker(shard).dispatch_pending();
        sim_.run();
        return routed;
    }
    void advance_time(u64 now_ms) {
        for (u32 s = 0; s < sim_.shard_count(); s++) {
            sim_.broker(s).advance_time(now_ms, 1'700'000'000'000 + now_ms);
            sim_.broker(s).dispatch_pending();
        }
        sim_.run();
    }
    const Queue* queue(const std::string& name) {
        const QueueInfo* info = sim_.broker(0).catalog().find_queue("/", name);
        if (info == nullptr) return nullptr;
        return sim_.broker(info->home.value).find_local_queue(info->id);
    }
    // Fetches every ready message of a queue through basic.get.
    std::vector<MessageRef> get_all(u32 shard, const std::string& name) {
        const QueueInfo* info = sim_.broker(shard).catalog().find_queue("/", name);
        EXPECT_NE(info, nullptr);
        std::vector<MessageRef> out;
        for (;;) {
            auto request = std::make_unique<GetRequest>();
            request->channel = channel(shard);
            request->queue = info->id;
            request->no_ack = true;
            sim_.post(shard, info->home.value, std::move(request));
            sim_.run();
            auto replies = sim_.take<std::unique_ptr<GetReply>>(shard);
            EXPECT_EQ(replies.size(), 1u);
            if (replies.empty() || !replies[0]->message) return out;
            out.push_back(std::move(replies[0]->message));
        }
    }

    sim::Simulation sim_;
};

TEST_F(ArgumentsSimTest, DeclareRefusesInvalidArgumentsOnShardZero) {
    QueueDeclareOp op;
    op.info.name = "q";
    op.info.arguments = wire::field_table_content({{"x-message-ttl", FieldValue::int32(-1)}});
    MetaReply reply = meta(1, std::move(op));
    EXPECT_EQ(reply.code, ReplyCode::precondition_failed);
    EXPECT_EQ(reply.text, invalid("x-message-ttl", "{value_negative,-1}"));
    EXPECT_EQ(queue("q"), nullptr);

    ExchangeDeclareOp x;
    x.info.name = "x";
    x.info.arguments = wire::field_table_content({{"alternate-exchange", FieldValue::int32(1)}});
    EXPECT_EQ(meta(0, std::move(x)).code, ReplyCode::precondition_failed);
}

TEST_F(ArgumentsSimTest, ExpiredMessagesAreDeadLetteredAcrossShards) {
    declare_exchange("dlx", routing::ExchangeType::fanout);
    declare_queue(1, "dead");
    bind("dead", "dlx", "");
    declare_queue(0, "work", with(dlx, "x-message-ttl", FieldValue::int32(100)));
    EXPECT_EQ(publish(1, "", message("m", {}, "", "work")), 1u);
    EXPECT_EQ(sim_.broker(0).next_deadline_ms(), 101u);
    advance_time(100);
    EXPECT_EQ(queue("work")->ready_count(), 1u);
    advance_time(101);
    EXPECT_EQ(queue("work")->ready_count(), 0u);
    EXPECT_EQ(sim_.broker(0).next_deadline_ms(), UINT64_MAX);
    std::vector<MessageRef> dead = get_all(1, "dead");
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0]->body_copy(), "m");
    EXPECT_EQ(dead[0]->exchange(), "dlx");
    EXPECT_EQ(dead[0]->routing_key(), "work");
    FieldTable h = headers_of(*dead[0]);
    const FieldArray& deaths = std::get<FieldArray>(wire::find_field(h, "x-death")->value);
    ASSERT_EQ(deaths.size(), 1u);
    EXPECT_EQ(string_field(table_at(deaths, 0), "reason"), "expired");
    EXPECT_EQ(wire::find_field(table_at(deaths, 0), "time")->value,
              FieldValue::timestamp(1'700'000'000).value)
        << "wall-clock seconds";
}

TEST_F(ArgumentsSimTest, RejectedAndMaxlenDeadLettersUseTheRoutingKeyArgument) {
    declare_queue(1, "retry");
    FieldTable arguments{{"x-dead-letter-exchange", FieldValue::string("")},
                         {"x-dead-letter-routing-key", FieldValue::string("retry")},
                         {"x-max-length", FieldValue::int32(1)}};
    declare_queue(0, "work", arguments);
    publish(0, "", message("first", {}, "", "work"));
    publish(1, "", message("second", {}, "", "work"));
    std::vector<MessageRef> dead = get_all(1, "retry");
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0]->body_copy(), "first");
    EXPECT_EQ(string_field(headers_of(*dead[0]), "x-first-death-reason"), "maxlen");

    // basic.reject without requeue: the home shard dead-letters it.
    ConsumeRequest request;
    request.consumer = ConsumerKey{channel(0), 9};
    request.queue = sim_.broker(0).catalog().find_queue("/", "work")->id;
    request.tag = "c";
    sim_.post(0, 0, std::make_unique<ConsumeRequest>(request));
    sim_.run();
    std::vector<Deliver> delivered = sim_.take<Deliver>(0);
    ASSERT_EQ(delivered.size(), 1u);
    sim_.post(0, 0, Settle{request.queue, delivered[0].sequence, SettleKind::drop, {}, false});
    sim_.run();
    dead = get_all(1, "retry");
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0]->body_copy(), "second");
    EXPECT_EQ(dead[0]->routing_key(), "retry");
    EXPECT_EQ(string_field(headers_of(*dead[0]), "x-first-death-reason"), "rejected");
}

TEST_F(ArgumentsSimTest, AutomaticCyclesAreDropped) {
    // A queue that dead-letters expired messages to itself: the message dies once, then the
    // cycle rule drops it instead of expiring it forever.
    FieldTable arguments{{"x-dead-letter-exchange", FieldValue::string("")},
                         {"x-message-ttl", FieldValue::int32(10)}};
    declare_queue(1, "loop", arguments);
    publish(1, "", message("m", {}, "", "loop"));
    advance_time(11);
    EXPECT_EQ(queue("loop")->ready_count(), 0u);
    EXPECT_EQ(sim_.broker(1).next_deadline_ms(), UINT64_MAX);

    // A missing dead-letter exchange drops the message too.
    declare_queue(0, "lost",
                  {{"x-dead-letter-exchange", FieldValue::string("nowhere")},
                   {"x-message-ttl", FieldValue::int32(10)}});
    publish(0, "", message("m", {}, "", "lost"));
    advance_time(30);
    EXPECT_EQ(queue("lost")->ready_count(), 0u);
}

TEST_F(ArgumentsSimTest, RejectionsMayLoopBack) {
    // Rejections are no automatic cycle: a rejected message returns to its own queue.
    declare_queue(0, "again", {{"x-dead-letter-exchange", FieldValue::string("")}});
    publish(0, "", message("m", {}, "", "again"));
    ConsumeRequest request;
    request.consumer = ConsumerKey{channel(0), 9};
    request.queue = sim_.broker(0).catalog().find_queue("/", "again")->id;
    request.tag = "c";
    request.prefetch = 1;
    sim_.post(0, 0, std::make_unique<ConsumeRequest>(request));
    sim_.run();
    for (i64 round = 1; round <= 3; round++) {
        std::vector<Deliver> delivered = sim_.take<Deliver>(0);
        ASSERT_EQ(delivered.size(), 1u);
        if (round > 1) {
            FieldTable h = headers_of(*delivered[0].message);
            const FieldArray& deaths = std::get<FieldArray>(wire::find_field(h, "x-death")->value);
            EXPECT_EQ(count_field(table_at(deaths, 0)), round - 1);
        }
        sim_.post(0, 0, Credit{request.queue, request.consumer, 1});
        sim_.post(0, 0, Settle{request.queue, delivered[0].sequence, SettleKind::drop, {}, false});
        sim_.run();
    }
}

TEST_F(ArgumentsSimTest, AlternateExchanges) {
    declare_queue(0, "routed");
    declare_queue(1, "unrouted");
    declare_exchange("ae2", routing::ExchangeType::fanout);
    bind("unrouted", "ae2", "");
    declare_exchange("ae1", routing::ExchangeType::direct,
                     {{"alternate-exchange", FieldValue::string("ae2")}});
    declare_exchange("main", routing::ExchangeType::direct,
                     {{"alternate-exchange", FieldValue::string("ae1")}});
    bind("routed", "main", "k");
    EXPECT_EQ(publish(1, "main", message("a", {}, "main", "k")), 1u);
    EXPECT_EQ(publish(0, "main", message("b", {}, "main", "other")), 1u) << "through ae1 to ae2";
    EXPECT_EQ(get_all(0, "routed").size(), 1u);
    EXPECT_EQ(get_all(0, "unrouted").size(), 1u);

    // An alternate exchange that leads back to the first is followed once.
    declare_exchange("c1", routing::ExchangeType::direct,
                     {{"alternate-exchange", FieldValue::string("c2")}});
    declare_exchange("c2", routing::ExchangeType::direct,
                     {{"alternate-exchange", FieldValue::string("c1")}});
    EXPECT_EQ(publish(0, "c1", message("c")), 0u);
    // A missing alternate exchange routes nowhere.
    declare_exchange("dangling", routing::ExchangeType::direct,
                     {{"alternate-exchange", FieldValue::string("none")}});
    EXPECT_EQ(publish(0, "dangling", message("d")), 0u);
}

TEST_F(ArgumentsSimTest, UnusedQueueExpires) {
    declare_queue(1, "idle", {{"x-expires", FieldValue::int32(1000)}});
    EXPECT_EQ(sim_.broker(1).next_deadline_ms(), 1000u);
    advance_time(600);
    ASSERT_EQ(get_all(1, "idle").size(), 0u);  // basic.get uses it: the clock restarts
    EXPECT_EQ(sim_.broker(1).next_deadline_ms(), 1600u);
    advance_time(1599);
    EXPECT_NE(queue("idle"), nullptr);
    declare_queue(1, "idle", {{"x-expires", FieldValue::int32(1000)}});  // so does redeclaring
    EXPECT_EQ(sim_.broker(1).next_deadline_ms(), 2599u);

    // A consumer keeps it however long; its going starts the clock again.
    ConsumeRequest request;
    request.consumer = ConsumerKey{channel(1), 4};
    request.queue = sim_.broker(1).catalog().find_queue("/", "idle")->id;
    request.tag = "c";
    sim_.post(1, 1, std::make_unique<ConsumeRequest>(request));
    sim_.run();
    EXPECT_EQ(sim_.broker(1).next_deadline_ms(), UINT64_MAX);
    advance_time(10'000);
    EXPECT_NE(queue("idle"), nullptr);
    sim_.post(1, 1, CancelRequest{request.queue, request.consumer});
    sim_.run();
    advance_time(10'999);
    EXPECT_NE(queue("idle"), nullptr);
    advance_time(11'000);
    EXPECT_EQ(queue("idle"), nullptr) << "deleted through shard 0";
    for (u32 s = 0; s < sim_.shard_count(); s++) {
        EXPECT_EQ(sim_.broker(s).catalog().find_queue("/", "idle"), nullptr);
        EXPECT_EQ(sim_.broker(s).local_queue_count(), 0u);
        EXPECT_EQ(sim_.broker(s).next_deadline_ms(), UINT64_MAX);
    }
}

TEST_F(ArgumentsSimTest, ExpiryRequestLosesToALateConsumer) {
    declare_queue(1, "raced", {{"x-expires", FieldValue::int32(100)}});
    const QueueInfo info = *sim_.broker(1).catalog().find_queue("/", "raced");
    // The home shard asks shard 0; a consumer arrives before shard 0's command does.
    sim_.broker(1).advance_time(100);
    ConsumeRequest request;
    request.consumer = ConsumerKey{channel(1), 4};
    request.queue = info.id;
    request.tag = "c";
    sim_.broker(1).handle(std::make_unique<ConsumeRequest>(request));
    sim_.run();
    EXPECT_NE(queue("raced"), nullptr) << "a used queue stays";
    EXPECT_EQ(sim_.take<std::unique_ptr<ConsumeReply>>(1).size(), 1u);
}

}  // namespace
}  // namespace lepus::core
