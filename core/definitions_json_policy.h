#pragma once
// Policies in RabbitMQ 3.10's definitions format, for definitions_json.cc and
// definitions_json_import.cc. Policies are a list of their own:
//   {"vhost", "name", "pattern", "apply-to", "definition": {...}, "priority"}
// Operator policies are runtime parameters of component "operator_policy":
//   {"vhost", "component": "operator_policy", "name", "value": {"pattern", "apply-to",
//    "definition": {...}, "priority"}}
// where rabbitmqctl export_definitions writes the definition of an operator policy set with
// set_operator_policy as a list of [key, value] pairs (an Erlang proplist). Both forms are
// read; the object is written, since RabbitMQ 3.10 refuses to import the pairs.
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "core/catalog.h"
#include "core/shard_message.h"

namespace lepus::core {

// The policy an item's fields describe (`fields` is the item itself for a policy, its "value"
// for an operator policy), validated as set_policy validates; or why it cannot be imported.
std::variant<SetPolicyOp, std::string> policy_from_json(const nlohmann::json& fields,
                                                        PolicyKind kind, std::string name,
                                                        std::string vhost);

// The vhost's policies as items of "policies", and its operator policies as items of
// "parameters". Both name their vhost, in either form of export, as RabbitMQ 3.10's do.
void append_policies_json(const VHost& vhost, nlohmann::json& policies, nlohmann::json& parameters);

}  // namespace lepus::core
