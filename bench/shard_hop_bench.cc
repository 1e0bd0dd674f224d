// The cross-shard hop: a core::ShardMessage moved through one SpscRing of the shard grid.
// Enqueue (publish shard -> queue home) and Deliver (queue home -> consumer's shard) are the
// two messages every message crossing shards rides in; each carries a MessageRef, so a hop
// also moves a reference count between cores.
//
// - *_push_pop: one thread pushes a batch and pops it again; the cost of the ring and of
//   constructing, moving and destroying the variant, without another core in the way.
// - *_two_threads: a producer thread pushes batches of `range(0)` messages, as a shard flushes
//   its outbox once per loop turn; the timed thread pops as Shard::drain_mailboxes does, up to
//   shard_mailbox_batch_max per turn. items/s is messages popped; the cache lines of the ring
//   and of the message's reference count travel between the two cores. Either side yields
//   when it finds the ring empty or full; still, on a machine with fewer than two free cores
//   the threads take turns and the figure measures the scheduler.
// Run:
//   build/release/bench/shard_hop_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "core/base/limits.h"
#include "core/base/spsc_ring.h"
#include "core/shard_message.h"
#include "tests/core/test_message.h"

namespace lepus::core {
namespace {

enum class Kind : u8 { enqueue, deliver };

ShardMessage make(Kind kind, const MessageRef& message, u64 sequence) {
    if (kind == Kind::enqueue) return Enqueue{QueueId(7), message, 0, {}};
    Deliver d;
    d.consumer = test_support::consumer_key(1);
    d.queue = QueueId(7);
    d.home = ShardId(1);
    d.sequence = sequence;
    d.message = message;
    d.no_ack = true;
    return d;
}

void push_pop(benchmark::State& state, Kind kind) {
    const auto batch = static_cast<u32>(state.range(0));
    SpscRing<ShardMessage> ring(limits::shard_ring_capacity);
    MessageRef message = test_support::make_message("0123456789abcdef", "", "bench");
    u64 sequence = 0;
    for (auto _ : state) {
        for (u32 i = 0; i < batch; i++) {
            ShardMessage m = make(kind, message, ++sequence);
            bool pushed = ring.try_push(m);
            LEPUS_ASSERT(pushed);
        }
        for (u32 i = 0; i < batch; i++) {
            std::optional<ShardMessage> m = ring.try_pop();
            LEPUS_ASSERT(m.has_value());
            benchmark::DoNotOptimize(m->index());
        }
    }
    state.SetItemsProcessed(static_cast<i64>(state.iterations()) * batch);
    state.counters["slot_bytes"] = static_cast<double>(sizeof(ShardMessage));
}

void enqueue_push_pop(benchmark::State& state) { push_pop(state, Kind::enqueue); }
BENCHMARK(enqueue_push_pop)->Arg(1)->Arg(64);

void deliver_push_pop(benchmark::State& state) { push_pop(state, Kind::deliver); }
BENCHMARK(deliver_push_pop)->Arg(1)->Arg(64);

// The producer runs outside the timed thread from set-up to tear-down; the timed loop is the
// consumer's, one iteration per loop turn.
void two_threads(benchmark::State& state, Kind kind) {
    const auto batch = static_cast<u32>(state.range(0));
    SpscRing<ShardMessage> ring(limits::shard_ring_capacity);
    MessageRef message = test_support::make_message("0123456789abcdef", "", "bench");
    std::atomic<bool> stop{false};
    std::thread producer([&] {
        std::vector<ShardMessage> pending;  // the sender's outbox for this pair
        u64 sequence = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            for (usize i = pending.size(); i < batch; i++) {
                pending.push_back(make(kind, message, ++sequence));
            }
            usize pushed = 0;
            while (pushed < pending.size() && ring.try_push(pending[pushed])) pushed++;
            pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(pushed));
            if (pushed == 0) std::this_thread::yield();  // full: let the consumer run
        }
    });
    i64 popped = 0;
    i64 busy_turns = 0;
    for (auto _ : state) {
        u32 n = 0;
        for (; n < limits::shard_mailbox_batch_max; n++) {
            std::optional<ShardMessage> m = ring.try_pop();
            if (!m) break;
            benchmark::DoNotOptimize(m->index());
        }
        popped += n;
        busy_turns += n == 0 ? 0 : 1;
        // Empty: a shard would go on to its other work or sleep. Yielding keeps a spinning
        // consumer from starving the producer when both share a core.
        if (n == 0) std::this_thread::yield();
    }
    stop.store(true, std::memory_order_relaxed);
    producer.join();
    state.SetItemsProcessed(popped);
    // A consumer faster than its producer mostly finds the ring empty; the turns that found
    // something show how much one drain picks up.
    state.counters["per_busy_turn"] = benchmark::Counter(
        static_cast<double>(popped) / static_cast<double>(std::max<i64>(busy_turns, 1)));
}

void enqueue_two_threads(benchmark::State& state) { two_threads(state, Kind::enqueue); }
BENCHMARK(enqueue_two_threads)->Arg(16)->Arg(256)->UseRealTime();

void deliver_two_threads(benchmark::State& state) { two_threads(state, Kind::deliver); }
BENCHMARK(deliver_two_threads)->Arg(16)->Arg(256)->UseRealTime();

}  // namespace
}  // namespace lepus::core
