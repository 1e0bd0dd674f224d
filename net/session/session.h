#pragma once
// One AMQP connection as a state machine: the handshake, framing, heartbeats and the close
// handshake, and the table of its channels. Bytes come in through consume(); frames go out to
// the host's out-queue, shard messages to the outbox, and the few things only the socket can
// do (stop reading, hang up) through SessionHost. No socket, ring or shard is seen here, so a
// test drives a session with bytes alone.
//
// Lifecycle: protocol_header -> start_ok -> tune_ok -> open_wait -> open -> (closing) ->
// closed. A hard error or a close from either side ends in closed, after which the host's
// socket is shut down.
//
// Calls go one way: the host calls the session, the session its channels; channels report
// through the signals of channel_link.h, which the session reads after every call into one.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/base/limits.h"
#include "core/base/types.h"
#include "core/catalog.h"
#include "core/chunk.h"
#include "core/shard_message.h"
#include "net/amqp/frame.h"
#include "net/amqp/methods.h"
#include "net/session/channel_link.h"
#include "net/session/connection_events.h"
#include "net/session/host.h"
#include "net/session/session_view.h"

namespace lepus::session {

class Channel;

class Session {
public:
    enum class State : u8 { protocol_header, start_ok, tune_ok, open_wait, open, closing, closed };

    // What a batch of input published, for the host's back-pressure (see after_input).
    struct Published {
        bool any = false;
        // A queue under pressure that the publishes reached, unless the session must go on
        // reading its acks (limits.h explains).
        std::optional<QueueId> pressured;
    };

    Session(Services& services, SessionHost& host, core::ConnectionKey key, Peer peer);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start();
    // A TLS connection's verified client certificate: its subject CN is the user the EXTERNAL
    // mechanism logs in as (external_login.cc). Empty, or never called: no such certificate.
    void set_certificate_user(std::string common_name) {
        certificate_user_ = std::move(common_name);
    }
    // Handles the bytes at `data` (from `chunk`) until they are used up or `budget` is spent;
    // returns the bytes used. `spent` grows by the bytes handled and the routing work they
    // caused. Frames split between calls are reassembled here.
    usize consume(const char* data, usize size, const ChunkRef& chunk, u64 budget, u64& spent);
    // The session takes more input: not closed, not waiting to hang up after its last frame,
    // not silenced by a broken handshake.
    bool takes_input() const { return takes_input_but_for_admission() && !awaiting_admission_; }
    // The same, but for a wait for shard 0's admission of an open (see request_admission),
    // after which the session takes input again by itself (SessionHost::resume_input).
    bool takes_input_but_for_admission() const {
        return state_ != State::closed && !close_after_send_ && !silent_close_;
    }
    // A broken handshake silenced the peer: its bytes are neither read nor handled.
    bool silenced() const { return silent_close_; }
    // After a batch of input: confirms go out, and what was published is reported.
    Published after_input();
    // The peer's bytes arrived (or reading resumed after a pause, which is no silence of the
    // peer's): heartbeat timing.
    void note_received() { last_received_ms_ = services_.now_ms; }
    // The host submitted a send.
    void note_sent() { last_sent_ms_ = services_.now_ms; }
    // Before the host sends: confirms that came in this turn join the send.
    void before_send() {
        if (confirms_due_) send_due_confirms();
    }
    // A send completed: credit for the deliveries it carried goes back to their queues.
    void after_send() {
        if (signals_.credit_owed) send_credits();
    }
    // The last frame is out: the host hangs up.
    bool ends_after_send() const { return close_after_send_; }
    // Timers: handshake deadline, heartbeats, incomplete frames, close handshake deadline.
    // `reading_paused`: the host holds the peer's bytes unread, so its silence is ours.
    void tick(bool reading_paused);
    // A message from a shard for `key`, one of this connection's channels (as
    // core::channel_of named it; the message's kind is looked at once more, by the channel).
    void on_message(core::ShardMessage message, const core::ChannelKey& key);
    // Broker shutdown: connection.close 320 CONNECTION_FORCED.
    void force_close(const std::string& reason);
    // The catalog deleted this connection's vhost or user: connection.close 320
    // CONNECTION_FORCED with RabbitMQ's reason. False (and nothing done) when the closure is
    // for another vhost or user, or the connection is not open.
    bool close_if_affected(const core::ConnectionClosure& closure);
    // A resource alarm holds the connection: connection.blocked with the alarm's reason ("low on
    // memory", "low on disk"), if the client takes it.
    void send_blocked(std::string_view reason);
    // Reading resumed after a pause: connection.unblocked, if blocked was sent.
    void send_unblocked();
    // The connection ends (the socket failed or closed, or the broker closed it): channels are
    // released and nothing more is sent. Idempotent; the host shuts the socket down itself.
    void end(const char* reason);

    State state() const { return state_; }
    const core::ConnectionKey& key() const { return facts_.key; }
    const std::string& peer_name() const { return facts_.peer_name; }
    // For the operator: the connection and its channels now (session_view.cc).
    SessionView view() const;
    // An operator closed the connection (rabbitmqctl close_connection): connection.close 320
    // CONNECTION_FORCED with the operator's explanation. False when it is not open.
    bool close_by_operator(const std::string& explanation);
    // Some channel consumes with acks, or has deliveries the client has yet to ack.
    bool awaits_acks() const;

private:
    usize handle_bytes(const char* data, usize size, const ChunkRef& chunk, u64 budget, u64& spent);
    bool take_protocol_header(const char*& data, usize& size);
    // Returns bytes consumed from data; stops at a partial frame, when closed, or before a
    // frame once `budget` is spent (spent counts bytes and the routing work they caused).
    usize parse_frames(const char* data, usize size, const ChunkRef& chunk, u64 budget, u64& spent);
    void carry_bytes(const char*& data, usize& size);
    void drop_carry();
    // Makes room for `bytes` more of incomplete frames on this shard: closes the sessions with
    // the oldest ones (this one too, if it is among them) until they fit.
    void make_room_for_incomplete_frame(u64 bytes);
    void evict_incomplete_frame();
    void handle_frame(const amqp::Frame& frame, const ChunkRef& chunk);
    void handle_channel_frame(const amqp::Frame& frame, const ChunkRef& chunk);
    // After a call into a channel: a hard error closes the connection; a finished channel
    // (its close handshake over) is forgotten, so its number may be opened again.
    void after_channel_call(u16 number);

    // The handshake and the other connection-class methods (handshake.cc).
    void handle_connection_method(const amqp::Frame& frame);
    void handle_start_ok(const amqp::ConnectionStartOk& m);
    void handle_tune_ok(const amqp::ConnectionTuneOk& m);
    void handle_open(const amqp::ConnectionOpen& m);
    void send_start();
    bool authenticate(std::string_view mechanism, std::string_view response);
    // Whether `mechanism` is one of Settings::auth_mechanisms (external_login.cc).
    bool mechanism_enabled(std::string_view mechanism) const;
    // EXTERNAL: the user named by the verified client certificate (external_login.cc).
    bool authenticate_external();
    // A broken handshake: logs `text`, reads no more and drops the socket after
    // limits::handshake_error_close_delay_ms, with no connection.close (RabbitMQ's way).
    void handshake_failed(const std::string& text);
    const char* handshake_state_name() const;

    // connection.close with `code`, whatever its class: the whole connection ends. Channels
    // report hard codes through their signals; the handshake has no channel, so a refused login
    // closes the connection with soft access_refused, as RabbitMQ does.
    void connection_error(amqp::ReplyCode code, const std::string& text, u16 class_id,
                          u16 method_id);
    // After a framing error the byte stream cannot be trusted: the close goes out, then the
    // host hangs up without waiting for close-ok.
    void frame_error(amqp::ReplyCode code, const std::string& text);
    // The session's own end: channels released, the host hangs up.
    void hang_up(const char* reason);
    // Who the connection events are about.
    ConnectionIdentity identity() const {
        return {connection_name_, facts_.peer_name, facts_.user, facts_.vhost};
    }
    // Records why the connection ends, unless a cause is known already.
    void note_close_cause(CloseCause::Kind kind, u16 code, std::string_view text) {
        if (close_cause_.kind != CloseCause::Kind::none) return;
        close_cause_ = CloseCause{kind, code, std::string(text)};
    }
    void enter_closing();
    void release_channels();
    // connection.open past its permission check: refused (530 and the like), or admitted with
    // open-ok; `counted`: shard 0 counted it already, as an admission does.
    void refuse_open(const access::Refusal& refused);
    void admit_connection(bool counted);
    void open_channel(u16 number, bool counted);
    // A limit applies: shard 0 decides the open of the connection (channel 0) or the channel.
    void request_admission(u16 channel);
    void on_admission(core::AdmissionReply& reply);
    // Tells shard 0 what opened (+) or closed (-), for the limits (core/admission.h).
    void send_count_change(i32 connections, i64 channels);
    // Takes the connection and its channels out of shard 0's counts. Idempotent.
    void uncount();
    void flush_confirms();
    void send_due_confirms();
    void send_credits();
    void request_flush() { host_.request_flush(); }
    Channel* channel(u16 number, u32 generation);
    template <typename M>
    void send_method(const M& method) {
        write_method_frame(host_.out().writer(), 0, method);
        host_.request_flush();
    }

    Services& services_;
    SessionHost& host_;
    SessionFacts facts_;
    ChannelSignals signals_;
    bool peer_is_loopback_ = false;
    bool peer_tls_ = false;         // the connection came in on a TLS listener
    std::string certificate_user_;  // see set_certificate_user
    State state_ = State::protocol_header;

    ChunkRef carry_;            // a frame that arrived in pieces, reassembled
    u32 carry_size_ = 0;        // bytes in carry_
    u32 carry_needed_ = 0;      // the frame's whole size, once its header is in (0 before)
    u64 carry_started_ms_ = 0;  // when its first bytes arrived
    std::string header_bytes_;  // the protocol header while it arrives
    bool close_after_send_ = false;
    bool silent_close_ = false;  // handshake_failed: the socket closes with no close frame
    bool confirms_due_ = false;  // Persisted arrived: channels may have confirms to send
    bool connection_blocked_capable_ = false;  // client capability "connection.blocked"
    // Client capability "authentication_failure_close": a refused login is told so.
    bool authentication_failure_close_ = false;
    std::string login_refusal_;    // why authenticate() refused, for the log
    std::string connection_name_;  // for the connection events (connection_events.h)
    CloseCause close_cause_;       // the first known cause of the end, for the closed event
    // Counted in shard 0's counts (core/admission.h): the connection once open, and its
    // channels.
    bool connection_counted_ = false;
    u64 channels_counted_ = 0;
    bool blocked_sent_ = false;        // connection.blocked sent, unblocked not yet
    bool awaiting_admission_ = false;  // an open waits for shard 0 (request_admission)

    u16 channel_max_ = limits::channel_count_max;
    u32 heartbeat_s_ = 0;
    u64 last_received_ms_ = 0;
    u64 last_sent_ms_ = 0;
    u64 opened_ms_ = 0;
    u64 closing_since_ms_ = 0;
    std::string client_name_;
    std::string auth_mechanism_;     // the mechanism of the login, once it succeeded
    std::string client_properties_;  // as sent in connection.start-ok, for the operator

    std::unordered_map<u16, std::unique_ptr<Channel>> channels_;
    // The channel of the last frame: most frames on a connection are for the same channel.
    // Cleared whenever a channel is erased.
    Channel* channel_cache_ = nullptr;
    u32 channel_generations_ = 0;
};

}  // namespace lepus::session
