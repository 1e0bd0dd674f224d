#pragma once
// The rows of rabbitmqctl's list commands that live where queues and connections are, built on
// the shard that holds them with rabbitmqctl's item names (README.md lists them), and the pids
// that tie them together.
#include <netinet/in.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/access/access_limits.h"
#include "core/queue.h"
#include "core/shard_message.h"
#include "net/session/session_view.h"

namespace lepus::admin {

// "lepus@HOST", HOST the machine's short name, as RabbitMQ's default node name rabbit@HOST.
const std::string& node_name();
// "<lepus@HOST.SHARD.SLOT.GENERATION>": unique while the connection lives.
std::string connection_pid(const core::ConnectionKey& key);
// The connection's pid with the channel's number: "<lepus@HOST.SHARD.SLOT.GENERATION.CHANNEL>".
std::string channel_pid(const core::ConnectionKey& key, u16 channel);

// "127.0.0.1" / "::1" and the port of a socket address.
std::string address_host(const sockaddr_storage& address);
u16 address_port(const sockaddr_storage& address);

// message_stats as the management API shows them: the counters that apply to a queue, a
// channel (or vhost) or an exchange.
enum class StatsOf : u8 { queue, channel, exchange };
nlohmann::json message_stats_json(const core::MessageStats& stats, StatsOf of);

nlohmann::json queue_row(const core::Queue& queue);

// Limits as rabbitmqctl and the management API show them: {"max-connections": 10, ...}.
nlohmann::json limits_json(const access::VhostLimits& limits);
nlohmann::json limits_json(const access::UserLimits& limits);
void append_consumer_rows(const core::Queue& queue, nlohmann::json& rows);

// What the shard knows of one connection beyond its session.
struct ConnectionFacts {
    core::ConnectionKey key;
    session::SessionView view;
    sockaddr_storage peer{};
    sockaddr_storage local{};
    bool tls = false;
    std::string tls_protocol;
    std::string tls_cipher;
    u64 received_bytes = 0;
    u64 sent_bytes = 0;
    u64 connected_at_ms = 0;  // wall clock, ms since the epoch
};
// "PEER_HOST:PEER_PORT -> HOST:PORT", RabbitMQ's connection name.
std::string connection_name(const ConnectionFacts& facts);
nlohmann::json connection_row(const ConnectionFacts& facts);
void append_channel_rows(const ConnectionFacts& facts, nlohmann::json& rows);

}  // namespace lepus::admin
