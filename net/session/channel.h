#pragma once
// One AMQP channel of a connection: the methods of the exchange, queue, basic, confirm and tx
// classes, its consumers, and the wire around the units that keep its state: the publish under
// assembly (publish_assembly.h), delivery tags and acks (unacked.h), publisher confirms
// (confirms.h), the transaction (transaction.h) and the prefetch limits with the deliveries
// they hold back (prefetch_window.h). Lives inside its Session on the connection's shard, and
// calls nothing of it: it reads the session's facts and writes signals for it (channel_link.h).
//
// Ordering: AMQP processes a channel's methods in order. A method whose answer comes from
// another shard (declares, binds, consume, get) makes the channel wait; frames that arrive
// meanwhile are parked (by reference into their chunks) and replayed when the answer comes.
//
// Soft errors close the channel (channel.close with the code), hard ones the connection.
// Closing a channel cancels its consumers and requeues its unacknowledged messages.
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "core/access/permission_table.h"
#include "core/access/refusal.h"
#include "core/base/types.h"
#include "core/chunk.h"
#include "core/message.h"
#include "core/message_stats.h"
#include "core/shard_message.h"
#include "net/amqp/frame.h"
#include "net/amqp/methods.h"
#include "net/session/channel_link.h"
#include "net/session/confirms.h"
#include "net/session/prefetch_window.h"
#include "net/session/publish_assembly.h"
#include "net/session/session_view.h"
#include "net/session/transaction.h"
#include "net/session/unacked.h"

namespace lepus::session {

class Channel {
public:
    enum class State : u8 { open, closing };

    Channel(ChannelLink link, u16 number, u32 generation);
    ~Channel();
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

    u16 number() const { return number_; }
    u32 generation() const { return generation_; }
    State state() const { return state_; }
    // Open and not released: replies, deliveries and confirms from other shards may come in.
    // Anything for a channel that does not take messages is bounced instead.
    bool takes_messages() const { return state_ == State::open && !released_; }
    core::ChannelKey key() const;

    void handle_frame(const amqp::Frame& frame, const ChunkRef& chunk);
    // Client sent channel.close-ok to our channel.close; false if we were not closing.
    void on_message(core::ShardMessage& message);
    // Sends basic.ack for the publishes confirmed since the last call.
    void flush_confirms();
    // Returns credit for the deliveries written to the socket.
    void send_credits();
    // Cancels consumers and requeues what the client had not acknowledged. Idempotent.
    void release();
    // The close handshake is over; the connection forgets the channel.
    bool finished() const { return finished_; }
    // For the operator (list_channels).
    ChannelView view() const;
    // message_stats: what this channel published, confirmed, returned, dropped, delivered,
    // got and acked.
    core::MessageStats stats() const;
    // Deliveries wait for the client's ack on this channel, or will: it has a consumer that
    // acks (between two batches of deliveries it may have acked them all).
    bool awaits_acks() const {
        if (unacked_.live() > 0) return true;
        for (const Consumer& c : consumers_) {
            if (!c.no_ack) return true;
        }
        return false;
    }

private:
    struct Parked {
        u8 type;
        std::string_view payload;
        ChunkRef chunk;
    };
    struct Consumer {
        u64 id;
        std::string tag;
        QueueId queue;
        ShardId home;
        bool no_ack;
        bool active;  // consume-ok was sent
        u32 credit_owed;
        u64 credit_bytes_owed;
    };
    enum class Waiting : u8 { none, meta, consume, get, tx_commit };
    enum class PendingOk : u8 {
        exchange_declare,
        exchange_delete,
        exchange_bind,
        exchange_unbind,
        queue_declare,
        queue_bind,
        queue_unbind,
        queue_purge,
        queue_delete
    };

    void process_frame(u8 type, std::string_view payload, const ChunkRef& chunk);
    void handle_method(const amqp::Method& method, const ChunkRef& chunk);
    void handle_header(std::string_view payload, const ChunkRef& chunk);
    void handle_body(std::string_view payload, const ChunkRef& chunk);
    void unpark();

    // Methods, one per file section in channel_methods.cc.
    void on_method(const amqp::ChannelFlow& m);
    void on_method(const amqp::ChannelClose& m);
    void on_method(const amqp::ChannelCloseOk& m);
    void on_method(const amqp::AccessRequest& m);
    void on_method(const amqp::ExchangeDeclare& m);
    void on_method(const amqp::ExchangeDelete& m);
    void on_method(const amqp::ExchangeBind& m);
    void on_method(const amqp::ExchangeUnbind& m);
    void on_method(const amqp::QueueDeclare& m);
    void on_method(const amqp::QueueBind& m);
    void on_method(const amqp::QueueUnbind& m);
    void on_method(const amqp::QueuePurge& m);
    void on_method(const amqp::QueueDelete& m);
    void on_method(const amqp::BasicQos& m);
    void on_method(const amqp::BasicConsume& m);
    void on_method(const amqp::BasicCancel& m);
    void on_method(const amqp::BasicPublish& m);
    void on_method(const amqp::BasicGet& m);
    void on_method(const amqp::BasicAck& m);
    void on_method(const amqp::BasicReject& m);
    void on_method(const amqp::BasicNack& m);
    void on_method(const amqp::BasicRecover& m);
    void on_method(const amqp::BasicRecoverAsync& m);
    void on_method(const amqp::ConfirmSelect& m);
    void on_method(const amqp::TxSelect& m);
    void on_method(const amqp::TxCommit& m);
    void on_method(const amqp::TxRollback& m);

    void on_reply(core::MetaReply& reply);
    void on_reply(core::ConsumeReply& reply);
    void on_reply(core::GetReply& reply);
    void on_deliver(core::Deliver& deliver);
    void on_consumer_cancelled(const core::ConsumerCancelled& cancelled);
    void on_persisted(const core::Persisted& persisted);
    void consume_direct_reply(const amqp::BasicConsume& m, std::string tag);
    // The consumer's x-priority argument (0 without one); fails the channel with
    // precondition_failed and returns false when it is not an integer, as RabbitMQ does.
    bool consumer_priority(std::string_view arguments, const std::string& queue, i32& priority);
    // Sends a reply published to amq.rabbitmq.reply-to.* to the channel its name designates,
    // which delivers it only if the name is live; a malformed name drops it here. Either way
    // the publish counts as unrouted, as in RabbitMQ: with mandatory it is returned NO_ROUTE.
    void route_direct_reply(std::string_view routing_key, const MessageRef& message);
    // queue.declare of amq.rabbitmq.reply-to or a name under it, answered as RabbitMQ does.
    void declare_direct_reply(const amqp::QueueDeclare& m);
    void on_direct_reply(core::DirectReply& reply);

    // Access checks (channel_access.cc), as RabbitMQ's channel makes them; each returns false
    // after failing the channel with the refusal.
    const core::Catalog& catalog() const;
    bool refuse_if(const std::optional<access::Refusal>& refused, u16 class_id, u16 method_id);
    bool permitted(access::ResourceKind kind, std::string_view name, access::Permission permission,
                   u16 class_id, u16 method_id);
    bool exchange_declare_permitted(const amqp::ExchangeDeclare& m);
    bool exchange_delete_permitted(std::string_view exchange);
    bool queue_declare_permitted(const core::QueueDeclareOp& op);
    bool binding_permitted(access::ResourceKind destination_kind, std::string_view destination,
                           std::string_view source, std::string_view routing_key, u16 class_id,
                           u16 method_id);
    bool queue_read_permitted(std::string_view queue, u16 class_id, u16 method_id);
    // `found`: the exchange, when it exists and the publish may go to it.
    bool publish_permitted(const PublishAssembly::Complete& publish, const core::Exchange*& found);

    void send_meta(core::MetaOp op, PendingOk ok, bool nowait, u16 class_id, u16 method_id);
    // Waits for the MetaReply that will answer the current method, parking what follows.
    void await_meta_reply(PendingOk ok, bool nowait, u16 class_id, u16 method_id);
    void publish_complete();
    // `found`: the exchange when the caller has looked it up already.
    void route_publish(const std::string& exchange, bool mandatory, std::string_view headers,
                       const MessageRef& message, const core::Exchange* found = nullptr);
    // Validates delivery tags when the method arrives, as RabbitMQ does in a transaction too,
    // then settles them, or in a transaction leaves them to tx.commit; false after a channel
    // error, which blames basic.`method_id`.
    bool settle(u64 tag, bool multiple, core::SettleKind kind, u16 method_id);
    // Drops the settled entries at the front; held deliveries may fit under the limit now.
    void after_settling();
    void settle_entry(UnackedLedger::Entry& entry, core::SettleKind kind);
    // Requeues every unacknowledged delivery except those an open transaction settles.
    void requeue_all_unacked();
    void deliver_now(Consumer& consumer, core::Deliver& deliver);
    void write_delivery(Consumer& consumer, u64 tag, const core::Deliver& deliver);
    void write_content(const MessageRef& message);
    // Delivers the held deliveries that fit under the channel's prefetch limit now.
    void release_held();
    Consumer* find_consumer(u64 id);
    Consumer* find_consumer_by_tag(std::string_view tag);
    // The queue a method names, resolving "" to the channel's last declared queue; sends the
    // error and returns false when it cannot.
    bool resolve_queue_name(std::string_view requested, std::string& out, u16 class_id,
                            u16 method_id);
    const core::QueueInfo* lookup_queue(const std::string& name, u16 class_id, u16 method_id);

    // Ends the channel's work after an error, as AMQP classes the code: a soft error closes the
    // channel, a hard one the whole connection.
    void fail(amqp::ReplyCode code, const std::string& text, u16 class_id, u16 method_id);
    // channel.close with `code`: releases the channel and waits for the client's close-ok.
    void close_channel(amqp::ReplyCode code, const std::string& text, u16 class_id, u16 method_id);
    template <typename M>
    void send_method(const M& method) {
        write_method_frame(out_writer(), number_, method);
        request_flush();
    }
    wire::WireWriter& out_writer();
    void request_flush();

    ChannelLink link_;
    u16 number_;
    u32 generation_;
    State state_ = State::open;
    bool released_ = false;
    bool finished_ = false;

    PublishAssembly publish_;

    Waiting waiting_ = Waiting::none;
    PendingOk pending_ok_ = PendingOk::exchange_declare;
    bool pending_nowait_ = false;
    u16 pending_class_ = 0;
    u16 pending_method_ = 0;
    std::string pending_consumer_tag_;
    std::deque<Parked> parked_;
    u64 parked_bytes_ = 0;  // their payloads, bounded by limits::channel_parked_bytes_max

    std::vector<Consumer> consumers_;
    UnackedLedger unacked_;
    PrefetchWindow prefetch_;

    Confirms confirms_;
    Transaction transaction_;

    // The last publish's access decision, kept while the catalog's access generation stays:
    // the exchange it was made for (0 generation: none yet), whether a topic permission applies
    // there, and whether the user may publish with another's user_id.
    struct PublishDecision {
        u64 generation = 0;
        const core::Exchange* exchange = nullptr;
        bool topic = false;
        bool impersonator = false;
    };
    PublishDecision publish_decision_;
    // The last queue read from with basic.get or basic.consume, kept the same way.
    struct ReadDecision {
        u64 generation = 0;
        std::string queue;
    };
    ReadDecision read_decision_;

    std::string last_queue_;
    bool has_reply_consumer_ = false;  // consuming from amq.rabbitmq.reply-to
    core::ReplySecret reply_secret_;   // drawn afresh by each reply consumer
    // Last, off the lines of the fields above: all but confirm, which confirms_ counts.
    core::MessageStats stats_;
};

// The consumer id a channel's direct reply-to consumer always has: replies are addressed to the
// channel, and this finds the consumer without the sender knowing its tag.
inline constexpr u64 direct_reply_consumer_id = UINT64_MAX;

}  // namespace lepus::session
