// The metadata authority's policy administration: set_policy, clear_policy and their operator
// policy twins. Each is decided against shard 0's replica and committed as a PolicyPut or
// PolicyRemoved, which every replica applies to its exchanges at once and each queue's home
// shard resolves the queue against (Broker::apply_policy_changes).
#include "core/base/log.h"
#include "core/metadata.h"

namespace lepus::core {

using amqp::ReplyCode;

bool Metadata::start(MetaRequest& request, const SetPolicyOp& op) {
    const VHost* vhost = catalog_.find_vhost(op.vhost);
    if (vhost == nullptr || vhost->deleted) {
        reply(request, ReplyCode::not_found, "Virtual host '" + op.vhost + "' does not exist");
        return true;
    }
    Policy policy = op.policy;
    if (std::optional<std::string> error = validate_policy(policy, op.apply_to)) {
        reply(request, ReplyCode::precondition_failed, *error);
        return true;
    }
    const Policy* existing = vhost->policies.find(policy.kind, policy.name);
    if (existing == nullptr || !(*existing == policy)) {
        LEPUS_LOG(info, "%s '%s' set in vhost '%s'",
                  policy.kind == PolicyKind::regular ? "policy" : "operator policy",
                  policy.name.c_str(), op.vhost.c_str());
        commit(PolicyPut{op.vhost, std::move(policy)});
    }
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const ClearPolicyOp& op) {
    const VHost* vhost = catalog_.find_vhost(op.vhost);
    if (vhost == nullptr || vhost->deleted || vhost->policies.find(op.kind, op.name) == nullptr) {
        // A policy is a runtime parameter to RabbitMQ: none of that name, nothing to clear.
        reply(request, ReplyCode::not_found, "Parameter does not exist");
        return true;
    }
    commit(PolicyRemoved{op.vhost, op.kind, op.name});
    reply_ok(request);
    return true;
}

}  // namespace lepus::core
