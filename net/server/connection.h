#pragma once
// One AMQP connection: the socket, the handshake, framing, heartbeats, and the channels.
// Lives on the shard that accepted it, in a slot of that shard's table; everything here runs
// on that shard. Owns its receive and send completions, so at most one receive (multishot)
// and one send are in flight at a time.
//
// Lifecycle: protocol_header -> start_ok -> tune_ok -> open_wait -> open -> (closing) ->
// closed. A hard error or a close from either side ends in closed: the socket is shut down,
// in-flight I/O drains, and the shard frees the slot once done() says so.
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/limits.h"
#include "core/base/ring_deque.h"
#include "core/base/types.h"
#include "core/chunk.h"
#include "core/shard_message.h"
#include "net/amqp/frame.h"
#include "net/amqp/methods.h"
#include "net/io/ring.h"
#include "net/server/out_queue.h"
#include "net/server/shard_context.h"

namespace lepus::server {

class Channel;

class Connection {
public:
    enum class State : u8 { protocol_header, start_ok, tune_ok, open_wait, open, closing, closed };

    Connection(ShardContext& context, int fd, u32 slot, u32 generation,
               const sockaddr_storage& peer);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void start();
    // Runs timers: handshake deadline, heartbeats, close handshake deadline.
    void tick();
    // Sends what is queued, if no send is in flight. The shard calls it once per turn.
    void flush();
    // Broker shutdown: connection.close 320 CONNECTION_FORCED.
    void force_close(const std::string& reason);
    // A message from a shard for one of this connection's channels.
    void on_message(core::ShardMessage message);
    // True once the socket is closed and no I/O is in flight: the slot may be freed.
    bool done() const;
    void terminate(const char* reason);

    // For channels.
    ShardContext& context() { return context_; }
    core::ConnectionKey key() const { return key_; }
    OutQueue& out() { return out_; }
    void request_flush();
    u32 frame_max() const { return frame_max_; }
    const std::string& vhost() const { return vhost_; }
    // The vhost this connection opened; catalog entries never move, and vhosts are never
    // removed while the broker runs.
    const core::VHost& vhost_entry() const { return *vhost_entry_; }
    const std::string& user() const { return user_; }
    bool consumer_cancel_notify() const { return consumer_cancel_notify_; }
    u64 next_consumer_id() { return ++consumer_ids_; }
    // connection.close with `code`, whatever its class: the whole connection ends. Channels
    // pass soft codes to Channel::fail instead; the handshake has no channel, so a refused
    // login closes the connection with soft access_refused, as RabbitMQ does.
    void connection_error(amqp::ReplyCode code, const std::string& text, u16 class_id,
                          u16 method_id);
    void note_exclusive_queue() { has_exclusive_queues_ = true; }
    void note_credit_owed() { credit_owed_ = true; }
    // A channel handed a message to the broker in this batch (for back-pressure).
    void note_published() { published_ = true; }
    // ... and the message reached a queue under pressure: reading pauses after this batch
    // until the queue's pressure ends.
    void note_pressured(QueueId queue) { pressured_queue_ = queue; }
    // Paused, and neither the shard's throttle, the memory alarm, the queue it waits for nor
    // its unread output holds it any more (a full inbox only delays reading, see
    // resume_reading).
    bool may_resume() const;
    // Tells a client that supports it that its connection is blocked by the memory alarm
    // (connection.blocked); resume_reading tells it when that ends.
    void send_blocked();
    // Ends a pause for back-pressure: handles what was received again, and reads again
    // unless its inbox is still full.
    void resume_reading();
    // Handles up to `budget` (bytes, plus routing work) of what has been received, whole
    // frames only, at least one; returns what it spent. The shard calls it in turn for each
    // connection with input waiting (InputTurns).
    u64 serve_input(u64 budget);
    // Received bytes wait and nothing holds them back: the connection wants another turn.
    bool wants_input_turn() const;
    const std::string& peer_name() const { return peer_name_; }

    State state() const { return state_; }

private:
    static void on_recv(io::Completion& completion, i32 result, u32 flags);
    static void on_send(io::Completion& completion, i32 result, u32 flags);
    void arm_recv();
    // Stops reading the socket (cancels the multishot receive).
    void stop_reading();
    // Reads the socket again, unless a hold or a full inbox still stops it.
    void restart_reading();
    // Holds the connection for back-pressure (held_for_publishing_ or send_backlogged_ says
    // which): reads and handles nothing more, and waits on the shard's paused list.
    void pause_reading();
    // Bytes queued for the socket, sent or not: what this connection's output holds in memory.
    usize send_backlog() const { return out_.size() + sending_.size(); }
    // After reading: pauses reading while the peer leaves too much of our output unread.
    void note_send_backlog();
    // After a send completed: reading resumes once the backlog is below the low mark.
    void ease_send_backlog();
    // Off the shard's list of paused connections (Shard::resume_paused walks it).
    void leave_paused_list();
    bool send_stuck() const;
    // A receive completed: its bytes wait in the inbox for the connection's turn.
    void receive(ChunkRef chunk, u32 size);
    // The peer closed its side and everything it sent before has been handled.
    void end_after_peer_closed();
    // Asks the shard for a turn, unless one is pending already.
    void enlist_for_input();
    // Something other than the inbox's size keeps its bytes from being handled now.
    bool input_held() const;
    // Handles the bytes at `data` (from `chunk`) until they are used up or `budget` is spent;
    // returns the bytes used. Frames split between receives are reassembled in carry_.
    usize handle_received(const char* data, usize size, const ChunkRef& chunk, u64 budget,
                          u64& spent);
    // After handling input: confirms, the holds that publishing met, the send backlog.
    void after_input();
    // Some channel consumes with acks, or has deliveries the client has yet to ack.
    bool awaits_acks() const;
    // Returns bytes consumed from data; stops at a partial frame, when closed, or before a
    // frame once `budget` is spent (spent counts bytes and the routing work they caused).
    usize parse_frames(const char* data, usize size, const ChunkRef& chunk, u64 budget, u64& spent);
    bool take_protocol_header(const char*& data, usize& size);
    void carry_bytes(const char*& data, usize& size);
    void drop_carry();
    // Makes room for `bytes` more of incomplete frames on this shard: closes the connections
    // with the oldest ones (this one too, if it is among them) until they fit.
    void make_room_for_incomplete_frame(u64 bytes);
    void evict_incomplete_frame();
    void handle_frame(const amqp::Frame& frame, const ChunkRef& chunk);
    void handle_connection_method(const amqp::Frame& frame);
    void handle_start_ok(const amqp::ConnectionStartOk& m);
    void handle_tune_ok(const amqp::ConnectionTuneOk& m);
    void handle_open(const amqp::ConnectionOpen& m);
    void send_start();
    bool authenticate(std::string_view mechanism, std::string_view response);
    void frame_error(amqp::ReplyCode code, const std::string& text);
    // A broken handshake: logs `text`, reads no more and drops the socket after
    // limits::handshake_error_close_delay_ms, with no connection.close (RabbitMQ's way).
    void handshake_failed(const std::string& text);
    const char* handshake_state_name() const;
    void release_channels();
    void send_credits();
    Channel* channel(u16 number, u32 generation);

    ShardContext& context_;
    int fd_;
    core::ConnectionKey key_;
    sockaddr_storage peer_;
    std::string peer_name_;
    bool peer_is_loopback_ = false;
    State state_ = State::protocol_header;

    io::Completion recv_completion_;
    io::Completion send_completion_;
    ChunkRef carry_;              // a frame that arrived in pieces, reassembled
    u32 carry_size_ = 0;          // bytes in carry_
    u32 carry_needed_ = 0;        // the frame's whole size, once its header is in (0 before)
    u64 carry_started_ms_ = 0;    // when its first bytes arrived
    std::string header_bytes_;    // the protocol header while it arrives
    bool recv_paused_ = false;    // the socket is not being read
    bool paused_listed_ = false;  // on the shard's paused list: held until the hold lifts
    // Received and not yet handled, oldest first; `offset` is where handling stopped.
    struct Received {
        ChunkRef chunk;
        u32 offset = 0;
        u32 size = 0;
    };
    RingDeque<Received> inbox_;
    u64 inbox_bytes_ = 0;          // the capacity of the buffers in inbox_: the memory it holds
    bool input_enlisted_ = false;  // in the shard's InputTurns
    bool peer_gone_ = false;       // the peer closed the socket; the inbox is its last word
    // The inbox holds more than limits::connection_inbox_high: reading is paused until it
    // holds less than the low mark.
    bool inbox_full_ = false;
    bool published_ = false;
    std::optional<QueueId> pressured_queue_;   // met by this batch's publishes
    std::optional<QueueId> paused_for_;        // the queue a pause waits for, if any
    bool connection_blocked_capable_ = false;  // client capability "connection.blocked"
    // More than limits::connection_send_backlog_high bytes wait to be sent: reading is paused
    // until they fall below the low mark (see note_send_backlog).
    bool send_backlogged_ = false;
    // Paused because its publishes met the throttle, the memory alarm or a pressured queue.
    bool held_for_publishing_ = false;
    u64 send_progress_ms_ = 0;   // the last submission or completion of a send that moved bytes
    bool blocked_sent_ = false;  // connection.blocked sent, unblocked not yet

    OutQueue out_;
    OutQueue sending_;
    bool flush_requested_ = false;
    bool confirms_due_ = false;
    // The channel of the last frame: most frames on a connection are for the same channel.
    // Cleared whenever a channel is erased.
    Channel* channel_cache_ = nullptr;  // Persisted arrived: channels may have confirms to send
    // Sized on demand: an idle connection holds none. The kernel reads them at submission.
    std::vector<iovec> iov_;
    msghdr message_header_{};
    bool close_after_send_ = false;
    bool silent_close_ = false;  // handshake_failed: the socket closes with no close frame

    u32 frame_max_ = limits::frame_size_max;
    u16 channel_max_ = limits::channel_count_max;
    u32 heartbeat_s_ = 0;
    u64 last_received_ms_ = 0;
    u64 last_sent_ms_ = 0;
    u64 opened_ms_ = 0;
    u64 closing_since_ms_ = 0;
    std::string vhost_;
    const core::VHost* vhost_entry_ = nullptr;
    std::string user_;
    std::string client_name_;
    bool consumer_cancel_notify_ = false;
    bool has_exclusive_queues_ = false;
    bool credit_owed_ = false;

    std::unordered_map<u16, std::unique_ptr<Channel>> channels_;
    u32 channel_generations_ = 0;
    u64 consumer_ids_ = 0;
};

}  // namespace lepus::server
