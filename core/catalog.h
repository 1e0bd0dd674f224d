#pragma once
// One shard's replica of the broker's definitions: vhosts, their exchanges with bindings, and
// the directory of queues (name -> id, home shard, flags). Every shard holds one and applies
// the same CatalogUpdates in the same order; shard 0's copy is the truth because shard 0 is
// the only one that decides updates. Publishes are routed here, on the shard that received
// them, without asking anyone.
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/routing/bindings.h"
#include "core/shard_message.h"

namespace lepus::core {

struct Exchange {
    ExchangeInfo info;
    routing::Bindings bindings;  // bindings with this exchange as their source
    bool ever_bound = false;     // auto-delete applies only once something was bound
    // The "alternate-exchange" argument: where messages go that no binding matches.
    std::optional<std::string> alternate_exchange;

    explicit Exchange(ExchangeInfo i);
};

struct VHost {
    std::string name;
    std::unordered_map<std::string, Exchange> exchanges;
    std::unordered_map<std::string, QueueInfo> queues;
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

    // True when some binding has `name` as its destination exchange or source.
    bool exchange_has_bindings(const VHost& vhost, std::string_view name) const;

private:
    void apply_update(const ExchangeAdded& u);
    void apply_update(const ExchangeRemoved& u);
    void apply_update(const BindingChange& u);
    void apply_update(const QueueAdded& u);
    void apply_update(const QueueRemoved& u);

    std::unordered_map<std::string, VHost> vhosts_;
    // Scratch space for route(), kept to make routing allocation-free in steady state.
    std::vector<const routing::Destination*> destinations_;
    std::vector<const Exchange*> exchange_stack_;
    std::vector<const Exchange*> exchanges_seen_;
    u64 routing_work_ = 0;
};

// The default exchange's name, and the exchanges predeclared in every vhost.
inline constexpr std::string_view default_exchange_name = "";

}  // namespace lepus::core
