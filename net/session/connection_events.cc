#include "net/session/connection_events.h"

namespace lepus::session {

namespace {

log::Fields begin(const ConnectionIdentity& who, std::string_view event) {
    log::Fields fields;
    fields.add("connection", who.connection).add("event", event).add("peer", who.peer);
    return fields;
}

// Session::end's reasons for a socket that ended without a close method on either side.
struct EndReason {
    std::string_view end_reason;
    std::string_view reason;
};
constexpr EndReason end_reasons[] = {
    {"peer closed the socket", "network_error"},
    {"socket error", "network_error"},
    {"send failed", "network_error"},
    {"missed heartbeats", "heartbeat_timeout"},
    {"handshake timeout", "handshake_timeout"},
    {"send timeout", "send_timeout"},
};

}  // namespace

log::Fields accepted_fields(const ConnectionIdentity& who, bool tls) {
    log::Fields fields = begin(who, "accepted");
    fields.add("tls", tls ? "true" : "false");
    return fields;
}

log::Fields authenticated_fields(const ConnectionIdentity& who, std::string_view client,
                                 std::string_view auth_mechanism) {
    log::Fields fields = begin(who, "authenticated");
    fields.add("user", who.user).add("vhost", who.vhost);
    fields.add("client", client).add("auth_mechanism", auth_mechanism);
    return fields;
}

log::Fields closed_fields(const ConnectionIdentity& who, const CloseCause& cause,
                          std::string_view end_reason, u32 heartbeat_s) {
    log::Fields fields = begin(who, "closed");
    if (!who.user.empty()) fields.add("user", who.user);
    if (!who.vhost.empty()) fields.add("vhost", who.vhost);
    switch (cause.kind) {
        case CloseCause::Kind::client_close:
        case CloseCause::Kind::broker_close:
            fields.add("reason", cause.kind == CloseCause::Kind::client_close ? "client_close"
                                                                              : "broker_close");
            fields.add("code", cause.code).add("text", cause.text);
            return fields;
        case CloseCause::Kind::handshake_failed:
            fields.add("reason", "handshake_failed").add("detail", cause.text);
            return fields;
        case CloseCause::Kind::none: break;
    }
    for (const EndReason& known : end_reasons) {
        if (known.end_reason != end_reason) continue;
        fields.add("reason", known.reason);
        if (known.reason == "network_error") fields.add("detail", end_reason);
        if (known.reason == "heartbeat_timeout") fields.add("timeout_s", heartbeat_s);
        return fields;
    }
    fields.add("reason", "other").add("detail", end_reason);
    return fields;
}

void log_connection_event(const log::Fields& fields) {
    if (log::enabled(log::Level::info)) log::write_fields(log::Level::info, fields);
}

}  // namespace lepus::session
