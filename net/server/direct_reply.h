#pragma once
// RabbitMQ's direct reply-to: a client consumes from the pseudo-queue amq.rabbitmq.reply-to
// (no-ack) and publishes requests with reply_to = amq.rabbitmq.reply-to; the broker rewrites
// that to a name which identifies the requesting channel, and a reply published to the default
// exchange under that name goes straight to the channel, with no queue in between.
//
// The name carries the channel's key (shard, connection slot and generation, channel number and
// generation), so any shard can send the reply to the right place and a reply for a channel
// that has since closed is recognised and dropped.
#include <optional>
#include <string>
#include <string_view>

#include "core/shard_message.h"

namespace lepus::server {

inline constexpr std::string_view direct_reply_queue = "amq.rabbitmq.reply-to";
inline constexpr std::string_view direct_reply_prefix = "amq.rabbitmq.reply-to.";

std::string direct_reply_name(const core::ChannelKey& channel);
std::optional<core::ChannelKey> parse_direct_reply_name(std::string_view name);

}  // namespace lepus::server
