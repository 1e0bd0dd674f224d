#include "core/access/permission_table.h"

#include "core/base/assert.h"

namespace lepus::access {
namespace {

constexpr std::string_view client_id_placeholder = "{client_id}";

void replace_all(std::string& text, std::string_view placeholder, std::string_view value) {
    for (usize at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
        text.replace(at, placeholder.size(), value);
    }
}

// rabbit_misc:rs/1: "queue 'q' in vhost '/'".
std::string describe_resource(ResourceKind kind, std::string_view name, std::string_view vhost) {
    return std::string(to_string(kind)) + " '" + std::string(name) + "' in vhost '" +
           std::string(vhost) + "'";
}

// What set_permissions and set_topic_permissions validate: each pattern as given, before any
// variable is expanded (rabbit_auth_backend_internal's re:compile of the raw pattern).
bool all_compile(std::initializer_list<std::string_view> patterns, std::string* rejected) {
    for (std::string_view pattern : patterns) {
        if (!PermissionPattern::compile(pattern)) {
            if (rejected != nullptr) *rejected = std::string(pattern);
            return false;
        }
    }
    return true;
}

TopicPattern make_topic_pattern(std::string_view source, std::string_view user,
                                std::string_view vhost) {
    return TopicPattern{
        std::string(source),
        PermissionPattern::compile(expand_topic_variables(source, {user, vhost, std::nullopt})),
        source.find(client_id_placeholder) != std::string_view::npos,
    };
}

}  // namespace

std::string_view to_string(Permission permission) {
    switch (permission) {
        case Permission::configure: return "configure";
        case Permission::write: return "write";
        case Permission::read: return "read";
    }
    LEPUS_UNREACHABLE();
}

std::string_view to_string(ResourceKind kind) {
    switch (kind) {
        case ResourceKind::exchange: return "exchange";
        case ResourceKind::queue: return "queue";
    }
    LEPUS_UNREACHABLE();
}

// rabbitmqctl 3.10's words, checked against it (set_permissions and set_topic_permissions).
std::string describe(PermissionOutcome outcome, std::string_view detail) {
    const std::string text(detail);
    switch (outcome) {
        case PermissionOutcome::ok: return {};
        case PermissionOutcome::invalid_pattern:
            return "regular expression '" + text + "' is invalid";
        case PermissionOutcome::no_such_user: return "User " + text + " does not exist";
        case PermissionOutcome::no_such_vhost: return "Virtual host " + text + " does not exist";
    }
    LEPUS_UNREACHABLE();
}

std::string expand_topic_variables(std::string_view pattern, const TopicVariables& variables) {
    // maps:fold/3 over #{client_id, username, vhost} visits the keys in that (sorted) order, so a
    // value that itself holds a later placeholder is expanded again, as in RabbitMQ.
    std::string text(pattern);
    if (variables.client_id) replace_all(text, client_id_placeholder, *variables.client_id);
    replace_all(text, "{username}", variables.username);
    replace_all(text, "{vhost}", variables.vhost);
    return text;
}

PermissionOutcome PermissionTable::set(std::string_view user, std::string_view vhost,
                                       std::string_view configure, std::string_view write,
                                       std::string_view read, std::string* rejected) {
    if (!all_compile({configure, write, read}, rejected)) return PermissionOutcome::invalid_pattern;
    Permissions permissions{*PermissionPattern::compile(configure),
                            *PermissionPattern::compile(write), *PermissionPattern::compile(read)};
    permissions_.insert_or_assign(Key{user, vhost}, std::move(permissions));
    return PermissionOutcome::ok;
}

usize PermissionTable::clear(std::string_view user, std::string_view vhost) {
    auto it = permissions_.find(std::tuple{user, vhost});
    if (it == permissions_.end()) return 0;
    permissions_.erase(it);
    return 1;
}

const Permissions* PermissionTable::find(std::string_view user, std::string_view vhost) const {
    auto it = permissions_.find(std::tuple{user, vhost});
    return it == permissions_.end() ? nullptr : &it->second;
}

PermissionOutcome PermissionTable::set_topic(std::string_view user, std::string_view vhost,
                                             std::string_view exchange, std::string_view write,
                                             std::string_view read, std::string* rejected) {
    if (!all_compile({write, read}, rejected)) return PermissionOutcome::invalid_pattern;
    topic_permissions_.insert_or_assign(
        TopicKey{user, vhost, exchange},
        TopicPermissions{std::string(exchange), make_topic_pattern(write, user, vhost),
                         make_topic_pattern(read, user, vhost)});
    return PermissionOutcome::ok;
}

usize PermissionTable::clear_topic(std::string_view user, std::string_view vhost,
                                   std::optional<std::string_view> exchange) {
    usize erased = 0;
    for (auto it = topic_permissions_.begin(); it != topic_permissions_.end();) {
        const auto& [entry_user, entry_vhost, entry_exchange] = it->first;
        if (entry_user == user && entry_vhost == vhost &&
            (!exchange || entry_exchange == *exchange)) {
            it = topic_permissions_.erase(it);
            ++erased;
        } else {
            ++it;
        }
    }
    return erased;
}

const TopicPermissions* PermissionTable::find_topic(std::string_view user, std::string_view vhost,
                                                    std::string_view exchange) const {
    auto it = topic_permissions_.find(std::tuple{user, vhost, exchange});
    return it == topic_permissions_.end() ? nullptr : &it->second;
}

void PermissionTable::remove_user(std::string_view user) {
    std::erase_if(permissions_,
                  [&](const auto& entry) { return std::get<0>(entry.first) == user; });
    std::erase_if(topic_permissions_,
                  [&](const auto& entry) { return std::get<0>(entry.first) == user; });
}

void PermissionTable::remove_vhost(std::string_view vhost) {
    std::erase_if(permissions_,
                  [&](const auto& entry) { return std::get<1>(entry.first) == vhost; });
    std::erase_if(topic_permissions_,
                  [&](const auto& entry) { return std::get<1>(entry.first) == vhost; });
}

// The texts below are RabbitMQ 3.10's rabbit_access_control (deps/rabbit/src/
// rabbit_access_control.erl): check_vhost_access/4 "access to vhost '~s' refused for user '~s'"
// (not_allowed), check_resource_access/4 "access to ~s refused for user '~s'" and
// check_topic_access/4 "access to topic '~s' in exchange ~s refused for user '~s'"
// (access_refused), with rabbit_misc:rs/1 for the resource ("queue 'q' in vhost '/'"; for the
// topic resource, "'amq.topic' in vhost '/'"), and the error's name in front, as
// rabbit_binary_generator puts it in the reply text. Later releases name the permission first
// ("read access to ..."); 3.10 does not. Each text was also checked against a running 3.10.
std::optional<Refusal> PermissionTable::check_vhost(std::string_view user,
                                                    std::string_view vhost) const {
    if (find(user, vhost) != nullptr) return std::nullopt;
    return Refusal{reply_not_allowed, "NOT_ALLOWED - access to vhost '" + std::string(vhost) +
                                          "' refused for user '" + std::string(user) + "'"};
}

std::optional<Refusal> PermissionTable::check_resource(std::string_view user,
                                                       const Resource& resource,
                                                       Permission permission) const {
    // check_resource_access/4 checks the default exchange under the name "amq.default".
    const std::string_view name = resource.kind == ResourceKind::exchange && resource.name.empty()
                                      ? "amq.default"
                                      : resource.name;
    if (const Permissions* permissions = find(user, resource.vhost)) {
        const PermissionPattern& pattern = permission == Permission::configure
                                               ? permissions->configure
                                           : permission == Permission::write ? permissions->write
                                                                             : permissions->read;
        if (pattern.matches(name)) return std::nullopt;
    }
    return Refusal{reply_access_refused,
                   "ACCESS_REFUSED - access to " +
                       describe_resource(resource.kind, name, resource.vhost) +
                       " refused for user '" + std::string(user) + "'"};
}

std::optional<Refusal> PermissionTable::check_topic(
    std::string_view user, std::string_view vhost, std::string_view exchange,
    std::string_view routing_key, Permission permission,
    std::optional<std::string_view> client_id) const {
    LEPUS_ASSERT(permission != Permission::configure);
    const TopicPermissions* topic = find_topic(user, vhost, exchange);
    if (topic == nullptr) return std::nullopt;
    const TopicPattern& pattern = permission == Permission::write ? topic->write : topic->read;
    bool allowed = false;
    if (pattern.names_client_id && client_id) {
        std::optional<PermissionPattern> expanded = PermissionPattern::compile(
            expand_topic_variables(pattern.source, {user, vhost, client_id}));
        allowed = expanded && expanded->matches(routing_key);
    } else {
        allowed = pattern.expanded && pattern.expanded->matches(routing_key);
    }
    if (allowed) return std::nullopt;
    return Refusal{reply_access_refused,
                   "ACCESS_REFUSED - access to topic '" + std::string(routing_key) +
                       "' in exchange '" + std::string(exchange) + "' in vhost '" +
                       std::string(vhost) + "' refused for user '" + std::string(user) + "'"};
}

}  // namespace lepus::access
