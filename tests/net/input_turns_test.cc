// A shard serves received bytes in turns, a slice per connection, so a client that floods its
// socket cannot make one that sent a little after it wait for the whole flood
// (net/server/input_turns.h). Here, through real connections on one simulated shard: a flood
// of publishes and, written after it, a single publish from another client, both received
// before the turn starts.
#include <gtest/gtest.h>

#include <string>

#include "core/base/limits.h"
#include "tests/net/sim_client.h"

namespace lepus::server::sim {
namespace {

using namespace lepus::amqp;

std::string declare(std::string_view name) {
    QueueDeclare m;
    m.queue = name;
    return SimClient::method(1, m);
}

u32 ready(ProtocolSim& sim, std::string_view queue) {
    core::Broker& broker = sim.core().broker(0);
    const core::QueueInfo* info = broker.catalog().find_queue("/", queue);
    EXPECT_NE(info, nullptr) << queue;
    if (info == nullptr) return 0;
    const core::Queue* q = broker.find_local_queue(info->id);
    return q == nullptr ? 0 : q->ready_count();
}

TEST(InputTurnsTest, ALatecomerIsServedBetweenSlicesOfAFlood) {
    ProtocolSim sim({1, core::sim::Interleaving::in_order, 0});
    SimClient flooder(sim, 0);
    SimClient latecomer(sim, 0);
    flooder.handshake();
    latecomer.handshake();
    flooder.send(declare("flood") + declare("late"));
    sim.pump();
    flooder.read();

    // Three slices' worth of publishes and more. What the socket cannot take at once is
    // reaped into the flooder's inbox (received, not yet handled) to make room.
    const std::string publish = SimClient::publish(1, "", "flood", "sixteen byte msg");
    const u32 flooded = static_cast<u32>(3 * limits::connection_input_slice / publish.size()) + 1;
    std::string flood;
    for (u32 i = 0; i < flooded; i++) flood += publish;
    std::string_view rest(flood);
    while (!rest.empty()) {
        ssize_t n = flooder.write_some(rest);
        if (n > 0) rest.remove_prefix(static_cast<usize>(n));
        sim.shard(0).reap();
    }
    latecomer.send(SimClient::publish(1, "", "late", "after the flood"));

    // Everything is received first, as when a shard takes all of its ready completions.
    while (sim.shard(0).reap()) {
    }
    // One turn with room for two slices: the flooder's first, the latecomer's, then part
    // of the flooder's second.
    sim.shard(0).serve_input_turn(2 * limits::connection_input_slice);
    sim.core().run();
    EXPECT_EQ(ready(sim, "late"), 1u) << "the latecomer waited behind the flood";
    u32 served = ready(sim, "flood");
    EXPECT_GT(served, 0u);
    EXPECT_LE(served * publish.size(), 2 * limits::connection_input_slice)
        << "the flooder had more than the turn's budget";

    // Later turns serve the rest of the flood: nothing is dropped.
    sim.pump();
    EXPECT_EQ(ready(sim, "flood"), flooded);
    EXPECT_EQ(ready(sim, "late"), 1u);
}

}  // namespace
}  // namespace lepus::server::sim
