#include "net/server/direct_reply.h"

#include <charconv>

namespace lepus::server {

std::string direct_reply_name(const core::ChannelKey& channel) {
    std::string name(direct_reply_prefix);
    auto append = [&](u64 v, bool last) {
        char digits[24];
        auto result = std::to_chars(digits, digits + sizeof digits, v, 36);
        name.append(digits, result.ptr);
        if (!last) name.push_back('.');
    };
    append(channel.connection.shard.value, false);
    append(channel.connection.slot, false);
    append(channel.connection.generation, false);
    append(channel.channel, false);
    append(channel.generation, true);
    return name;
}

std::optional<core::ChannelKey> parse_direct_reply_name(std::string_view name) {
    if (name.substr(0, direct_reply_prefix.size()) != direct_reply_prefix) return std::nullopt;
    std::string_view rest = name.substr(direct_reply_prefix.size());
    u64 parts[5];
    for (int i = 0; i < 5; i++) {
        usize dot = rest.find('.');
        std::string_view field = i < 4 ? rest.substr(0, dot) : rest;
        if (field.empty() || (i < 4 && dot == std::string_view::npos)) return std::nullopt;
        auto result = std::from_chars(field.data(), field.data() + field.size(), parts[i], 36);
        if (result.ec != std::errc() || result.ptr != field.data() + field.size())
            return std::nullopt;
        rest = i < 4 ? rest.substr(dot + 1) : std::string_view{};
    }
    if (parts[0] > UINT32_MAX || parts[1] > UINT32_MAX || parts[2] > UINT32_MAX ||
        parts[3] > UINT16_MAX || parts[4] > UINT32_MAX)
        return std::nullopt;
    core::ChannelKey key;
    key.connection.shard = ShardId(static_cast<u32>(parts[0]));
    key.connection.slot = static_cast<u32>(parts[1]);
    key.connection.generation = static_cast<u32>(parts[2]);
    key.channel = static_cast<u16>(parts[3]);
    key.generation = static_cast<u32>(parts[4]);
    return key;
}

}  // namespace lepus::server
