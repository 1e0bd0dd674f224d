#pragma once
// What an access decision says when it refuses: the AMQP reply code and the reply text, worded
// as RabbitMQ 3.10 words it, so a client that matches on the text behaves the same against
// Lepus. The codec's reply-code constants sit above this module (net/amqp), so the three codes
// access control uses are named here; they are the spec's values.
#include <string>

#include "core/base/types.h"

namespace lepus::access {

inline constexpr u16 reply_access_refused = 403;       // soft: closes the channel
inline constexpr u16 reply_precondition_failed = 406;  // soft: closes the channel
inline constexpr u16 reply_not_allowed = 530;          // hard: closes the connection

struct Refusal {
    u16 reply_code = 0;
    std::string text;  // "ACCESS_REFUSED - ...": the name of the code, then the explanation

    friend bool operator==(const Refusal&, const Refusal&) = default;
};

}  // namespace lepus::access
