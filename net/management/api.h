#pragma once
// The management HTTP API (README.md): RabbitMQ's paths, methods, status codes and JSON
// shapes, answered on shard 0 from its catalog replica and, through the administration
// endpoint (net/admin), from the metadata authority and every shard. Requests are
// authenticated with HTTP Basic against the broker's users; the user's tags and permissions
// decide what it may see and do, as in RabbitMQ.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/catalog.h"
#include "net/admin/endpoint.h"
#include "net/management/api_stats.h"
#include "net/management/http_server.h"
#include "net/management/rates.h"

namespace lepus::management {

class Api {
public:
    // `status`: the node's facts (Shard::node_status), for the overview, nodes and health
    // checks.
    Api(admin::Endpoint& endpoint, const core::Catalog& catalog,
        std::function<nlohmann::json()> status);

    void handle(HttpRequest& request, HttpReply reply);
    // Samples the statistics for rates every RateSampler::interval_ms while the API is in use.
    void tick(u64 now_ms);

    // One request on its way: its decoded path after "/api/", its query and its user.
    struct Call {
        HttpRequest request;
        HttpReply reply;
        std::vector<std::string> path;
        std::map<std::string, std::string> query;
        std::string user;
        std::vector<std::string> tags;

        bool has_tag(std::string_view tag) const;
        bool is_administrator() const { return has_tag("administrator"); }
        // monitoring and administrator see every vhost and every connection.
        bool sees_everything() const { return has_tag("monitoring") || is_administrator(); }
        bool is_policymaker() const { return has_tag("policymaker") || is_administrator(); }
    };

private:
    void route(Call& call);
    // Runs `work`, answering what it throws (BadRequest, the JSON library's type errors)
    // with 400.
    static void guarded(const HttpReply& reply, const std::function<void()>& work);
    // api_objects.cc
    void queues(Call& call);
    void exchanges(Call& call);
    void bindings(Call& call);
    void consumers(Call& call);
    void connections(Call& call);
    void channels(Call& call);
    // api_access.cc
    void vhosts(Call& call);
    void users(Call& call);
    // The vhosts named, as /api/vhosts shows them (message counts and message_stats).
    void vhost_items(Call& call, std::vector<std::string> names,
                     std::function<void(nlohmann::json items)> then);
    void permissions(Call& call, bool topic);
    void limits(Call& call, bool per_user);
    // Runtime parameters: vhost limits are RabbitMQ's "vhost-limits" component.
    void parameters(Call& call, bool global);
    // /api/policies and /api/operator-policies[/VHOST[/NAME]].
    void policies(Call& call, bool operator_policies);
    // api_node.cc
    void overview(Call& call);
    void nodes(Call& call);
    void health(Call& call);
    void aliveness(Call& call, const std::string& vhost);
    void definitions(Call& call);

    // Runs an endpoint request; `then` gets its answer when it succeeded, and a failure is
    // answered with RabbitMQ's status and error shape.
    using Then = std::function<void(const nlohmann::json& answer)>;
    void submit(Call& call, nlohmann::json request, Then then);
    // The change is made: 201 when it created, 204 when it changed what was there.
    void change(Call& call, nlohmann::json request, u16 status = 204);
    // Answers a list as RabbitMQ does: filtered by name, sorted, paged and cut to the
    // requested columns (api_query.h).
    void reply_list(Call& call, nlohmann::json items);
    bool vhost_exists(const std::string& vhost) const;
    // Whether the call's user may see `vhost` (any permission there, or monitoring).
    bool may_see_vhost(const Call& call, const std::string& vhost) const;
    // The vhost named by path segment `index`, answered 404 when missing and 401 when the
    // user may not use it; false when answered.
    bool vhost_in_path(Call& call, usize index, std::string& vhost);
    // Answers 401 unless the user is an administrator; false when answered.
    bool require_administrator(Call& call);
    // The JSON body of a PUT or POST: an object ({} when empty); answers 400 when not.
    bool body_object(Call& call, nlohmann::json& out);

    // The shapes with rates from the sampler.
    nlohmann::json queue_with_rates(const nlohmann::json& row) const;
    nlohmann::json exchange_with_stats(nlohmann::json row, const StatsTables& tables) const;
    nlohmann::json connection_with_rates(const nlohmann::json& row) const;
    nlohmann::json channel_with_rates(const nlohmann::json& row) const;
    // api_stats.cc
    void sample();
    void with_stats(std::function<void(StatsTables)> then);

    admin::Endpoint& endpoint_;
    const core::Catalog& catalog_;
    std::function<nlohmann::json()> status_;
    RateSampler rates_;
    u64 now_ms_ = 0;
    u64 last_request_ms_ = 0;
    u64 last_sample_ms_ = 0;
    bool sampling_ = false;
};

// Thrown by a handler for a request it cannot take; answered with 400 and the text.
struct BadRequest : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Replies every handler uses.
void reply_json(const HttpReply& reply, u16 status, const nlohmann::json& body);
void reply_error(const HttpReply& reply, u16 status, const std::string& error,
                 const std::string& reason);
void reply_not_found(const HttpReply& reply);
void reply_no_content(const HttpReply& reply, u16 status = 204);

}  // namespace lepus::management
