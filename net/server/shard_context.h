#pragma once
// What a shard lends its connections: the services their sessions share (broker, outbox, clock,
// settings; net/session/host.h), and for the sockets its ring, receive buffers, options, the
// list of connections with output to send this turn, and back-pressure's state.
#include <vector>

#include "core/base/types.h"
#include "core/broker.h"
#include "core/shard_message.h"
#include "net/io/buffer_ring.h"
#include "net/io/ring.h"
#include "net/server/input_turns.h"
#include "net/server/options.h"
#include "net/session/host.h"

namespace lepus::server {

class Connection;

struct ShardContext : session::Services {
    ShardContext(ShardId s, io::Ring& r, io::BufferRing& b, core::Broker& k, core::Outbox& o,
                 const Options& opts)
        : session::Services(s, k, o, opts.session_settings()), ring(r), buffers(b), options(opts) {}

    io::Ring& ring;
    io::BufferRing& buffers;
    const Options& options;
    bool shutting_down = false;
    std::vector<Connection*> flush_list;  // connections whose output waits for this turn's send
    std::vector<u32> terminated_slots;    // connections closing; freed once their I/O drained
    // Back-pressure: while set, connections that publish stop reading (see Shard).
    bool throttled = false;
    std::vector<Connection*> paused;  // connections waiting for the throttle to lift
    InputTurns input_turns;           // connections with received bytes to handle
    // What the connections' inboxes hold, all together, as the shard bounds its intake
    // (limits::shard_inbox_high): each connection counts up to its own high mark, and one
    // held for publishing not at all (Connection::update_shard_inbox_share).
    u64 inbox_bytes = 0;
};

}  // namespace lepus::server
