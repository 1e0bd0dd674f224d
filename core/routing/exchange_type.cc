#include "core/routing/exchange_type.h"

#include "core/base/assert.h"

namespace lepus::routing {

std::optional<ExchangeType> parse_exchange_type(std::string_view name) {
    if (name == "direct") return ExchangeType::direct;
    if (name == "fanout") return ExchangeType::fanout;
    if (name == "topic") return ExchangeType::topic;
    if (name == "headers") return ExchangeType::headers;
    return std::nullopt;
}

std::string_view to_string(ExchangeType type) {
    switch (type) {
        case ExchangeType::direct: return "direct";
        case ExchangeType::fanout: return "fanout";
        case ExchangeType::topic: return "topic";
        case ExchangeType::headers: return "headers";
    }
    LEPUS_UNREACHABLE();
}

}  // namespace lepus::routing
