#pragma once
// The metadata authority: shard 0 decides every change to the catalog, one request at a time,
// so two channels declaring the same queue never race. A request that needs the queue's home
// shard (create, counts, purge, delete) waits for its answer; later requests wait behind it.
// Decisions are applied to shard 0's catalog and broadcast to the other shards; the requester
// is answered once every shard has applied them (and, for durable things, once they are on
// disk).
#include <deque>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/catalog.h"
#include "core/definitions.h"
#include "core/shard_message.h"

namespace lepus::core {

class Metadata {
public:
    Metadata(ShardId self, u32 shard_count, Catalog& catalog, Outbox& outbox);

    void handle(std::unique_ptr<MetaRequest> request);
    void handle(const QueueCommandDone& done);

    // Durable definitions: changes are written to `log`, and everything Metadata sends after a
    // write (the broadcast, the reply, later requests' messages, in order) is held until the
    // journal has it on disk. A declare-ok for a durable queue therefore means it is on disk.
    void set_log(DefinitionsLog* log, JournalSink* journal);
    // Queue ids of this start begin at `base`, so ids never repeat across restarts.
    void set_queue_id_base(u64 base) { next_queue_id_ = base; }
    // After the journal made progress: releases held messages, maintains the log.
    void on_journal_progress();
    // Shard `shard` has applied the first `count` catalog updates: releases the replies that
    // waited for it.
    void on_catalog_applied(ShardId shard, u64 count);

private:
    // A message on its way out: `applied_needed` catalog updates must be applied on every
    // shard before it goes (0 for anything but a reply).
    struct Outgoing {
        ShardId to;
        ShardMessage message;
        u64 applied_needed = 0;
    };

    // Runs requests until one has to wait for a queue's home shard.
    void run();
    // Each returns true when the request finished, false when it awaits a QueueCommandDone.
    bool start(MetaRequest& request, const ExchangeDeclareOp& op);
    bool start(MetaRequest& request, const ExchangeDeleteOp& op);
    bool start(MetaRequest& request, const ExchangeBindOp& op);
    bool start(MetaRequest& request, const QueueDeclareOp& op);
    bool start(MetaRequest& request, const QueueBindOp& op);
    bool start(MetaRequest& request, const QueuePurgeOp& op);
    bool start(MetaRequest& request, const QueueDeleteOp& op);
    bool start(MetaRequest& request, const ConnectionClosedOp& op);
    bool start(MetaRequest& request, const QueueAutoDeleteOp& op);
    bool start(MetaRequest& request, const QueueExpireOp& op);
    // Access administration (metadata_access.cc); each finishes at once except delete_vhost,
    // which first deletes the vhost's queues on their home shards.
    bool start(MetaRequest& request, const AddUserOp& op);
    bool start(MetaRequest& request, const DeleteUserOp& op);
    bool start(MetaRequest& request, const ChangePasswordOp& op);
    bool start(MetaRequest& request, const ClearPasswordOp& op);
    bool start(MetaRequest& request, const SetUserTagsOp& op);
    bool start(MetaRequest& request, const AddVhostOp& op);
    bool start(MetaRequest& request, const DeleteVhostOp& op);
    bool start(MetaRequest& request, const SetPermissionsOp& op);
    bool start(MetaRequest& request, const ClearPermissionsOp& op);
    bool start(MetaRequest& request, const SetTopicPermissionsOp& op);
    bool start(MetaRequest& request, const ClearTopicPermissionsOp& op);
    bool start(MetaRequest& request, const SetVhostLimitsOp& op);
    bool start(MetaRequest& request, const ClearVhostLimitsOp& op);
    bool start(MetaRequest& request, const SetUserLimitsOp& op);
    bool start(MetaRequest& request, const ClearUserLimitsOp& op);
    bool start(MetaRequest& request, const PutUserOp& op);
    // Policies (metadata_policy.cc); each finishes at once.
    bool start(MetaRequest& request, const SetPolicyOp& op);
    bool start(MetaRequest& request, const ClearPolicyOp& op);
    // The checks the permission ops share, in RabbitMQ's order (the patterns, the user, the
    // vhost): each replies with the refusal and returns false when one fails.
    bool patterns_compile(const MetaRequest& request,
                          std::initializer_list<const std::string*> patterns);
    bool user_and_vhost_exist(const MetaRequest& request, const std::string& user,
                              const std::string& vhost);
    void finish(const QueueCommandDone& done);

    // Applies locally, then tells every other shard.
    void commit(CatalogUpdate update);
    // Every message Metadata sends goes through here, so the hold keeps their order. A reply
    // names the number of catalog updates every shard must have applied before it goes.
    void send(ShardId to, ShardMessage message, u64 applied_needed = 0);
    // Past the durability hold: out now, or after the replies before it once every shard has
    // applied `applied_needed` updates. Only replies wait, so broadcasts and queue commands
    // never queue behind an acknowledgement.
    void release(Outgoing outgoing);
    void send_reply(const MetaRequest& request, std::unique_ptr<MetaReply> reply);
    u64 applied_everywhere() const;
    void reply(const MetaRequest& request, amqp::ReplyCode code, std::string text);
    void reply_ok(const MetaRequest& request, std::string queue_name = {}, u32 messages = 0,
                  u32 consumers = 0);
    void send_queue_command(const QueueInfo& queue, const std::string& vhost, QueueCommandKind kind,
                            bool if_unused = false, bool if_empty = false);
    // After a binding or queue went: auto-delete exchanges left without bindings go too.
    void delete_unused_auto_delete_exchanges(const std::string& vhost);
    void remove_queue_from_catalog(const std::string& vhost, const QueueInfo& queue);

    ShardId self_;
    u32 shard_count_;
    Catalog& catalog_;
    Outbox& outbox_;
    std::deque<std::unique_ptr<MetaRequest>> waiting_;
    std::unique_ptr<MetaRequest> current_;  // the request awaiting a home shard, if any
    u64 next_continuation_ = 1;
    u64 awaited_continuation_ = 0;
    u64 next_queue_id_ = 1;
    QueueInfo creating_;  // the queue a pending declare asked its home shard to create

    DefinitionsLog* log_ = nullptr;
    JournalSink* journal_ = nullptr;
    struct Held {
        u64 sequence;  // the journal write it waits for
        Outgoing outgoing;
    };
    std::deque<Held> held_;

    u64 updates_committed_ = 0;         // catalog updates broadcast so far
    std::vector<u64> updates_applied_;  // per shard, as each last said
    std::deque<Outgoing> awaiting_replicas_;
};

// Reply texts as RabbitMQ words them.
std::string no_queue_text(const std::string& name, const std::string& vhost);
std::string no_exchange_text(const std::string& name, const std::string& vhost);
std::string queue_locked_text(const std::string& name, const std::string& vhost);

}  // namespace lepus::core
