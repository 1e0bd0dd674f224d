#pragma once
// Everything one shard says to another. Shards share no mutable state: a queue lives on its
// home shard, a connection and its channels on the shard that accepted it, and the catalog
// (vhosts, exchanges, bindings, the queue directory) is replicated to every shard by
// broadcasts from the metadata shard (shard 0), the only writer.
//
// The conversations:
// - Metadata: channel shard -> shard 0 (MetaRequest); shard 0 -> queue home (QueueCommand)
//   -> shard 0 (QueueCommandDone); shard 0 -> all shards (CatalogUpdate) -> shard 0
//   (CatalogApplied), then shard 0 -> channel shard (MetaReply). Every replica holds a change
//   before anyone hears that it is done.
// - Publish: the receiving shard routes on its replica and sends Enqueue to each queue's home.
// - Consume: channel shard -> home (ConsumeRequest), home -> channel shard (ConsumeReply,
//   Deliver, ConsumerCancelled); the channel answers with Settle and Credit.
// - Direct reply-to: publishing channel -> the channel a reply name designates (DirectReply);
//   for a queue.declare of the name, that channel answers the declaring one with a MetaReply.
// Rarely sent messages are boxed so a ring slot stays small for the data-path ones.
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/access/access_limits.h"
#include "core/base/types.h"
#include "core/message.h"
#include "core/policy.h"
#include "core/routing/destination.h"
#include "core/routing/exchange_type.h"
#include "net/amqp/methods.h"

namespace lepus::core {

// A connection anywhere: its shard, its slot there and the slot's generation, so a message
// for a connection that closed never reaches the next one in the same slot.
struct ConnectionKey {
    ShardId shard;
    u32 slot = 0;
    u32 generation = 0;
    friend bool operator==(const ConnectionKey&, const ConnectionKey&) = default;
};

// A channel: its number and the connection-wide count of channel opens when it was opened.
struct ChannelKey {
    ConnectionKey connection;
    u16 channel = 0;
    u32 generation = 0;
    friend bool operator==(const ChannelKey&, const ChannelKey&) = default;
};

// A consumer: its channel and a connection-unique id (the tag is the client's name for it).
struct ConsumerKey {
    ChannelKey channel;
    u64 id = 0;
    friend bool operator==(const ConsumerKey&, const ConsumerKey&) = default;
};

struct ExchangeInfo {
    std::string name;
    routing::ExchangeType type = routing::ExchangeType::direct;
    bool durable = false;
    bool auto_delete = false;
    bool internal = false;
    std::string arguments;  // field-table content
};

struct QueueInfo {
    std::string name;
    QueueId id;
    ShardId home;
    bool durable = false;
    bool exclusive = false;
    bool auto_delete = false;
    ConnectionKey owner;  // meaningful when exclusive
    std::string arguments;
};

// ---- metadata requests, handled on shard 0 ----
struct ExchangeDeclareOp {
    ExchangeInfo info;
    bool passive = false;
};
struct ExchangeDeleteOp {
    std::string name;
    bool if_unused = false;
};
struct ExchangeBindOp {  // exchange.bind / exchange.unbind
    std::string destination;
    std::string source;
    std::string routing_key;
    std::string arguments;
    bool unbind = false;
};
struct QueueDeclareOp {
    QueueInfo info;  // id and home are chosen by shard 0
    bool passive = false;
    bool server_named = false;  // the channel chose an amq.gen- name
};
struct QueueBindOp {  // queue.bind / queue.unbind
    std::string queue;
    std::string exchange;
    std::string routing_key;
    std::string arguments;
    bool unbind = false;
};
struct QueuePurgeOp {
    std::string queue;
};
struct QueueDeleteOp {
    std::string queue;
    bool if_unused = false;
    bool if_empty = false;
    bool forced = false;  // a vhost's deletion: exclusive queues of any connection go too
};
// The requester's connection closed: its exclusive queues go.
struct ConnectionClosedOp {};
// From a queue's home shard: its last consumer went and it is auto-delete.
struct QueueAutoDeleteOp {
    std::string queue;
    QueueId id;
};
// From a queue's home shard: the queue has been unused for its x-expires time.
struct QueueExpireOp {
    std::string queue;
    QueueId id;
};

// ---- access administration: rabbitmqctl's user, vhost, permission and limit commands ----
// An admin front end sends one of these to shard 0 in a MetaRequest (whose `vhost` is not
// looked at) and gets a MetaReply: reply_success, or an error code with rabbitmqctl's error
// line in `text`. Passwords travel in the clear only as far as shard 0, which hashes them
// (core/access/password_hash.h); only the hash is replicated and written to disk.
struct AddUserOp {
    std::string name;
    std::string password;
    std::vector<std::string> tags;
};
struct DeleteUserOp {
    std::string name;
};
struct ChangePasswordOp {
    std::string name;
    std::string password;
};
struct ClearPasswordOp {
    std::string name;
};
struct SetUserTagsOp {
    std::string name;
    std::vector<std::string> tags;
};
struct AddVhostOp {
    std::string name;
};
struct DeleteVhostOp {
    std::string name;
    bool queues_gone = false;  // internal: the vhost's queues were deleted, the vhost goes now
};
struct SetPermissionsOp {
    std::string user;
    std::string vhost;
    std::string configure;
    std::string write;
    std::string read;
};
struct ClearPermissionsOp {
    std::string user;
    std::string vhost;
};
struct SetTopicPermissionsOp {
    std::string user;
    std::string vhost;
    std::string exchange;
    std::string write;
    std::string read;
};
struct ClearTopicPermissionsOp {
    std::string user;
    std::string vhost;
    std::optional<std::string> exchange;  // none: every exchange's
};
// set_vhost_limits replaces the vhost's limits with these (as RabbitMQ's runtime parameter).
struct SetVhostLimitsOp {
    std::string vhost;
    access::VhostLimits limits;
};
struct ClearVhostLimitsOp {
    std::string vhost;
};
// set_user_limits merges the given limits into the user's; clear_user_limits names one limit
// ("max-connections", "max-channels") or "all".
struct SetUserLimitsOp {
    std::string user;
    access::UserLimits limits;
};
struct ClearUserLimitsOp {
    std::string user;
    std::string limit;  // a limit's name, or "all"
};
// A definitions import: the user as given, created or replaced, its hash taken as it is
// (salt ‖ SHA-256(salt ‖ password), or empty for no password).
struct PutUserOp {
    std::string name;
    std::vector<u8> password_hash;
    std::vector<std::string> tags;
};

// set_policy / set_operator_policy: validated and normalised by shard 0 (validate_policy);
// `apply_to` is the text given. clear_policy / clear_operator_policy name one.
struct SetPolicyOp {
    std::string vhost;
    Policy policy;
    std::string apply_to = "all";
};
struct ClearPolicyOp {
    std::string vhost;
    PolicyKind kind = PolicyKind::regular;
    std::string name;
};

using MetaOp = std::variant<
    ExchangeDeclareOp, ExchangeDeleteOp, ExchangeBindOp, QueueDeclareOp, QueueBindOp, QueuePurgeOp,
    QueueDeleteOp, ConnectionClosedOp, QueueAutoDeleteOp, QueueExpireOp, AddUserOp, DeleteUserOp,
    ChangePasswordOp, ClearPasswordOp, SetUserTagsOp, AddVhostOp, DeleteVhostOp, SetPermissionsOp,
    ClearPermissionsOp, SetTopicPermissionsOp, ClearTopicPermissionsOp, SetVhostLimitsOp,
    ClearVhostLimitsOp, SetUserLimitsOp, ClearUserLimitsOp, PutUserOp, SetPolicyOp, ClearPolicyOp>;

// The ops of an admin front end, which name their own vhost (if any) instead of the request's:
// AddUserOp and every op after it.
inline constexpr usize first_admin_op = 10;
static_assert(std::is_same_v<std::variant_alternative_t<first_admin_op, MetaOp>, AddUserOp>);
inline bool is_admin_op(const MetaOp& op) { return op.index() >= first_admin_op; }

enum class ReplyWanted : u8 { no, yes };

struct MetaRequest {
    std::string vhost;
    ChannelKey requester;
    ReplyWanted reply_wanted = ReplyWanted::yes;
    MetaOp op;
};

// The answer to a MetaRequest. reply_success is success; otherwise code and text are the AMQP
// reply the channel (soft codes) or connection (hard codes) closes with.
struct MetaReply {
    ChannelKey to;
    amqp::ReplyCode code = amqp::ReplyCode::reply_success;
    std::string text;
    std::string queue_name;
    u32 message_count = 0;
    u32 consumer_count = 0;
};

// ---- catalog replication, shard 0 -> every shard ----
struct ExchangeAdded {
    std::string vhost;
    ExchangeInfo info;
};
struct ExchangeRemoved {
    std::string vhost;
    std::string name;
};
struct BindingChange {
    std::string vhost;
    std::string source;
    routing::Destination destination;
    std::string routing_key;
    std::string arguments;
    bool added = true;
};
struct QueueAdded {
    std::string vhost;
    QueueInfo info;
};
struct QueueRemoved {  // its bindings go with it on every replica
    std::string vhost;
    std::string name;
    QueueId id;
};
// Access state, replicated like the rest. Every user update carries the whole user, hash
// included, so each replica holds what shard 0 decided (the salt is drawn once, there).
struct VhostAdded {  // with the default and amq.* exchanges
    std::string vhost;
};
struct VhostRemoved {  // its exchanges, bindings, permissions and limits go with it
    std::string vhost;
};
struct UserPut {  // added, or replaced (password, tags)
    std::string user;
    std::vector<u8> password_hash;  // salt ‖ SHA-256(salt ‖ password), or empty
    std::vector<std::string> tags;
};
struct UserRemoved {  // its permissions and limits go with it
    std::string user;
};
struct PermissionsPut {
    std::string user;
    std::string vhost;
    std::string configure;
    std::string write;
    std::string read;
};
struct PermissionsRemoved {
    std::string user;
    std::string vhost;
};
struct TopicPermissionsPut {
    std::string user;
    std::string vhost;
    std::string exchange;
    std::string write;
    std::string read;
};
struct TopicPermissionsRemoved {
    std::string user;
    std::string vhost;
    std::optional<std::string> exchange;  // none: all of the user's in the vhost
};
struct VhostLimitsPut {  // all unset: cleared
    std::string vhost;
    access::VhostLimits limits;
};
struct UserLimitsPut {
    std::string user;
    access::UserLimits limits;
};
// A policy or operator policy set (added or replaced) or cleared. Each replica re-resolves the
// exchanges and queues of the vhost against it (core/policy.h).
struct PolicyPut {
    std::string vhost;
    Policy policy;
};
struct PolicyRemoved {
    std::string vhost;
    PolicyKind kind = PolicyKind::regular;
    std::string name;
};
using CatalogUpdate =
    std::variant<ExchangeAdded, ExchangeRemoved, BindingChange, QueueAdded, QueueRemoved,
                 VhostAdded, VhostRemoved, UserPut, UserRemoved, PermissionsPut, PermissionsRemoved,
                 TopicPermissionsPut, TopicPermissionsRemoved, VhostLimitsPut, UserLimitsPut,
                 PolicyPut, PolicyRemoved>;
// A shard -> shard 0: this shard's replica has applied the first `count` updates shard 0
// broadcast. Shard 0 answers a change only once every replica holds it, so a client that
// learns of a change may act on it through a connection on any shard.
struct CatalogApplied {
    ShardId shard;
    u64 count = 0;
};

// ---- queue lifecycle, shard 0 <-> a queue's home shard ----
// expire: remove, unless the queue was used since its home shard asked (x-expires).
enum class QueueCommandKind : u8 { create, stat, purge, remove, expire };
struct QueueCommand {
    QueueCommandKind kind = QueueCommandKind::stat;
    u64 continuation = 0;  // shard 0's pending operation
    std::string vhost;
    QueueInfo info;  // complete for create; name and id otherwise
    bool if_unused = false;
    bool if_empty = false;
};
struct QueueCommandDone {
    u64 continuation = 0;
    amqp::ReplyCode code = amqp::ReplyCode::reply_success;
    std::string text;
    u32 message_count = 0;
    u32 consumer_count = 0;
};

// ---- the data path ----
struct Enqueue {
    QueueId queue;
    MessageRef message;
    // Publisher confirms: when confirm_sequence is not 0, the home shard answers with exactly
    // one Persisted, once the message is on disk there (or at once when it will not be).
    u64 confirm_sequence = 0;
    ChannelKey confirm_channel;
};

// A queue's home tells every other shard when the queue becomes delivery-bound (see limits.h)
// and when it stops being so, or is deleted: connections that publish to it pause meanwhile.
struct Pressure {
    QueueId queue;
    bool on = false;
};

// Shard 0 -> every shard, itself included: the memory or the disk alarm went on or off. While
// either is on, connections that publish are blocked, as under RabbitMQ's resource alarms.
enum class Resource : u8 { memory, disk };
struct ResourceAlarm {
    Resource resource = Resource::memory;
    bool on = false;
};

// Home -> publishing channel: the publish with this confirm sequence is safe on one queue.
struct Persisted {
    ChannelKey channel;
    u64 sequence = 0;
};

struct Deliver {  // home -> consumer's shard
    ConsumerKey consumer;
    QueueId queue;
    ShardId home;
    u64 sequence = 0;  // the message's place in its queue
    MessageRef message;
    bool redelivered = false;
    bool no_ack = false;
};

enum class SettleKind : u8 {
    ack,         // done with it
    requeue,     // back to its place, redelivered
    drop,        // rejected without requeue
    undelivered  // never reached the client (its channel went): back to its place as it was
};
struct Settle {  // consumer's shard -> home
    QueueId queue;
    u64 sequence = 0;
    SettleKind kind = SettleKind::ack;
    // For an undelivered no-ack delivery, which the queue no longer tracks: the message itself.
    MessageRef message;
    bool redelivered = false;
};

// The consumer's shard has written `count` deliveries of this consumer, `bytes` of them (see
// Message::transit_size), to its socket.
struct Credit {
    QueueId queue;
    ConsumerKey consumer;
    u32 count = 0;
    u64 bytes = 0;
};

struct ConsumeRequest {
    ConsumerKey consumer;
    QueueId queue;
    std::string tag;
    bool no_ack = false;
    bool exclusive = false;
    u16 prefetch = 0;  // 0: unlimited
    i32 priority = 0;  // x-priority: higher-priority consumers are served first
};
struct ConsumeReply {
    ConsumerKey consumer;
    QueueId queue;
    ShardId home;
    amqp::ReplyCode code = amqp::ReplyCode::reply_success;
    std::string text;
};
struct CancelRequest {
    QueueId queue;
    ConsumerKey consumer;
};
struct ConsumerCancelled {  // the queue went away under a consumer
    ConsumerKey consumer;
};

// 128 random bits drawn from the kernel each time a channel starts consuming from
// amq.rabbitmq.reply-to. Reply names carry them, and a channel acts on a name only while they
// are its current reply consumer's: a name cannot be guessed, and an old one stays dead.
struct ReplySecret {
    u64 high = 0;
    u64 low = 0;
    friend bool operator==(const ReplySecret&, const ReplySecret&) = default;
};

// To the channel a direct reply-to name designates, which acts only if `secret` is its current
// reply consumer's. With a message: deliver it to the reply consumer (or drop it, as RabbitMQ
// does). Without: a queue.declare of the name, answered to `requester` with a MetaReply, ok if
// the name is live and 404 otherwise. Boxed: replies are rare next to deliveries.
struct DirectReply {
    ChannelKey channel;
    ReplySecret secret;
    MessageRef message;    // the reply; empty for a declare
    ChannelKey requester;  // a declare's channel, waiting for the answer
    std::string name;      // a declare's queue name, for the answer
    std::string vhost;     // the declaring channel's vhost, for the 404 text
};

struct GetRequest {
    ChannelKey channel;
    QueueId queue;
    bool no_ack = false;
};
struct GetReply {
    ChannelKey channel;
    amqp::ReplyCode code = amqp::ReplyCode::reply_success;  // not_found when the queue went away
    std::string text;
    QueueId queue;
    ShardId home;
    MessageRef message;  // empty: get-empty
    u64 sequence = 0;
    bool redelivered = false;
    u32 message_count = 0;  // ready messages left
};

// ---- connection and channel limits, counted across shards on shard 0 ----
// max-connections (per vhost and per user) and max-channels (per user) count what is open on
// every shard, so shard 0 keeps the counts: each shard tells it of every connection and
// channel that opens or closes. Where a limit applies, the open waits for shard 0's admission
// instead, which checks and counts in one step, so two shards never both take the last place.
struct AccessCountChange {
    std::string vhost;
    std::string user;
    i32 connections = 0;  // +1 opened, -1 closed
    i64 channels = 0;     // opened minus closed
};
struct AdmissionRequest {
    ChannelKey requester;  // the connection (channel 0) or the channel being opened
    std::string vhost;
    std::string user;
};
struct AdmissionReply {
    ChannelKey to;
    std::string vhost;  // the request's, so that a reply nobody takes can be uncounted
    std::string user;
    // None: admitted and counted. Otherwise RabbitMQ's refusal (530 NOT_ALLOWED).
    std::optional<access::Refusal> refusal;
};

// ---- the administration socket (net/admin), shard 0 <-> every shard ----
// The endpoint lives on shard 0. Its MetaRequests name it as their requester with this slot
// (and the request's number as the generation), so their MetaReplies come back to it.
inline constexpr u32 admin_connection_slot = UINT32_MAX;
inline bool is_admin_requester(const ChannelKey& key) {
    return key.connection.slot == admin_connection_slot;
}
// What the endpoint asks of every shard: rows for the questions whose answers live where the
// queues and connections are, and the closing of connections.
// stats: each vhost's message_stats (its channels', live and gone) and each exchange's
// publish_in and publish_out, as counted on the shard.
enum class AdminQueryKind : u8 {
    queues,
    consumers,
    connections,
    channels,
    close_connections,
    stats
};
struct AdminQuery {
    u64 id = 0;
    AdminQueryKind kind = AdminQueryKind::queues;
    std::optional<std::string> vhost;  // none: every vhost
    // close_connections: the connection's name (none: every connection in `vhost`), the reason
    // given to the client, and at most how many to close on this shard (0: no limit).
    std::optional<std::string> name;
    std::string reason;
    u32 limit = 0;
};
struct AdminAnswer {
    u64 id = 0;
    ShardId shard;
    std::string rows;  // a JSON array, as text: the endpoint merges the shards' arrays
    u32 count = 0;     // close_connections: how many were closed
};

using ShardMessage = std::variant<
    Enqueue, Deliver, Settle, Credit, CancelRequest, ConsumerCancelled, Persisted, Pressure,
    ResourceAlarm, CatalogApplied, std::unique_ptr<ConsumeRequest>, std::unique_ptr<ConsumeReply>,
    std::unique_ptr<GetRequest>, std::unique_ptr<GetReply>, std::unique_ptr<MetaRequest>,
    std::unique_ptr<MetaReply>, std::unique_ptr<CatalogUpdate>, std::unique_ptr<QueueCommand>,
    std::unique_ptr<QueueCommandDone>, std::unique_ptr<DirectReply>, std::unique_ptr<AdminQuery>,
    std::unique_ptr<AdminAnswer>, std::unique_ptr<AccessCountChange>,
    std::unique_ptr<AdmissionRequest>, std::unique_ptr<AdmissionReply>>;

// The administration messages, which the shard itself handles (its connections and its
// endpoint are not the Broker's).
template <typename T>
inline constexpr bool is_admin_message = std::is_same_v<T, std::unique_ptr<AdminQuery>> ||
                                         std::is_same_v<T, std::unique_ptr<AdminAnswer>>;

// The messages addressed to a channel, which its connection's shard hands to the connection;
// the Broker handles every other kind.
template <typename T>
inline constexpr bool is_channel_message =
    std::is_same_v<T, Deliver> || std::is_same_v<T, ConsumerCancelled> ||
    std::is_same_v<T, Persisted> || std::is_same_v<T, std::unique_ptr<ConsumeReply>> ||
    std::is_same_v<T, std::unique_ptr<GetReply>> || std::is_same_v<T, std::unique_ptr<MetaReply>> ||
    std::is_same_v<T, std::unique_ptr<DirectReply>> ||
    std::is_same_v<T, std::unique_ptr<AdmissionReply>>;

// The channel a channel message is addressed to; nullptr for the messages the Broker handles.
inline const ChannelKey* channel_of(const ShardMessage& message) {
    return std::visit(
        [](const auto& m) -> const ChannelKey* {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, Deliver> || std::is_same_v<T, ConsumerCancelled>) {
                return &m.consumer.channel;
            } else if constexpr (std::is_same_v<T, Persisted>) {
                return &m.channel;
            } else if constexpr (std::is_same_v<T, std::unique_ptr<ConsumeReply>>) {
                return &m->consumer.channel;
            } else if constexpr (std::is_same_v<T, std::unique_ptr<GetReply>> ||
                                 std::is_same_v<T, std::unique_ptr<DirectReply>>) {
                return &m->channel;
            } else if constexpr (std::is_same_v<T, std::unique_ptr<MetaReply>> ||
                                 std::is_same_v<T, std::unique_ptr<AdmissionReply>>) {
                return &m->to;
            } else {
                static_assert(!is_channel_message<T>, "every channel message names its channel");
                return nullptr;
            }
        },
        message);
}

// Where a shard's outgoing messages go. The server implements it with rings; tests with
// plain vectors. A message to the sending shard itself is delivered too, after the current
// work, never re-entrantly.
class Outbox {
public:
    virtual ~Outbox() = default;
    virtual void send(ShardId to, ShardMessage message) = 0;
};

}  // namespace lepus::core
