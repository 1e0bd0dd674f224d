#pragma once
// The four exchange types of AMQP 0-9-1 as RabbitMQ names them. The type decides how a
// binding's routing key and arguments select destinations (see Bindings).
#include <optional>
#include <string_view>

#include "core/base/types.h"

namespace lepus::routing {

enum class ExchangeType : u8 { direct, fanout, topic, headers };

// Exact, case-sensitive names, as exchange.declare carries them: RabbitMQ rejects "Direct".
std::optional<ExchangeType> parse_exchange_type(std::string_view name);
std::string_view to_string(ExchangeType type);

}  // namespace lepus::routing
