// The Broker's part in policies: each queue's home shard resolves the queue against the
// policies of its own catalog replica when the queue is created or restored, and again when a
// policy of its vhost is set or cleared. The replica holds every policy change before shard 0
// sends anything after it (a queue's creation included), so a queue never runs with settings
// older than the change that preceded its declaration. The data path only reads the queue's
// resolved settings: no policy is looked up per message.
#include <algorithm>

#include "core/broker.h"

namespace lepus::core {

void Broker::resolve_policy(Queue& queue) {
    const VHost* vhost = catalog_.find_vhost(queue.vhost());
    const PolicyEntry* policy = nullptr;
    const PolicyEntry* operator_policy = nullptr;
    if (vhost != nullptr && !vhost->policies.empty()) {
        const std::string& name = queue.info().name;
        policy = vhost->policies.match(PolicyKind::regular, PolicyApplyTo::queues, name);
        operator_policy =
            vhost->policies.match(PolicyKind::operator_policy, PolicyApplyTo::queues, name);
    }
    QueuePolicy resolved = resolve_queue_policy(queue.own_arguments(), policy, operator_policy);
    if (resolved == queue.policy()) return;
    queue.set_policy(std::move(resolved));
    changed(queue);
}

void Broker::apply_policy_changes() {
    std::vector<std::string> vhosts = catalog_.take_policy_changes();
    if (vhosts.empty()) return;
    std::vector<QueueId> affected;
    queues_.for_each([&](const Queue& queue) {
        if (std::find(vhosts.begin(), vhosts.end(), queue.vhost()) != vhosts.end()) {
            affected.push_back(queue.info().id);
        }
    });
    for (QueueId id : affected) {
        if (Queue* queue = find_queue(id)) resolve_policy(*queue);
    }
}

}  // namespace lepus::core
