#pragma once
// What a shard lends its connections: its ring, receive buffers, broker and outbox, the
// options, the clock, and the list of connections with output to send this turn.
#include <vector>

#include "core/base/types.h"
#include "core/broker.h"
#include "core/shard_message.h"
#include "net/io/buffer_ring.h"
#include "net/io/ring.h"
#include "net/server/input_turns.h"
#include "net/server/options.h"

namespace lepus::server {

class Connection;

struct ShardContext {
    ShardContext(ShardId s, io::Ring& r, io::BufferRing& b, core::Broker& k, core::Outbox& o,
                 const Options& opts)
        : shard(s), ring(r), buffers(b), broker(k), outbox(o), options(opts) {}

    ShardId shard;
    io::Ring& ring;
    io::BufferRing& buffers;
    core::Broker& broker;
    core::Outbox& outbox;
    const Options& options;
    u64 now_ms = 0;  // monotonic, read once per loop turn
    bool shutting_down = false;
    std::vector<Connection*> flush_list;  // connections whose output waits for this turn's send
    std::vector<u32> terminated_slots;    // connections closing; freed once their I/O drained
    // Back-pressure: while set, connections that publish stop reading (see Shard).
    bool throttled = false;
    std::vector<Connection*> paused;  // connections waiting for the throttle to lift
    InputTurns input_turns;           // connections with received bytes to handle
    u64 inbox_bytes = 0;              // held by the connections' inboxes, all together
    // Memory held by frames that have begun to arrive and are not complete, all connections
    // together, and the connections holding them (see limits::shard_incomplete_frame_bytes_max).
    u64 incomplete_frame_bytes = 0;
    std::vector<Connection*> incomplete_frame_holders;
    u64 random_state = 0x9e3779b97f4a7c15ull;

    // xorshift64*: names for server-named queues and consumer tags; not a secret.
    u64 random() {
        random_state ^= random_state >> 12;
        random_state ^= random_state << 25;
        random_state ^= random_state >> 27;
        return random_state * 0x2545f4914f6cdd1dull;
    }
};

}  // namespace lepus::server
