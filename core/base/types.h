#pragma once
// Fixed-width integer names used across Lepus, and the typed ids that keep one kind of number
// from being passed where another is expected.
#include <cstddef>
#include <cstdint>
#include <functional>

namespace lepus {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;
using i8 = std::int8_t;
using i16 = std::int16_t;
using i32 = std::int32_t;
using i64 = std::int64_t;
using usize = std::size_t;

// A strongly typed integer: TypedId<struct ShardTag, u32> is not a TypedId<struct QueueTag, u32>.
template <typename Tag, typename T>
struct TypedId {
    T value{};
    constexpr TypedId() = default;
    constexpr explicit TypedId(T v) : value(v) {}
    friend constexpr bool operator==(TypedId, TypedId) = default;
    friend constexpr auto operator<=>(TypedId, TypedId) = default;
};

using ShardId = TypedId<struct ShardIdTag, u32>;
using ChannelId = TypedId<struct ChannelIdTag, u16>;
using DeliveryTag = TypedId<struct DeliveryTagTag, u64>;
// Queue ids are issued once by the metadata shard and never reused, so a message addressed to
// a queue that has since been deleted can be recognised and dropped.
using QueueId = TypedId<struct QueueIdTag, u64>;

}  // namespace lepus

template <typename Tag, typename T>
struct std::hash<lepus::TypedId<Tag, T>> {
    std::size_t operator()(lepus::TypedId<Tag, T> id) const noexcept {
        return std::hash<T>{}(id.value);
    }
};
