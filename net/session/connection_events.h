#pragma once
// The three log lines of a connection's life, for operators and their log tools: accepted,
// authenticated, closed (with why). They are key=value lines (core/base/log_fields.h), always
// at info, one per event and none on the message path:
//
//   connection="127.0.0.1:5000 -> 127.0.0.1:5672" event=accepted peer=127.0.0.1:5000 tls=false
//   connection="..." event=authenticated peer=127.0.0.1:5000 user=guest vhost=/ client=pika
//       auth_mechanism=PLAIN
//   connection="..." event=closed peer=127.0.0.1:5000 user=guest vhost=/ reason=client_close
//       code=200 text="Normal shutdown"
//
// reason is one of client_close (the client's connection.close: its code and text),
// broker_close (the broker's connection.close: the AMQP code and text), network_error (the
// peer went away or the socket failed: detail says which), heartbeat_timeout (timeout_s),
// handshake_timeout, handshake_failed (detail), send_timeout, or other (detail).
#include <string>
#include <string_view>

#include "core/base/log_fields.h"
#include "core/base/types.h"

namespace lepus::session {

// What a connection's end is put down to, recorded when the cause is first known (a close
// method either way, a handshake broken); the socket's end then only adds detail.
struct CloseCause {
    enum class Kind : u8 { none, client_close, broker_close, handshake_failed };
    Kind kind = Kind::none;
    u16 code = 0;
    std::string text;
};

// Who the lines are about: the connection's name as rabbitmqctl lists it, its peer, and once
// authenticated its user and vhost (empty before).
struct ConnectionIdentity {
    std::string_view connection;
    std::string_view peer;
    std::string_view user;
    std::string_view vhost;
};

log::Fields accepted_fields(const ConnectionIdentity& who, bool tls);
log::Fields authenticated_fields(const ConnectionIdentity& who, std::string_view client,
                                 std::string_view auth_mechanism);
// `end_reason`: what ended the socket (Session::end's reason), used when `cause` is none and
// as the detail of a network error.
log::Fields closed_fields(const ConnectionIdentity& who, const CloseCause& cause,
                          std::string_view end_reason, u32 heartbeat_s);

// Writes the line at info, if info is logged.
void log_connection_event(const log::Fields& fields);

}  // namespace lepus::session
