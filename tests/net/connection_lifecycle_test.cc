// Every kind of request a channel sends to another shard, with the reply still in flight when
// the client goes: by connection.close, by channel.close, by dropping the socket, or by
// missing heartbeats. The client pipelines the request and the close in one write, the race a
// hostile (or hasty) client wins. Afterwards no message may be stranded (every one is ready
// in its queue or was handed to the client with no-ack), no consumer may be left registered,
// exclusive queues of a closed connection are gone from every replica, and no assertion fires.
// Run over several shard counts, both queue placements and seeded interleavings.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/net/amqp/reply_code_printer.h"
#include "tests/net/sim_client.h"

namespace lepus::server::sim {
namespace {

using namespace lepus::amqp;

constexpr u32 message_count = 5;
constexpr std::string_view queue_name = "work";
constexpr std::string_view other_queue = "other";

enum class CloseKind : u8 { connection_close, channel_close, socket_drop, heartbeat_timeout };

const char* close_name(CloseKind kind) {
    switch (kind) {
        case CloseKind::connection_close: return "connection_close";
        case CloseKind::channel_close: return "channel_close";
        case CloseKind::socket_drop: return "socket_drop";
        case CloseKind::heartbeat_timeout: return "heartbeat_timeout";
    }
    return "?";
}

// What the request leaves behind once it has run, whatever became of its reply.
struct Expect {
    i32 ready_delta = 0;        // messages added to (publish) or removed from the queue
    bool purges = false;        // the queue is empty afterwards
    bool no_ack_taken = false;  // messages the client got with no-ack are gone, not lost
    bool declares_exclusive = false;
    bool deletes_other = false;
};

struct Request {
    const char* name;
    std::function<std::string()> bytes;
    Expect expect;
};

std::string consume(bool no_ack, std::string_view tag = "c1") {
    BasicConsume m;
    m.queue = queue_name;
    m.consumer_tag = tag;
    m.no_ack = no_ack;
    return SimClient::method(1, m);
}

std::string get(bool no_ack) {
    BasicGet m;
    m.queue = queue_name;
    m.no_ack = no_ack;
    return SimClient::method(1, m);
}

std::string qos(u16 prefetch) {
    BasicQos m;
    m.prefetch_count = prefetch;
    return SimClient::method(1, m);
}

std::string declare(std::string_view name, bool exclusive) {
    QueueDeclare m;
    m.queue = name;
    m.exclusive = exclusive;
    return SimClient::method(1, m);
}

const std::vector<Request>& requests() {
    static const std::vector<Request> all = {
        {"consume_ack", [] { return qos(2) + consume(false); }, {}},
        {"consume_no_ack", [] { return consume(true); }, {.no_ack_taken = true}},
        {"consume_then_cancel",
         [] {
             BasicCancel cancel;
             cancel.consumer_tag = "c1";
             return consume(false) + SimClient::method(1, cancel);
         },
         {}},
        {"consume_then_recover",
         [] { return consume(false) + SimClient::method(1, BasicRecover{true}); },
         {}},
        {"get_ack", [] { return get(false) + get(false) + get(false); }, {}},
        {"get_no_ack", [] { return get(true) + get(true); }, {.no_ack_taken = true}},
        {"declare_exclusive", [] { return declare("mine", true); }, {.declares_exclusive = true}},
        {"declare_server_named_exclusive",
         [] { return declare("", true); },
         {.declares_exclusive = true}},
        {"declare_then_consume",
         [] { return declare("", true) + consume(false, "c2"); },
         {.declares_exclusive = true}},
        {"bind",
         [] {
             QueueBind m;
             m.queue = queue_name;
             m.exchange = "amq.direct";
             m.routing_key = "k";
             return SimClient::method(1, m);
         },
         {}},
        {"exchange_declare_and_bind",
         [] {
             ExchangeDeclare d;
             d.exchange = "x";
             d.type = "fanout";
             ExchangeBind b;
             b.destination = "x";
             b.source = "amq.fanout";
             return SimClient::method(1, d) + SimClient::method(1, b);
         },
         {}},
        {"purge",
         [] {
             QueuePurge m;
             m.queue = queue_name;
             return SimClient::method(1, m);
         },
         {.purges = true}},
        {"delete_other",
         [] {
             QueueDelete m;
             m.queue = other_queue;
             return SimClient::method(1, m);
         },
         {.deletes_other = true}},
        {"confirm_publish",
         [] {
             return SimClient::method(1, ConfirmSelect{}) +
                    SimClient::publish(1, "", queue_name, "confirmed");
         },
         {.ready_delta = 1}},
        {"tx_commit",
         [] {
             return SimClient::method(1, TxSelect{}) +
                    SimClient::publish(1, "", queue_name, "in a transaction") +
                    SimClient::method(1, TxCommit{});
         },
         {.ready_delta = 1}},
        {"get_then_ack_everything",
         [] {
             BasicAck ack;
             ack.delivery_tag = 0;
             ack.multiple = true;
             return get(false) + get(false) + SimClient::method(1, ack);
         },
         {.no_ack_taken = true}},
    };
    return all;
}

struct Case {
    SimConfig config;
    u32 home = 0;  // the queue's shard; the client is always on shard 0
    usize request = 0;
    CloseKind close = CloseKind::connection_close;
};

void PrintTo(const Case& c, std::ostream* out) {
    *out << requests()[c.request].name << " then " << close_name(c.close) << ", queue on shard "
         << c.home << ", ";
    core::sim::PrintTo(c.config, out);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    const Case& c = info.param;
    std::string name = std::string(requests()[c.request].name) + "_" + close_name(c.close) + "_" +
                       std::to_string(c.config.shard_count) + "shards_home" +
                       std::to_string(c.home);
    if (c.config.interleaving == core::sim::Interleaving::random) {
        name += "_seed" + std::to_string(c.config.seed);
    }
    return name;
}

class ConnectionLifecycleTest : public ::testing::TestWithParam<Case> {
protected:
    ConnectionLifecycleTest() : sim_(GetParam().config) {}

    const core::Queue* find_queue(std::string_view name) {
        const core::QueueInfo* info =
            sim_.core().broker(0).catalog().find_queue("/", std::string(name));
        if (info == nullptr) return nullptr;
        return sim_.core().broker(info->home.value).find_local_queue(info->id);
    }

    // Every replica of the catalog agrees whether the queue exists.
    bool queue_everywhere(std::string_view name, bool expected) {
        bool agreed = true;
        for (u32 s = 0; s < sim_.shard_count(); s++) {
            bool found =
                sim_.core().broker(s).catalog().find_queue("/", std::string(name)) != nullptr;
            agreed = agreed && found == expected;
        }
        return agreed;
    }

    // Exclusive queues of the client's connection (all that it could have declared).
    usize exclusive_queue_count() {
        usize n = 0;
        for (u32 s = 0; s < sim_.shard_count(); s++) n += sim_.core().broker(s).local_queue_count();
        return n;
    }

    ProtocolSim sim_;
};

TEST_P(ConnectionLifecycleTest, InFlightRepliesAreSettledWhenTheClientGoes) {
    const Case& c = GetParam();
    const Request& request = requests()[c.request];

    // The queue and its messages, from a connection on the queue's home shard.
    SimClient owner(sim_, c.home);
    owner.handshake();
    std::string setup = declare(queue_name, false) + declare(other_queue, false);
    for (u32 i = 0; i < message_count; i++) setup += SimClient::publish(1, "", queue_name, "m");
    owner.send(setup);
    sim_.pump();
    owner.read();
    ASSERT_NE(find_queue(queue_name), nullptr);
    ASSERT_EQ(find_queue(queue_name)->ready_count(), message_count);
    usize queues_before = exclusive_queue_count();

    SimClient client(sim_, 0);
    client.handshake(c.close == CloseKind::heartbeat_timeout ? 1 : 0);

    std::string bytes = request.bytes();
    switch (c.close) {
        case CloseKind::connection_close:
            client.send(bytes + SimClient::method(0, ConnectionClose{200, "bye", 0, 0}));
            break;
        case CloseKind::channel_close:
            client.send(bytes + SimClient::method(1, ChannelClose{200, "bye", 0, 0}));
            break;
        case CloseKind::socket_drop:
            client.send(bytes);
            sim_.pump_io();  // read and sent on, the replies not yet moved
            client.drop();
            sim_.pump_io();
            break;
        case CloseKind::heartbeat_timeout:
            client.send(bytes);
            sim_.pump_io();
            sim_.shard(0).tick(10'000);  // far past two heartbeat intervals of silence
            break;
    }
    sim_.pump();

    std::vector<Received> got =
        c.close == CloseKind::socket_drop ? std::vector<Received>{} : client.read();
    // The client's own view: messages it received with no-ack are its, the others must be back.
    usize taken = 0;
    if (request.expect.no_ack_taken) {
        taken = SimClient::count(got, BasicDeliver::id) + SimClient::count(got, BasicGetOk::id);
    }
    if (std::string(request.name) == "get_then_ack_everything") {
        // Acked before the close: those are gone for good, and only those.
        taken = SimClient::count(got, BasicGetOk::id);
    }

    const core::Queue* queue = find_queue(queue_name);
    ASSERT_NE(queue, nullptr);
    EXPECT_EQ(queue->consumer_count(), 0u) << "a consumer outlived its channel";
    EXPECT_EQ(queue->unsettled_count(), 0u) << "a delivery is stranded, unacked, on no channel";
    u32 expected = request.expect.purges
                       ? 0
                       : static_cast<u32>(static_cast<i32>(message_count) +
                                          request.expect.ready_delta - static_cast<i32>(taken));
    EXPECT_EQ(queue->ready_count(), expected);

    bool connection_gone = c.close != CloseKind::channel_close;
    if (request.expect.declares_exclusive && connection_gone) {
        EXPECT_EQ(exclusive_queue_count(), queues_before)
            << "an exclusive queue outlived its connection";
        EXPECT_TRUE(queue_everywhere("mine", false));
    }
    if (request.expect.deletes_other) {
        EXPECT_TRUE(queue_everywhere(other_queue, false));
    }
    EXPECT_TRUE(queue_everywhere(queue_name, true));

    // The broker still serves: the owner gets every ready message.
    std::string gets;
    for (u32 i = 0; i < expected; i++) gets += get(true);
    owner.send(gets);
    sim_.pump();
    EXPECT_EQ(SimClient::count(owner.read(), BasicGetOk::id), expected);
}

// Frames that arrive while a channel waits for another shard are parked, holding the buffers
// they came in: a client that sends large frames behind a request whose answer is slow would
// hold gigabytes. Past limits::channel_parked_bytes_max the connection is closed with 506.
TEST(ConnectionLimitsTest, ParkedFramesAreBoundedInBytes) {
    ProtocolSim sim({2, core::sim::Interleaving::in_order, 0});
    SimClient client(sim, 0);
    client.handshake();
    // The declare goes to shard 0's metadata and waits there: only I/O runs below, so the
    // channel waits for as long as the test likes.
    std::string bytes = declare("slow", false);
    std::string body(131072 - 8, 'b');
    std::string publish = SimClient::publish(1, "", "slow", body);
    u64 parked = 0;
    while (parked <= limits::channel_parked_bytes_max + (4u << 20)) {
        bytes += publish;
        parked += publish.size();
    }
    std::string_view rest(bytes);
    std::vector<Received> got;
    for (int round = 0; round < 100000 && !rest.empty(); round++) {
        ssize_t n = client.write_some(rest);
        if (n > 0) rest.remove_prefix(static_cast<usize>(n));
        sim.pump_io();
        std::vector<Received> more = client.read();
        got.insert(got.end(), more.begin(), more.end());
        if (SimClient::saw(got, ConnectionClose::id)) break;
    }
    ASSERT_TRUE(SimClient::saw(got, ConnectionClose::id));
    for (const Received& r : got) {
        if (r.method == ConnectionClose::id) {
            EXPECT_EQ(r.reply_code, ReplyCode::resource_error);
        }
    }
    sim.pump();
}

std::vector<Case> all_cases() {
    std::vector<SimConfig> configs = {{2, core::sim::Interleaving::in_order, 0},
                                      {3, core::sim::Interleaving::in_order, 0}};
    for (u64 seed = 1; seed <= 4; seed++) {
        configs.push_back({2, core::sim::Interleaving::random, seed});
        configs.push_back({3, core::sim::Interleaving::random, seed + 100});
    }
    std::vector<Case> cases;
    for (const SimConfig& config : configs) {
        for (u32 home : {0u, config.shard_count - 1}) {
            for (usize r = 0; r < requests().size(); r++) {
                for (CloseKind close : {CloseKind::connection_close, CloseKind::channel_close,
                                        CloseKind::socket_drop, CloseKind::heartbeat_timeout}) {
                    cases.push_back({config, home, r, close});
                }
            }
        }
    }
    return cases;
}

INSTANTIATE_TEST_SUITE_P(Simulated, ConnectionLifecycleTest, ::testing::ValuesIn(all_cases()),
                         case_name);

}  // namespace
}  // namespace lepus::server::sim
