#pragma once
// Who may do what where, decided as RabbitMQ's internal authorisation backend decides it
// (rabbit_auth_backend_internal: check_vhost_access, check_resource_access,
// check_topic_access), with the refusals rabbit_access_control words.
//
// - Per (user, vhost): configure, write and read patterns (permission_pattern.h). No entry: the
//   user may not open the vhost and every resource check there refuses.
// - Per (user, vhost, exchange): topic write and read patterns, matched against a routing key
//   after `{username}`, `{vhost}` and `{client_id}` are replaced. No entry: allowed (RabbitMQ
//   checks topic permissions only where someone set them).
//
// Which operation needs which permission is the caller's (the channel's) to know; this table
// only answers one question at a time. The caller also checks that users and vhosts exist
// before setting permissions (describe() words those refusals).
//
// Ownership: plain values; whoever holds the access state owns it.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/access/permission_pattern.h"
#include "core/access/refusal.h"
#include "core/base/types.h"

namespace lepus::access {

enum class Permission : u8 { configure, write, read };
std::string_view to_string(Permission permission);

enum class ResourceKind : u8 { exchange, queue };
std::string_view to_string(ResourceKind kind);

struct Resource {
    ResourceKind kind;
    std::string_view vhost;
    std::string_view name;  // "" for the default exchange, checked as "amq.default"
};

struct Permissions {
    PermissionPattern configure;
    PermissionPattern write;
    PermissionPattern read;
};

// The values a topic pattern's variables take. AMQP 0-9-1 connections have no client id:
// `{client_id}` then stays as written, as it does in RabbitMQ, whose variable map has no
// client_id key for them.
struct TopicVariables {
    std::string_view username;
    std::string_view vhost;
    std::optional<std::string_view> client_id;
};

// A topic pattern with `{username}` and `{vhost}` known when it is set (they are the entry's
// own), so it is expanded and compiled then; only a pattern naming `{client_id}` is expanded
// and compiled again at a check that supplies one.
//
// A user name or vhost with regex syntax in it can make the expansion of a valid pattern
// invalid; `expanded` is then empty and the pattern refuses every routing key. RabbitMQ's re:run
// raises on such a pattern at the check, so no key gets through there either (its channel
// fails with an internal error rather than a 403).
struct TopicPattern {
    std::string source;                         // as set, for listing
    std::optional<PermissionPattern> expanded;  // with {username} and {vhost} replaced
    bool names_client_id = false;
};

struct TopicPermissions {
    std::string exchange;
    TopicPattern write;
    TopicPattern read;
};

enum class PermissionOutcome : u8 { ok, invalid_pattern, no_such_user, no_such_vhost };

// rabbitmqctl's wording for set_permissions and set_topic_permissions refusals, e.g.
// `User x does not exist`, `Virtual host v does not exist`, `regular expression '(' is
// invalid`; `detail` is the user, the vhost, or the invalid pattern.
std::string describe(PermissionOutcome outcome, std::string_view detail);

// RabbitMQ's expand_topic_permission/2: every `{name}` of the map replaced, literally (the value
// is not escaped), in the map's key order: client_id, username, vhost.
std::string expand_topic_variables(std::string_view pattern, const TopicVariables& variables);

class PermissionTable {
public:
    // Replaces the user's permissions in the vhost. All three patterns must compile, or nothing
    // changes; invalid_pattern then names the first that does not (in `rejected`).
    PermissionOutcome set(std::string_view user, std::string_view vhost, std::string_view configure,
                          std::string_view write, std::string_view read,
                          std::string* rejected = nullptr);
    // Clearing returns how many entries went; none is no error (rabbitmqctl's
    // clear_permissions and clear_topic_permissions succeed when nothing was set).
    usize clear(std::string_view user, std::string_view vhost);
    const Permissions* find(std::string_view user, std::string_view vhost) const;

    PermissionOutcome set_topic(std::string_view user, std::string_view vhost,
                                std::string_view exchange, std::string_view write,
                                std::string_view read, std::string* rejected = nullptr);
    // One exchange's topic permissions, or all of them in the vhost (clear_topic_permissions
    // with and without an exchange).
    usize clear_topic(std::string_view user, std::string_view vhost,
                      std::optional<std::string_view> exchange);
    const TopicPermissions* find_topic(std::string_view user, std::string_view vhost,
                                       std::string_view exchange) const;

    // Every entry, for snapshots and listings: (user, vhost) -> permissions, and
    // (user, vhost, exchange) -> topic permissions, ordered by key.
    template <typename Visit>
    void for_each(Visit&& visit) const {
        for (const auto& [key, entry] : permissions_)
            visit(std::get<0>(key), std::get<1>(key), entry);
    }
    template <typename Visit>
    void for_each_topic(Visit&& visit) const {
        for (const auto& [key, entry] : topic_permissions_) {
            visit(std::get<0>(key), std::get<1>(key), entry);
        }
    }

    // Everything of a user or a vhost, when it is deleted.
    void remove_user(std::string_view user);
    void remove_vhost(std::string_view vhost);

    // connection.open: 530 NOT_ALLOWED unless the user has permissions in the vhost.
    std::optional<Refusal> check_vhost(std::string_view user, std::string_view vhost) const;
    // 403 ACCESS_REFUSED unless the user's pattern for `permission` occurs in the name.
    std::optional<Refusal> check_resource(std::string_view user, const Resource& resource,
                                          Permission permission) const;
    // A publish to (write) or a binding from (read) a topic exchange: 403 ACCESS_REFUSED
    // unless the routing key matches the user's topic pattern, when one is set. `configure`
    // is not a topic permission.
    std::optional<Refusal> check_topic(std::string_view user, std::string_view vhost,
                                       std::string_view exchange, std::string_view routing_key,
                                       Permission permission,
                                       std::optional<std::string_view> client_id) const;

private:
    using Key = std::tuple<std::string, std::string>;                    // user, vhost
    using TopicKey = std::tuple<std::string, std::string, std::string>;  // ... and exchange

    // Orders keys of strings and lookups of string_views alike, so a check allocates nothing.
    // (Comparing a tuple of strings with a tuple of views directly works in GCC's library but
    // not under clang.)
    struct KeyLess {
        using is_transparent = void;
        template <typename... Parts>
        static auto as_views(const std::tuple<Parts...>& key) {
            return std::apply(
                [](const auto&... part) { return std::make_tuple(std::string_view(part)...); },
                key);
        }
        template <typename A, typename B>
        bool operator()(const A& a, const B& b) const {
            return as_views(a) < as_views(b);
        }
    };

    std::map<Key, Permissions, KeyLess> permissions_;
    std::map<TopicKey, TopicPermissions, KeyLess> topic_permissions_;
};

}  // namespace lepus::access
