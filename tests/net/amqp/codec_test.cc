#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <variant>

#include "core/wire/field_table.h"
#include "core/wire/wire_reader.h"
#include "core/wire/wire_writer.h"
#include "net/amqp/methods.h"
#include "tests/net/amqp/reply_code_printer.h"

namespace lepus::amqp {
namespace {

std::string encode(const Method& method) {
    std::string out;
    wire::WireWriter writer(out);
    encode_method(method, writer);
    return out;
}

template <typename M>
std::string encode_args(const M& method) {
    std::string out;
    wire::WireWriter writer(out);
    method.encode_arguments(writer);
    return out;
}

DecodeStatus decode(std::string_view payload, Method& out) {
    u16 class_id = 0;
    u16 method_id = 0;
    return decode_method(payload, out, class_id, method_id);
}

TEST(Codec, SamplesCoverEveryMethodOfEveryClass) {
    std::vector<Method> samples = sample_methods();
    EXPECT_EQ(samples.size(), std::variant_size_v<Method>);
    std::set<usize> indices;
    std::set<u16> classes;
    for (const Method& m : samples) {
        indices.insert(m.index());
        classes.insert(static_cast<u16>(method_id_of(m) >> 16));
    }
    EXPECT_EQ(indices.size(), std::variant_size_v<Method>);
    // connection, channel, access, exchange, queue, basic, confirm, tx.
    EXPECT_EQ(classes, (std::set<u16>{10, 20, 30, 40, 50, 60, 85, 90}));
    // Every method the spec defines: 14 + 6 + 2 + 8 + 10 + 18 + 6 + 2.
    EXPECT_EQ(samples.size(), 66u);
}

TEST(Codec, EveryMethodRoundTripsWithNonDefaultValues) {
    for (const Method& sample : sample_methods()) {
        std::string payload = encode(sample);
        Method decoded;
        u16 class_id = 0;
        u16 method_id = 0;
        ASSERT_EQ(decode_method(payload, decoded, class_id, method_id), DecodeStatus::ok)
            << method_name(sample);
        EXPECT_EQ(decoded, sample) << method_name(sample);
        EXPECT_EQ(method_id_of(decoded), (u32{class_id} << 16) | method_id);
        EXPECT_EQ(method_name(class_id, method_id), method_name(sample));
        std::visit(
            [&](const auto& m) {
                using M = std::decay_t<decltype(m)>;
                EXPECT_EQ(M::class_id, class_id);
                EXPECT_EQ(M::method_id, method_id);
                EXPECT_EQ(method_has_content(sample), M::has_content);
                // A sample differs from the defaults whenever the method has arguments.
                if (!encode_args(M{}).empty()) {
                    EXPECT_NE(encode_args(M{}), encode_args(m)) << M::name;
                    EXPECT_FALSE(M{} == m) << M::name;
                }
            },
            sample);
    }
}

TEST(Codec, EveryTruncationOfEverySampleIsMalformed) {
    for (const Method& sample : sample_methods()) {
        std::string payload = encode(sample);
        for (usize n = 0; n < payload.size(); n++) {
            Method decoded;
            EXPECT_EQ(decode(std::string_view(payload.data(), n), decoded), DecodeStatus::malformed)
                << method_name(sample) << " cut at " << n;
        }
    }
}

TEST(Codec, TrailingBytesAreMalformed) {
    for (const Method& sample : sample_methods()) {
        std::string payload = encode(sample) + '\0';
        Method decoded;
        EXPECT_EQ(decode(payload, decoded), DecodeStatus::malformed) << method_name(sample);
    }
}

TEST(Codec, UnknownMethodsReportTheirIds) {
    Method decoded;
    u16 class_id = 0;
    u16 method_id = 0;
    EXPECT_EQ(decode_method(std::string_view("\x00\x0a\x00\x63", 4), decoded, class_id, method_id),
              DecodeStatus::unknown_method);
    EXPECT_EQ(class_id, 10);
    EXPECT_EQ(method_id, 99);
    EXPECT_EQ(decode_method(std::string_view("\x03\xe7\x00\x0a trailing", 13), decoded, class_id,
                            method_id),
              DecodeStatus::unknown_method);
    EXPECT_EQ(class_id, 999);
    EXPECT_EQ(method_id, 10);
    EXPECT_EQ(method_name(999, 10), "unknown");
    EXPECT_EQ(decode_method(std::string_view("\x00\x0a\x00", 3), decoded, class_id, method_id),
              DecodeStatus::malformed);
}

TEST(Codec, StaticDescriptions) {
    static_assert(BasicPublish::class_id == 60 && BasicPublish::method_id == 40);
    static_assert(BasicPublish::id == ((60u << 16) | 40u));
    static_assert(BasicPublish::has_content && !BasicPublish::synchronous);
    static_assert(BasicGetOk::has_content && BasicDeliver::has_content && BasicReturn::has_content);
    static_assert(QueueDeclare::synchronous && !QueueDeclare::has_content);
    static_assert(ExchangeUnbindOk::method_id == 51);
    static_assert(ConfirmSelect::class_id == 85 && TxSelect::class_id == 90);
    static_assert(BasicRecoverAsync::method_id == 100);
    EXPECT_EQ(BasicPublish::name, "basic.publish");
    EXPECT_EQ(method_name(60, 71), "basic.get-ok");
    EXPECT_EQ(method_name(Method{ConnectionStartOk{}}), "connection.start-ok");
}

TEST(Codec, DefaultsComeFromTheSpec) {
    ConnectionStart start;
    EXPECT_EQ(start.version_major, 0);
    EXPECT_EQ(start.version_minor, 9);
    EXPECT_EQ(start.mechanisms, "PLAIN");
    EXPECT_EQ(start.locales, "en_US");
    EXPECT_EQ(ConnectionOpen{}.virtual_host, "/");
    EXPECT_EQ(ExchangeDeclare{}.type, "direct");
    EXPECT_TRUE(BasicReject{}.requeue);
    EXPECT_TRUE(BasicNack{}.requeue);
    EXPECT_FALSE(BasicNack{}.multiple);
    EXPECT_EQ(AccessRequestOk{}.ticket, 1);
    EXPECT_TRUE(AccessRequest{}.passive);
    EXPECT_TRUE(ExchangeDeclare{}.arguments.empty());
}

TEST(Codec, KnownBytesOfBasicPublish) {
    BasicPublish publish;
    publish.exchange = "ex";
    publish.routing_key = "rk";
    publish.mandatory = true;
    std::string expected(
        "\x00\x3c\x00\x28"
        "\x00\x00"
        "\x02"
        "ex"
        "\x02"
        "rk"
        "\x01",
        13);
    EXPECT_EQ(encode(publish), expected);
    publish.mandatory = false;
    publish.immediate = true;
    expected.back() = '\x02';
    EXPECT_EQ(encode(publish), expected);
}

TEST(Codec, ConsecutiveBitsShareAnOctetLeastSignificantFirst) {
    QueueDeclare declare;
    declare.queue = "q";
    std::string none = encode_args(declare);
    // ticket(2) queue(2) bits(1) table(4)
    ASSERT_EQ(none.size(), 9u);
    EXPECT_EQ(none[4], 0);
    bool QueueDeclare::*bits[] = {&QueueDeclare::passive, &QueueDeclare::durable,
                                  &QueueDeclare::exclusive, &QueueDeclare::auto_delete,
                                  &QueueDeclare::nowait};
    for (usize i = 0; i < std::size(bits); i++) {
        QueueDeclare one = declare;
        one.*bits[i] = true;
        std::string bytes = encode_args(one);
        EXPECT_EQ(static_cast<u8>(bytes[4]), 1u << i);
        // The decoded views point into the payload, so it must outlive `decoded`.
        std::string payload = encode(one);
        Method decoded;
        ASSERT_EQ(decode(payload, decoded), DecodeStatus::ok);
        EXPECT_EQ(std::get<QueueDeclare>(decoded), one);
    }
}

TEST(Codec, ReservedBitsAreIgnored) {
    std::string payload(
        "\x00\x3c\x00\x50"
        "\x00\x00\x00\x00\x00\x00\x00\x07"
        "\xff",
        13);
    Method decoded;
    ASSERT_EQ(decode(payload, decoded), DecodeStatus::ok);
    EXPECT_EQ(std::get<BasicAck>(decoded).delivery_tag, 7u);
    EXPECT_TRUE(std::get<BasicAck>(decoded).multiple);
}

TEST(Codec, TablesAreValidatedAndKeptAsContent) {
    wire::FieldTable table = {{"x-max-length", wire::FieldValue::int32(10)}};
    std::string content = wire::field_table_content(table);
    QueueDeclare declare;
    declare.queue = "q";
    declare.arguments = content;
    std::string payload = encode(declare);
    Method decoded;
    ASSERT_EQ(decode(payload, decoded), DecodeStatus::ok);
    EXPECT_EQ(std::get<QueueDeclare>(decoded).arguments, content);

    // A table with an unknown field type inside a well-formed length.
    declare.arguments = std::string_view("\x01kZ", 3);
    EXPECT_EQ(decode(encode(declare), decoded), DecodeStatus::malformed);
}

TEST(Codec, DecodeIntoAReusedMethod) {
    Method m;
    ASSERT_EQ(decode(encode(BasicAck{.delivery_tag = 5, .multiple = true}), m), DecodeStatus::ok);
    BasicQos qos{.prefetch_size = 0, .prefetch_count = 10, .global = false};
    ASSERT_EQ(decode(encode(qos), m), DecodeStatus::ok);
    EXPECT_EQ(std::get<BasicQos>(m).prefetch_count, 10);
    EXPECT_EQ(std::get<BasicQos>(m).global, false);
}

TEST(Codec, ReplyCodes) {
    EXPECT_EQ(wire_code(ReplyCode::reply_success), 200);
    EXPECT_EQ(wire_code(ReplyCode::not_found), 404);
    EXPECT_EQ(wire_code(ReplyCode::precondition_failed), 406);
    EXPECT_EQ(wire_code(ReplyCode::connection_forced), 320);
    EXPECT_EQ(wire_code(ReplyCode::frame_error), 501);
    EXPECT_EQ(wire_code(ReplyCode::internal_error), 541);
    EXPECT_EQ(reply_code_name(ReplyCode::not_found), "NOT_FOUND");
    EXPECT_EQ(reply_code_name(ReplyCode::resource_locked), "RESOURCE_LOCKED");
    EXPECT_EQ(reply_code_name(ReplyCode::content_too_large), "CONTENT_TOO_LARGE");
    EXPECT_EQ(reply_code_name(ReplyCode::invalid_path), "INVALID_PATH");
    EXPECT_EQ(reply_code_name(ReplyCode::no_route), "NO_ROUTE");
    EXPECT_EQ(reply_code_name(ReplyCode::no_consumers), "NO_CONSUMERS");
    EXPECT_EQ(reply_code_name(ReplyCode::command_invalid), "COMMAND_INVALID");
    // A peer's code goes by its number, and may be one the spec lacks.
    EXPECT_EQ(reply_code_name(u16{404}), "NOT_FOUND");
    EXPECT_EQ(reply_code_name(999), "UNKNOWN");
    EXPECT_EQ(reply_code_from_wire(404), ReplyCode::not_found);
    EXPECT_FALSE(reply_code_from_wire(999).has_value());
}

// Every code of the spec, and no other number, is a ReplyCode, in the class the spec gives it:
// soft errors close the channel, hard errors the connection, and reply-success is neither.
TEST(Codec, EveryReplyCodeHasItsClassInTheSpec) {
    const std::set<u16> soft = {311, 312, 313, 403, 404, 405, 406};
    const std::set<u16> hard = {320, 402, 501, 502, 503, 504, 505, 506, 530, 540, 541};
    const u16 success = 200;
    usize codes = 0;
    for (u32 wire = 0; wire <= UINT16_MAX; wire++) {
        const u16 number = static_cast<u16>(wire);
        std::optional<ReplyCode> code = reply_code_from_wire(number);
        bool in_spec = soft.contains(number) || hard.contains(number) || number == success;
        ASSERT_EQ(code.has_value(), in_spec) << number;
        if (!code) continue;
        codes++;
        EXPECT_EQ(wire_code(*code), number);
        EXPECT_EQ(is_soft_error(*code), soft.contains(number)) << number;
        EXPECT_EQ(is_hard_error(*code), hard.contains(number)) << number;
        EXPECT_NE(reply_code_name(*code), "UNKNOWN") << number;
    }
    EXPECT_EQ(codes, soft.size() + hard.size() + 1);
    EXPECT_FALSE(is_soft_error(ReplyCode::reply_success));
    EXPECT_FALSE(is_hard_error(ReplyCode::reply_success));
}

std::string encode_header(const ContentHeader& header) {
    std::string out;
    wire::WireWriter writer(out);
    encode_content_header(header, writer);
    return out;
}

ContentHeader full_header(const std::string& headers_content) {
    ContentHeader header;
    header.body_size = 0x0102030405060708ull;
    BasicProperties& p = header.properties;
    p.set_content_type("application/json");
    p.set_content_encoding("gzip");
    p.set_headers(headers_content);
    p.set_delivery_mode(2);
    p.set_priority(9);
    p.set_correlation_id("corr");
    p.set_reply_to("amq.rabbitmq.reply-to");
    p.set_expiration("60000");
    p.set_message_id("m-1");
    p.set_timestamp(1700000000);
    p.set_type("kind");
    p.set_user_id("guest");
    p.set_app_id("app");
    p.set_cluster_id("c");
    return header;
}

std::string sample_headers() {
    return wire::field_table_content(
        {{"h", wire::FieldValue::string("v")}, {"n", wire::FieldValue::int64(-1)}});
}

TEST(ContentHeader, AllFourteenPropertiesRoundTrip) {
    std::string headers = sample_headers();
    ContentHeader header = full_header(headers);
    EXPECT_EQ(header.properties.flags, 0xFFFC);
    EXPECT_EQ(header.properties.flags, BasicProperties::flags_known);
    std::string payload = encode_header(header);
    ContentHeader decoded;
    ASSERT_TRUE(decode_content_header(payload, decoded));
    EXPECT_EQ(decoded, header);
    EXPECT_TRUE(decoded.properties.has(BasicProperty::cluster_id));
}

TEST(ContentHeader, NoPropertiesRoundTrips) {
    ContentHeader header;
    header.body_size = 42;
    std::string payload = encode_header(header);
    EXPECT_EQ(payload, std::string("\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x2a\x00\x00", 14));
    ContentHeader decoded;
    ASSERT_TRUE(decode_content_header(payload, decoded));
    EXPECT_EQ(decoded, header);
    EXPECT_FALSE(decoded.properties.has(BasicProperty::content_type));
}

TEST(ContentHeader, SubsetRoundTrips) {
    ContentHeader header;
    header.body_size = 3;
    header.properties.set_delivery_mode(2);
    header.properties.set_message_id("id");
    header.properties.set_app_id("a");
    EXPECT_EQ(header.properties.flags, 0x1000 | 0x0080 | 0x0008);
    std::string payload = encode_header(header);
    // class, weight, size, flags, delivery-mode, message-id, app-id.
    EXPECT_EQ(payload.size(), 2u + 2 + 8 + 2 + 1 + 3 + 2);
    ContentHeader decoded;
    ASSERT_TRUE(decode_content_header(payload, decoded));
    EXPECT_EQ(decoded, header);
    EXPECT_TRUE(decoded.properties.has(BasicProperty::delivery_mode));
    EXPECT_FALSE(decoded.properties.has(BasicProperty::priority));
}

TEST(ContentHeader, EveryTruncationIsRejected) {
    std::string payload = encode_header(full_header(sample_headers()));
    for (usize n = 0; n < payload.size(); n++) {
        ContentHeader decoded;
        EXPECT_FALSE(decode_content_header(std::string_view(payload.data(), n), decoded)) << n;
    }
    ContentHeader decoded;
    EXPECT_FALSE(decode_content_header(payload + 'x', decoded));
}

TEST(ContentHeader, UnknownFlagsAndContinuationAreRejected) {
    std::string payload = encode_header(ContentHeader{});
    for (u16 bit : {u16{0x0001}, u16{0x0002}}) {
        std::string bad = payload;
        bad[12] = static_cast<char>(bit >> 8);
        bad[13] = static_cast<char>(bit);
        ContentHeader decoded;
        EXPECT_FALSE(decode_content_header(bad, decoded)) << bit;
    }
}

TEST(ContentHeader, OtherClassesAndBadTablesAreRejected) {
    std::string payload = encode_header(ContentHeader{});
    payload[1] = 50;  // queue has no content
    ContentHeader decoded;
    EXPECT_FALSE(decode_content_header(payload, decoded));

    ContentHeader header;
    header.properties.set_headers(std::string_view("\x01kI\x00", 4));
    EXPECT_FALSE(decode_content_header(encode_header(header), decoded));
}

}  // namespace
}  // namespace lepus::amqp
