#include "net/server/input_turns.h"

#include <algorithm>

#include "core/base/limits.h"
#include "net/server/connection.h"

namespace lepus::server {

u64 InputTurns::serve(u64 budget, std::vector<std::unique_ptr<Connection>>& connections) {
    u64 spent = 0;
    while (spent < budget && !line_.empty()) {
        Turn turn = line_.front();
        line_.pop_front();
        Connection* connection =
            turn.slot < connections.size() ? connections[turn.slot].get() : nullptr;
        if (connection == nullptr || connection->key().generation != turn.generation) continue;
        // The connection enlists again itself if it still has input it may handle.
        spent += connection->serve_input(std::min(budget - spent, limits::connection_input_slice));
    }
    return spent;
}

}  // namespace lepus::server
