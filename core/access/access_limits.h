#pragma once
// The limits an operator sets with set_vhost_limits and set_user_limits, and the checks that
// enforce them, as RabbitMQ 3.10 does (rabbit_vhost_limit, rabbit_auth_backend_internal's
// is_over_connection_limit and is_over_channel_limit): a negative limit is no limit, 0 allows
// none, and N allows N, counting what exists before the new one is added. An unset limit is
// no limit. The caller counts connections, channels and queues; these functions only decide.
#include <optional>
#include <string_view>

#include "core/access/refusal.h"
#include "core/base/types.h"

namespace lepus::access {

struct VhostLimits {
    std::optional<i64> max_connections;  // "max-connections"
    std::optional<i64> max_queues;       // "max-queues"

    friend bool operator==(const VhostLimits&, const VhostLimits&) = default;
};

struct UserLimits {
    std::optional<i64> max_connections;  // "max-connections"
    std::optional<i64> max_channels;     // "max-channels"

    friend bool operator==(const UserLimits&, const UserLimits&) = default;
};

// Whether one more is refused when `existing` are there already.
bool is_over_limit(std::optional<i64> limit, u64 existing);

// connection.open into `vhost` holding `existing` connections: 530 NOT_ALLOWED.
std::optional<Refusal> check_vhost_connections(const VhostLimits& limits, std::string_view vhost,
                                               std::string_view user, u64 existing);
// queue.declare of a new queue in a vhost holding `existing` queues: 406 PRECONDITION_FAILED.
std::optional<Refusal> check_vhost_queues(const VhostLimits& limits, std::string_view vhost,
                                          std::string_view queue, u64 existing);
// A login by a user holding `existing` connections: 530 NOT_ALLOWED.
std::optional<Refusal> check_user_connections(const UserLimits& limits, std::string_view user,
                                              u64 existing);
// channel.open by a user holding `existing` channels over all their connections: 530
// NOT_ALLOWED (RabbitMQ closes the connection).
std::optional<Refusal> check_user_channels(const UserLimits& limits, std::string_view user,
                                           u64 existing);

}  // namespace lepus::access
