#include "core/admission.h"

#include "core/base/assert.h"

namespace lepus::core {

u64 Admission::of(const Counts& counts, const std::string& key) {
    auto it = counts.find(key);
    return it == counts.end() ? 0 : it->second;
}

void Admission::add(Counts& counts, const std::string& key, i64 delta) {
    if (delta == 0) return;
    u64& count = counts[key];
    // A shard never closes more than it opened: the counts cannot go below zero.
    LEPUS_ASSERT(delta > 0 || count >= static_cast<u64>(-delta));
    count = static_cast<u64>(static_cast<i64>(count) + delta);
    if (count == 0) counts.erase(key);
}

void Admission::apply(const AccessCountChange& change) {
    add(vhost_connections_, change.vhost, change.connections);
    add(user_connections_, change.user, change.connections);
    add(user_channels_, change.user, change.channels);
}

std::optional<access::Refusal> Admission::admit(const AdmissionRequest& request,
                                                const Catalog& catalog) {
    const bool channel = request.requester.channel != 0;
    std::optional<access::Refusal> refused;
    if (channel) {
        refused = access::check_user_channels(catalog.user_limits(request.user), request.user,
                                              user_channels(request.user));
    } else {
        const VHost* vhost = catalog.find_vhost(request.vhost);
        if (vhost != nullptr) {
            refused = access::check_vhost_connections(vhost->limits, request.vhost, request.user,
                                                      vhost_connections(request.vhost));
        }
        if (!refused) {
            refused = access::check_user_connections(catalog.user_limits(request.user),
                                                     request.user, user_connections(request.user));
        }
    }
    if (refused) return refused;
    apply(AccessCountChange{request.vhost, request.user, channel ? 0 : 1, channel ? 1 : 0});
    return std::nullopt;
}

}  // namespace lepus::core
