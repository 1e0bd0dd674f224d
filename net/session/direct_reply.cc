#include "net/session/direct_reply.h"

#include <sys/random.h>

#include <cerrno>
#include <charconv>

#include "core/base/assert.h"
#include "core/metadata.h"

namespace lepus::session {
namespace {

constexpr usize key_fields = 5;
constexpr usize secret_digits = 32;  // 128 bits in hex

void append_hex(std::string& out, u64 value) {
    char digits[16];
    for (int i = 15; i >= 0; i--) {
        digits[i] = "0123456789abcdef"[value & 0xf];
        value >>= 4;
    }
    out.append(digits, sizeof digits);
}

// Exactly 16 lowercase hex digits, as append_hex writes them.
std::optional<u64> parse_hex(std::string_view digits) {
    if (digits.size() != 16) return std::nullopt;
    u64 value = 0;
    for (char c : digits) {
        const bool digit = c >= '0' && c <= '9';
        if (!digit && !(c >= 'a' && c <= 'f')) return std::nullopt;
        value = value << 4 | static_cast<u64>(digit ? c - '0' : c - 'a' + 10);
    }
    return value;
}

}  // namespace

core::ReplySecret draw_reply_secret() {
    u64 bits[2];
    ssize_t got = -1;
    do {
        // Up to 256 bytes come whole once the pool is initialised; EINTR only before that.
        got = getrandom(bits, sizeof bits, 0);
    } while (got < 0 && errno == EINTR);
    LEPUS_ASSERT_MSG(got == static_cast<ssize_t>(sizeof bits), "getrandom failed");
    return core::ReplySecret{bits[0], bits[1]};
}

std::string direct_reply_name(const DirectReplyName& name) {
    const core::ChannelKey& channel = name.channel;
    std::string out(direct_reply_prefix);
    const u64 fields[key_fields] = {channel.connection.shard.value, channel.connection.slot,
                                    channel.connection.generation, channel.channel,
                                    channel.generation};
    for (u64 field : fields) {
        char digits[24];
        auto result = std::to_chars(digits, digits + sizeof digits, field, 36);
        out.append(digits, result.ptr);
        out.push_back('.');
    }
    append_hex(out, name.secret.high);
    append_hex(out, name.secret.low);
    return out;
}

std::optional<DirectReplyName> parse_direct_reply_name(std::string_view name) {
    if (!name.starts_with(direct_reply_prefix)) return std::nullopt;
    std::string_view rest = name.substr(direct_reply_prefix.size());
    u64 fields[key_fields];
    for (u64& field : fields) {
        const usize dot = rest.find('.');
        if (dot == 0 || dot == std::string_view::npos) return std::nullopt;
        auto result = std::from_chars(rest.data(), rest.data() + dot, field, 36);
        if (result.ec != std::errc() || result.ptr != rest.data() + dot) return std::nullopt;
        rest.remove_prefix(dot + 1);
    }
    if (rest.size() != secret_digits) return std::nullopt;
    std::optional<u64> high = parse_hex(rest.substr(0, 16));
    std::optional<u64> low = parse_hex(rest.substr(16));
    if (!high || !low) return std::nullopt;
    if (fields[0] > UINT32_MAX || fields[1] > UINT32_MAX || fields[2] > UINT32_MAX ||
        fields[3] > UINT16_MAX || fields[4] > UINT32_MAX)
        return std::nullopt;
    DirectReplyName parsed;
    parsed.channel.connection.shard = ShardId(static_cast<u32>(fields[0]));
    parsed.channel.connection.slot = static_cast<u32>(fields[1]);
    parsed.channel.connection.generation = static_cast<u32>(fields[2]);
    parsed.channel.channel = static_cast<u16>(fields[3]);
    parsed.channel.generation = static_cast<u32>(fields[4]);
    parsed.secret = core::ReplySecret{*high, *low};
    return parsed;
}

core::MetaReply direct_reply_declare_answer(const core::DirectReply& request, bool live) {
    core::MetaReply reply;
    reply.to = request.requester;
    reply.queue_name = request.name;
    if (live) {
        reply.consumer_count = 1;
    } else {
        reply.code = amqp::ReplyCode::not_found;
        reply.text = core::no_queue_text(request.name, request.vhost);
    }
    return reply;
}

}  // namespace lepus::session
