#pragma once
// Dead lettering as RabbitMQ 3.10 does it: a message that a queue rejects (basic.reject or
// basic.nack without requeue), lets expire, or drops for its length limit is republished to the
// queue's x-dead-letter-exchange, with x-dead-letter-routing-key or its own routing key, carrying
// an x-death header that records why:
//   x-death: array of tables, most recent first, one per (queue, reason), each
//     {count: long, reason: longstr, queue: longstr, time: timestamp (s), exchange: longstr,
//      routing-keys: array of longstr[, original-expiration: longstr]}
//   x-first-death-reason / -queue / -exchange: set by the first death only.
// A second death in the same queue for the same reason increments that entry's count and moves
// it to the front. The new message shares the original's body slices; only the content header
// is new (its expiration property is removed, as RabbitMQ does).
//
// Cycles: a message that dies again for a reason other than rejection is not delivered to a
// queue it already died in, unless a rejection happened since (RabbitMQ's "fully automatic"
// cycle rule), so an expiry or length loop cannot spin forever.
#include <optional>
#include <string>
#include <string_view>

#include "core/base/types.h"
#include "core/message.h"
#include "core/wire/field_table.h"

namespace lepus::core {

enum class DeathReason : u8 { rejected, expired, maxlen };
std::string_view to_string(DeathReason reason);

struct Death {
    DeathReason reason = DeathReason::rejected;
    std::string_view queue;
    std::string_view dead_letter_exchange;
    const std::optional<std::string>* dead_letter_routing_key = nullptr;  // unset: the original
    u64 time_s = 0;  // wall clock, seconds since the epoch
};

// The message to republish. `deaths` receives its x-death array, for is_dead_letter_cycle.
MessageRef make_dead_letter(const Message& original, const Death& death, wire::FieldArray& deaths);

// True when delivering to `queue` would close a fully automatic cycle.
bool is_dead_letter_cycle(DeathReason reason, const wire::FieldArray& deaths,
                          std::string_view queue);

}  // namespace lepus::core
