#pragma once
// RabbitMQ's direct reply-to: a client consumes from the pseudo-queue amq.rabbitmq.reply-to
// (no-ack) and publishes requests with reply_to = amq.rabbitmq.reply-to; the broker rewrites
// that to a name which identifies the requesting channel, and a reply published to the default
// exchange under that name goes straight to the channel, with no queue in between.
//
// The name is amq.rabbitmq.reply-to.<shard>.<slot>.<generation>.<channel>.<generation>.<secret>:
// the channel's key in base 36, so any shard can send the reply to the right place, then the
// 128-bit secret the channel drew from the kernel when its reply consumer started, in 32 hex
// digits. The channel acts on a name only while that secret is its reply consumer's, so a name
// cannot be guessed from the ones a client has seen, and one from a closed channel or an earlier
// reply consumer is dead. RabbitMQ's names carry as much randomness (a 128-bit key).
#include <optional>
#include <string>
#include <string_view>

#include "core/shard_message.h"

namespace lepus::session {

inline constexpr std::string_view direct_reply_queue = "amq.rabbitmq.reply-to";
inline constexpr std::string_view direct_reply_prefix = "amq.rabbitmq.reply-to.";

struct DirectReplyName {
    core::ChannelKey channel;
    core::ReplySecret secret;
};

// A fresh secret from getrandom(2); aborts if the kernel cannot give one, since a predictable
// secret would let other clients read replies.
core::ReplySecret draw_reply_secret();

std::string direct_reply_name(const DirectReplyName& name);
// nullopt unless `name` has the form direct_reply_name writes.
std::optional<DirectReplyName> parse_direct_reply_name(std::string_view name);

// The answer to a queue.declare of a reply name (a DirectReply without a message): ok with one
// consumer when the name is live, as RabbitMQ answers, else its 404 for a missing queue.
core::MetaReply direct_reply_declare_answer(const core::DirectReply& request, bool live);

}  // namespace lepus::session
