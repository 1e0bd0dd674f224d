#include "core/access/access_limits.h"

#include <string>

namespace lepus::access {

bool is_over_limit(std::optional<i64> limit, u64 existing) {
    if (!limit || *limit < 0) return false;
    return existing >= static_cast<u64>(*limit);
}

// The texts are RabbitMQ 3.10's: rabbit_reader's is_over_vhost_connection_limit/2,
// is_over_user_connection_limit/1 and its channel-limit check in create_channel/2, and
// rabbit_channel's check_vhost_queue_limit/2; ~p of an integer prints it plainly. Each was
// checked against a running 3.10 (pika), which also settled the case of "connection refused":
// 3.10 writes it in lower case, later releases capitalise it.
std::optional<Refusal> check_vhost_connections(const VhostLimits& limits, std::string_view vhost,
                                               std::string_view user, u64 existing) {
    if (!is_over_limit(limits.max_connections, existing)) return std::nullopt;
    return Refusal{reply_not_allowed, "NOT_ALLOWED - access to vhost '" + std::string(vhost) +
                                          "' refused for user '" + std::string(user) +
                                          "': connection limit (" +
                                          std::to_string(*limits.max_connections) + ") is reached"};
}

std::optional<Refusal> check_vhost_queues(const VhostLimits& limits, std::string_view vhost,
                                          std::string_view queue, u64 existing) {
    if (!is_over_limit(limits.max_queues, existing)) return std::nullopt;
    return Refusal{reply_precondition_failed,
                   "PRECONDITION_FAILED - cannot declare queue '" + std::string(queue) +
                       "': queue limit in vhost '" + std::string(vhost) + "' (" +
                       std::to_string(*limits.max_queues) + ") is reached"};
}

std::optional<Refusal> check_user_connections(const UserLimits& limits, std::string_view user,
                                              u64 existing) {
    if (!is_over_limit(limits.max_connections, existing)) return std::nullopt;
    return Refusal{reply_not_allowed, "NOT_ALLOWED - connection refused for user '" +
                                          std::string(user) + "': user connection limit (" +
                                          std::to_string(*limits.max_connections) + ") is reached"};
}

std::optional<Refusal> check_user_channels(const UserLimits& limits, std::string_view user,
                                           u64 existing) {
    if (!is_over_limit(limits.max_channels, existing)) return std::nullopt;
    return Refusal{reply_not_allowed, "NOT_ALLOWED - number of channels opened for user '" +
                                          std::string(user) +
                                          "' has reached the maximum allowed user limit of (" +
                                          std::to_string(*limits.max_channels) + ")"};
}

}  // namespace lepus::access
