// The metadata authority's access administration: users, vhosts, permissions, topic
// permissions and limits, as rabbitmqctl's commands change them. Each is decided here against
// shard 0's replica, committed as a CatalogUpdate (so every replica applies it, and the
// definitions journal has it on disk before the reply goes), and answered with rabbitmqctl's
// error line when refused.
#include <utility>

#include "core/access/password_hash.h"
#include "core/base/log.h"
#include "core/metadata.h"

namespace lepus::core {

using amqp::ReplyCode;

namespace {

std::string no_such_user_text(const std::string& user) {
    return access::describe(access::UserOutcome::no_such_user, user);
}

// rabbitmqctl 3.10 prints the raw error term for clear_password, set_user_limits and
// clear_user_limits.
std::string raw_no_such_user_text(const std::string& user) {
    return "{:no_such_user, \"" + user + "\"}";
}

// rabbitmqctl's words when a vhost a command names does not exist.
std::string no_such_vhost_text(const std::string& vhost) {
    return "Virtual host '" + vhost + "' does not exist";
}

}  // namespace

bool Metadata::start(MetaRequest& request, const AddUserOp& op) {
    if (catalog_.users().find(op.name) != nullptr) {
        reply(request, ReplyCode::precondition_failed,
              access::describe(access::UserOutcome::already_exists, op.name));
        return true;
    }
    commit(UserPut{op.name, access::hash_password(op.password), op.tags});
    LEPUS_LOG(info, "user '%s' added", op.name.c_str());
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const DeleteUserOp& op) {
    if (catalog_.users().find(op.name) == nullptr) {
        reply(request, ReplyCode::not_found, no_such_user_text(op.name));
        return true;
    }
    commit(UserRemoved{op.name});
    LEPUS_LOG(info, "user '%s' deleted", op.name.c_str());
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const ChangePasswordOp& op) {
    const access::User* user = catalog_.users().find(op.name);
    if (user == nullptr) {
        reply(request, ReplyCode::not_found, no_such_user_text(op.name));
        return true;
    }
    commit(UserPut{op.name, access::hash_password(op.password), user->tags});
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const ClearPasswordOp& op) {
    const access::User* user = catalog_.users().find(op.name);
    if (user == nullptr) {
        reply(request, ReplyCode::not_found, raw_no_such_user_text(op.name));
        return true;
    }
    commit(UserPut{op.name, {}, user->tags});
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const SetUserTagsOp& op) {
    const access::User* user = catalog_.users().find(op.name);
    if (user == nullptr) {
        reply(request, ReplyCode::not_found, no_such_user_text(op.name));
        return true;
    }
    commit(UserPut{op.name, user->password_hash, op.tags});
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const AddVhostOp& op) {
    if (catalog_.find_vhost(op.name) != nullptr) {
        reply_ok(request);  // rabbitmqctl 3.10's add_vhost succeeds on an existing vhost
        return true;
    }
    commit(VhostAdded{op.name});
    LEPUS_LOG(info, "vhost '%s' added", op.name.c_str());
    reply_ok(request);
    return true;
}

// RabbitMQ deletes the vhost's queues (and their messages), then its exchanges and bindings,
// permissions and limits, and closes its connections. Here the queues go first, each through
// its home shard as a forced queue.delete queued ahead of everything else; then this op comes
// round again and removes the vhost with the rest of it in one update.
bool Metadata::start(MetaRequest& request, const DeleteVhostOp& op) {
    const VHost* vhost = catalog_.find_vhost(op.name);
    if (vhost == nullptr) {
        reply(request, ReplyCode::not_found, no_such_vhost_text(op.name));
        return true;
    }
    if (!op.queues_gone && !vhost->queues.empty()) {
        auto again = std::make_unique<MetaRequest>();
        again->vhost = request.vhost;
        again->requester = request.requester;
        again->reply_wanted = request.reply_wanted;
        again->op = DeleteVhostOp{op.name, true};
        waiting_.push_front(std::move(again));
        for (const auto& [name, info] : vhost->queues) {
            auto r = std::make_unique<MetaRequest>();
            r->vhost = op.name;
            r->requester = request.requester;
            r->reply_wanted = ReplyWanted::no;
            r->op = QueueDeleteOp{name, false, false, true};
            waiting_.push_front(std::move(r));
        }
        return true;
    }
    commit(VhostRemoved{op.name});
    LEPUS_LOG(info, "vhost '%s' deleted", op.name.c_str());
    reply_ok(request);
    return true;
}

bool Metadata::patterns_compile(const MetaRequest& request,
                                std::initializer_list<const std::string*> patterns) {
    for (const std::string* pattern : patterns) {
        if (!access::PermissionPattern::compile(*pattern)) {
            reply(request, ReplyCode::precondition_failed,
                  access::describe(access::PermissionOutcome::invalid_pattern, *pattern));
            return false;
        }
    }
    return true;
}

bool Metadata::user_and_vhost_exist(const MetaRequest& request, const std::string& user,
                                    const std::string& vhost) {
    if (catalog_.users().find(user) == nullptr) {
        reply(request, ReplyCode::not_found,
              access::describe(access::PermissionOutcome::no_such_user, user));
        return false;
    }
    if (catalog_.find_vhost(vhost) == nullptr) {
        reply(request, ReplyCode::not_found,
              access::describe(access::PermissionOutcome::no_such_vhost, vhost));
        return false;
    }
    return true;
}

bool Metadata::start(MetaRequest& request, const SetPermissionsOp& op) {
    if (!patterns_compile(request, {&op.configure, &op.write, &op.read})) return true;
    if (!user_and_vhost_exist(request, op.user, op.vhost)) return true;
    commit(PermissionsPut{op.user, op.vhost, op.configure, op.write, op.read});
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const ClearPermissionsOp& op) {
    if (!user_and_vhost_exist(request, op.user, op.vhost)) return true;
    if (catalog_.permissions().find(op.user, op.vhost) != nullptr) {
        commit(PermissionsRemoved{op.user, op.vhost});
    }
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const SetTopicPermissionsOp& op) {
    if (!patterns_compile(request, {&op.write, &op.read})) return true;
    if (!user_and_vhost_exist(request, op.user, op.vhost)) return true;
    commit(TopicPermissionsPut{op.user, op.vhost, op.exchange, op.write, op.read});
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const ClearTopicPermissionsOp& op) {
    if (!user_and_vhost_exist(request, op.user, op.vhost)) return true;
    commit(TopicPermissionsRemoved{op.user, op.vhost, op.exchange});
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const SetVhostLimitsOp& op) {
    const VHost* vhost = catalog_.find_vhost(op.vhost);
    if (vhost == nullptr) {
        reply(request, ReplyCode::not_found, no_such_vhost_text(op.vhost));
        return true;
    }
    if (!(vhost->limits == op.limits)) commit(VhostLimitsPut{op.vhost, op.limits});
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const ClearVhostLimitsOp& op) {
    const VHost* vhost = catalog_.find_vhost(op.vhost);
    if (vhost == nullptr || vhost->limits == access::VhostLimits{}) {
        // The limits are a runtime parameter to RabbitMQ: none set, nothing to clear.
        reply(request, ReplyCode::not_found, "Parameter does not exist");
        return true;
    }
    commit(VhostLimitsPut{op.vhost, {}});
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const SetUserLimitsOp& op) {
    if (catalog_.users().find(op.user) == nullptr) {
        reply(request, ReplyCode::not_found, raw_no_such_user_text(op.user));
        return true;
    }
    access::UserLimits limits = catalog_.user_limits(op.user);
    if (op.limits.max_connections) limits.max_connections = op.limits.max_connections;
    if (op.limits.max_channels) limits.max_channels = op.limits.max_channels;
    commit(UserLimitsPut{op.user, limits});
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const ClearUserLimitsOp& op) {
    if (catalog_.users().find(op.user) == nullptr) {
        reply(request, ReplyCode::not_found, raw_no_such_user_text(op.user));
        return true;
    }
    access::UserLimits limits = catalog_.user_limits(op.user);
    if (op.limit == "all") {
        limits = {};
    } else if (op.limit == "max-connections") {
        limits.max_connections.reset();
    } else if (op.limit == "max-channels") {
        limits.max_channels.reset();
    }
    commit(UserLimitsPut{op.user, limits});
    reply_ok(request);
    return true;
}

bool Metadata::start(MetaRequest& request, const PutUserOp& op) {
    const bool existed = catalog_.users().find(op.name) != nullptr;
    commit(UserPut{op.name, op.password_hash, op.tags});
    LEPUS_LOG(info, "user '%s' %s from definitions", op.name.c_str(),
              existed ? "replaced" : "added");
    reply_ok(request);
    return true;
}

}  // namespace lepus::core
