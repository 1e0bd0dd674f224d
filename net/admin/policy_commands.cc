#include "net/admin/policy_commands.h"

#include <algorithm>

namespace lepus::admin {

namespace {

using nlohmann::json;

std::optional<core::PolicyKind> kind_of(const std::string& command, const char* regular,
                                        const char* operator_policy) {
    if (command == regular) return core::PolicyKind::regular;
    if (command == operator_policy) return core::PolicyKind::operator_policy;
    return std::nullopt;
}

std::string vhost_of(const json& request) {
    return request.contains("vhost") ? request.at("vhost").get<std::string>() : "/";
}

}  // namespace

std::optional<core::MetaOp> policy_change(const std::string& command, const json& request) {
    if (auto kind = kind_of(command, "set_policy", "set_operator_policy")) {
        core::SetPolicyOp op;
        op.vhost = vhost_of(request);
        op.policy.kind = *kind;
        op.policy.name = request.at("name").get<std::string>();
        op.policy.pattern = request.at("pattern").get<std::string>();
        op.policy.definition = request.at("definition").get<std::string>();
        op.policy.priority = request.value("priority", i64{0});
        op.apply_to = request.value("apply_to", std::string("all"));
        return op;
    }
    if (auto kind = kind_of(command, "clear_policy", "clear_operator_policy")) {
        return core::ClearPolicyOp{vhost_of(request), *kind, request.at("name").get<std::string>()};
    }
    return std::nullopt;
}

json policy_json(const std::string& vhost, const core::Policy& policy) {
    return json{{"vhost", vhost},
                {"name", policy.name},
                {"pattern", policy.pattern},
                {"apply-to", std::string(core::to_string(policy.apply_to))},
                {"definition", json::parse(policy.definition, nullptr, false)},
                {"priority", policy.priority}};
}

std::optional<PolicyListing> list_policies(const std::string& command, const json& request,
                                           const core::Catalog& catalog) {
    std::optional<core::PolicyKind> kind =
        kind_of(command, "list_policies", "list_operator_policies");
    if (!kind) return std::nullopt;
    PolicyListing listing;
    std::string vhost = vhost_of(request);
    const core::VHost* entry = catalog.find_vhost(vhost);
    if (entry == nullptr || entry->deleted) {
        listing.error_reason = "no_such_vhost";
        listing.error_text = "Virtual host '" + vhost + "' does not exist";
        return listing;
    }
    for (const core::PolicyEntry& policy : entry->policies.entries()) {
        if (policy.policy().kind == *kind)
            listing.rows.push_back(policy_json(vhost, policy.policy()));
    }
    // RabbitMQ lists from a hash table, in no particular order; by name is as good and stable.
    std::stable_sort(listing.rows.begin(), listing.rows.end(), [](const json& a, const json& b) {
        return a["name"].get<std::string>() < b["name"].get<std::string>();
    });
    return listing;
}

}  // namespace lepus::admin
