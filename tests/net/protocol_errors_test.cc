// Every error a client can cause, as a table: the frames that set the scene, the frames that
// go wrong, and the close that must answer them (on the channel for a soft error, on the
// connection for a hard one) with its code, text and the method it blames. The texts are
// RabbitMQ 3.10's (tests/clients/errors_test.py and protocol_test.py check the same against a
// live RabbitMQ). After a soft error the connection must go on serving: another channel opens.
// A protocol bug reproduces here in a row, without a client library, a broker process or a
// socket.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "tests/net/amqp/reply_code_printer.h"
#include "tests/net/sim_client.h"

namespace lepus::server::sim {
namespace {

using namespace lepus::amqp;

enum class Closes : u8 { channel, connection };

struct ErrorCase {
    const char* name;
    std::string setup;    // sent first; must draw no error
    std::string trigger;  // sent next
    Closes closes;
    ReplyCode code;
    std::string text;
    u16 class_id;
    u16 method_id;
};

void PrintTo(const ErrorCase& c, std::ostream* out) { *out << c.name; }

template <typename M>
std::string on1(const M& m) {
    return SimClient::method(1, m);
}

std::string declare_queue(std::string_view name, bool passive = false, bool durable = false) {
    QueueDeclare m;
    m.queue = name;
    m.passive = passive;
    m.durable = durable;
    return on1(m);
}

std::string declare_exchange(std::string_view name, std::string_view type, bool passive = false) {
    ExchangeDeclare m;
    m.exchange = name;
    m.type = type;
    m.passive = passive;
    return on1(m);
}

std::string publish_method(std::string_view exchange, std::string_view key, bool immediate) {
    BasicPublish m;
    m.exchange = exchange;
    m.routing_key = key;
    m.immediate = immediate;
    return on1(m);
}

std::string content_header(u16 channel, u64 body_size) {
    std::string bytes;
    wire::WireWriter writer(bytes);
    ContentHeader header;
    header.body_size = body_size;
    write_content_header_frame(writer, channel, header);
    return bytes;
}

std::string body(u16 channel, std::string_view data) {
    std::string bytes;
    wire::WireWriter writer(bytes);
    write_frame_header(writer, frame_body, channel, static_cast<u32>(data.size()));
    writer.write_bytes(data);
    write_frame_end(writer);
    return bytes;
}

// A frame with any type, channel and payload, well formed or not in its end octet.
std::string raw_frame(u8 type, u16 channel, std::string_view payload, u8 end = frame_end) {
    std::string bytes;
    wire::WireWriter writer(bytes);
    write_frame_header(writer, type, channel, static_cast<u32>(payload.size()));
    writer.write_bytes(payload);
    writer.write_u8(end);
    return bytes;
}

std::string ids(u16 class_id, u16 method_id) {
    std::string bytes;
    wire::WireWriter writer(bytes);
    writer.write_u16(class_id);
    writer.write_u16(method_id);
    return bytes;
}

std::string consume(std::string_view queue, std::string_view tag) {
    BasicConsume m;
    m.queue = queue;
    m.consumer_tag = tag;
    return on1(m);
}

std::vector<ErrorCase> error_cases() {
    const std::string no_queue = "NOT_FOUND - no queue 'missing' in vhost '/'";
    const std::string not_transactional = "PRECONDITION_FAILED - channel is not transactional";
    const std::string unknown_tag = "PRECONDITION_FAILED - unknown delivery tag 42";
    const std::string default_exchange =
        "ACCESS_REFUSED - operation not permitted on the default exchange";
    QueueBind bind_missing;
    bind_missing.queue = "missing";
    bind_missing.exchange = "amq.direct";
    QueueBind bind_missing_to_default;
    bind_missing_to_default.queue = "missing";
    QueueBind bind_both_missing;
    bind_both_missing.queue = "missing";
    bind_both_missing.exchange = "missing";
    QueueBind bind_to_default;
    bind_to_default.queue = "q";
    QueueDelete delete_if_empty;
    delete_if_empty.queue = "q";
    delete_if_empty.if_empty = true;
    ExchangeDelete delete_system;
    delete_system.exchange = "amq.direct";
    ExchangeDelete delete_default;
    BasicGet get_missing;
    get_missing.queue = "missing";
    QueuePurge purge_missing;
    purge_missing.queue = "missing";
    BasicQos qos_with_size;
    qos_with_size.prefetch_size = 1;
    ChannelFlow flow_off;
    flow_off.active = false;
    ConnectionOpen open_again;
    open_again.virtual_host = "/";
    // The reserved short and nothing more: the queue name is missing.
    std::string truncated_declare =
        ids(QueueDeclare::class_id, QueueDeclare::method_id) + std::string(2, '\0');

    return {
        // Soft errors: the channel closes, the connection stays.
        {"passive_declare_of_a_missing_queue", "", declare_queue("missing", true), Closes::channel,
         ReplyCode::not_found, no_queue, 50, 10},
        {"redeclare_with_another_durable_flag", declare_queue("q"), declare_queue("q", false, true),
         Closes::channel, ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': received "
         "'true' but current is 'false'",
         50, 10},
        {"reserved_queue_name", "", declare_queue("amq.lepus"), Closes::channel,
         ReplyCode::access_refused,
         "ACCESS_REFUSED - queue name 'amq.lepus' contains reserved prefix 'amq.*'", 50, 10},
        {"reserved_exchange_name", "", declare_exchange("amq.lepus", "direct"), Closes::channel,
         ReplyCode::access_refused,
         "ACCESS_REFUSED - exchange name 'amq.lepus' contains reserved prefix 'amq.*'", 40, 10},
        {"redeclare_an_exchange_with_another_type", declare_exchange("x", "direct"),
         declare_exchange("x", "fanout"), Closes::channel, ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'x' in vhost '/': received "
         "'fanout' but current is 'direct'",
         40, 10},
        {"passive_declare_of_a_missing_exchange", "", declare_exchange("missing", "direct", true),
         Closes::channel, ReplyCode::not_found, "NOT_FOUND - no exchange 'missing' in vhost '/'",
         40, 10},
        {"delete_a_system_exchange", "", on1(delete_system), Closes::channel,
         ReplyCode::access_refused,
         "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed", 40,
         20},
        {"declare_the_default_exchange", "", declare_exchange("", "direct"), Closes::channel,
         ReplyCode::access_refused, default_exchange, 40, 10},
        {"delete_the_default_exchange", "", on1(delete_default), Closes::channel,
         ReplyCode::access_refused, default_exchange, 40, 20},
        {"bind_to_the_default_exchange", declare_queue("q"), on1(bind_to_default), Closes::channel,
         ReplyCode::access_refused, default_exchange, 50, 20},
        {"bind_a_missing_queue", "", on1(bind_missing), Closes::channel, ReplyCode::not_found,
         no_queue, 50, 20},
        {"purge_a_missing_queue", "", on1(purge_missing), Closes::channel, ReplyCode::not_found,
         no_queue, 50, 30},
        {"delete_if_empty_a_queue_with_messages",
         declare_queue("q") + SimClient::publish(1, "", "q", "x"), on1(delete_if_empty),
         Closes::channel, ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - queue 'q' in vhost '/' not empty", 50, 40},
        {"consume_from_a_missing_queue", "", consume("missing", "c"), Closes::channel,
         ReplyCode::not_found, no_queue, 60, 20},
        {"get_from_a_missing_queue", "", on1(get_missing), Closes::channel, ReplyCode::not_found,
         no_queue, 60, 70},
        {"publish_to_a_missing_exchange", "", SimClient::publish(1, "nowhere", "k", "x"),
         Closes::channel, ReplyCode::not_found, "NOT_FOUND - no exchange 'nowhere' in vhost '/'",
         60, 40},
        {"ack_an_unknown_tag", "", on1(BasicAck{42, false}), Closes::channel,
         ReplyCode::precondition_failed, unknown_tag, 60, 80},
        {"reject_an_unknown_tag", "", on1(BasicReject{42, true}), Closes::channel,
         ReplyCode::precondition_failed, unknown_tag, 60, 90},
        {"nack_an_unknown_tag", "", on1(BasicNack{42, false, true}), Closes::channel,
         ReplyCode::precondition_failed, unknown_tag, 60, 120},
        {"ack_an_unknown_tag_in_a_transaction", on1(TxSelect{}), on1(BasicAck{42, false}),
         Closes::channel, ReplyCode::precondition_failed, unknown_tag, 60, 80},
        {"bind_a_missing_queue_to_the_default_exchange", "", on1(bind_missing_to_default),
         Closes::channel, ReplyCode::access_refused, default_exchange, 50, 20},
        {"bind_a_missing_queue_to_a_missing_exchange", "", on1(bind_both_missing), Closes::channel,
         ReplyCode::not_found, "NOT_FOUND - no exchange 'missing' in vhost '/'", 50, 20},
        {"commit_without_select", "", on1(TxCommit{}), Closes::channel,
         ReplyCode::precondition_failed, not_transactional, 90, 20},
        {"rollback_without_select", "", on1(TxRollback{}), Closes::channel,
         ReplyCode::precondition_failed, not_transactional, 90, 30},
        {"tx_after_confirm", on1(ConfirmSelect{}), on1(TxSelect{}), Closes::channel,
         ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - cannot switch from confirm to tx mode", 90, 10},
        {"confirm_after_tx", on1(TxSelect{}), on1(ConfirmSelect{}), Closes::channel,
         ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - cannot switch from tx to confirm mode", 85, 10},

        // Hard errors: the whole connection closes.
        {"unknown_exchange_type", "", declare_exchange("odd", "no-such-type"), Closes::connection,
         ReplyCode::command_invalid, "COMMAND_INVALID - unknown exchange type 'no-such-type'", 40,
         10},
        {"reuse_a_consumer_tag", declare_queue("q") + consume("q", "c"), consume("q", "c"),
         Closes::connection, ReplyCode::not_allowed,
         "NOT_ALLOWED - attempt to reuse consumer tag 'c'", 60, 20},
        {"qos_with_a_prefetch_size", "", on1(qos_with_size), Closes::connection,
         ReplyCode::not_implemented, "NOT_IMPLEMENTED - prefetch_size!=0 (1)", 60, 10},
        {"flow_off", "", on1(flow_off), Closes::connection, ReplyCode::not_implemented,
         "NOT_IMPLEMENTED - active=false", 20, 20},
        {"publish_immediate", "",
         publish_method("", "q", true) + content_header(1, 1) + body(1, "x"), Closes::connection,
         ReplyCode::not_implemented, "NOT_IMPLEMENTED - immediate=true", 60, 40},
        {"method_on_an_unopened_channel", "", SimClient::method(5, QueueDeclare{}),
         Closes::connection, ReplyCode::channel_error, "CHANNEL_ERROR - expected 'channel.open'",
         50, 10},
        {"second_channel_open", "", on1(ChannelOpen{}), Closes::connection,
         ReplyCode::channel_error, "CHANNEL_ERROR - second 'channel.open' seen", 20, 10},
        {"connection_open_when_open", "", SimClient::method(0, open_again), Closes::connection,
         ReplyCode::channel_error, "CHANNEL_ERROR - unexpected method in connection state running",
         10, 40},
        {"malformed_arguments", "", raw_frame(frame_method, 1, truncated_declare),
         Closes::connection, ReplyCode::syntax_error, "SYNTAX_ERROR - malformed queue.declare", 50,
         10},
        {"unknown_method", "", raw_frame(frame_method, 1, ids(60, 999)), Closes::connection,
         ReplyCode::not_implemented, "NOT_IMPLEMENTED - unknown method 60.999", 60, 999},
        {"content_header_without_a_publish", "", content_header(1, 1), Closes::connection,
         ReplyCode::unexpected_frame,
         "UNEXPECTED_FRAME - expected method frame, got non method frame instead", 0, 0},
        {"method_where_a_content_header_belongs", "",
         publish_method("", "q", false) + on1(BasicQos{}), Closes::connection,
         ReplyCode::unexpected_frame,
         "UNEXPECTED_FRAME - expected content header for class 60, got non content header frame "
         "instead",
         60, 40},
        {"method_where_a_body_belongs", "",
         publish_method("", "q", false) + content_header(1, 1) + on1(BasicQos{}),
         Closes::connection, ReplyCode::unexpected_frame,
         "UNEXPECTED_FRAME - expected content body, got non content body frame instead", 60, 40},
        {"body_larger_than_its_header_says", "",
         publish_method("", "q", false) + content_header(1, 1) + body(1, "xyz"), Closes::connection,
         ReplyCode::frame_error, "FRAME_ERROR - content body exceeds the size in its header", 60,
         40},
        {"heartbeat_on_a_channel", "", raw_frame(frame_heartbeat, 1, ""), Closes::connection,
         ReplyCode::unexpected_frame, "UNEXPECTED_FRAME - heartbeat frame on channel 1", 0, 0},
        {"content_on_channel_zero", "", body(0, "x"), Closes::connection,
         ReplyCode::unexpected_frame, "UNEXPECTED_FRAME - content frame on channel 0", 0, 0},
        {"bad_frame_end", "", raw_frame(frame_method, 1, ids(20, 10) + std::string(1, '\0'), 0x00),
         Closes::connection, ReplyCode::frame_error, "FRAME_ERROR - frame end octet is not 0xCE", 0,
         0},
        {"unknown_frame_type", "", raw_frame(9, 1, ""), Closes::connection, ReplyCode::frame_error,
         "FRAME_ERROR - unknown frame type 9", 0, 0},
    };
}

// Each row runs twice: on a bare session (the protocol alone) and through a socket into the
// server's Connection (the protocol under its byte stream).
class ProtocolErrorTest : public ::testing::TestWithParam<std::tuple<ErrorCase, Transport>> {};

TEST_P(ProtocolErrorTest, ClosesWithTheCodeTextAndMethod) {
    const ErrorCase& c = std::get<0>(GetParam());
    ASSERT_EQ(is_hard_error(c.code), c.closes == Closes::connection)
        << "the spec's class of " << reply_code_name(c.code) << " disagrees with the table";
    // Two shards, the client on the one without the metadata: declares cross shards.
    ProtocolSim sim(SimConfig{2, core::sim::Interleaving::in_order, 1}, std::get<1>(GetParam()));
    SimClient client(sim, 1);
    client.handshake();
    if (!c.setup.empty()) {
        client.send(c.setup);
        sim.pump();
        for (const Received& r : client.read()) {
            ASSERT_FALSE(r.reply_code.has_value()) << "the setup failed: " << r.reply_text;
        }
    }
    client.send(c.trigger);
    sim.pump();
    std::vector<Received> got = client.read();
    const u32 close_id = c.closes == Closes::channel ? ChannelClose::id : ConnectionClose::id;
    const Received* close = nullptr;
    for (const Received& r : got) {
        if (r.reply_code.has_value()) {
            close = &r;
            break;
        }
    }
    ASSERT_NE(close, nullptr) << "no close came";
    EXPECT_EQ(close->method, close_id);
    EXPECT_EQ(close->channel, c.closes == Closes::channel ? 1 : 0);
    EXPECT_EQ(close->reply_code, c.code);
    EXPECT_EQ(close->reply_text, c.text);
    EXPECT_EQ(close->close_class_id, c.class_id);
    EXPECT_EQ(close->close_method_id, c.method_id);
    if (c.closes == Closes::connection) return;

    // A soft error ends one channel: the client acknowledges, and the connection serves on.
    client.send(on1(ChannelCloseOk{}) + SimClient::method(2, ChannelOpen{}) +
                SimClient::method(2, QueueDeclare{}));
    sim.pump();
    got = client.read();
    EXPECT_TRUE(SimClient::saw(got, ChannelOpenOk::id));
    EXPECT_TRUE(SimClient::saw(got, QueueDeclareOk::id));
    EXPECT_FALSE(SimClient::saw(got, ConnectionClose::id));
}

// A logged-in client with channel 1 open, on the shard without the metadata; no socket.
class ProtocolTest : public ::testing::Test {
protected:
    void SetUp() override { client.handshake(); }

    ProtocolSim sim{SimConfig{2, core::sim::Interleaving::in_order, 1}, Transport::direct};
    SimClient client{sim, 1};
};

// RabbitMQ unbinds what does not exist without an error: a missing queue, a missing exchange,
// or both, for queues and exchanges alike.
TEST_F(ProtocolTest, UnbindingWhatIsMissingSucceeds) {
    QueueUnbind missing_queue;
    missing_queue.queue = "missing";
    missing_queue.exchange = "amq.direct";
    QueueUnbind both_missing;
    both_missing.queue = "missing";
    both_missing.exchange = "missing";
    ExchangeUnbind exchanges_missing;
    exchanges_missing.destination = "missing-a";
    exchanges_missing.source = "missing-b";
    client.send(declare_queue("q") + on1(missing_queue) + on1(both_missing) +
                on1(exchanges_missing));
    sim.pump();
    std::vector<Received> got = client.read();
    EXPECT_EQ(SimClient::count(got, QueueUnbindOk::id), 2u);
    EXPECT_EQ(SimClient::count(got, ExchangeUnbindOk::id), 1u);
    EXPECT_FALSE(SimClient::saw(got, ChannelClose::id));
}

// In a transaction a tag is the client's until it is acked, even before the commit (the table's
// ack_an_unknown_tag_in_a_transaction); after tx.rollback it may be acked again, and tx.commit
// settles it.
TEST_F(ProtocolTest, AcksAreCheckedWhenTheyArriveAndRollbackGivesThemBack) {
    BasicGet get;
    get.queue = "q";
    client.send(declare_queue("q") + SimClient::publish(1, "", "q", "x") + on1(get) +
                on1(TxSelect{}) + on1(BasicAck{1, false}) + on1(TxRollback{}) +
                on1(BasicAck{1, false}) + on1(TxCommit{}));
    sim.pump();
    std::vector<Received> got = client.read();
    EXPECT_TRUE(SimClient::saw(got, BasicGetOk::id));
    EXPECT_TRUE(SimClient::saw(got, TxCommitOk::id));
    EXPECT_FALSE(SimClient::saw(got, ChannelClose::id));
    client.send(on1(BasicAck{1, false}));
    sim.pump();
    got = client.read();
    ASSERT_TRUE(SimClient::saw(got, ChannelClose::id)) << "tag 1 was settled by the commit";
}

INSTANTIATE_TEST_SUITE_P(Table, ProtocolErrorTest,
                         ::testing::Combine(::testing::ValuesIn(error_cases()),
                                            ::testing::Values(Transport::direct,
                                                              Transport::socket)),
                         [](const auto& row) {
                             return std::string(std::get<0>(row.param).name) +
                                    (std::get<1>(row.param) == Transport::direct ? "_session"
                                                                                 : "_socket");
                         });

}  // namespace
}  // namespace lepus::server::sim
