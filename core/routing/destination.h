#pragma once
// Where a binding leads: a queue, or another exchange (exchange-to-exchange bindings). Both are
// named within the exchange's virtual host, so the kind and the name identify it.
#include <functional>
#include <string>
#include <string_view>

#include "core/base/types.h"

namespace lepus::routing {

struct Destination {
    enum class Kind : u8 { queue, exchange };

    Kind kind = Kind::queue;
    std::string name;

    static Destination queue(std::string_view name) { return {Kind::queue, std::string(name)}; }
    static Destination exchange(std::string_view name) {
        return {Kind::exchange, std::string(name)};
    }

    friend bool operator==(const Destination&, const Destination&) = default;
};

}  // namespace lepus::routing

template <>
struct std::hash<lepus::routing::Destination> {
    std::size_t operator()(const lepus::routing::Destination& destination) const noexcept {
        // A queue and an exchange of the same name must not collide on every lookup.
        std::size_t h = std::hash<std::string_view>{}(destination.name);
        return h ^ (static_cast<std::size_t>(destination.kind) * 0x9e3779b97f4a7c15ull);
    }
};
