// One shard's data path without sockets: a publish is routed on the shard's catalog replica,
// enqueued, and dispatched to a consumer, whose Deliver lands in an Outbox that counts and
// discards it (what would be a channel's on_deliver). The consumer's side is played by the
// benchmark: it returns Credit in batches as a connection does after each send, and in the
// acking variants settles each delivery (publish -> deliver -> settle).
//
// The argument is the number of publishes per loop turn: the shard runs dispatch_pending once
// per turn, so 1 is the worst case (one message per turn) and 64 a busy shard. One message is
// built once and published again and again: building it is the channel's work, measured with
// the codec; here each publish costs a reference count, not an allocation. items/s is messages
// published; the fanout variant also reports deliveries/s. Run:
//   build/release/bench/broker_bench
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/base/assert.h"
#include "core/broker.h"
#include "tests/core/test_message.h"

namespace lepus::core {
namespace {

// Credit goes back after this many deliveries, well under consumer_transit_max, as a
// connection returns credit once per completed send rather than once per delivery.
constexpr u32 credit_batch = 64;

enum class Acking : u8 { no_ack, ack };

// Set-up traffic (metadata, catalog updates, consume replies) is kept and handed back to the
// broker by drain(); in the timed loop only Deliver arrives, and it is counted and dropped.
class CountingOutbox final : public Outbox {
public:
    void send(ShardId, ShardMessage message) override {
        if (auto* d = std::get_if<Deliver>(&message)) {
            delivered++;
            if (!d->no_ack)
                to_settle.push_back(Settle{d->queue, d->sequence, SettleKind::ack, {}, false});
            return;
        }
        pending_.push_back(std::move(message));
    }

    // Runs the set-up conversation to its end, checking every reply says success.
    void drain(Broker& broker) {
        while (!pending_.empty()) {
            std::vector<ShardMessage> batch;
            std::swap(batch, pending_);
            for (ShardMessage& m : batch) {
                if (Broker::handles(m)) {
                    broker.handle(std::move(m));
                } else if (auto* r = std::get_if<std::unique_ptr<MetaReply>>(&m)) {
                    LEPUS_ASSERT_MSG((*r)->code == amqp::ReplyCode::reply_success,
                                     (*r)->text.c_str());
                } else if (auto* c = std::get_if<std::unique_ptr<ConsumeReply>>(&m)) {
                    LEPUS_ASSERT_MSG((*c)->code == amqp::ReplyCode::reply_success,
                                     (*c)->text.c_str());
                }
            }
            broker.dispatch_pending();
        }
    }

    u64 delivered = 0;
    std::vector<Settle> to_settle;

private:
    std::vector<ShardMessage> pending_;
};

// One broker shard with `queue_count` queues bound to `exchange`, one consumer each.
class OneShard {
public:
    OneShard(const std::string& exchange, routing::ExchangeType type, u32 queue_count,
             Acking acking)
        : broker_(ShardId(0), 1, outbox_, {"/"}) {
        if (!exchange.starts_with("amq.")) {
            ExchangeDeclareOp op;
            op.info.name = exchange;
            op.info.type = type;
            meta(std::move(op));
        }
        for (u32 i = 0; i < queue_count; i++) {
            std::string name = "bench-" + std::to_string(i);
            QueueDeclareOp declare;
            declare.info.name = name;
            meta(std::move(declare));
            meta(QueueBindOp{name, exchange, routing_key, {}, false});
            const QueueInfo* info = broker_.catalog().find_queue("/", name);
            LEPUS_ASSERT(info != nullptr);
            auto consume = std::make_unique<ConsumeRequest>();
            consume->consumer = test_support::consumer_key(i + 1);
            consume->queue = info->id;
            consume->tag = "ctag-" + std::to_string(i);
            consume->no_ack = acking == Acking::no_ack;
            consume->prefetch = acking == Acking::ack ? 1000 : 0;
            consumers_.push_back({info->id, consume->consumer});
            broker_.handle(std::move(consume));
            outbox_.drain(broker_);
        }
        vhost_ = broker_.catalog().find_vhost("/");
        LEPUS_ASSERT(vhost_ != nullptr);
        exchange_name_ = exchange;
        message_ = test_support::make_message(std::string(16, 'x'), exchange, routing_key);
    }

    // One publish as Channel::route_publish makes it: the exchange looked up by name, routed,
    // enqueued; no dispatch yet.
    void publish() {
        auto it = vhost_->exchanges.find(exchange_name_);
        LEPUS_ASSERT(it != vhost_->exchanges.end());
        u32 routed = broker_.publish(*vhost_, it->second, message_, {});
        LEPUS_ASSERT(routed == consumers_.size());
    }

    // The end of a loop turn: dispatch, then play the consumers' side.
    void end_turn() {
        broker_.dispatch_pending();
        for (Settle& s : outbox_.to_settle) broker_.handle(std::move(s));
        outbox_.to_settle.clear();
        credit_owed_ += outbox_.delivered - delivered_seen_;
        delivered_seen_ = outbox_.delivered;
        if (credit_owed_ >= credit_batch * consumers_.size()) {
            // Every delivery carries the same message.
            auto count = static_cast<u32>(credit_owed_ / consumers_.size());
            for (const auto& [queue, key] : consumers_) {
                broker_.handle(Credit{queue, key, count, count * message_->transit_size()});
            }
            credit_owed_ = 0;
        }
    }

    u64 delivered() const { return outbox_.delivered; }

    static constexpr const char* routing_key = "bench";

private:
    void meta(MetaOp op) {
        auto request = std::make_unique<MetaRequest>();
        request->vhost = "/";
        request->requester = test_support::consumer_key(0).channel;
        request->op = std::move(op);
        broker_.handle(std::move(request));
        outbox_.drain(broker_);
    }

    CountingOutbox outbox_;  // declared first: the broker holds a reference to it
    Broker broker_;
    const VHost* vhost_ = nullptr;
    std::string exchange_name_;
    MessageRef message_;
    std::vector<std::pair<QueueId, ConsumerKey>> consumers_;
    u64 delivered_seen_ = 0;
    u64 credit_owed_ = 0;
};

void run(benchmark::State& state, OneShard& shard) {
    const i64 per_turn = state.range(0);
    u64 delivered_before = shard.delivered();
    for (auto _ : state) {
        for (i64 i = 0; i < per_turn; i++) shard.publish();
        shard.end_turn();
    }
    const i64 messages = static_cast<i64>(state.iterations()) * per_turn;
    state.SetItemsProcessed(messages);
    const auto delivered = static_cast<double>(shard.delivered() - delivered_before);
    state.counters["deliveries_per_message"] =
        benchmark::Counter(delivered / static_cast<double>(messages));
    state.counters["deliveries"] = benchmark::Counter(delivered, benchmark::Counter::kIsRate);
}

void direct_no_ack(benchmark::State& state) {
    OneShard shard("amq.direct", routing::ExchangeType::direct, 1, Acking::no_ack);
    run(state, shard);
}
BENCHMARK(direct_no_ack)->Arg(1)->Arg(64);

void direct_ack(benchmark::State& state) {
    OneShard shard("amq.direct", routing::ExchangeType::direct, 1, Acking::ack);
    run(state, shard);
}
BENCHMARK(direct_ack)->Arg(1)->Arg(64);

void fanout_8_no_ack(benchmark::State& state) {
    OneShard shard("perf-fanout", routing::ExchangeType::fanout, 8, Acking::no_ack);
    run(state, shard);
}
BENCHMARK(fanout_8_no_ack)->Arg(1)->Arg(64);

}  // namespace
}  // namespace lepus::core
