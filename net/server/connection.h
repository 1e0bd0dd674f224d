#pragma once
// One client connection as the shard holds it: the socket, its receive and send completions,
// the inbox of received bytes, back-pressure, and the AMQP session (net/session) it hosts.
// Lives on the shard that accepted it, in a slot of that shard's table; everything here runs
// on that shard. At most one receive (multishot) and one send are in flight at a time.
//
// The session is the protocol; this is the byte stream under it. Received bytes wait in the
// inbox until the shard gives the connection a turn (InputTurns), then go to the session;
// what the session writes goes out in one sendmsg per turn. Once the session ends, or the
// socket fails, the socket is shut down, in-flight I/O drains, and the shard frees the slot
// once done() says so.
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/limits.h"
#include "core/base/ring_deque.h"
#include "core/base/types.h"
#include "core/chunk.h"
#include "core/shard_message.h"
#include "net/io/ring.h"
#include "net/server/shard_context.h"
#include "net/session/host.h"
#include "net/session/out_queue.h"
#include "net/session/session.h"

namespace lepus::tls {
class Context;
}

namespace lepus::server {

struct TlsState;

class Connection final : public session::SessionHost {
public:
    using State = session::Session::State;

    // `tls`: the shard's TLS context for a connection accepted on a TLS listener, else null.
    Connection(ShardContext& context, int fd, u32 slot, u32 generation,
               const sockaddr_storage& peer, const tls::Context* tls = nullptr);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void start();
    // Runs timers: the receive's health, a stuck send, and the session's.
    void tick();
    // Sends what is queued, if no send is in flight. The shard calls it once per turn.
    void flush();
    // Broker shutdown: connection.close 320 CONNECTION_FORCED.
    void force_close(const std::string& reason) { session_.force_close(reason); }
    // Its vhost or user was deleted: 320 CONNECTION_FORCED. False when the closure is not for it.
    bool close_if_affected(const core::ConnectionClosure& closure) {
        return session_.close_if_affected(closure);
    }
    // A message from a shard for `channel`, one of this connection's (as channel_of named it).
    void on_message(core::ShardMessage message, const core::ChannelKey& channel) {
        session_.on_message(std::move(message), channel);
    }
    // For the operator (list_connections): the session's view, the socket, TLS.
    session::SessionView view() const { return session_.view(); }
    int fd() const { return fd_; }
    bool tls() const { return tls_ != nullptr; }
    // The TLS version and cipher ("TLSv1.3", "TLS_AES_256_GCM_SHA384"); empty on plain TCP or
    // before the handshake (connection_tls.cc).
    std::string tls_protocol() const;
    std::string tls_cipher() const;
    u64 received_bytes() const { return received_bytes_; }
    u64 sent_bytes() const { return sent_bytes_; }
    // rabbitmqctl close_connection: 320 CONNECTION_FORCED with the explanation.
    bool close_by_operator(const std::string& explanation) {
        return session_.close_by_operator(explanation);
    }
    // True once the socket is closed and no I/O is in flight: the slot may be freed.
    bool done() const;
    // Ends the session and shuts the socket down.
    void terminate(const char* reason);
    const core::ConnectionKey& key() const { return session_.key(); }
    const std::string& peer_name() const { return session_.peer_name(); }
    State state() const { return session_.state(); }

    // Paused, and neither the shard's throttle, the memory alarm, the queue it waits for nor
    // its unread output holds it any more (a full inbox only delays reading, see
    // resume_reading).
    bool may_resume() const;
    // Tells a client that supports it that its connection is blocked by the memory alarm.
    void send_blocked() { session_.send_blocked(context_.broker.alarm_reason()); }
    // Ends a pause for back-pressure: handles what was received again, and reads again
    // unless its inbox is still full.
    void resume_reading();
    // Handles up to `budget` (bytes, plus routing work) of what has been received, whole
    // frames only, at least one; returns what it spent. The shard calls it in turn for each
    // connection with input waiting (InputTurns).
    u64 serve_input(u64 budget);
    // Received bytes wait and nothing holds them back: the connection wants another turn.
    bool wants_input_turn() const;

    // session::SessionHost
    session::OutQueue& out() override { return out_; }
    void request_flush() override;
    void stop_reading() override;
    void resume_input() override;
    void hang_up(const char* reason) override;

private:
    static void on_recv(io::Completion& completion, i32 result, u32 flags);
    static void on_send(io::Completion& completion, i32 result, u32 flags);
    void arm_recv();
    // Reads the socket again, unless a hold or a full inbox still stops it.
    void restart_reading();
    // Holds the connection for back-pressure (held_for_publishing_ or send_backlogged_ says
    // which): reads and handles nothing more, and waits on the shard's paused list.
    void pause_reading();
    // Bytes queued for the socket, sent or not: what this connection's output holds in memory.
    usize send_backlog() const {
        return out_.size() + sending_.size() + (tls_ ? tls_backlog() : 0);
    }
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
    // Brings this connection's part of ShardContext::inbox_bytes up to date after its inbox or
    // its hold changed.
    void update_shard_inbox_share();
    // After handling input: the holds that publishing met, the send backlog.
    void after_input();
    // The socket's part of the end: the inbox is dropped, the socket shut down.
    void close_socket();

    // TLS (connection_tls.cc). A plain connection never calls these: its receive and send
    // test tls_ once and go their own way.
    // Ciphertext arrived: decrypted into a chunk for the inbox, handshake answers queued.
    void receive_tls(const char* data, u32 size);
    // Encrypts what the session wrote (a bounded batch) and sends the ciphertext.
    void flush_tls();
    // Plaintext for the stream, gathered into records; false once the stream failed.
    bool encrypt(const char* data, usize size);
    bool encrypt_staged();
    void write_failed();
    static void on_send_tls(io::Completion& completion, i32 result, u32 flags);
    // A TLS error: one log line, the alert OpenSSL wrote goes out, then the socket closes.
    void fail_tls();
    // Ciphertext waiting to be sent, or being sent.
    usize tls_backlog() const;

    ShardContext& context_;
    int fd_;
    bool closed_ = false;  // the socket is shut down; in-flight I/O drains

    io::Completion recv_completion_;
    io::Completion send_completion_;
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
    u64 shard_inbox_share_ = 0;    // what inbox_bytes_ adds to ShardContext::inbox_bytes
    bool input_enlisted_ = false;  // in the shard's InputTurns
    bool peer_gone_ = false;       // the peer closed the socket; the inbox is its last word
    // The inbox holds more than limits::connection_inbox_high: reading is paused until it
    // holds less than the low mark.
    bool inbox_full_ = false;
    std::optional<QueueId> paused_for_;  // the queue a pause waits for, if any
    // More than limits::connection_send_backlog_high bytes wait to be sent: reading is paused
    // until they fall below the low mark (see note_send_backlog).
    bool send_backlogged_ = false;
    // Paused because its publishes met the throttle, the memory alarm or a pressured queue.
    bool held_for_publishing_ = false;
    u64 send_progress_ms_ = 0;
    u64 received_bytes_ = 0;  // from the socket, ciphertext on TLS
    u64 sent_bytes_ =
        0;  // to the socket  // the last submission or completion of a send that moved bytes

    session::OutQueue out_;
    session::OutQueue sending_;
    bool flush_requested_ = false;
    // Sized on demand: an idle connection holds none. The kernel reads them at submission.
    std::vector<iovec> iov_;
    msghdr message_header_{};

    // TLS connections only; null on plain ones.
    std::unique_ptr<TlsState> tls_;

    // Last: it writes to out_ and is ended before the rest goes.
    session::Session session_;
};

}  // namespace lepus::server
