#pragma once
// Which of a shard's connections have received bytes waiting to be handled, and the order in
// which they are served. A receive's completion only queues its bytes on its connection; the
// shard then serves the connections round-robin, a slice each (limits::connection_input_slice),
// until the turn's budget (limits::turn_input_budget) is spent. A connection that still has
// input goes to the back of the line, so a client that floods the socket with publishes is
// served one slice at a time between everyone else's acks and methods, and the turn stays short
// enough for the queues' dispatch and the sends that follow it.
//
// Connections are named by slot and generation, so one that closes while it waits in line is
// skipped, never touched. Used on the shard's thread only.
#include <memory>
#include <vector>

#include "core/base/ring_deque.h"
#include "core/base/types.h"

namespace lepus::server {

class Connection;

class InputTurns {
public:
    // The connection in `slot` (of this generation) has input waiting. It asks once, and
    // again after each turn it was served if it still wants one.
    void enlist(u32 slot, u32 generation) { line_.push_back(Turn{slot, generation}); }
    bool empty() const { return line_.empty(); }

    // Serves the line until `budget` is spent or nobody waits; `connections` is the shard's
    // table by slot. Returns what was spent.
    u64 serve(u64 budget, std::vector<std::unique_ptr<Connection>>& connections);

private:
    struct Turn {
        u32 slot = 0;
        u32 generation = 0;
    };
    RingDeque<Turn> line_;
};

}  // namespace lepus::server
