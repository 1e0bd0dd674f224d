#include "net/amqp/frame.h"

#include <gtest/gtest.h>

#include <string>

#include "core/wire/wire_writer.h"
#include "net/amqp/methods.h"

namespace lepus::amqp {
namespace {

std::string method_frame(u16 channel, const BasicPublish& publish) {
    std::string out;
    wire::WireWriter writer(out);
    write_method_frame(writer, channel, publish);
    return out;
}

BasicPublish sample_publish() {
    BasicPublish publish;
    publish.exchange = "amq.topic";
    publish.routing_key = "a.b.c";
    publish.mandatory = true;
    return publish;
}

std::string header_only(u8 type, u16 channel, u32 payload_size) {
    std::string out;
    wire::WireWriter writer(out);
    write_frame_header(writer, type, channel, payload_size);
    return out;
}

TEST(Frame, MethodFrameRoundTrips) {
    std::string bytes = method_frame(7, sample_publish());
    Frame frame;
    usize size = 0;
    ASSERT_EQ(parse_frame(bytes, frame_min_size, frame, size), FrameStatus::complete);
    EXPECT_EQ(size, bytes.size());
    EXPECT_EQ(frame.type, frame_method);
    EXPECT_EQ(frame.channel, 7);
    EXPECT_EQ(frame.payload.size() + frame_overhead, bytes.size());
    EXPECT_EQ(static_cast<u8>(bytes.back()), frame_end);

    Method method;
    u16 class_id = 0;
    u16 method_id = 0;
    ASSERT_EQ(decode_method(frame.payload, method, class_id, method_id), DecodeStatus::ok);
    EXPECT_EQ(std::get<BasicPublish>(method), sample_publish());
}

TEST(Frame, VariantWriterMatchesTemplateWriter) {
    std::string out;
    wire::WireWriter writer(out);
    write_method_frame(writer, 7, Method{sample_publish()});
    EXPECT_EQ(out, method_frame(7, sample_publish()));
}

TEST(Frame, IncompleteAtEveryByte) {
    std::string bytes = method_frame(1, sample_publish());
    for (usize n = 0; n < bytes.size(); n++) {
        Frame frame;
        usize size = 123;
        EXPECT_EQ(parse_frame(std::string_view(bytes.data(), n), 0, frame, size),
                  FrameStatus::incomplete)
            << n;
        EXPECT_EQ(size, n < frame_header_size ? 0 : bytes.size()) << n;
    }
}

TEST(Frame, ParsesOneFrameAtATime) {
    std::string bytes = method_frame(1, sample_publish());
    std::string first = bytes;
    bytes += method_frame(2, sample_publish());
    Frame frame;
    usize size = 0;
    ASSERT_EQ(parse_frame(bytes, 0, frame, size), FrameStatus::complete);
    EXPECT_EQ(size, first.size());
    EXPECT_EQ(frame.channel, 1);
    ASSERT_EQ(parse_frame(std::string_view(bytes).substr(size), 0, frame, size),
              FrameStatus::complete);
    EXPECT_EQ(frame.channel, 2);
}

TEST(Frame, TooLargeFromHeaderAlone) {
    Frame frame;
    usize size = 0;
    std::string over = header_only(frame_body, 1, frame_min_size - frame_overhead + 1);
    EXPECT_EQ(parse_frame(over, frame_min_size, frame, size), FrameStatus::too_large);

    // Exactly frame_max is allowed: the header alone is incomplete, the whole frame complete.
    std::string fits = header_only(frame_body, 1, frame_min_size - frame_overhead);
    EXPECT_EQ(parse_frame(fits, frame_min_size, frame, size), FrameStatus::incomplete);
    EXPECT_EQ(size, frame_min_size);
    fits += std::string(frame_min_size - frame_overhead, 'x');
    fits += static_cast<char>(frame_end);
    EXPECT_EQ(parse_frame(fits, frame_min_size, frame, size), FrameStatus::complete);
    EXPECT_EQ(size, frame_min_size);

    // frame_max 0 means no limit, and the largest size does not wrap.
    std::string huge = header_only(frame_body, 1, 0xFFFFFFFFu);
    EXPECT_EQ(parse_frame(huge, 0, frame, size), FrameStatus::incomplete);
    EXPECT_EQ(size, usize{0xFFFFFFFFu} + frame_overhead);
    EXPECT_EQ(parse_frame(huge, 0xFFFFFFFFu, frame, size), FrameStatus::too_large);
}

TEST(Frame, BadFrameEnd) {
    std::string bytes = method_frame(1, sample_publish());
    bytes.back() = '\x00';
    Frame frame;
    usize size = 0;
    EXPECT_EQ(parse_frame(bytes, 0, frame, size), FrameStatus::bad_frame_end);
}

TEST(Frame, BadTypeFromTheFirstOctet) {
    for (u8 type : {u8{0}, u8{4}, u8{5}, u8{9}, u8{'A'}, u8{0xCE}, u8{0xFF}}) {
        std::string bytes = header_only(type, 0, 0) + static_cast<char>(frame_end);
        Frame frame;
        usize size = 0;
        EXPECT_EQ(parse_frame(bytes, 0, frame, size), FrameStatus::bad_type) << int{type};
        EXPECT_EQ(parse_frame(bytes.substr(0, 1), 0, frame, size), FrameStatus::bad_type);
    }
    // A client that repeats the protocol header is not sending frames.
    Frame frame;
    usize size = 0;
    EXPECT_EQ(parse_frame(protocol_header, 0, frame, size), FrameStatus::bad_type);
    EXPECT_EQ(protocol_header.size(), 8u);
    EXPECT_EQ(protocol_header[5], '\x00');
    EXPECT_EQ(protocol_header[7], '\x01');
}

TEST(Frame, Heartbeat) {
    std::string out;
    wire::WireWriter writer(out);
    write_heartbeat_frame(writer);
    EXPECT_EQ(out, std::string("\x08\x00\x00\x00\x00\x00\x00\xce", 8));
    Frame frame;
    usize size = 0;
    ASSERT_EQ(parse_frame(out, frame_min_size, frame, size), FrameStatus::complete);
    EXPECT_EQ(frame.type, frame_heartbeat);
    EXPECT_EQ(frame.channel, 0);
    EXPECT_TRUE(frame.payload.empty());
    EXPECT_EQ(size, 8u);
}

TEST(Frame, ContentHeaderAndBodyFrames) {
    ContentHeader header;
    header.body_size = 5;
    header.properties.set_delivery_mode(2);
    std::string out;
    wire::WireWriter writer(out);
    write_content_header_frame(writer, 3, header);
    usize header_frame_size = out.size();
    write_frame_header(writer, frame_body, 3, 5);
    writer.write_bytes("hello");
    write_frame_end(writer);

    Frame frame;
    usize size = 0;
    ASSERT_EQ(parse_frame(out, 0, frame, size), FrameStatus::complete);
    EXPECT_EQ(size, header_frame_size);
    EXPECT_EQ(frame.type, frame_header);
    ContentHeader decoded;
    ASSERT_TRUE(decode_content_header(frame.payload, decoded));
    EXPECT_EQ(decoded, header);

    ASSERT_EQ(parse_frame(std::string_view(out).substr(size), 0, frame, size),
              FrameStatus::complete);
    EXPECT_EQ(frame.type, frame_body);
    EXPECT_EQ(frame.channel, 3);
    EXPECT_EQ(frame.payload, "hello");
}

TEST(Frame, StatusNames) {
    EXPECT_EQ(frame_status_name(FrameStatus::too_large), "too_large");
    EXPECT_EQ(frame_status_name(FrameStatus::bad_frame_end), "bad_frame_end");
}

}  // namespace
}  // namespace lepus::amqp
