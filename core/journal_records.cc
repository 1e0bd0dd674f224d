#include "core/journal_records.h"

#include "core/wire/wire_reader.h"
#include "core/wire/wire_writer.h"

namespace lepus::core {

namespace {

constexpr usize settle_header_size = 8 + 4;

u64 read_u64_at(std::string_view bytes, usize at) {
    wire::WireReader reader(bytes.substr(at, 8));
    return reader.read_u64();
}

}  // namespace

void encode_message_prefix(std::string& out, QueueId queue, u8 priority, std::string_view exchange,
                           std::string_view routing_key, u32 header_size) {
    out.clear();
    wire::WireWriter w(out);
    w.write_u64(queue.value);
    w.write_u8(priority);
    w.write_shortstr(exchange);
    w.write_shortstr(routing_key);
    w.write_u32(header_size);
}

bool decode_message(std::string_view payload, MessageRecord& out) {
    wire::WireReader r(payload);
    out.queue = QueueId(r.read_u64());
    out.priority = r.read_u8();
    out.exchange = r.read_shortstr();
    out.routing_key = r.read_shortstr();
    u32 header_size = r.read_u32();
    out.header = r.read_bytes(header_size);
    if (!r.ok()) return false;
    out.body = payload.substr(r.position());
    return true;
}

void encode_enqueue(std::string& out, QueueId queue, u64 message_sequence) {
    out.clear();
    wire::WireWriter w(out);
    w.write_u64(queue.value);
    w.write_u64(message_sequence);
}

bool decode_enqueue(std::string_view payload, QueueId& queue, u64& message_sequence) {
    wire::WireReader r(payload);
    queue = QueueId(r.read_u64());
    message_sequence = r.read_u64();
    return r.ok() && r.at_end();
}

void encode_settle_begin(std::string& out, QueueId queue) {
    out.clear();
    wire::WireWriter w(out);
    w.write_u64(queue.value);
    w.write_u32(0);
}

void encode_settle_add(std::string& out, u64 message_sequence) {
    wire::WireWriter(out).write_u64(message_sequence);
}

void encode_settle_end(std::string& out) {
    LEPUS_ASSERT(out.size() >= settle_header_size && (out.size() - settle_header_size) % 8 == 0);
    wire::WireWriter(out).patch_u32(8, static_cast<u32>((out.size() - settle_header_size) / 8));
}

bool decode_settle_header(std::string_view payload, QueueId& queue, u32& count) {
    wire::WireReader r(payload);
    queue = QueueId(r.read_u64());
    count = r.read_u32();
    return r.ok() && r.remaining() == usize{count} * 8;
}

u64 settle_sequence_at(std::string_view payload, u32 index) {
    return read_u64_at(payload, settle_header_size + usize{index} * 8);
}

void encode_queue_drop(std::string& out, QueueId queue) {
    out.clear();
    wire::WireWriter(out).write_u64(queue.value);
}

bool decode_queue_drop(std::string_view payload, QueueId& queue) {
    wire::WireReader r(payload);
    queue = QueueId(r.read_u64());
    return r.ok() && r.at_end();
}

void encode_boot(std::string& out, u64 epoch) {
    out.clear();
    wire::WireWriter(out).write_u64(epoch);
}

bool decode_boot(std::string_view payload, u64& epoch) {
    wire::WireReader r(payload);
    epoch = r.read_u64();
    return r.ok() && r.at_end();
}

// ---- definitions ----

namespace {

enum class DefinitionTag : u8 {
    exchange_added = 1,
    exchange_removed = 2,
    binding_change = 3,
    queue_added = 4,
    queue_removed = 5,
    vhost_added = 6,
    vhost_removed = 7,
    user_put = 8,
    user_removed = 9,
    permissions_put = 10,
    permissions_removed = 11,
    topic_permissions_put = 12,
    topic_permissions_removed = 13,
    vhost_limits_put = 14,
    user_limits_put = 15,
    policy_put = 16,
    policy_removed = 17,
};

// An optional limit: a presence byte, then the value.
void write_limit(wire::WireWriter& w, const std::optional<i64>& limit) {
    w.write_u8(limit ? 1 : 0);
    w.write_u64(static_cast<u64>(limit.value_or(0)));
}

std::optional<i64> read_limit(wire::WireReader& r) {
    bool present = r.read_u8() != 0;
    auto value = static_cast<i64>(r.read_u64());
    return present ? std::optional<i64>(value) : std::nullopt;
}

void write_flags(wire::WireWriter& w, bool a, bool b, bool c) {
    w.write_u8(static_cast<u8>((a ? 1 : 0) | (b ? 2 : 0) | (c ? 4 : 0)));
}

void read_flags(wire::WireReader& r, bool& a, bool& b, bool& c) {
    u8 flags = r.read_u8();
    a = flags & 1;
    b = flags & 2;
    c = flags & 4;
}

void encode(wire::WireWriter& w, const ExchangeAdded& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::exchange_added));
    w.write_shortstr(u.vhost);
    w.write_shortstr(u.info.name);
    w.write_u8(static_cast<u8>(u.info.type));
    write_flags(w, u.info.durable, u.info.auto_delete, u.info.internal);
    w.write_longstr(u.info.arguments);
}

void encode(wire::WireWriter& w, const ExchangeRemoved& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::exchange_removed));
    w.write_shortstr(u.vhost);
    w.write_shortstr(u.name);
}

void encode(wire::WireWriter& w, const BindingChange& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::binding_change));
    w.write_shortstr(u.vhost);
    w.write_shortstr(u.source);
    w.write_u8(static_cast<u8>(u.destination.kind));
    w.write_shortstr(u.destination.name);
    w.write_shortstr(u.routing_key);
    w.write_longstr(u.arguments);
    w.write_u8(u.added ? 1 : 0);
}

void encode(wire::WireWriter& w, const QueueAdded& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::queue_added));
    w.write_shortstr(u.vhost);
    w.write_shortstr(u.info.name);
    w.write_u64(u.info.id.value);
    w.write_u32(u.info.home.value);
    write_flags(w, u.info.durable, u.info.exclusive, u.info.auto_delete);
    w.write_longstr(u.info.arguments);
}

void encode(wire::WireWriter& w, const QueueRemoved& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::queue_removed));
    w.write_shortstr(u.vhost);
    w.write_shortstr(u.name);
    w.write_u64(u.id.value);
}

void encode(wire::WireWriter& w, const VhostAdded& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::vhost_added));
    w.write_shortstr(u.vhost);
}

void encode(wire::WireWriter& w, const VhostRemoved& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::vhost_removed));
    w.write_shortstr(u.vhost);
}

void encode(wire::WireWriter& w, const UserPut& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::user_put));
    w.write_shortstr(u.user);
    w.write_shortstr(std::string_view(reinterpret_cast<const char*>(u.password_hash.data()),
                                      u.password_hash.size()));
    w.write_u16(static_cast<u16>(u.tags.size()));
    for (const std::string& tag : u.tags) w.write_shortstr(tag);
}

void encode(wire::WireWriter& w, const UserRemoved& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::user_removed));
    w.write_shortstr(u.user);
}

void encode(wire::WireWriter& w, const PermissionsPut& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::permissions_put));
    w.write_shortstr(u.user);
    w.write_shortstr(u.vhost);
    w.write_longstr(u.configure);
    w.write_longstr(u.write);
    w.write_longstr(u.read);
}

void encode(wire::WireWriter& w, const PermissionsRemoved& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::permissions_removed));
    w.write_shortstr(u.user);
    w.write_shortstr(u.vhost);
}

void encode(wire::WireWriter& w, const TopicPermissionsPut& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::topic_permissions_put));
    w.write_shortstr(u.user);
    w.write_shortstr(u.vhost);
    w.write_shortstr(u.exchange);
    w.write_longstr(u.write);
    w.write_longstr(u.read);
}

void encode(wire::WireWriter& w, const TopicPermissionsRemoved& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::topic_permissions_removed));
    w.write_shortstr(u.user);
    w.write_shortstr(u.vhost);
    w.write_u8(u.exchange ? 1 : 0);
    w.write_shortstr(u.exchange.value_or(std::string()));
}

void encode(wire::WireWriter& w, const VhostLimitsPut& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::vhost_limits_put));
    w.write_shortstr(u.vhost);
    write_limit(w, u.limits.max_connections);
    write_limit(w, u.limits.max_queues);
}

void encode(wire::WireWriter& w, const UserLimitsPut& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::user_limits_put));
    w.write_shortstr(u.user);
    write_limit(w, u.limits.max_connections);
    write_limit(w, u.limits.max_channels);
}

void encode(wire::WireWriter& w, const PolicyPut& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::policy_put));
    w.write_shortstr(u.vhost);
    w.write_u8(static_cast<u8>(u.policy.kind));
    w.write_longstr(u.policy.name);
    w.write_longstr(u.policy.pattern);
    w.write_u8(static_cast<u8>(u.policy.apply_to));
    w.write_u64(static_cast<u64>(u.policy.priority));
    w.write_longstr(u.policy.definition);
}

void encode(wire::WireWriter& w, const PolicyRemoved& u) {
    w.write_u8(static_cast<u8>(DefinitionTag::policy_removed));
    w.write_shortstr(u.vhost);
    w.write_u8(static_cast<u8>(u.kind));
    w.write_longstr(u.name);
}

std::optional<PolicyKind> read_policy_kind(wire::WireReader& r) {
    u8 kind = r.read_u8();
    if (kind > static_cast<u8>(PolicyKind::operator_policy)) return std::nullopt;
    return static_cast<PolicyKind>(kind);
}

std::optional<CatalogUpdate> decode_policy(DefinitionTag tag, wire::WireReader& r) {
    std::string vhost(r.read_shortstr());
    std::optional<PolicyKind> kind = read_policy_kind(r);
    if (!kind) return std::nullopt;
    if (tag == DefinitionTag::policy_removed) {
        return PolicyRemoved{std::move(vhost), *kind, std::string(r.read_longstr())};
    }
    PolicyPut u{std::move(vhost), {}};
    u.policy.kind = *kind;
    u.policy.name = r.read_longstr();
    u.policy.pattern = r.read_longstr();
    u8 apply_to = r.read_u8();
    if (apply_to > static_cast<u8>(PolicyApplyTo::all)) return std::nullopt;
    u.policy.apply_to = static_cast<PolicyApplyTo>(apply_to);
    u.policy.priority = static_cast<i64>(r.read_u64());
    u.policy.definition = r.read_longstr();
    return u;
}

std::optional<CatalogUpdate> decode_access(DefinitionTag tag, wire::WireReader& r) {
    switch (tag) {
        case DefinitionTag::vhost_added: return VhostAdded{std::string(r.read_shortstr())};
        case DefinitionTag::vhost_removed: return VhostRemoved{std::string(r.read_shortstr())};
        case DefinitionTag::user_put: {
            UserPut u;
            u.user = r.read_shortstr();
            std::string_view hash = r.read_shortstr();
            u.password_hash.assign(hash.begin(), hash.end());
            u16 tags = r.read_u16();
            for (u16 i = 0; i < tags && r.ok(); i++) u.tags.emplace_back(r.read_shortstr());
            return u;
        }
        case DefinitionTag::user_removed: return UserRemoved{std::string(r.read_shortstr())};
        case DefinitionTag::permissions_put: {
            PermissionsPut u;
            u.user = r.read_shortstr();
            u.vhost = r.read_shortstr();
            u.configure = r.read_longstr();
            u.write = r.read_longstr();
            u.read = r.read_longstr();
            return u;
        }
        case DefinitionTag::permissions_removed: {
            PermissionsRemoved u;
            u.user = r.read_shortstr();
            u.vhost = r.read_shortstr();
            return u;
        }
        case DefinitionTag::topic_permissions_put: {
            TopicPermissionsPut u;
            u.user = r.read_shortstr();
            u.vhost = r.read_shortstr();
            u.exchange = r.read_shortstr();
            u.write = r.read_longstr();
            u.read = r.read_longstr();
            return u;
        }
        case DefinitionTag::topic_permissions_removed: {
            TopicPermissionsRemoved u;
            u.user = r.read_shortstr();
            u.vhost = r.read_shortstr();
            bool one = r.read_u8() != 0;
            std::string exchange(r.read_shortstr());
            if (one) u.exchange = std::move(exchange);
            return u;
        }
        case DefinitionTag::vhost_limits_put: {
            VhostLimitsPut u;
            u.vhost = r.read_shortstr();
            u.limits.max_connections = read_limit(r);
            u.limits.max_queues = read_limit(r);
            return u;
        }
        case DefinitionTag::user_limits_put: {
            UserLimitsPut u;
            u.user = r.read_shortstr();
            u.limits.max_connections = read_limit(r);
            u.limits.max_channels = read_limit(r);
            return u;
        }
        case DefinitionTag::policy_put:
        case DefinitionTag::policy_removed: return decode_policy(tag, r);
        default: return std::nullopt;
    }
}

}  // namespace

void encode_definition(std::string& out, const CatalogUpdate& update) {
    out.clear();
    wire::WireWriter w(out);
    std::visit([&](const auto& u) { encode(w, u); }, update);
}

std::optional<CatalogUpdate> decode_definition(std::string_view payload) {
    wire::WireReader r(payload);
    auto tag = static_cast<DefinitionTag>(r.read_u8());
    std::optional<CatalogUpdate> result;
    switch (tag) {
        case DefinitionTag::exchange_added: {
            ExchangeAdded u;
            u.vhost = r.read_shortstr();
            u.info.name = r.read_shortstr();
            u8 type = r.read_u8();
            if (type > static_cast<u8>(routing::ExchangeType::headers)) return std::nullopt;
            u.info.type = static_cast<routing::ExchangeType>(type);
            read_flags(r, u.info.durable, u.info.auto_delete, u.info.internal);
            u.info.arguments = r.read_longstr();
            result = std::move(u);
            break;
        }
        case DefinitionTag::exchange_removed: {
            ExchangeRemoved u;
            u.vhost = r.read_shortstr();
            u.name = r.read_shortstr();
            result = std::move(u);
            break;
        }
        case DefinitionTag::binding_change: {
            BindingChange u;
            u.vhost = r.read_shortstr();
            u.source = r.read_shortstr();
            u8 kind = r.read_u8();
            if (kind > 1) return std::nullopt;
            u.destination.kind = static_cast<routing::Destination::Kind>(kind);
            u.destination.name = r.read_shortstr();
            u.routing_key = r.read_shortstr();
            u.arguments = r.read_longstr();
            u.added = r.read_u8() != 0;
            result = std::move(u);
            break;
        }
        case DefinitionTag::queue_added: {
            QueueAdded u;
            u.vhost = r.read_shortstr();
            u.info.name = r.read_shortstr();
            u.info.id = QueueId(r.read_u64());
            u.info.home = ShardId(r.read_u32());
            read_flags(r, u.info.durable, u.info.exclusive, u.info.auto_delete);
            u.info.arguments = r.read_longstr();
            result = std::move(u);
            break;
        }
        case DefinitionTag::queue_removed: {
            QueueRemoved u;
            u.vhost = r.read_shortstr();
            u.name = r.read_shortstr();
            u.id = QueueId(r.read_u64());
            result = std::move(u);
            break;
        }
        default: result = decode_access(tag, r); break;
    }
    if (!result || !r.ok() || !r.at_end()) return std::nullopt;
    return result;
}

}  // namespace lepus::core
