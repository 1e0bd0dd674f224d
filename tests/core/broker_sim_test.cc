// The broker as a whole: several shards, each a core::Broker, talking only through the shard
// protocol of core/shard_message.h, driven by the deterministic simulation in broker_sim.h.
// Every test runs with 2 and 3 shards, delivered in order and in seeded random interleavings,
// and ends by checking that every shard's catalog replica agrees with shard 0's.
#include "tests/core/broker_sim.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/base/limits.h"
#include "core/broker.h"
#include "core/wire/field_table.h"
#include "tests/core/test_message.h"
#include "tests/net/amqp/reply_code_printer.h"

namespace lepus::core {
namespace {

using amqp::ReplyCode;
using routing::Destination;
using routing::ExchangeType;
using sim::Interleaving;
using sim::SimConfig;
using sim::Simulation;
using test_support::make_message;
using wire::FieldTable;
using wire::FieldValue;

const std::vector<std::string> vhost_names = {"/", "v2"};

struct QueueFlags {
    bool durable = false;
    bool exclusive = false;
    bool auto_delete = false;
    std::string arguments{};
};

struct ExchangeFlags {
    bool durable = false;
    bool auto_delete = false;
    bool internal = false;
};

enum class Passive : u8 { no, yes };
enum class ServerNamed : u8 { no, yes };

MetaOp queue_declare(std::string name, QueueFlags flags = {}, Passive passive = Passive::no,
                     ServerNamed server_named = ServerNamed::no) {
    QueueDeclareOp op;
    op.info.name = std::move(name);
    op.info.durable = flags.durable;
    op.info.exclusive = flags.exclusive;
    op.info.auto_delete = flags.auto_delete;
    op.info.arguments = std::move(flags.arguments);
    op.passive = passive == Passive::yes;
    op.server_named = server_named == ServerNamed::yes;
    return op;
}

MetaOp exchange_declare(std::string name, ExchangeType type, ExchangeFlags flags = {},
                        Passive passive = Passive::no) {
    ExchangeDeclareOp op;
    op.info.name = std::move(name);
    op.info.type = type;
    op.info.durable = flags.durable;
    op.info.auto_delete = flags.auto_delete;
    op.info.internal = flags.internal;
    op.passive = passive == Passive::yes;
    return op;
}

MetaOp queue_bind(std::string queue, std::string exchange, std::string key,
                  std::string arguments = {}) {
    return QueueBindOp{std::move(queue), std::move(exchange), std::move(key), std::move(arguments),
                       false};
}

MetaOp queue_unbind(std::string queue, std::string exchange, std::string key) {
    return QueueBindOp{std::move(queue), std::move(exchange), std::move(key), {}, true};
}

MetaOp exchange_bind(std::string destination, std::string source, std::string key = {}) {
    return ExchangeBindOp{std::move(destination), std::move(source), std::move(key), {}, false};
}

MetaOp queue_delete(std::string queue, bool if_unused = false, bool if_empty = false) {
    return QueueDeleteOp{std::move(queue), if_unused, if_empty};
}

std::string table(const FieldTable& t) { return wire::field_table_content(t); }

std::string locked_text(const std::string& name) {
    return "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '" + name +
           "' in vhost '/'. It could be originally declared on another connection or the "
           "exclusive property value does not match that of the original declaration.";
}

std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (char c : bytes) {
        out.push_back(digits[static_cast<u8>(c) >> 4]);
        out.push_back(digits[static_cast<u8>(c) & 15]);
    }
    return out;
}

class BrokerSimTest : public ::testing::TestWithParam<SimConfig> {
protected:
    BrokerSimTest() : sim_(GetParam(), vhost_names) {
        sim_.set_inbox_hook(
            [this](u32 shard, const ShardMessage& message) { on_channel_message(shard, message); });
    }

    // Once the shards are quiet: every replica agrees with shard 0, and each shard holds
    // exactly the queues the catalog says it is home to.
    void TearDown() override {
        sim_.run();
        for (u32 shard = 1; shard < shards(); shard++) {
            EXPECT_EQ(dump(shard), dump(0)) << "shard " << shard << "'s replica differs";
        }
        std::vector<usize> homed(shards(), 0);
        for (const std::string& vhost_name : vhost_names) {
            for (const auto& [name, info] : broker(0).catalog().find_vhost(vhost_name)->queues) {
                ASSERT_LT(info.home.value, shards());
                homed[info.home.value]++;
                EXPECT_NE(broker(info.home.value).find_local_queue(info.id), nullptr)
                    << "queue '" << name << "' is missing from its home shard";
            }
        }
        for (u32 shard = 0; shard < shards(); shard++) {
            EXPECT_EQ(broker(shard).local_queue_count(), homed[shard])
                << "shard " << shard << " holds a queue the catalog does not know";
        }
    }

    u32 shards() const { return sim_.shard_count(); }
    u32 last() const { return shards() - 1; }
    Broker& broker(u32 shard) { return sim_.broker(shard); }

    // A channel of connection `slot` on `shard`; the generation tells reused slots apart.
    static ChannelKey channel(u32 shard, u32 slot = 1, u32 generation = 1) {
        ChannelKey key;
        key.connection = ConnectionKey{ShardId(shard), slot, generation};
        key.channel = 1;
        key.generation = 1;
        return key;
    }
    static ConsumerKey consumer(const ChannelKey& channel, u64 id) {
        return ConsumerKey{channel, id};
    }

    // Sends a metadata request as a channel does and returns the one reply it gets.
    MetaReply meta(const ChannelKey& from, MetaOp op, std::string vhost = "/") {
        auto request = std::make_unique<MetaRequest>();
        request->vhost = vhost;
        request->requester = from;
        request->op = std::move(op);
        vhost_ = vhost;
        sim_.post(from.connection.shard.value, 0, std::move(request));
        sim_.run();
        auto replies = sim_.take<std::unique_ptr<MetaReply>>(from.connection.shard.value);
        EXPECT_EQ(replies.size(), 1u) << "one request, one reply";
        if (replies.empty()) return MetaReply{};
        EXPECT_TRUE(replies[0]->to == from) << "the reply names its requester";
        return std::move(*replies[0]);
    }

    // The moment a client learns of a change is the moment it may act on it, on this
    // connection or any other, so every shard's replica must already hold the change:
    // queue.bind-ok followed by basic.publish on a connection of another shard must route to
    // the bound queue.
    void on_channel_message(u32 shard, const ShardMessage& message) {
        const auto* reply = std::get_if<std::unique_ptr<MetaReply>>(&message);
        if (reply == nullptr) return;
        const MetaReply& r = **reply;
        if (replicas_equal_at_reply_) {
            for (u32 s = 0; s < shards(); s++) {
                EXPECT_EQ(dump(s), dump(0)) << "a reply to shard " << shard << " came before shard "
                                            << s << " applied the catalog updates before it";
            }
        }
        // A reply waits until every shard has applied the updates before it, and the updates
        // of later requests do not wait for it: with requests in flight together a later
        // delete may already have removed the queue by the time its declare-ok arrives.
        bool later_updates_applied = !replicas_equal_at_reply_;
        if (r.code == ReplyCode::reply_success && !r.queue_name.empty() && !later_updates_applied) {
            EXPECT_NE(broker(shard).catalog().find_queue(vhost_, r.queue_name), nullptr)
                << "declare-ok for '" << r.queue_name << "' reached shard " << shard
                << " before the queue did";
            queues_seen_at_reply_.insert(r.queue_name);
        }
    }

    MetaReply declare_queue(const ChannelKey& from, std::string name, QueueFlags flags = {}) {
        MetaReply reply = meta(from, queue_declare(std::move(name), std::move(flags)));
        EXPECT_EQ(reply.code, ReplyCode::reply_success) << reply.text;
        return reply;
    }
    void declare_exchange(std::string name, ExchangeType type, ExchangeFlags flags = {}) {
        MetaReply reply = meta(channel(0), exchange_declare(std::move(name), type, flags));
        EXPECT_EQ(reply.code, ReplyCode::reply_success) << reply.text;
    }
    void ok(const ChannelKey& from, MetaOp op) {
        MetaReply reply = meta(from, std::move(op));
        EXPECT_EQ(reply.code, ReplyCode::reply_success) << reply.text;
    }

    const QueueInfo* find_queue(u32 shard, const std::string& name) {
        return broker(shard).catalog().find_queue("/", name);
    }
    QueueInfo queue_info(const std::string& name) {
        const QueueInfo* info = find_queue(0, name);
        EXPECT_NE(info, nullptr) << name;
        return info ? *info : QueueInfo{};
    }
    bool queue_everywhere(const std::string& name) {
        for (u32 s = 0; s < shards(); s++) {
            if (find_queue(s, name) == nullptr) return false;
        }
        return true;
    }
    bool queue_nowhere(const std::string& name) {
        for (u32 s = 0; s < shards(); s++) {
            if (find_queue(s, name) != nullptr) return false;
        }
        return true;
    }
    bool exchange_everywhere(const std::string& name) {
        for (u32 s = 0; s < shards(); s++) {
            if (broker(s).catalog().find_exchange("/", name) == nullptr) return false;
        }
        return true;
    }
    bool exchange_nowhere(const std::string& name) {
        for (u32 s = 0; s < shards(); s++) {
            if (broker(s).catalog().find_exchange("/", name) != nullptr) return false;
        }
        return true;
    }
    // The queue object on its home shard, or nullptr.
    const Queue* home_queue(const std::string& name) {
        const QueueInfo* info = find_queue(0, name);
        if (info == nullptr) return nullptr;
        return broker(info->home.value).find_local_queue(info->id);
    }
    u32 ready(const std::string& name) {
        const Queue* queue = home_queue(name);
        EXPECT_NE(queue, nullptr) << name;
        return queue ? queue->ready_count() : 0;
    }

    // Routes on one shard's replica and returns the queue names reached.
    std::set<std::string> route(u32 shard, const std::string& exchange, const std::string& key,
                                const std::string& headers = {}) {
        Catalog& catalog = broker(shard).catalog();
        const VHost* vhost = catalog.find_vhost("/");
        const Exchange* x = catalog.find_exchange("/", exchange);
        EXPECT_NE(x, nullptr) << exchange;
        std::set<std::string> names;
        if (x == nullptr) return names;
        std::vector<const QueueInfo*> out;
        EXPECT_TRUE(catalog.route(*vhost, *x, key, headers, out));
        for (const QueueInfo* q : out) {
            EXPECT_TRUE(names.insert(q->name).second) << "routed twice: " << q->name;
        }
        return names;
    }

    // basic.publish on a channel of `shard`, without running the other shards.
    u32 publish_only(u32 shard, const std::string& exchange, const std::string& key,
                     const std::string& body, const std::string& headers = {}) {
        Catalog& catalog = broker(shard).catalog();
        const Exchange* x = catalog.find_exchange("/", exchange);
        EXPECT_NE(x, nullptr) << exchange;
        if (x == nullptr) return 0;
        u32 routed = broker(shard).publish(*catalog.find_vhost("/"), *x,
                                           make_message(body, exchange, key), headers);
        broker(shard).dispatch_pending();
        return routed;
    }
    u32 publish(u32 shard, const std::string& exchange, const std::string& key,
                const std::string& body, const std::string& headers = {}) {
        u32 routed = publish_only(shard, exchange, key, body, headers);
        sim_.run();
        return routed;
    }

    // basic.consume from the consumer's channel, resolved on that channel's replica.
    std::unique_ptr<ConsumeReply> consume(const ConsumerKey& key, const std::string& queue,
                                          u16 prefetch = 0, bool no_ack = false,
                                          bool exclusive = false) {
        u32 from = key.channel.connection.shard.value;
        const QueueInfo* info = find_queue(from, queue);
        EXPECT_NE(info, nullptr) << queue;
        if (info == nullptr) return nullptr;
        post_consume(key, info->id, info->home, prefetch, no_ack, exclusive);
        sim_.run();
        auto replies = sim_.take<std::unique_ptr<ConsumeReply>>(from);
        EXPECT_EQ(replies.size(), 1u);
        if (replies.empty()) return nullptr;
        return std::move(replies[0]);
    }
    void post_consume(const ConsumerKey& key, QueueId queue, ShardId home, u16 prefetch = 0,
                      bool no_ack = false, bool exclusive = false) {
        auto request = std::make_unique<ConsumeRequest>();
        request->consumer = key;
        request->queue = queue;
        request->tag = "ctag" + std::to_string(key.id);
        request->prefetch = prefetch;
        request->no_ack = no_ack;
        request->exclusive = exclusive;
        sim_.post(key.channel.connection.shard.value, home.value, std::move(request));
    }
    void post_cancel(const ConsumerKey& key, const QueueInfo& queue) {
        sim_.post(key.channel.connection.shard.value, queue.home.value,
                  CancelRequest{queue.id, key});
    }
    void settle(u32 from, const Deliver& d, SettleKind kind) {
        sim_.post(from, d.home.value, Settle{d.queue, d.sequence, kind, {}, false});
        sim_.run();
    }
    std::vector<Deliver> delivers(u32 shard) { return sim_.take<Deliver>(shard); }

    // Everything a replica holds, one sorted line per fact.
    std::vector<std::string> dump(u32 shard) {
        std::vector<std::string> lines;
        for (const std::string& vhost_name : vhost_names) {
            const VHost* vhost = broker(shard).catalog().find_vhost(vhost_name);
            if (vhost == nullptr) {
                lines.push_back(vhost_name + " missing");
                continue;
            }
            for (const auto& [name, x] : vhost->exchanges) {
                const ExchangeInfo& i = x.info;
                lines.push_back(vhost_name + " exchange '" + name + "' " +
                                std::string(routing::to_string(i.type)) + " d" +
                                std::to_string(i.durable) + " a" + std::to_string(i.auto_delete) +
                                " i" + std::to_string(i.internal) + " b" +
                                std::to_string(x.ever_bound));
                x.bindings.for_each(
                    [&](const Destination& d, std::string_view key, std::string_view arguments) {
                        lines.push_back(
                            vhost_name + " binding '" + name + "' -> " +
                            (d.kind == Destination::Kind::queue ? "queue '" : "exchange '") +
                            d.name + "' key '" + std::string(key) + "' " + hex(arguments));
                    });
            }
            for (const auto& [name, q] : vhost->queues) {
                lines.push_back(
                    vhost_name + " queue '" + name + "' id " + std::to_string(q.id.value) +
                    " home " + std::to_string(q.home.value) + " d" + std::to_string(q.durable) +
                    " x" + std::to_string(q.exclusive) + " a" + std::to_string(q.auto_delete) +
                    " owner " + std::to_string(q.owner.shard.value) + "/" +
                    std::to_string(q.owner.slot) + "/" + std::to_string(q.owner.generation));
            }
        }
        std::sort(lines.begin(), lines.end());
        return lines;
    }
    bool any_binding_to(u32 shard, const std::string& destination) {
        for (const std::string& line : dump(shard)) {
            if (line.find("-> queue '" + destination + "'") != std::string::npos ||
                line.find("-> exchange '" + destination + "'") != std::string::npos)
                return true;
        }
        return false;
    }

    Simulation sim_;
    std::string vhost_ = "/";
    // With one request in flight, a replica that receives a reply equals shard 0's; requests
    // in flight together let shard 0 run ahead, so pipelining tests turn this off.
    bool replicas_equal_at_reply_ = true;
    std::set<std::string> queues_seen_at_reply_;
};

// ---- exchanges ----

struct MetaCase {
    const char* what;
    MetaOp op;
    ReplyCode code;
    std::string text;
    std::string vhost = "/";
};

TEST_P(BrokerSimTest, ExchangeDeclareDecisions) {
    declare_exchange("logs", ExchangeType::direct);
    const MetaCase cases[] = {
        {"new exchange", exchange_declare("orders", ExchangeType::topic), ReplyCode::reply_success,
         ""},
        {"equivalent redeclare", exchange_declare("logs", ExchangeType::direct),
         ReplyCode::reply_success, ""},
        {"passive, exists", exchange_declare("logs", ExchangeType::fanout, {}, Passive::yes),
         ReplyCode::reply_success, ""},
        {"passive, predeclared",
         exchange_declare("amq.topic", ExchangeType::direct, {}, Passive::yes),
         ReplyCode::reply_success, ""},
        {"passive, missing", exchange_declare("nope", ExchangeType::direct, {}, Passive::yes),
         ReplyCode::not_found, "NOT_FOUND - no exchange 'nope' in vhost '/'"},
        {"reserved prefix", exchange_declare("amq.custom", ExchangeType::direct),
         ReplyCode::access_refused,
         "ACCESS_REFUSED - exchange name 'amq.custom' contains reserved prefix 'amq.*'"},
        {"the default exchange", exchange_declare("", ExchangeType::direct),
         ReplyCode::access_refused,
         "ACCESS_REFUSED - operation not permitted on the default exchange"},
        {"predeclared, equivalent",
         exchange_declare("amq.fanout", ExchangeType::fanout, {.durable = true}),
         ReplyCode::reply_success, ""},
        {"predeclared, another type",
         exchange_declare("amq.fanout", ExchangeType::direct, {.durable = true}),
         ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'amq.fanout' in vhost "
         "'/': received 'direct' but current is 'fanout'"},
        {"another type", exchange_declare("logs", ExchangeType::fanout),
         ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'logs' in vhost '/': "
         "received 'fanout' but current is 'direct'"},
        {"durable differs", exchange_declare("logs", ExchangeType::direct, {.durable = true}),
         ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'logs' in vhost '/': "
         "received 'true' but current is 'false'"},
        {"auto_delete differs",
         exchange_declare("logs", ExchangeType::direct, {.auto_delete = true}),
         ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for exchange 'logs' in vhost "
         "'/': received 'true' but current is 'false'"},
        {"internal differs", exchange_declare("logs", ExchangeType::direct, {.internal = true}),
         ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - inequivalent arg 'internal' for exchange 'logs' in vhost '/': "
         "received 'true' but current is 'false'"},
        {"unknown vhost", exchange_declare("x", ExchangeType::direct), ReplyCode::not_allowed,
         "NOT_ALLOWED - vhost 'nowhere' not found", "nowhere"},
        {"other vhost", exchange_declare("logs", ExchangeType::fanout), ReplyCode::reply_success,
         "", "v2"},
    };
    for (const MetaCase& c : cases) {
        SCOPED_TRACE(c.what);
        MetaReply reply = meta(channel(last()), c.op, c.vhost);
        EXPECT_EQ(reply.code, c.code);
        EXPECT_EQ(reply.text, c.text);
    }
    EXPECT_TRUE(exchange_everywhere("orders"));
    EXPECT_TRUE(exchange_nowhere("amq.custom"));
    for (u32 s = 0; s < shards(); s++) {
        const Exchange* logs = broker(s).catalog().find_exchange("/", "logs");
        ASSERT_NE(logs, nullptr);
        EXPECT_EQ(logs->info.type, ExchangeType::direct) << "a refused redeclare changes nothing";
        const Exchange* other = broker(s).catalog().find_exchange("v2", "logs");
        ASSERT_NE(other, nullptr);
        EXPECT_EQ(other->info.type, ExchangeType::fanout) << "vhosts are separate";
    }
}

TEST_P(BrokerSimTest, ExchangeDeleteDecisions) {
    declare_exchange("src", ExchangeType::fanout);
    declare_exchange("dst", ExchangeType::fanout);
    declare_queue(channel(last()), "q");
    ok(channel(0), exchange_bind("dst", "src"));
    ok(channel(0), queue_bind("q", "dst", ""));
    const MetaCase cases[] = {
        {"the default exchange", ExchangeDeleteOp{"", false}, ReplyCode::access_refused,
         "ACCESS_REFUSED - operation not permitted on the default exchange"},
        {"predeclared", ExchangeDeleteOp{"amq.direct", false}, ReplyCode::access_refused,
         "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed"},
        {"missing: idempotent", ExchangeDeleteOp{"nope", false}, ReplyCode::reply_success, ""},
        {"if_unused with bindings", ExchangeDeleteOp{"src", true}, ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - exchange 'src' in vhost '/' in use"},
        {"if_unused, a source of a queue binding", ExchangeDeleteOp{"dst", true},
         ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - exchange 'dst' in vhost '/' in use"},
        {"delete", ExchangeDeleteOp{"dst", false}, ReplyCode::reply_success, ""},
    };
    for (const MetaCase& c : cases) {
        SCOPED_TRACE(c.what);
        MetaReply reply = meta(channel(last()), c.op);
        EXPECT_EQ(reply.code, c.code);
        EXPECT_EQ(reply.text, c.text);
    }
    EXPECT_TRUE(exchange_nowhere("dst"));
    EXPECT_TRUE(exchange_everywhere("amq.direct"));
    for (u32 s = 0; s < shards(); s++) {
        EXPECT_FALSE(any_binding_to(s, "dst")) << "bindings to a deleted exchange go with it";
        EXPECT_FALSE(any_binding_to(s, "q")) << "and so do its own";
    }
    // src is no longer bound to anything, so if_unused now lets it go.
    ok(channel(0), ExchangeDeleteOp{"src", true});
    EXPECT_TRUE(exchange_nowhere("src"));
}

TEST_P(BrokerSimTest, AutoDeleteExchangeGoesWithItsLastBinding) {
    declare_exchange("ad", ExchangeType::direct, {.auto_delete = true});
    declare_exchange("never-bound", ExchangeType::direct, {.auto_delete = true});
    declare_queue(channel(0), "q1");
    declare_queue(channel(last()), "q2");
    ok(channel(0), queue_bind("q1", "ad", "k"));
    ok(channel(0), queue_bind("q2", "ad", "k"));
    ok(channel(0), queue_unbind("q1", "ad", "k"));
    EXPECT_TRUE(exchange_everywhere("ad")) << "one binding is left";
    ok(channel(0), queue_unbind("q2", "ad", "k"));
    EXPECT_TRUE(exchange_nowhere("ad"));
    EXPECT_TRUE(exchange_everywhere("never-bound")) << "auto-delete needs a binding first";

    // A queue's deletion removes its bindings, and with them the exchange.
    declare_exchange("ad-queue", ExchangeType::fanout, {.auto_delete = true});
    ok(channel(0), queue_bind("q2", "ad-queue", ""));
    ok(channel(last()), queue_delete("q2"));
    EXPECT_TRUE(exchange_nowhere("ad-queue"));

    // Deleting a destination exchange unbinds an auto-delete source, which then goes too.
    declare_exchange("ad-source", ExchangeType::fanout, {.auto_delete = true});
    declare_exchange("sink", ExchangeType::fanout);
    ok(channel(0), exchange_bind("sink", "ad-source"));
    ok(channel(0), ExchangeDeleteOp{"sink", false});
    EXPECT_TRUE(exchange_nowhere("ad-source"));

    // Unbinding an exchange-to-exchange binding counts as well.
    declare_exchange("ad-e2e", ExchangeType::fanout, {.auto_delete = true});
    declare_exchange("sink2", ExchangeType::fanout);
    ok(channel(0), exchange_bind("sink2", "ad-e2e"));
    ExchangeBindOp unbind{"sink2", "ad-e2e", "", "", true};
    ok(channel(0), unbind);
    EXPECT_TRUE(exchange_nowhere("ad-e2e"));
    EXPECT_TRUE(exchange_everywhere("sink2"));
}

// ---- queues ----

TEST_P(BrokerSimTest, QueueDeclareCreatesOnTheRequesterShardAndReplicates) {
    for (u32 s = 0; s < shards(); s++) {
        std::string name = "q" + std::to_string(s);
        MetaReply reply = declare_queue(channel(s), name);
        EXPECT_EQ(reply.queue_name, name);
        EXPECT_EQ(reply.message_count, 0u);
        EXPECT_EQ(reply.consumer_count, 0u);
        EXPECT_TRUE(queues_seen_at_reply_.count(name)) << "checked when the reply arrived";
        EXPECT_TRUE(queue_everywhere(name));
        QueueInfo info = queue_info(name);
        EXPECT_EQ(info.home, ShardId(s)) << "client-local placement";
        for (u32 other = 0; other < shards(); other++) {
            EXPECT_EQ(broker(other).find_local_queue(info.id) != nullptr, other == s)
                << "only the home shard holds the queue itself";
        }
    }
    // Ids are never reused.
    std::set<u64> ids;
    for (u32 s = 0; s < shards(); s++) ids.insert(queue_info("q" + std::to_string(s)).id.value);
    EXPECT_EQ(ids.size(), shards());
}

TEST_P(BrokerSimTest, QueueDeclareDecisions) {
    const ChannelKey owner = channel(last(), 1);
    const ChannelKey other_connection = channel(last(), 2);
    const ChannelKey same_slot_next_generation = channel(last(), 1, 2);
    declare_queue(channel(0), "shared");
    declare_queue(owner, "mine", {.exclusive = true});
    FieldTable ten{{"x-max-length", FieldValue::int32(10)}};
    const MetaCase cases[] = {
        {"server-named", queue_declare("amq.gen-abc", {}, Passive::no, ServerNamed::yes),
         ReplyCode::reply_success, ""},
        {"client amq. name", queue_declare("amq.mine"), ReplyCode::access_refused,
         "ACCESS_REFUSED - queue name 'amq.mine' contains reserved prefix 'amq.*'"},
        {"passive, missing", queue_declare("nope", {}, Passive::yes), ReplyCode::not_found,
         "NOT_FOUND - no queue 'nope' in vhost '/'"},
        {"passive, exists", queue_declare("shared", {.durable = true}, Passive::yes),
         ReplyCode::reply_success, ""},
        {"equivalent", queue_declare("shared"), ReplyCode::reply_success, ""},
        {"durable differs", queue_declare("shared", {.durable = true}),
         ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'shared' in vhost '/': "
         "received 'true' but current is 'false'"},
        {"auto_delete differs", queue_declare("shared", {.auto_delete = true}),
         ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue 'shared' in vhost "
         "'/': received 'true' but current is 'false'"},
        {"exclusive differs", queue_declare("shared", {.exclusive = true}),
         ReplyCode::resource_locked, locked_text("shared")},
        {"unknown vhost", queue_declare("shared"), ReplyCode::not_allowed,
         "NOT_ALLOWED - vhost 'nowhere' not found", "nowhere"},
    };
    for (const MetaCase& c : cases) {
        SCOPED_TRACE(c.what);
        MetaReply reply = meta(channel(0), c.op, c.vhost);
        EXPECT_EQ(reply.code, c.code);
        EXPECT_EQ(reply.text, c.text);
    }
    EXPECT_TRUE(queue_everywhere("amq.gen-abc"));
    EXPECT_TRUE(queue_nowhere("amq.mine"));

    // An exclusive queue belongs to one connection: a connection key, not a slot number.
    struct ExclusiveCase {
        const char* what;
        ChannelKey from;
        MetaOp op;
        ReplyCode code;
    };
    const ExclusiveCase exclusive_cases[] = {
        {"owner", owner, queue_declare("mine", {.exclusive = true}), ReplyCode::reply_success},
        {"owner, passive", owner, queue_declare("mine", {}, Passive::yes),
         ReplyCode::reply_success},
        {"owner, not exclusive", owner, queue_declare("mine"), ReplyCode::resource_locked},
        {"another connection", other_connection, queue_declare("mine", {.exclusive = true}),
         ReplyCode::resource_locked},
        {"another connection, passive", other_connection, queue_declare("mine", {}, Passive::yes),
         ReplyCode::resource_locked},
        {"the slot reused", same_slot_next_generation, queue_declare("mine", {.exclusive = true}),
         ReplyCode::resource_locked},
        {"another shard, same slot", channel(0, 1), queue_declare("mine", {.exclusive = true}),
         ReplyCode::resource_locked},
    };
    for (const ExclusiveCase& c : exclusive_cases) {
        SCOPED_TRACE(c.what);
        MetaReply reply = meta(c.from, c.op);
        EXPECT_EQ(reply.code, c.code);
        EXPECT_EQ(reply.text, c.code == ReplyCode::reply_success ? "" : locked_text("mine"));
    }

    // Arguments are compared by meaning, not byte for byte.
    FieldTable two{{"x-max-length", FieldValue::int32(10)},
                   {"x-message-ttl", FieldValue::int32(60000)}};
    FieldTable two_reordered{{"x-message-ttl", FieldValue::int32(60000)},
                             {"x-max-length", FieldValue::int32(10)}};
    declare_queue(channel(0), "with-args", {.arguments = table(two)});
    EXPECT_EQ(
        meta(channel(0), queue_declare("with-args", {.arguments = table(two_reordered)})).code,
        ReplyCode::reply_success);
    MetaReply differs = meta(channel(0), queue_declare("with-args", {.arguments = table(ten)}));
    EXPECT_EQ(differs.code, ReplyCode::precondition_failed);
    EXPECT_EQ(differs.text.rfind("PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue "
                                 "'with-args' in vhost '/'",
                                 0),
              0u)
        << differs.text;
}

TEST_P(BrokerSimTest, QueueDeclareOkCountsReadyMessagesAndConsumers) {
    declare_queue(channel(last()), "q");
    for (int i = 0; i < 3; i++) publish(0, "", "q", "m");
    ChannelKey ch = channel(0);
    ASSERT_EQ(consume(consumer(ch, 1), "q", /*prefetch=*/1)->code, ReplyCode::reply_success);
    MetaReply reply = meta(channel(0), queue_declare("q", {}, Passive::yes));
    EXPECT_EQ(reply.code, ReplyCode::reply_success);
    EXPECT_EQ(reply.queue_name, "q");
    EXPECT_EQ(reply.message_count, 2u) << "ready only: one is with the consumer";
    EXPECT_EQ(reply.consumer_count, 1u);
}

TEST_P(BrokerSimTest, BindAndUnbindReplicate) {
    declare_exchange("orders", ExchangeType::direct);
    declare_queue(channel(last()), "q");
    ok(channel(0), queue_bind("q", "orders", "k"));
    for (u32 s = 0; s < shards(); s++) {
        EXPECT_EQ(route(s, "orders", "k"), (std::set<std::string>{"q"})) << "shard " << s;
        EXPECT_TRUE(route(s, "orders", "j").empty());
    }
    ok(channel(0), queue_bind("q", "orders", "k"));  // binding twice is one binding
    ok(channel(0), queue_unbind("q", "orders", "k"));
    for (u32 s = 0; s < shards(); s++) EXPECT_TRUE(route(s, "orders", "k").empty());
    ok(channel(0), queue_unbind("q", "orders", "k"));  // unbinding twice is fine

    declare_queue(channel(last(), 1), "private", {.exclusive = true});
    FieldTable bad_match{{"x-match", FieldValue::string("some")}};
    const MetaCase cases[] = {
        {"missing queue", queue_bind("nope", "orders", "k"), ReplyCode::not_found,
         "NOT_FOUND - no queue 'nope' in vhost '/'"},
        {"missing exchange", queue_bind("q", "nope", "k"), ReplyCode::not_found,
         "NOT_FOUND - no exchange 'nope' in vhost '/'"},
        {"the default exchange", queue_bind("q", "", "q"), ReplyCode::access_refused,
         "ACCESS_REFUSED - operation not permitted on the default exchange"},
        {"another connection's exclusive queue", queue_bind("private", "orders", "k"),
         ReplyCode::resource_locked, locked_text("private")},
    };
    for (const MetaCase& c : cases) {
        SCOPED_TRACE(c.what);
        MetaReply reply = meta(channel(0), c.op);
        EXPECT_EQ(reply.code, c.code);
        EXPECT_EQ(reply.text, c.text);
    }
    MetaReply invalid = meta(channel(0), queue_bind("q", "amq.headers", "", table(bad_match)));
    EXPECT_EQ(invalid.code, ReplyCode::precondition_failed);
    EXPECT_EQ(invalid.text.rfind("PRECONDITION_FAILED - ", 0), 0u) << invalid.text;
    for (u32 s = 0; s < shards(); s++) EXPECT_FALSE(any_binding_to(s, "q"));
}

TEST_P(BrokerSimTest, QueueDeleteDecisions) {
    const ChannelKey owner = channel(last(), 1);
    declare_queue(owner, "busy");
    declare_queue(owner, "full");
    declare_queue(owner, "private", {.exclusive = true});
    ASSERT_EQ(consume(consumer(channel(0), 1), "busy")->code, ReplyCode::reply_success);
    publish(0, "", "full", "m");
    const MetaCase cases[] = {
        {"missing: idempotent", queue_delete("nope"), ReplyCode::reply_success, ""},
        {"if_unused with a consumer", queue_delete("busy", true), ReplyCode::precondition_failed,
         "PRECONDITION_FAILED - queue 'busy' in vhost '/' in use"},
        {"if_unused without consumers", queue_delete("full", true), ReplyCode::reply_success, ""},
        {"another connection's exclusive queue", queue_delete("private"),
         ReplyCode::resource_locked, locked_text("private")},
    };
    for (const MetaCase& c : cases) {
        SCOPED_TRACE(c.what);
        MetaReply reply = meta(channel(0, 7), c.op);
        EXPECT_EQ(reply.code, c.code);
        EXPECT_EQ(reply.text, c.text);
    }
    EXPECT_TRUE(queue_everywhere("busy"));
    EXPECT_TRUE(queue_nowhere("full"));
    EXPECT_TRUE(queue_everywhere("private"));
    MetaReply deleted = meta(owner, queue_delete("private"));
    EXPECT_EQ(deleted.code, ReplyCode::reply_success) << "the owner may";
    EXPECT_TRUE(queue_nowhere("private"));
}

// RabbitMQ words it "~ts not empty" (rabbit_channel, queue.delete), without "is".
TEST_P(BrokerSimTest, QueueDeleteIfEmptyRefusesWithRabbitMQsText) {
    declare_queue(channel(last()), "full");
    publish(0, "", "full", "m");
    MetaReply reply = meta(channel(0), queue_delete("full", false, true));
    EXPECT_EQ(reply.code, ReplyCode::precondition_failed);
    EXPECT_EQ(reply.text, "PRECONDITION_FAILED - queue 'full' in vhost '/' not empty");
    EXPECT_TRUE(queue_everywhere("full"));
    EXPECT_EQ(ready("full"), 1u);
}

TEST_P(BrokerSimTest, QueueDeleteRemovesTheQueueAndItsBindingsEverywhere) {
    declare_exchange("topics", ExchangeType::topic);
    MetaReply declared = declare_queue(channel(last()), "q");
    QueueInfo info = queue_info("q");
    ok(channel(0), queue_bind("q", "amq.direct", "k"));
    ok(channel(0), queue_bind("q", "amq.fanout", ""));
    ok(channel(0), queue_bind("q", "topics", "#"));
    publish(0, "amq.direct", "k", "one");
    publish(0, "amq.fanout", "x", "two");
    EXPECT_EQ(ready("q"), 2u);
    usize local_before = broker(last()).local_queue_count();

    MetaReply reply = meta(channel(0), queue_delete("q"));
    EXPECT_EQ(reply.code, ReplyCode::reply_success);
    EXPECT_EQ(reply.message_count, 2u);
    EXPECT_TRUE(queue_nowhere("q"));
    EXPECT_EQ(broker(last()).find_local_queue(info.id), nullptr);
    EXPECT_EQ(broker(last()).local_queue_count(), local_before - 1);
    for (u32 s = 0; s < shards(); s++) {
        EXPECT_FALSE(any_binding_to(s, "q")) << "shard " << s;
        EXPECT_TRUE(route(s, "amq.direct", "k").empty());
        EXPECT_TRUE(route(s, "amq.fanout", "").empty());
        EXPECT_TRUE(route(s, "topics", "a.b").empty());
    }

    // A queue of the same name later is a new queue with a new id, unbound.
    declare_queue(channel(0), "q");
    EXPECT_NE(queue_info("q").id, info.id);
    for (u32 s = 0; s < shards(); s++) EXPECT_TRUE(route(s, "amq.direct", "k").empty());
}

TEST_P(BrokerSimTest, QueueDeleteCancelsItsConsumers) {
    declare_queue(channel(last()), "q");
    ConsumerKey near = consumer(channel(last(), 5), 1);
    ConsumerKey far = consumer(channel(0, 6), 2);
    ASSERT_EQ(consume(near, "q")->code, ReplyCode::reply_success);
    ASSERT_EQ(consume(far, "q")->code, ReplyCode::reply_success);
    for (int i = 0; i < 4; i++) publish_only(0, "", "q", "m");
    // The delete is sent after the publishes. Each message is either delivered first or
    // counted in delete-ok; no delivery reaches a consumer after its cancellation.
    auto request = std::make_unique<MetaRequest>();
    request->vhost = "/";
    request->requester = channel(0);
    request->op = queue_delete("q");
    sim_.post(0, 0, std::move(request));
    sim_.run();
    auto replies = sim_.take<std::unique_ptr<MetaReply>>(0);
    ASSERT_EQ(replies.size(), 1u);
    u32 delivered = 0;
    for (const auto& [shard, key] : {std::pair{0u, far}, std::pair{last(), near}}) {
        bool cancelled = false;
        for (const ShardMessage& m : sim_.inbox(shard)) {
            if (const auto* d = std::get_if<Deliver>(&m); d && d->consumer == key) {
                EXPECT_FALSE(cancelled) << "a delivery after the cancellation";
                delivered++;
            }
            if (const auto* c = std::get_if<ConsumerCancelled>(&m); c && c->consumer == key) {
                cancelled = true;
            }
        }
        EXPECT_TRUE(cancelled);
    }
    EXPECT_EQ(delivered + replies[0]->message_count, 4u);
    std::vector<ConsumerCancelled> at_far = sim_.take<ConsumerCancelled>(0);
    std::vector<ConsumerCancelled> at_near = sim_.take<ConsumerCancelled>(last());
    ASSERT_FALSE(at_near.empty());
    ASSERT_FALSE(at_far.empty());
    auto has = [](const std::vector<ConsumerCancelled>& list, const ConsumerKey& key) {
        return std::any_of(list.begin(), list.end(),
                           [&](const ConsumerCancelled& c) { return c.consumer == key; });
    };
    EXPECT_TRUE(has(at_near, near));
    EXPECT_TRUE(has(at_far, far));
}

TEST_P(BrokerSimTest, ConnectionClosedDeletesOnlyThatConnectionsExclusiveQueues) {
    const ChannelKey closing = channel(last(), 1);
    declare_queue(closing, "a1", {.exclusive = true});
    ChannelKey closing_second_channel = closing;
    closing_second_channel.channel = 2;
    declare_queue(closing_second_channel, "a2", {.exclusive = true});
    declare_queue(closing, "a-plain");
    declare_queue(channel(last(), 2), "b", {.exclusive = true});
    declare_queue(channel(last(), 1, 2), "reused-slot", {.exclusive = true});
    declare_queue(channel(0, 1), "other-shard", {.exclusive = true});
    ok(closing, queue_bind("a1", "amq.fanout", ""));
    usize local_before = broker(last()).local_queue_count();

    auto request = std::make_unique<MetaRequest>();
    request->vhost = "/";
    request->requester = closing;
    request->reply_wanted = ReplyWanted::no;
    request->op = ConnectionClosedOp{};
    sim_.post(last(), 0, std::move(request));
    sim_.run();

    EXPECT_TRUE(sim_.take<std::unique_ptr<MetaReply>>(last()).empty()) << "no reply wanted";
    EXPECT_TRUE(queue_nowhere("a1"));
    EXPECT_TRUE(queue_nowhere("a2"));
    for (const char* kept : {"a-plain", "b", "reused-slot"}) {
        EXPECT_TRUE(queue_everywhere(kept)) << kept;
    }
    EXPECT_TRUE(queue_everywhere("other-shard"));
    EXPECT_EQ(broker(last()).local_queue_count(), local_before - 2);
    for (u32 s = 0; s < shards(); s++) EXPECT_FALSE(any_binding_to(s, "a1"));
}

TEST_P(BrokerSimTest, PipelinedRequestsFromEveryShardAreAnsweredInOrder) {
    replicas_equal_at_reply_ = false;
    constexpr u32 queues_per_shard = 6;
    struct Expected {
        ReplyCode code;
        std::string queue_name;  // for declares
    };
    std::vector<std::vector<Expected>> expected(shards());
    for (u32 s = 0; s < shards(); s++) {
        const ChannelKey ch = channel(s);
        auto post = [&](MetaOp op, Expected e) {
            auto request = std::make_unique<MetaRequest>();
            request->vhost = "/";
            request->requester = ch;
            request->op = std::move(op);
            sim_.post(s, 0, std::move(request));
            expected[s].push_back(std::move(e));
        };
        for (u32 i = 0; i < queues_per_shard; i++) {
            std::string name = "p" + std::to_string(s) + "-" + std::to_string(i);
            post(queue_declare(name), {ReplyCode::reply_success, name});
            post(queue_bind(name, "amq.fanout", ""), {ReplyCode::reply_success, ""});
            post(queue_bind(name, "amq.direct", name), {ReplyCode::reply_success, ""});
            if (i % 2 == 1) post(queue_delete(name), {ReplyCode::reply_success, ""});
        }
        post(queue_bind("p" + std::to_string(s) + "-1", "amq.fanout", ""),
             {ReplyCode::not_found, ""});
    }
    sim_.run();
    for (u32 s = 0; s < shards(); s++) {
        SCOPED_TRACE("shard " + std::to_string(s));
        auto replies = sim_.take<std::unique_ptr<MetaReply>>(s);
        ASSERT_EQ(replies.size(), expected[s].size());
        for (usize i = 0; i < replies.size(); i++) {
            EXPECT_EQ(replies[i]->code, expected[s][i].code) << "reply " << i;
            EXPECT_EQ(replies[i]->queue_name, expected[s][i].queue_name) << "reply " << i;
        }
        for (u32 i = 0; i < queues_per_shard; i++) {
            std::string name = "p" + std::to_string(s) + "-" + std::to_string(i);
            if (i % 2 == 1) {
                EXPECT_TRUE(queue_nowhere(name)) << name;
            } else {
                EXPECT_TRUE(queue_everywhere(name)) << name;
                EXPECT_EQ(queue_info(name).home, ShardId(s));
            }
        }
    }
    u32 kept = shards() * queues_per_shard / 2;
    for (u32 s = 0; s < shards(); s++) EXPECT_EQ(publish(s, "amq.fanout", "", "m"), kept);
    EXPECT_EQ(ready("p0-0"), shards());
    EXPECT_EQ(publish(last(), "amq.direct", "p0-2", "m"), 1u);
    EXPECT_EQ(ready("p0-2"), shards() + 1);
}

// ---- the data path ----

TEST_P(BrokerSimTest, PublishReachesAQueueOnAnotherShardAndDeliversInOrder) {
    declare_queue(channel(last()), "q");
    QueueInfo info = queue_info("q");
    ChannelKey ch = channel(0, 9);
    ConsumerKey key = consumer(ch, 1);
    std::unique_ptr<ConsumeReply> consumed = consume(key, "q");
    ASSERT_EQ(consumed->code, ReplyCode::reply_success);
    EXPECT_EQ(consumed->home, info.home);
    EXPECT_EQ(consumed->queue, info.id);

    constexpr int count = 20;
    for (int i = 0; i < count; i++) {
        EXPECT_EQ(publish_only(0, "", "q", "m" + std::to_string(i)), 1u);
    }
    sim_.run();
    std::vector<Deliver> got = delivers(0);
    ASSERT_EQ(got.size(), static_cast<usize>(count));
    for (int i = 0; i < count; i++) {
        const Deliver& d = got[i];
        EXPECT_EQ(d.message->body_copy(), "m" + std::to_string(i));
        EXPECT_EQ(d.message->routing_key(), "q");
        EXPECT_TRUE(d.consumer == key);
        EXPECT_EQ(d.queue, info.id);
        EXPECT_EQ(d.home, info.home);
        EXPECT_FALSE(d.redelivered);
        if (i > 0) {
            EXPECT_GT(d.sequence, got[i - 1].sequence);
        }
    }
    EXPECT_EQ(home_queue("q")->unsettled_count(), static_cast<u32>(count));
    for (const Deliver& d : got)
        sim_.post(0, d.home.value, Settle{d.queue, d.sequence, SettleKind::ack, {}, false});
    sim_.run();
    EXPECT_EQ(home_queue("q")->unsettled_count(), 0u);
}

TEST_P(BrokerSimTest, PublishToAnUnknownQueueRoutesNowhere) {
    EXPECT_EQ(publish(0, "", "nope", "m"), 0u);
    EXPECT_EQ(publish(0, "amq.direct", "k", "m"), 0u);
}

TEST_P(BrokerSimTest, SettleAckRequeueDrop) {
    declare_queue(channel(last()), "q");
    ChannelKey ch = channel(0, 3);
    ASSERT_EQ(consume(consumer(ch, 1), "q", /*prefetch=*/1)->code, ReplyCode::reply_success);
    for (const char* body : {"a", "b", "c"}) publish(0, "", "q", body);

    std::vector<Deliver> first = delivers(0);
    ASSERT_EQ(first.size(), 1u) << "prefetch 1";
    EXPECT_EQ(first[0].message->body_copy(), "a");

    settle(0, first[0], SettleKind::requeue);
    std::vector<Deliver> again = delivers(0);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].sequence, first[0].sequence);
    EXPECT_EQ(again[0].message->body_copy(), "a");
    EXPECT_TRUE(again[0].redelivered);

    settle(0, again[0], SettleKind::ack);
    std::vector<Deliver> second = delivers(0);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].message->body_copy(), "b");
    EXPECT_FALSE(second[0].redelivered);

    settle(0, second[0], SettleKind::drop);
    std::vector<Deliver> third = delivers(0);
    ASSERT_EQ(third.size(), 1u);
    EXPECT_EQ(third[0].message->body_copy(), "c");

    settle(0, third[0], SettleKind::undelivered);
    std::vector<Deliver> back = delivers(0);
    ASSERT_EQ(back.size(), 1u) << "an undelivered message comes straight back";
    EXPECT_EQ(back[0].sequence, third[0].sequence);
    EXPECT_FALSE(back[0].redelivered) << "it never reached the client";
    settle(0, back[0], SettleKind::ack);
    EXPECT_TRUE(delivers(0).empty());
    EXPECT_EQ(ready("q"), 0u);
    EXPECT_EQ(home_queue("q")->unsettled_count(), 0u);
}

TEST_P(BrokerSimTest, UndeliveredNoAckMessageTravelsBack) {
    declare_queue(channel(last()), "q");
    ChannelKey ch = channel(0, 3);
    ConsumerKey key = consumer(ch, 1);
    QueueInfo info = queue_info("q");
    ASSERT_EQ(consume(key, "q", 0, /*no_ack=*/true)->code, ReplyCode::reply_success);
    publish(0, "", "q", "lost");
    std::vector<Deliver> got = delivers(0);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0].no_ack);
    // The channel closes before writing it: cancel, then return the message itself.
    post_cancel(key, info);
    sim_.post(0, info.home.value,
              Settle{info.id, got[0].sequence, SettleKind::undelivered, got[0].message, false});
    sim_.run();
    EXPECT_EQ(ready("q"), 1u);
    MetaReply reply = meta(channel(0), queue_declare("q", {}, Passive::yes));
    EXPECT_EQ(reply.message_count, 1u);
}

TEST_P(BrokerSimTest, CreditReopensAConsumerAtItsTransitLimit) {
    declare_queue(channel(last()), "q");
    QueueInfo info = queue_info("q");
    ConsumerKey key = consumer(channel(0, 4), 1);
    ASSERT_EQ(consume(key, "q", 0, /*no_ack=*/true)->code, ReplyCode::reply_success);
    constexpr u32 limit = limits::consumer_transit_max;
    for (u32 i = 0; i < limit + 3; i++) publish_only(0, "", "q", "m");
    sim_.run();
    EXPECT_EQ(delivers(0).size(), limit);
    EXPECT_EQ(ready("q"), 3u);

    sim_.post(0, info.home.value, Credit{info.id, key, 2});
    sim_.run();
    EXPECT_EQ(delivers(0).size(), 2u);
    sim_.post(0, info.home.value, Credit{info.id, key, 100});
    sim_.run();
    EXPECT_EQ(delivers(0).size(), 1u);
    EXPECT_EQ(ready("q"), 0u);
}

// A no-ack consumer whose socket takes nothing: its deliveries stop at the transit limit, and
// everything published after that stays ready.
class PressureTest : public BrokerSimTest {
protected:
    // Publishes on shard 0 and returns the pressured queue the publish reported, if any.
    std::optional<QueueId> publish_reporting(const std::string& key) {
        Catalog& catalog = broker(0).catalog();
        std::optional<QueueId> pressured;
        u32 routed = broker(0).publish(*catalog.find_vhost("/"), *catalog.find_exchange("/", ""),
                                       make_message("m", "", key), {}, nullptr, &pressured);
        EXPECT_EQ(routed, 1u);
        broker(0).dispatch_pending();
        sim_.run();
        return pressured;
    }
    // Fills "slow" until it is delivery-bound past the high mark.
    void make_slow_pressured() {
        ASSERT_EQ(consume(stuck_, "slow", 0, /*no_ack=*/true)->code, ReplyCode::reply_success);
        for (u32 i = 0; i < limits::consumer_transit_max + limits::queue_pressure_high; i++) {
            publish_only(0, "", "slow", "m");
        }
        sim_.run();
        EXPECT_GE(ready("slow"), limits::queue_pressure_high);
    }
    // The socket takes deliveries until "slow" holds `target` ready messages.
    void drain_slow_to(const QueueInfo& slow, u32 target) {
        while (ready("slow") > target) {
            u32 written = std::min<u32>(limits::consumer_transit_max, ready("slow") - target);
            sim_.post(0, slow.home.value, Credit{slow.id, stuck_, written});
            sim_.run();
        }
    }
    // The consumer's socket took these deliveries.
    void written(const QueueInfo& queue, const std::vector<Deliver>& got) {
        u64 bytes = 0;
        for (const Deliver& d : got) bytes += d.message->transit_size();
        sim_.post(0, queue.home.value,
                  Credit{queue.id, stuck_, static_cast<u32>(got.size()), bytes});
        sim_.run();
    }
    // The consumer's socket took what was delivered to it, and the consumer acks all of it.
    void ack_what_was_delivered(const QueueInfo& queue) {
        std::vector<Deliver> got = delivers(0);
        ASSERT_FALSE(got.empty());
        written(queue, got);
        for (const Deliver& d : got) settle(0, d, SettleKind::ack);
    }
    bool pressured_everywhere(QueueId queue) {
        for (u32 s = 0; s < shards(); s++) {
            if (!broker(s).pressured(queue)) return false;
        }
        return true;
    }
    bool pressured_nowhere(QueueId queue) {
        for (u32 s = 0; s < shards(); s++) {
            if (broker(s).pressured(queue)) return false;
        }
        return true;
    }

    ConsumerKey stuck_ = consumer(channel(0, 4), 1);
};

TEST_P(PressureTest, OnlyPublishersToTheDeliveryBoundQueueAreHeld) {
    declare_queue(channel(last()), "slow");
    declare_queue(channel(0), "other");
    QueueInfo slow = queue_info("slow");
    QueueInfo other = queue_info("other");
    EXPECT_FALSE(publish_reporting("slow").has_value()) << "no backlog yet";
    make_slow_pressured();
    EXPECT_TRUE(pressured_everywhere(slow.id));
    EXPECT_TRUE(pressured_nowhere(other.id));

    std::optional<QueueId> hit = publish_reporting("slow");
    ASSERT_TRUE(hit.has_value());
    EXPECT_EQ(*hit, slow.id);
    EXPECT_FALSE(publish_reporting("other").has_value()) << "another queue's publisher goes on";

    // The socket drains: once the backlog falls under the low mark, pressure ends everywhere.
    u64 lifts = broker(0).pressure_lifts();
    drain_slow_to(slow, limits::queue_pressure_low);
    EXPECT_TRUE(pressured_everywhere(slow.id)) << "still at the low mark";
    EXPECT_EQ(broker(0).pressure_lifts(), lifts);
    drain_slow_to(slow, limits::queue_pressure_low - 1);
    EXPECT_TRUE(pressured_nowhere(slow.id));
    EXPECT_GT(broker(0).pressure_lifts(), lifts) << "paused publishers get a look";
    EXPECT_FALSE(publish_reporting("slow").has_value());
}

TEST_P(PressureTest, DeletingAPressuredQueueEndsItsPressure) {
    declare_queue(channel(last()), "slow");
    QueueInfo slow = queue_info("slow");
    make_slow_pressured();
    ASSERT_TRUE(pressured_everywhere(slow.id));
    u64 lifts = broker(0).pressure_lifts();
    ok(channel(0), queue_delete("slow"));
    sim_.run();
    EXPECT_TRUE(pressured_nowhere(slow.id));
    EXPECT_GT(broker(0).pressure_lifts(), lifts);
}

// Large messages: a few dozen of them cost as much memory as the message mark's worth of small
// ones, so the backlog counts in bytes too.
TEST_P(PressureTest, ABacklogOfLargeMessagesIsPressureByItsBytes) {
    declare_queue(channel(last()), "large");
    QueueInfo large = queue_info("large");
    ASSERT_EQ(consume(stuck_, "large", 0, /*no_ack=*/true)->code, ReplyCode::reply_success);
    const std::string body(1 << 20, 'L');
    u64 size = make_message(body, "", "large")->transit_size();
    // Up to just under the byte mark: what the consumer's transit limit took is not counted.
    const Queue* queue = home_queue("large");
    while (queue->resident_bytes() + body.size() < limits::queue_pressure_high_bytes) {
        publish_only(0, "", "large", body);
        sim_.run();
    }
    EXPECT_GT(size, body.size());
    EXPECT_LT(ready("large"), limits::queue_pressure_low) << "few messages, many bytes";
    EXPECT_TRUE(pressured_nowhere(large.id)) << "just under the byte mark";
    publish_only(0, "", "large", body);
    sim_.run();
    EXPECT_TRUE(pressured_everywhere(large.id));
}

TEST_P(PressureTest, ABacklogAckingConsumersWorkThroughIsPressure) {
    declare_queue(channel(last()), "acked");
    QueueInfo acked = queue_info("acked");
    ASSERT_EQ(consume(stuck_, "acked", /*prefetch=*/10)->code, ReplyCode::reply_success);
    for (u32 i = 0; i < limits::queue_pressure_high + 100; i++) publish_only(0, "", "acked", "m");
    sim_.run();
    EXPECT_TRUE(pressured_everywhere(acked.id)) << "its consumer's acks hold it back";
    EXPECT_TRUE(publish_reporting("acked").has_value());

    // The consumer acks as it goes: the pressure lasts while the backlog does, and ends with it.
    u64 lifts = broker(0).pressure_lifts();
    while (ready("acked") >= limits::queue_pressure_low) {
        ack_what_was_delivered(acked);
        EXPECT_TRUE(ready("acked") < limits::queue_pressure_low || pressured_everywhere(acked.id));
    }
    EXPECT_TRUE(pressured_nowhere(acked.id));
    EXPECT_GT(broker(0).pressure_lifts(), lifts);
}

// A consumer that hangs with its prefetch full must not hold its queue's publishers for good:
// once it has taken nothing for queue_consumer_stall_ms the queue accepts as if it had none.
TEST_P(PressureTest, AStalledConsumerStopsHoldingPublishers) {
    declare_queue(channel(last()), "acked");
    QueueInfo acked = queue_info("acked");
    ASSERT_EQ(consume(stuck_, "acked", /*prefetch=*/10)->code, ReplyCode::reply_success);
    for (u32 i = 0; i < limits::queue_pressure_high + 100; i++) publish_only(0, "", "acked", "m");
    sim_.run();
    ASSERT_TRUE(pressured_everywhere(acked.id));
    auto advance_to = [&](u64 now_ms) {
        for (u32 s = 0; s < shards(); s++) broker(s).advance_time(now_ms);
        for (u32 s = 0; s < shards(); s++) broker(s).dispatch_pending();
        sim_.run();
    };
    advance_to(limits::queue_consumer_stall_ms - 1);
    EXPECT_TRUE(pressured_everywhere(acked.id)) << "not stalled yet";
    EXPECT_EQ(broker(acked.home.value).next_deadline_ms(), limits::queue_consumer_stall_ms)
        << "the stall is looked for without anything else happening to the queue";
    advance_to(limits::queue_consumer_stall_ms);
    EXPECT_TRUE(pressured_nowhere(acked.id));
    EXPECT_FALSE(publish_reporting("acked").has_value());

    // It acks again: it is handed more, and its backlog holds publishers again.
    ack_what_was_delivered(acked);
    publish_only(0, "", "acked", "m");
    sim_.run();
    EXPECT_TRUE(pressured_everywhere(acked.id));
}

TEST_P(PressureTest, ABacklogWithNoConsumerIsNoPressure) {
    declare_queue(channel(last()), "idle");
    QueueInfo idle = queue_info("idle");
    for (u32 i = 0; i < limits::queue_pressure_high + 100; i++) publish_only(0, "", "idle", "m");
    sim_.run();
    EXPECT_TRUE(pressured_nowhere(idle.id)) << "it accepts and pages as ever";
}

TEST_P(BrokerSimTest, ResourceAlarmsReachEveryShard) {
    for (u32 s = 0; s < shards(); s++) EXPECT_FALSE(broker(s).resource_alarm());
    broker(0).raise_alarm(Resource::memory, true);
    sim_.run();
    for (u32 s = 0; s < shards(); s++) {
        EXPECT_TRUE(broker(s).resource_alarm()) << "shard " << s;
        EXPECT_STREQ(broker(s).alarm_reason(), "low on memory");
    }
    broker(0).raise_alarm(Resource::disk, true);
    broker(0).raise_alarm(Resource::memory, false);
    sim_.run();
    for (u32 s = 0; s < shards(); s++) {
        EXPECT_TRUE(broker(s).resource_alarm()) << "shard " << s;
        EXPECT_FALSE(broker(s).alarm(Resource::memory));
        EXPECT_STREQ(broker(s).alarm_reason(), "low on disk");
    }
    broker(0).raise_alarm(Resource::disk, false);
    sim_.run();
    for (u32 s = 0; s < shards(); s++) EXPECT_FALSE(broker(s).resource_alarm()) << "shard " << s;
}

TEST_P(BrokerSimTest, ConsumeOrGetOnADeletedQueueIsNotFound) {
    declare_queue(channel(last()), "q");
    QueueInfo info = queue_info("q");
    ok(channel(0), queue_delete("q"));
    ConsumerKey key = consumer(channel(0), 1);
    post_consume(key, info.id, info.home);
    auto get = std::make_unique<GetRequest>();
    get->channel = channel(0);
    get->queue = info.id;
    sim_.post(0, info.home.value, std::move(get));
    sim_.run();
    auto consumed = sim_.take<std::unique_ptr<ConsumeReply>>(0);
    ASSERT_EQ(consumed.size(), 1u);
    EXPECT_EQ(consumed[0]->code, ReplyCode::not_found);
    EXPECT_EQ(consumed[0]->text, "NOT_FOUND - queue was deleted");
    EXPECT_TRUE(consumed[0]->consumer == key);
    auto got = sim_.take<std::unique_ptr<GetReply>>(0);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0]->code, ReplyCode::not_found);
    EXPECT_FALSE(got[0]->message);
}

TEST_P(BrokerSimTest, GetFromAnotherShard) {
    declare_queue(channel(last()), "q");
    QueueInfo info = queue_info("q");
    publish(0, "", "q", "one");
    publish(0, "", "q", "two");
    auto get = [&](bool no_ack) {
        auto request = std::make_unique<GetRequest>();
        request->channel = channel(0);
        request->queue = info.id;
        request->no_ack = no_ack;
        sim_.post(0, info.home.value, std::move(request));
        sim_.run();
        auto replies = sim_.take<std::unique_ptr<GetReply>>(0);
        EXPECT_EQ(replies.size(), 1u);
        return replies.empty() ? nullptr : std::move(replies[0]);
    };
    std::unique_ptr<GetReply> first = get(false);
    ASSERT_TRUE(first && first->message);
    EXPECT_EQ(first->code, ReplyCode::reply_success);
    EXPECT_EQ(first->message->body_copy(), "one");
    EXPECT_EQ(first->message_count, 1u);
    EXPECT_EQ(first->home, info.home);
    EXPECT_EQ(home_queue("q")->unsettled_count(), 1u);
    sim_.post(0, info.home.value, Settle{info.id, first->sequence, SettleKind::ack, {}, false});
    sim_.run();
    EXPECT_EQ(home_queue("q")->unsettled_count(), 0u);

    std::unique_ptr<GetReply> second = get(true);
    ASSERT_TRUE(second && second->message);
    EXPECT_EQ(second->message->body_copy(), "two");
    EXPECT_EQ(second->message_count, 0u);
    EXPECT_EQ(home_queue("q")->unsettled_count(), 0u);

    std::unique_ptr<GetReply> empty = get(false);
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->code, ReplyCode::reply_success);
    EXPECT_FALSE(empty->message) << "get-empty";
}

TEST_P(BrokerSimTest, AutoDeleteQueueGoesAfterItsLastConsumerCancels) {
    declare_queue(channel(last()), "ad", {.auto_delete = true});
    declare_queue(channel(last()), "never-consumed", {.auto_delete = true});
    QueueInfo info = queue_info("ad");
    ConsumerKey one = consumer(channel(0, 1), 1);
    ConsumerKey two = consumer(channel(last(), 2), 2);
    ASSERT_EQ(consume(one, "ad")->code, ReplyCode::reply_success);
    ASSERT_EQ(consume(two, "ad")->code, ReplyCode::reply_success);
    post_cancel(one, info);
    sim_.run();
    EXPECT_TRUE(queue_everywhere("ad")) << "one consumer is left";
    post_cancel(two, info);
    sim_.run();
    EXPECT_TRUE(queue_nowhere("ad"));
    EXPECT_EQ(broker(info.home.value).find_local_queue(info.id), nullptr);
    EXPECT_TRUE(queue_everywhere("never-consumed")) << "auto-delete needs a consumer first";
}

TEST_P(BrokerSimTest, AutoDeleteQueueKeptWhenAConsumerArrivesInTime) {
    declare_queue(channel(last()), "ad", {.auto_delete = true});
    QueueInfo info = queue_info("ad");
    ConsumerKey one = consumer(channel(0, 1), 1);
    ConsumerKey two = consumer(channel(0, 1), 2);
    ASSERT_EQ(consume(one, "ad")->code, ReplyCode::reply_success);
    // The cancel asks shard 0 to delete; the consume reaches the home shard before its answer.
    post_cancel(one, info);
    post_consume(two, info.id, info.home);
    sim_.run();
    auto replies = sim_.take<std::unique_ptr<ConsumeReply>>(0);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0]->code, ReplyCode::reply_success);
    EXPECT_TRUE(queue_everywhere("ad"));
    ASSERT_NE(home_queue("ad"), nullptr);
    EXPECT_EQ(home_queue("ad")->consumer_count(), 1u);
    post_cancel(two, info);
    sim_.run();
    EXPECT_TRUE(queue_nowhere("ad"));
}

TEST_P(BrokerSimTest, FanoutReachesQueuesOnEveryShard) {
    for (u32 s = 0; s < shards(); s++) {
        std::string name = "fan" + std::to_string(s);
        declare_queue(channel(s), name);
        ok(channel(s), queue_bind(name, "amq.fanout", ""));
    }
    for (u32 s = 0; s < shards(); s++) EXPECT_EQ(publish(s, "amq.fanout", "any", "m"), shards());
    for (u32 s = 0; s < shards(); s++) {
        std::string name = "fan" + std::to_string(s);
        EXPECT_EQ(queue_info(name).home, ShardId(s));
        EXPECT_EQ(ready(name), shards()) << name;
    }
}

TEST_P(BrokerSimTest, TopicAndHeadersRouteThroughTheReplicas) {
    struct BindingRow {
        const char* queue;
        const char* exchange;
        const char* key;
        FieldTable arguments;
    };
    const FieldTable xy{{"x", FieldValue::string("1")}, {"y", FieldValue::string("2")}};
    auto with_match = [&](const char* mode) {
        FieldTable t = xy;
        t.emplace(t.begin(), "x-match", FieldValue::string(mode));
        return t;
    };
    const BindingRow bindings[] = {
        {"qa", "amq.topic", "a.*", {}},
        {"qb", "amq.topic", "a.#", {}},
        {"qc", "amq.topic", "*.c", {}},
        {"qd", "amq.topic", "#", {}},
        {"h-all", "amq.headers", "", with_match("all")},
        {"h-any", "amq.headers", "", with_match("any")},
    };
    for (usize i = 0; i < std::size(bindings); i++) {
        const BindingRow& b = bindings[i];
        declare_queue(channel(static_cast<u32>(i) % shards()), b.queue);
        ok(channel(0), queue_bind(b.queue, b.exchange, b.key, table(b.arguments)));
    }

    struct RouteCase {
        const char* exchange;
        const char* key;
        FieldTable headers;
        std::set<std::string> expected;
    };
    const RouteCase cases[] = {
        {"amq.topic", "a.b", {}, {"qa", "qb", "qd"}},
        {"amq.topic", "a.b.c", {}, {"qb", "qd"}},
        {"amq.topic", "b.c", {}, {"qc", "qd"}},
        {"amq.topic", "a", {}, {"qb", "qd"}},
        {"amq.topic", "", {}, {"qd"}},
        {"amq.headers", "ignored", {{"x", FieldValue::string("1")}}, {"h-any"}},
        {"amq.headers", "", xy, {"h-all", "h-any"}},
        {"amq.headers",
         "",
         {{"y", FieldValue::string("2")},
          {"x", FieldValue::string("1")},
          {"z", FieldValue::string("3")}},
         {"h-all", "h-any"}},
        {"amq.headers", "", {{"x", FieldValue::string("2")}}, {}},
        {"amq.headers", "", {}, {}},
    };
    std::map<std::string, u32> expected_ready;
    for (const RouteCase& c : cases) {
        SCOPED_TRACE(std::string(c.exchange) + " '" + c.key + "' " + wire::to_string(c.headers));
        std::string headers = c.headers.empty() ? std::string() : table(c.headers);
        for (u32 s = 0; s < shards(); s++) {
            EXPECT_EQ(route(s, c.exchange, c.key, headers), c.expected) << "shard " << s;
        }
        u32 from = static_cast<u32>(expected_ready.size()) % shards();
        EXPECT_EQ(publish(from, c.exchange, c.key, "m", headers), c.expected.size());
        for (const std::string& q : c.expected) expected_ready[q]++;
    }
    for (const BindingRow& b : bindings) {
        EXPECT_EQ(ready(b.queue), expected_ready[b.queue]) << b.queue;
    }
}

TEST_P(BrokerSimTest, ExchangeToExchangeCyclesRouteEachQueueOnce) {
    declare_exchange("e1", ExchangeType::fanout);
    declare_exchange("e2", ExchangeType::fanout);
    declare_exchange("self", ExchangeType::fanout);
    ok(channel(0), exchange_bind("e2", "e1"));
    ok(channel(0), exchange_bind("e1", "e2"));
    ok(channel(0), exchange_bind("self", "self"));
    declare_queue(channel(0), "q1");
    declare_queue(channel(last()), "q2");
    ok(channel(0), queue_bind("q1", "e1", ""));
    ok(channel(0), queue_bind("q2", "e2", ""));
    ok(channel(0), queue_bind("q2", "self", ""));
    for (u32 s = 0; s < shards(); s++) {
        EXPECT_EQ(route(s, "e1", "k"), (std::set<std::string>{"q1", "q2"}));
        EXPECT_EQ(route(s, "e2", "k"), (std::set<std::string>{"q1", "q2"}));
        EXPECT_EQ(route(s, "self", "k"), (std::set<std::string>{"q2"}));
    }
    EXPECT_EQ(publish(last(), "e1", "k", "m"), 2u);
    EXPECT_EQ(publish(0, "e2", "k", "m"), 2u);
    EXPECT_EQ(publish(0, "self", "k", "m"), 1u);
    EXPECT_EQ(ready("q1"), 2u);
    EXPECT_EQ(ready("q2"), 3u);
}

// A seeded random workload from channels on every shard, with requests in flight together:
// whatever the order, every request is answered once, nothing reaches a consumer the queue
// did not accept or after it was cancelled, and the replicas end up equal (see TearDown).
TEST_P(BrokerSimTest, RandomWorkloadKeepsTheInvariants) {
    replicas_equal_at_reply_ = false;
    std::mt19937_64 rng(GetParam().seed * 7919 + shards());
    auto pick = [&](u32 n) { return static_cast<u32>(rng() % n); };
    const std::vector<std::string> names = {"w0", "w1", "w2", "w3", "w4"};
    std::vector<usize> requests(shards(), 0);
    std::vector<usize> replies(shards(), 0);
    struct Active {
        ConsumerKey key;
        QueueId queue;
        ShardId home;
    };
    std::vector<Active> active;  // accepted and not cancelled
    std::vector<ConsumerKey> gone;
    u64 next_consumer_id = 1;
    u64 delivered = 0;

    auto absorb_inboxes = [&] {
        for (u32 s = 0; s < shards(); s++) {
            replies[s] += sim_.take<std::unique_ptr<MetaReply>>(s).size();
            for (auto& reply : sim_.take<std::unique_ptr<ConsumeReply>>(s)) {
                if (reply->code == ReplyCode::reply_success)
                    active.push_back({reply->consumer, reply->queue, reply->home});
            }
            for (const ConsumerCancelled& c : sim_.take<ConsumerCancelled>(s)) {
                std::erase_if(active, [&](const Active& a) { return a.key == c.consumer; });
                gone.push_back(c.consumer);
            }
            for (const Deliver& d : sim_.take<Deliver>(s)) {
                delivered++;
                bool known = std::any_of(active.begin(), active.end(),
                                         [&](const Active& a) { return a.key == d.consumer; });
                bool cancelled = std::find(gone.begin(), gone.end(), d.consumer) != gone.end();
                EXPECT_TRUE(known || cancelled) << "a delivery to a consumer never accepted";
                if (!d.no_ack) {
                    sim_.post(s, d.home.value,
                              Settle{d.queue,
                                     d.sequence,
                                     pick(4) == 0 ? SettleKind::requeue : SettleKind::ack,
                                     {},
                                     false});
                }
            }
            sim_.take<std::unique_ptr<GetReply>>(s);
        }
    };

    for (int step = 0; step < 600; step++) {
        u32 shard = pick(shards());
        ChannelKey ch = channel(shard, 1 + pick(2));
        const std::string& name = names[pick(static_cast<u32>(names.size()))];
        auto request = [&](MetaOp op) {
            auto r = std::make_unique<MetaRequest>();
            r->vhost = "/";
            r->requester = ch;
            r->op = std::move(op);
            sim_.post(shard, 0, std::move(r));
            requests[shard]++;
        };
        const std::string exchange = "x" + std::to_string(pick(3));
        switch (pick(16)) {
            case 0: request(queue_declare(name, {.auto_delete = pick(3) == 0})); break;
            case 1: request(queue_declare(name, {.exclusive = true})); break;
            case 2: request(queue_delete(name, pick(2) == 0, pick(2) == 0)); break;
            case 3: request(queue_bind(name, pick(2) == 0 ? "amq.direct" : exchange, name)); break;
            case 4:
                request(queue_unbind(name, pick(2) == 0 ? "amq.direct" : exchange, name));
                break;
            case 5: request(QueuePurgeOp{name}); break;
            case 6:
                request(exchange_declare(exchange, ExchangeType::fanout,
                                         {.auto_delete = pick(2) == 0}));
                break;
            case 7: request(exchange_bind(exchange, "x" + std::to_string(pick(3)))); break;
            case 8: request(ExchangeDeleteOp{exchange, pick(2) == 0}); break;
            case 9: {
                // The connection closes: its exclusive queues go, and nobody is answered.
                auto r = std::make_unique<MetaRequest>();
                r->vhost = "/";
                r->requester = ch;
                r->reply_wanted = ReplyWanted::no;
                r->op = ConnectionClosedOp{};
                sim_.post(shard, 0, std::move(r));
                break;
            }
            case 10: {
                const QueueInfo* info = find_queue(shard, name);
                if (info == nullptr || (info->exclusive && !(info->owner == ch.connection))) break;
                post_consume(consumer(ch, next_consumer_id++), info->id, info->home,
                             static_cast<u16>(pick(3)), pick(3) == 0);
                break;
            }
            case 11: {
                if (active.empty()) break;
                Active a = active[pick(static_cast<u32>(active.size()))];
                sim_.post(a.key.channel.connection.shard.value, a.home.value,
                          CancelRequest{a.queue, a.key});
                std::erase_if(active, [&](const Active& x) { return x.key == a.key; });
                gone.push_back(a.key);
                break;
            }
            case 12: {
                const QueueInfo* info = find_queue(shard, name);
                if (info == nullptr) break;
                auto get = std::make_unique<GetRequest>();
                get->channel = ch;
                get->queue = info->id;
                get->no_ack = true;
                sim_.post(shard, info->home.value, std::move(get));
                break;
            }
            case 13:
                if (broker(shard).catalog().find_exchange("/", exchange) == nullptr) break;
                publish_only(shard, exchange, name, "m");
                break;
            default: publish_only(shard, pick(2) == 0 ? "" : "amq.direct", name, "m"); break;
        }
        if (pick(4) == 0) {
            sim_.run();
            absorb_inboxes();
        }
    }
    for (int round = 0; round < 100; round++) {
        sim_.run();
        absorb_inboxes();
    }
    for (u32 s = 0; s < shards(); s++) EXPECT_EQ(replies[s], requests[s]) << "shard " << s;
    RecordProperty("deliveries", static_cast<int>(delivered));
}

std::string config_name(const ::testing::TestParamInfo<SimConfig>& info) {
    const SimConfig& c = info.param;
    std::string name = std::to_string(c.shard_count) + "Shards";
    if (c.interleaving == Interleaving::in_order) return name + "InOrder";
    return name + "RandomSeed" + std::to_string(c.seed);
}

INSTANTIATE_TEST_SUITE_P(Simulated, BrokerSimTest,
                         ::testing::Values(SimConfig{2, Interleaving::in_order, 0},
                                           SimConfig{3, Interleaving::in_order, 0},
                                           SimConfig{2, Interleaving::random, 1},
                                           SimConfig{3, Interleaving::random, 2},
                                           SimConfig{3, Interleaving::random, 3}),
                         config_name);

INSTANTIATE_TEST_SUITE_P(Simulated, PressureTest,
                         ::testing::Values(SimConfig{2, Interleaving::in_order, 0},
                                           SimConfig{3, Interleaving::random, 4}),
                         config_name);

// ---- RabbitMQ's order of checks ----
// Sharding plays no part in these, so they run in one configuration.

class RabbitMQParityTest : public BrokerSimTest {};

// RabbitMQ checks the default exchange before the passive lookup: check_not_default_exchange
// runs in both exchange.declare clauses, so a passive declare of "" is refused too.
TEST_P(RabbitMQParityTest, PassiveDeclareOfTheDefaultExchangeIsRefused) {
    MetaReply reply =
        meta(channel(0), exchange_declare("", ExchangeType::direct, {}, Passive::yes));
    EXPECT_EQ(reply.code, ReplyCode::access_refused);
    EXPECT_EQ(reply.text, "ACCESS_REFUSED - operation not permitted on the default exchange");
}

// RabbitMQ checks a client-chosen queue name for the amq. prefix before looking the queue up,
// so naming an existing server-named queue in a non-passive declare is refused; only passive
// declares may name it.
TEST_P(RabbitMQParityTest, ClientCannotRedeclareAServerNamedQueue) {
    ok(channel(0), queue_declare("amq.gen-xyz", {}, Passive::no, ServerNamed::yes));
    EXPECT_EQ(meta(channel(0), queue_declare("amq.gen-xyz", {}, Passive::yes)).code,
              ReplyCode::reply_success);
    MetaReply reply = meta(channel(0), queue_declare("amq.gen-xyz"));
    EXPECT_EQ(reply.code, ReplyCode::access_refused);
    EXPECT_EQ(reply.text,
              "ACCESS_REFUSED - queue name 'amq.gen-xyz' contains reserved prefix 'amq.*'");
}

INSTANTIATE_TEST_SUITE_P(Simulated, RabbitMQParityTest,
                         ::testing::Values(SimConfig{2, Interleaving::in_order, 0}), config_name);

}  // namespace
}  // namespace lepus::core
