#pragma once
// A connection and its channels as an operator sees them (rabbitmqctl's list_connections and
// list_channels, the management API's): plain values copied out on the connection's shard
// when asked, so watching costs nothing until someone looks.
#include <string>
#include <vector>

#include "core/base/types.h"
#include "core/message_stats.h"

namespace lepus::session {

struct ChannelView {
    u16 number = 0;
    bool transactional = false;
    bool confirm = false;
    u32 consumer_count = 0;
    u32 messages_unacknowledged = 0;
    u64 messages_uncommitted = 0;
    u64 acks_uncommitted = 0;
    u64 messages_unconfirmed = 0;
    u16 prefetch_count = 0;         // basic.qos per consumer
    u16 global_prefetch_count = 0;  // basic.qos global
    core::MessageStats stats;
    bool released = false;  // its stats are among the broker's retired ones already
};

struct SessionView {
    std::string user;
    std::string vhost;
    // RabbitMQ's connection states: starting, tuning, opening, running, closing.
    std::string state;
    std::string auth_mechanism;
    std::string client_properties;  // field-table content, as the client sent it
    u32 heartbeat_s = 0;
    u32 frame_max = 0;
    u16 channel_max = 0;
    u64 age_ms = 0;  // since the connection was accepted
    std::vector<ChannelView> channels;
};

}  // namespace lepus::session
