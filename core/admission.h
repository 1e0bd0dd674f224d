#pragma once
// Shard 0's count of what is open on every shard, for the limits that count connections and
// channels (max-connections per vhost and per user, max-channels per user), and the admission
// that checks a limit and counts in one step (core/shard_message.h, AccessCountChange). Plain
// values on shard 0's thread; the Broker feeds it.
#include <optional>
#include <string>
#include <unordered_map>

#include "core/access/refusal.h"
#include "core/catalog.h"
#include "core/shard_message.h"

namespace lepus::core {

class Admission {
public:
    void apply(const AccessCountChange& change);
    // A connection.open (requester channel 0) or channel.open, checked against the limits the
    // catalog holds now, in RabbitMQ's order (the vhost's connections, the user's, or the
    // user's channels). Counted when admitted; the refusal otherwise.
    std::optional<access::Refusal> admit(const AdmissionRequest& request, const Catalog& catalog);

    u64 vhost_connections(const std::string& vhost) const { return of(vhost_connections_, vhost); }
    u64 user_connections(const std::string& user) const { return of(user_connections_, user); }
    u64 user_channels(const std::string& user) const { return of(user_channels_, user); }

private:
    using Counts = std::unordered_map<std::string, u64>;
    static u64 of(const Counts& counts, const std::string& key);
    static void add(Counts& counts, const std::string& key, i64 delta);

    Counts vhost_connections_;
    Counts user_connections_;
    Counts user_channels_;
};

}  // namespace lepus::core
