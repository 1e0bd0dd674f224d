#pragma once
// One shard's replica of the broker's definitions: vhosts, their exchanges with bindings, the
// directory of queues (name -> id, home shard, flags), and the access state: users, their
// permissions and topic permissions, vhost and user limits. Every shard holds one and applies
// the same CatalogUpdates in the same order; shard 0's copy is the truth because shard 0 is
// the only one that decides updates. Publishes are routed here, on the shard that received
// them, without asking anyone.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/access/access_limits.h"
#include "core/access/permission_table.h"
#include "core/access/user_table.h"
#include "core/policy.h"
#include "core/routing/bindings.h"
#include "core/shard_message.h"

namespace lepus::core {

struct Exchange {
    ExchangeInfo info;
    // The policy that applies ("" for none), and the exchange's own "alternate-exchange"
    // argument, which wins over the policy's key. alternate_exchange, which routing reads, is
    // resolved from the two whenever either changes, never per message.
    std::string policy;
    std::optional<std::string> alternate_exchange_argument;
    routing::Bindings bindings;  // bindings with this exchange as their source
    bool ever_bound = false;     // auto-delete applies only once something was bound
    // The "alternate-exchange" argument: where messages go that no binding matches.
    std::optional<std::string> alternate_exchange;
    // message_stats' publish_in and publish_out, counted by this shard's publishes through
    // its own replica (each shard's catalog is its own, so the count is a plain increment
    // beside the routing that reads the replica anyway); an operator's question sums them.
    mutable u64 published_in = 0;
    mutable u64 published_out = 0;

    explicit Exchange(ExchangeInfo i);
};

struct VHost {
    std::string name;
    std::unordered_map<std::string, Exchange> exchanges;
    std::unordered_map<std::string, QueueInfo> queues;
    access::VhostLimits limits;
    PolicyTable policies;  // policies and operator policies
    // Set when the vhost was deleted: its entry stays (emptied) so that connections still
    // holding it until they are closed never see it move (see Catalog::apply_update).
    bool deleted = false;
};

// Connections a replica's change ends: every connection to a deleted vhost, or of a deleted
// user, is closed with 320 CONNECTION_FORCED by the shard that holds it.
struct ConnectionClosure {
    enum class Kind : u8 { vhost, user };
    Kind kind;
    std::string name;
    std::string text;  // RabbitMQ's reason: "vhost 'v' is down", "user 'u' is deleted"
};

class Catalog {
public:
    // Adds a vhost with the exchanges every RabbitMQ vhost has: the default exchange and amq.*.
    void add_vhost(const std::string& name);

    VHost* find_vhost(std::string_view name);
    const VHost* find_vhost(std::string_view name) const;
    const Exchange* find_exchange(std::string_view vhost, std::string_view name) const;
    const QueueInfo* find_queue(std::string_view vhost, std::string_view name) const;

    void apply(const CatalogUpdate& update);

    // The queues a message published to `exchange` reaches, each once, following
    // exchange-to-exchange bindings, and for an exchange whose bindings match nothing, its
    // alternate exchange (as RabbitMQ: at every exchange on the way, each exchange at most
    // once). `out` is cleared first. Returns false when the exchange does not exist.
    bool route(const VHost& vhost, const Exchange& exchange, std::string_view routing_key,
               std::string_view headers, std::vector<const QueueInfo*>& out);

    // The work route() has done so far: a unit per destination matched and per header
    // comparison. The shard weighs it into each loop turn's budget (limits::turn_input_budget).
    u64 routing_work() const { return routing_work_; }

    const std::unordered_map<std::string, VHost>& vhosts() const { return vhosts_; }

    // ---- access state ----
    const access::UserTable& users() const { return users_; }
    const access::PermissionTable& permissions() const { return permissions_; }
    // The user's limits; none set when the user has none.
    access::UserLimits user_limits(std::string_view user) const;
    const std::map<std::string, access::UserLimits, std::less<>>& all_user_limits() const {
        return user_limits_;
    }
    // Moves on with every change that may alter an access decision already made: users,
    // permissions, topic permissions, limits, and the removal of an exchange or a vhost (a
    // decision cached by a channel names the exchange it was made for, and the address of a
    // removed exchange may be reused). A channel keeps its decisions while this stays put.
    u64 access_generation() const { return access_generation_; }
    // The vhosts whose policies changed since the last call: their queues' effective settings
    // are to be resolved again by the queues' home shards.
    std::vector<std::string> take_policy_changes() { return std::move(policy_changes_); }
    bool policies_changed() const { return !policy_changes_.empty(); }
    // The connections this replica's changes asked to close since the last call.
    std::vector<ConnectionClosure> take_closures() { return std::move(closures_); }

    // True when some binding has `name` as its destination exchange or source.
    bool exchange_has_bindings(const VHost& vhost, std::string_view name) const;

private:
    void apply_update(const ExchangeAdded& u);
    void apply_update(const ExchangeRemoved& u);
    void apply_update(const BindingChange& u);
    void apply_update(const QueueAdded& u);
    void apply_update(const QueueRemoved& u);
    void apply_update(const VhostAdded& u);
    void apply_update(const VhostRemoved& u);
    void apply_update(const UserPut& u);
    void apply_update(const UserRemoved& u);
    void apply_update(const PermissionsPut& u);
    void apply_update(const PermissionsRemoved& u);
    void apply_update(const TopicPermissionsPut& u);
    void apply_update(const TopicPermissionsRemoved& u);
    void apply_update(const VhostLimitsPut& u);
    void apply_update(const UserLimitsPut& u);
    void apply_update(const PolicyPut& u);
    void apply_update(const PolicyRemoved& u);
    // Resolves the policy of every exchange of the vhost again.
    static void apply_exchange_policies(VHost& vhost);

    std::unordered_map<std::string, VHost> vhosts_;
    // Deleted vhosts, emptied, kept where they were (a node handle keeps its element's
    // address): connections opened to one hold a pointer to it until they are closed.
    std::vector<std::unordered_map<std::string, VHost>::node_type> deleted_vhosts_;
    access::UserTable users_;
    access::PermissionTable permissions_;
    std::map<std::string, access::UserLimits, std::less<>> user_limits_;
    u64 access_generation_ = 1;
    std::vector<ConnectionClosure> closures_;
    std::vector<std::string> policy_changes_;
    // Scratch space for route(), kept to make routing allocation-free in steady state.
    std::vector<const routing::Destination*> destinations_;
    std::vector<const Exchange*> exchange_stack_;
    std::vector<const Exchange*> exchanges_seen_;
    u64 routing_work_ = 0;
};

// The default exchange's name, and the exchanges predeclared in every vhost.
inline constexpr std::string_view default_exchange_name = "";

}  // namespace lepus::core
