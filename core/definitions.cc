#include "core/definitions.h"

#include <algorithm>

#include "core/access/password_hash.h"
#include "core/base/assert.h"
#include "core/base/limits.h"
#include "core/base/log.h"
#include "core/journal_records.h"

namespace lepus::core {

using routing::Destination;

namespace {

bool predeclared(const std::string& exchange) {
    return exchange.empty() || exchange.rfind("amq.", 0) == 0;
}

bool durable_queue(const QueueInfo& info) { return info.durable && !info.exclusive; }

bool durable_destination(const VHost& vhost, const Destination& destination) {
    if (destination.kind == Destination::Kind::queue) {
        auto it = vhost.queues.find(destination.name);
        return it != vhost.queues.end() && durable_queue(it->second);
    }
    auto it = vhost.exchanges.find(destination.name);
    return it != vhost.exchanges.end() && it->second.info.durable;
}

bool durable_binding(const VHost& vhost, const std::string& source,
                     const Destination& destination) {
    auto it = vhost.exchanges.find(source);
    if (it == vhost.exchanges.end() || !it->second.info.durable || source.empty()) return false;
    return durable_destination(vhost, destination);
}

// Users, vhosts, permissions, limits and policies are all durable, as in RabbitMQ.
template <typename T>
inline constexpr bool is_access_update =
    std::is_same_v<T, VhostAdded> || std::is_same_v<T, VhostRemoved> ||
    std::is_same_v<T, UserPut> || std::is_same_v<T, UserRemoved> ||
    std::is_same_v<T, PermissionsPut> || std::is_same_v<T, PermissionsRemoved> ||
    std::is_same_v<T, TopicPermissionsPut> || std::is_same_v<T, TopicPermissionsRemoved> ||
    std::is_same_v<T, VhostLimitsPut> || std::is_same_v<T, UserLimitsPut> ||
    std::is_same_v<T, PolicyPut> || std::is_same_v<T, PolicyRemoved>;

bool touches_durable(const Catalog& catalog, const CatalogUpdate& update) {
    return std::visit(
        [&](const auto& u) -> bool {
            using T = std::decay_t<decltype(u)>;
            if constexpr (is_access_update<T>) {
                return true;
            } else {
                const VHost* vhost = catalog.find_vhost(u.vhost);
                if (vhost == nullptr) return false;
                if constexpr (std::is_same_v<T, ExchangeAdded>) {
                    return u.info.durable && !predeclared(u.info.name);
                } else if constexpr (std::is_same_v<T, ExchangeRemoved>) {
                    auto it = vhost->exchanges.find(u.name);
                    return it != vhost->exchanges.end() && it->second.info.durable &&
                           !predeclared(u.name);
                } else if constexpr (std::is_same_v<T, BindingChange>) {
                    return durable_binding(*vhost, u.source, u.destination);
                } else if constexpr (std::is_same_v<T, QueueAdded>) {
                    return durable_queue(u.info);
                } else {
                    static_assert(std::is_same_v<T, QueueRemoved>);
                    auto it = vhost->queues.find(u.name);
                    return it != vhost->queues.end() && it->second.id == u.id &&
                           durable_queue(it->second);
                }
            }
        },
        update);
}

bool user_and_vhost_exist(const Catalog& catalog, const std::string& user,
                          const std::string& vhost) {
    return catalog.users().find(user) != nullptr && catalog.find_vhost(vhost) != nullptr;
}

// Whether the update can be applied to `catalog`: replay skips what cannot (a record naming a
// vhost, user or exchange that is not there).
bool applies(const Catalog& catalog, const CatalogUpdate& update) {
    return std::visit(
        [&](const auto& u) -> bool {
            using T = std::decay_t<decltype(u)>;
            if constexpr (std::is_same_v<T, VhostAdded> || std::is_same_v<T, UserPut> ||
                          std::is_same_v<T, PermissionsRemoved> ||
                          std::is_same_v<T, TopicPermissionsRemoved>) {
                return true;
            } else if constexpr (std::is_same_v<T, UserRemoved> ||
                                 std::is_same_v<T, UserLimitsPut>) {
                return catalog.users().find(u.user) != nullptr;
            } else if constexpr (std::is_same_v<T, PermissionsPut>) {
                return user_and_vhost_exist(catalog, u.user, u.vhost) &&
                       access::PermissionPattern::compile(u.configure) &&
                       access::PermissionPattern::compile(u.write) &&
                       access::PermissionPattern::compile(u.read);
            } else if constexpr (std::is_same_v<T, TopicPermissionsPut>) {
                return user_and_vhost_exist(catalog, u.user, u.vhost) &&
                       access::PermissionPattern::compile(u.write) &&
                       access::PermissionPattern::compile(u.read);
            } else {
                const VHost* vhost = catalog.find_vhost(u.vhost);
                if (vhost == nullptr) return false;
                if constexpr (std::is_same_v<T, BindingChange>) {
                    return vhost->exchanges.count(u.source) != 0;
                } else {
                    return true;
                }
            }
        },
        update);
}

}  // namespace

void durable_definitions(const Catalog& catalog, std::vector<CatalogUpdate>& out) {
    out.clear();
    // The access state first: vhosts before anything in them, users before their permissions.
    for (const auto& [vhost_name, vhost] : catalog.vhosts()) out.push_back(VhostAdded{vhost_name});
    for (const access::User* user : catalog.users().list()) {
        out.push_back(UserPut{user->name, user->password_hash, user->tags});
    }
    catalog.permissions().for_each(
        [&](const std::string& user, const std::string& vhost, const access::Permissions& p) {
            out.push_back(PermissionsPut{user, vhost, p.configure.source(), p.write.source(),
                                         p.read.source()});
        });
    catalog.permissions().for_each_topic([&](const std::string& user, const std::string& vhost,
                                             const access::TopicPermissions& p) {
        out.push_back(TopicPermissionsPut{user, vhost, p.exchange, p.write.source, p.read.source});
    });
    for (const auto& [vhost_name, vhost] : catalog.vhosts()) {
        if (!(vhost.limits == access::VhostLimits{}))
            out.push_back(VhostLimitsPut{vhost_name, vhost.limits});
    }
    for (const auto& [user, limits] : catalog.all_user_limits()) {
        out.push_back(UserLimitsPut{user, limits});
    }
    // Policies before the exchanges and queues they apply to, in the order they were set (the
    // order breaks ties between equal priorities).
    for (const auto& [vhost_name, vhost] : catalog.vhosts()) {
        for (const PolicyEntry& entry : vhost.policies.entries()) {
            out.push_back(PolicyPut{vhost_name, entry.policy()});
        }
    }
    for (const auto& [vhost_name, vhost] : catalog.vhosts()) {
        for (const auto& [name, exchange] : vhost.exchanges) {
            if (exchange.info.durable && !predeclared(name))
                out.push_back(ExchangeAdded{vhost_name, exchange.info});
        }
    }
    for (const auto& [vhost_name, vhost] : catalog.vhosts()) {
        for (const auto& [name, queue] : vhost.queues) {
            if (durable_queue(queue)) out.push_back(QueueAdded{vhost_name, queue});
        }
    }
    for (const auto& [vhost_name, vhost] : catalog.vhosts()) {
        for (const auto& [name, exchange] : vhost.exchanges) {
            if (!exchange.info.durable || name.empty()) continue;
            exchange.bindings.for_each([&](const Destination& destination,
                                           std::string_view routing_key,
                                           std::string_view arguments) {
                if (!durable_destination(vhost, destination)) return;
                out.push_back(BindingChange{vhost_name, name, destination, std::string(routing_key),
                                            std::string(arguments), true});
            });
        }
    }
}

std::vector<CatalogUpdate> default_definitions(const DefaultAccess& defaults) {
    std::vector<CatalogUpdate> out;
    for (const std::string& vhost : defaults.vhosts) out.push_back(VhostAdded{vhost});
    out.push_back(UserPut{defaults.user, access::hash_password(defaults.password), defaults.tags});
    for (const std::string& vhost : defaults.vhosts) {
        out.push_back(PermissionsPut{defaults.user, vhost, ".*", ".*", ".*"});
    }
    return out;
}

// ---- DefinitionsLog ----

u64 DefinitionsLog::append(RecordKind kind, std::string_view payload) {
    std::string_view parts[] = {payload};
    RecordAppended appended = journal_.append(static_cast<u8>(kind), parts);
    if (retained_.empty() || retained_.back() != appended.place.segment) {
        LEPUS_ASSERT(retained_.empty() || retained_.back() < appended.place.segment);
        journal_.retain(appended.place.segment);
        retained_.push_back(appended.place.segment);
    }
    bytes_since_snapshot_ += payload.size() + 32;
    last_sequence_ = appended.sequence;
    return appended.sequence;
}

u64 DefinitionsLog::write(const Catalog& catalog, const CatalogUpdate& update) {
    if (!touches_durable(catalog, update)) return 0;
    encode_definition(scratch_, update);
    return append(RecordKind::definition, scratch_);
}

void DefinitionsLog::adopt_recovered(const std::vector<u64>& segments) {
    LEPUS_ASSERT(retained_.empty());
    retained_ = segments;
    snapshot_requested_ = !segments.empty();
}

u64 DefinitionsLog::write_boot(u64 epoch) {
    boot_epoch_ = epoch;
    encode_boot(scratch_, epoch);
    return append(RecordKind::boot, scratch_);
}

u64 DefinitionsLog::maintain(const Catalog& catalog) {
    u64 written = 0;
    if (snapshot_end_sequence_ != 0 && journal_.durable_sequence() >= snapshot_end_sequence_) {
        // The snapshot is on disk: what it replaced may go.
        while (!retained_.empty() && retained_.front() < snapshot_first_segment_) {
            journal_.release(retained_.front());
            retained_.erase(retained_.begin());
        }
        snapshot_end_sequence_ = 0;
    }
    u64 due = std::max(limits::definitions_snapshot_threshold_bytes,
                       limits::definitions_snapshot_ratio * snapshot_bytes_);
    if (snapshot_end_sequence_ == 0 && (snapshot_requested_ || bytes_since_snapshot_ > due)) {
        snapshot_requested_ = false;
        write_snapshot(catalog);
        written = last_sequence_;
    }
    return written;
}

void DefinitionsLog::write_snapshot(const Catalog& catalog) {
    durable_definitions(catalog, definitions_);
    encode_boot(scratch_, boot_epoch_);  // the epoch survives the segments it was in
    append(RecordKind::snapshot_begin, scratch_);
    snapshot_first_segment_ = retained_.back();
    u64 bytes = 0;
    for (const CatalogUpdate& update : definitions_) {
        encode_definition(scratch_, update);
        append(RecordKind::definition, scratch_);
        bytes += scratch_.size() + 32;
    }
    snapshot_end_sequence_ = append(RecordKind::snapshot_end, {});
    snapshot_bytes_ = bytes + 64;
    bytes_since_snapshot_ = 0;
    LEPUS_LOG(info, "definitions journal: snapshot of %zu definitions written",
              definitions_.size());
}

// ---- DefinitionsReplay ----

DefinitionsReplay::DefinitionsReplay(const std::vector<std::string>& vhosts)
    : vhosts_(vhosts), current_(fresh_catalog()) {}

std::unique_ptr<Catalog> DefinitionsReplay::fresh_catalog() const {
    auto catalog = std::make_unique<Catalog>();
    for (const std::string& vhost : vhosts_) catalog->add_vhost(vhost);
    return catalog;
}

bool DefinitionsReplay::apply(Catalog& catalog, const CatalogUpdate& update) {
    bool valid = applies(catalog, update);
    if (valid) catalog.apply(update);
    return valid;
}

void DefinitionsReplay::record(u8 kind, std::string_view payload) {
    switch (static_cast<RecordKind>(kind)) {
        case RecordKind::boot: {
            u64 epoch = 0;
            if (decode_boot(payload, epoch)) result_.epoch = std::max(result_.epoch, epoch);
            break;
        }
        case RecordKind::snapshot_begin: {
            u64 epoch = 0;
            if (decode_boot(payload, epoch)) result_.epoch = std::max(result_.epoch, epoch);
            snapshot_ = fresh_catalog();
            break;
        }
        case RecordKind::snapshot_end:
            if (snapshot_) current_ = std::move(snapshot_);
            break;
        case RecordKind::definition: {
            std::optional<CatalogUpdate> update = decode_definition(payload);
            if (!update || !apply(snapshot_ ? *snapshot_ : *current_, *update)) {
                result_.skipped++;
            }
            break;
        }
        default: result_.skipped++; break;
    }
}

RecoveredDefinitions DefinitionsReplay::finish(u32 shard_count) {
    LEPUS_ASSERT(shard_count > 0);
    if (snapshot_) {
        LEPUS_LOG(warning, "definitions journal: an unfinished snapshot was ignored");
        snapshot_.reset();
    }
    durable_definitions(*current_, result_.updates);
    for (CatalogUpdate& update : result_.updates) {
        if (auto* added = std::get_if<QueueAdded>(&update)) {
            added->info.home = ShardId(added->info.home.value % shard_count);
        }
    }
    if (result_.skipped > 0) {
        LEPUS_LOG(warning, "definitions journal: %zu records did not apply and were skipped",
                  result_.skipped);
    }
    return std::move(result_);
}

}  // namespace lepus::core
