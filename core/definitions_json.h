#pragma once
// The broker's definitions in RabbitMQ 3.10's JSON format, both ways, as pure functions: what
// `rabbitmqctl export_definitions` and the management API's GET /api/definitions write, and
// what `rabbitmqctl import_definitions` and POST /api/definitions read. A file exported by one
// broker imports into the other, password hashes included (core/access/password_hash.h).
//
// Export reads a catalog replica; import only parses and validates, and returns the changes to
// make as MetaOps for the metadata authority (shard 0), which decides them one at a time as it
// decides a client's or rabbitmqctl's. Neither touches the broker. How the format maps to the
// catalog, and what is skipped, is in core/README.md ("Definitions as JSON").
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/catalog.h"
#include "core/shard_message.h"

namespace lepus::core {

// The RabbitMQ release whose format the export follows (and whose import rules the import
// follows), written as "rabbit_version" and "rabbitmq_version": RabbitMQ reads that version to
// interpret what a file leaves out, so it must be one of its own.
inline constexpr std::string_view definitions_rabbitmq_version = "3.10.8";
inline constexpr std::string_view definitions_product_name = "Lepus";

// The whole broker's definitions as GET /api/definitions gives them: rabbit_version,
// rabbitmq_version, product_name, product_version, users, vhosts, permissions,
// topic_permissions, parameters (vhost limits), global_parameters, policies, queues, exchanges
// and bindings. As RabbitMQ's management API, it holds what survives a restart: durable
// exchanges and queues (not exclusive ones), and bindings between them; the default exchange
// and the amq.* ones are every vhost's and are left out. Lists are ordered by name.
nlohmann::json export_definitions(const Catalog& catalog, std::string_view product_version);

// One vhost's definitions as GET /api/definitions/{vhost} gives them: rabbit_version,
// parameters, policies, queues, exchanges and bindings, the last three without their "vhost"
// (3.10 names no product there; `product_version` is taken so both forms are called alike). A
// vhost that does not exist gives empty lists: the caller answers 404 before asking.
nlohmann::json export_vhost_definitions(const Catalog& catalog, const std::string& vhost,
                                        std::string_view product_version);

// One change an import makes, sent to the metadata authority in this order: `vhost` is the
// request's vhost for the exchange/queue/binding ops (ignored by the admin ops, which name
// their own).
struct DefinitionOp {
    std::string vhost;
    MetaOp op;
};

struct ImportResult {
    // Empty: the definitions are valid. Otherwise why not, naming the item; nothing is to be
    // applied then.
    std::string error;
    // In the order RabbitMQ 3.10.8 applies them: each user (PutUserOp, then SetUserLimitsOp
    // when it has limits), vhosts (AddVhostOp), permissions (SetPermissionsOp), topic
    // permissions (SetTopicPermissionsOp), exchanges (ExchangeDeclareOp), vhost limits
    // (SetVhostLimitsOp), queues (QueueDeclareOp), bindings (QueueBindOp, ExchangeBindOp).
    std::vector<DefinitionOp> ops;
    // What was understood but is not applied, one line each: policies, runtime parameters
    // other than vhost limits, global parameters, vhost descriptions and tags, the passwords of
    // users hashed with an algorithm other than SHA-256, and so on.
    std::vector<std::string> skipped;
};

// `default_vhost`: for the per-vhost form (POST /api/definitions/{vhost}), whose items are all
// put in that vhost, whatever "vhost" they carry, and where only exchanges, parameters,
// policies, queues and bindings count (as in RabbitMQ). Empty for the whole-broker form, where
// every vhost-scoped item must name its vhost.
ImportResult import_definitions(const nlohmann::json& definitions,
                                const std::string& default_vhost = {});

}  // namespace lepus::core
