#pragma once
// What the AMQP state machines of net/session need from outside, and nothing more: the
// shard's services (shared by all its sessions) and, per connection, its host, the socket's
// side. A session is bytes in; frames (written to the host's out-queue), shard messages (to
// the outbox) and the host's few actions out. It never sees a socket, a ring or the shard.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/types.h"
#include "core/broker.h"
#include "core/shard_message.h"
#include "net/session/out_queue.h"

namespace lepus::session {

class Session;

// The connection settings a session negotiates and enforces (from the broker's options).
struct Settings {
    u32 heartbeat_s = 60;  // 0 disables heartbeats
    u32 frame_max = 131072;
    u16 channel_max = 2047;
    u32 handshake_timeout_ms = 10000;  // from the TCP accept to connection.open
    // Users who may log in only over loopback (RabbitMQ's loopback_users; [guest] by default).
    std::vector<std::string> loopback_users = {"guest"};
    // The SASL mechanisms offered in connection.start and accepted, space-separated.
    std::string auth_mechanisms = "PLAIN AMQPLAIN";
};

// Frames that have begun to arrive and are not complete, all of a shard's sessions together,
// and the sessions holding them (bounded by limits::shard_incomplete_frame_bytes_max).
struct IncompleteFrames {
    u64 bytes = 0;
    std::vector<Session*> holders;
};

// Who is on the other end of a connection.
struct Peer {
    std::string name;  // address:port, for the logs
    bool loopback = false;
    bool tls = false;  // the connection came in on a TLS listener
    // "PEER -> LOCAL", rabbitmqctl's name for the connection, for the log's connection events.
    std::string connection_name = {};
};

// One shard's services, lent to every session on it. Lives on the shard's thread.
struct Services {
    Services(ShardId s, core::Broker& b, core::Outbox& o, Settings settings_)
        : shard(s), broker(b), outbox(o), settings(std::move(settings_)) {}

    ShardId shard;
    core::Broker& broker;
    core::Outbox& outbox;
    const Settings settings;
    u64 now_ms = 0;  // monotonic, read once per loop turn
    IncompleteFrames incomplete_frames;
    u64 random_state = 0x9e3779b97f4a7c15ull;

    // xorshift64*: names for server-named queues and consumer tags; not a secret.
    u64 random() {
        random_state ^= random_state >> 12;
        random_state ^= random_state << 25;
        random_state ^= random_state >> 27;
        return random_state * 0x2545f4914f6cdd1dull;
    }
};

// The socket's side of one connection, as its session sees it.
class SessionHost {
public:
    // Where frames go; sent at the end of the loop turn once request_flush() was called.
    virtual OutQueue& out() = 0;
    virtual void request_flush() = 0;
    // Read nothing more from the peer (a broken handshake waits out its delay unread).
    virtual void stop_reading() = 0;
    // The session takes input again after waiting (Session::takes_input was false for a
    // reason of its own): what was received is handled, and the socket read.
    virtual void resume_input() = 0;
    // The session has ended (Session::state() is closed): shut the socket down now.
    virtual void hang_up(const char* reason) = 0;

protected:
    ~SessionHost() = default;
};

}  // namespace lepus::session
