#pragma once
// The endpoint's policy commands (README.md has their fields): set_policy, clear_policy,
// list_policies and their operator policy twins. Changes become MetaOps for shard 0, which
// validates them as RabbitMQ does; listings are read from shard 0's catalog.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/catalog.h"
#include "core/shard_message.h"

namespace lepus::admin {

// The op a policy change asks for; nothing when `command` is not a policy change.
std::optional<core::MetaOp> policy_change(const std::string& command,
                                          const nlohmann::json& request);

// A policy listing: rows, or a refusal (the vhost does not exist).
struct PolicyListing {
    nlohmann::json rows = nlohmann::json::array();
    std::string error_reason;  // empty: rows hold the answer
    std::string error_text;
};
// Nothing when `command` is not a policy listing.
std::optional<PolicyListing> list_policies(const std::string& command,
                                           const nlohmann::json& request,
                                           const core::Catalog& catalog);

// A policy as the rows of list_policies and the definitions export show it.
nlohmann::json policy_json(const std::string& vhost, const core::Policy& policy);

}  // namespace lepus::admin
