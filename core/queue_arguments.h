#pragma once
// The optional arguments of queue.declare that change a queue's behaviour (RabbitMQ's x-*
// arguments), validated once on shard 0 when the queue is created and parsed again, by the same
// code, on the queue's home shard. Unknown keys are accepted and ignored, as RabbitMQ does.
//
// Validation follows RabbitMQ 3.10 key by key, including its reply texts, e.g.
//   PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue 'q' in vhost '/':
//   {value_negative,-1}
// Two values RabbitMQ accepts are refused here with 406 and a text that says why:
// x-overflow reject-publish and reject-publish-dlx (publisher confirms are sent when a message is
// routed, before the queue could refuse it), and x-queue-type other than classic.
#include <optional>
#include <string>
#include <string_view>

#include "core/base/types.h"
#include "net/amqp/methods.h"

namespace lepus::core {

// RabbitMQ's cap on x-message-ttl, x-expires and the expiration property: ten years in ms.
inline constexpr u64 expiry_ms_max = 315'360'000'000;
// RabbitMQ's cap on x-max-priority.
inline constexpr u8 priority_max = 255;

struct QueueArguments {
    std::optional<u64> message_ttl_ms;    // x-message-ttl
    std::optional<u64> expires_ms;        // x-expires: deleted after this long unused
    std::optional<u64> max_length;        // x-max-length: ready messages
    std::optional<u64> max_length_bytes;  // x-max-length-bytes: body bytes of ready messages
    std::optional<std::string> dead_letter_exchange;     // x-dead-letter-exchange ("" is valid)
    std::optional<std::string> dead_letter_routing_key;  // x-dead-letter-routing-key
    std::optional<u8> max_priority;                      // x-max-priority
    bool single_active_consumer = false;                 // x-single-active-consumer

    friend bool operator==(const QueueArguments&, const QueueArguments&) = default;

    // Ready messages are kept in one band per priority level.
    u32 priority_band_count() const { return max_priority ? u32{*max_priority} + 1 : 1; }
};

// Parses a queue.declare argument table (content bytes, no length prefix). Returns
// reply_success, or precondition_failed with `text` set to the reply text, naming the queue and
// vhost as RabbitMQ does.
amqp::ReplyCode parse_queue_arguments(std::string_view arguments, std::string_view queue,
                                      std::string_view vhost, QueueArguments& out,
                                      std::string& text);

// Checks the arguments of exchange.declare (alternate-exchange must be a string). Returns
// reply_success, or precondition_failed with `text`.
amqp::ReplyCode check_exchange_arguments(std::string_view arguments, std::string_view exchange,
                                         std::string_view vhost, std::string& text);

// The per-message `expiration` property: a decimal count of milliseconds, optionally signed
// as Erlang's string:to_integer allows, at most expiry_ms_max. False when RabbitMQ would refuse
// the publish; invalid_expiration_text then gives its reply text (without the 406 code).
bool parse_expiration(std::string_view expiration, u64& ms);
std::string invalid_expiration_text(std::string_view expiration);

}  // namespace lepus::core
