// The handshake and the other methods of the connection class, on channel 0.
#include <algorithm>
#include <string>

#include "core/access/access_limits.h"
#include "core/access/user_table.h"
#include "core/base/log.h"
#include "core/wire/field_table.h"
#include "net/session/server_properties.h"
#include "net/session/session.h"

namespace lepus::session {

using namespace lepus::amqp;

void Session::handle_connection_method(const Frame& frame) {
    Method method;
    u16 class_id = 0;
    u16 method_id = 0;
    DecodeStatus status = decode_method(frame.payload, method, class_id, method_id);
    if (status != DecodeStatus::ok) {
        connection_error(
            status == DecodeStatus::unknown_method ? ReplyCode::not_implemented
                                                   : ReplyCode::syntax_error,
            status == DecodeStatus::unknown_method
                ? "NOT_IMPLEMENTED - unknown method " + std::to_string(class_id) + "." +
                      std::to_string(method_id)
                : "SYNTAX_ERROR - malformed " + std::string(method_name(class_id, method_id)),
            class_id, method_id);
        return;
    }
    // A handshake method out of its turn, with RabbitMQ's text: before connection.open-ok the
    // connection is dropped as handshake_failed does; after it, 504 closes it.
    auto expect = [&](State wanted) {
        if (state_ == wanted) return true;
        std::string text =
            std::string("unexpected method in connection state ") + handshake_state_name();
        if (state_ == State::open) {
            connection_error(ReplyCode::channel_error, "CHANNEL_ERROR - " + text, class_id,
                             method_id);
        } else {
            handshake_failed(text + " (" + std::string(method_name(class_id, method_id)) + ")");
        }
        return false;
    };
    if (auto* m = std::get_if<ConnectionStartOk>(&method)) {
        if (expect(State::start_ok)) handle_start_ok(*m);
    } else if (auto* tune = std::get_if<ConnectionTuneOk>(&method)) {
        if (expect(State::tune_ok)) handle_tune_ok(*tune);
    } else if (auto* open = std::get_if<ConnectionOpen>(&method)) {
        if (expect(State::open_wait)) handle_open(*open);
    } else if (auto* close = std::get_if<ConnectionClose>(&method)) {
        note_close_cause(CloseCause::Kind::client_close, close->reply_code, close->reply_text);
        // Closing from here on: replies still on their way from other shards find no open
        // connection and are bounced (bounce.h), so what they carry goes back to its queue.
        release_channels();
        enter_closing();
        send_method(ConnectionCloseOk{});
        close_after_send_ = true;
    } else if (std::holds_alternative<ConnectionUpdateSecret>(method) && state_ == State::open) {
        send_method(ConnectionUpdateSecretOk{});
    } else if (std::holds_alternative<ConnectionBlocked>(method) ||
               std::holds_alternative<ConnectionUnblocked>(method)) {
        // Clients do not send these; tolerated as RabbitMQ does.
    } else {
        connection_error(ReplyCode::command_invalid,
                         "COMMAND_INVALID - unexpected method '" +
                             std::string(method_name(class_id, method_id)) + "' on channel 0",
                         class_id, method_id);
    }
}

void Session::send_start() {
    ConnectionStart start;
    std::string properties = server_properties_table();
    start.server_properties = properties;
    start.mechanisms = services_.settings.auth_mechanisms;
    start.locales = "en_US";
    send_method(start);
}

bool Session::authenticate(std::string_view mechanism, std::string_view response) {
    std::string_view user;
    std::string_view password;
    wire::FieldTable table;  // AMQPLAIN's credentials; user and password point into it
    if (!mechanism_enabled(mechanism)) return false;
    if (mechanism == "EXTERNAL") return authenticate_external();
    if (mechanism == "PLAIN") {
        // authzid NUL authcid NUL password
        usize first = response.find('\0');
        usize second = first == std::string_view::npos ? first : response.find('\0', first + 1);
        if (second == std::string_view::npos) return false;
        user = response.substr(first + 1, second - first - 1);
        password = response.substr(second + 1);
    } else if (mechanism == "AMQPLAIN") {
        if (!wire::decode_field_table(response, table)) return false;
        const wire::FieldValue* login = wire::find_field(table, "LOGIN");
        const wire::FieldValue* pass = wire::find_field(table, "PASSWORD");
        if (login == nullptr || pass == nullptr || !login->as_string() || !pass->as_string())
            return false;
        user = *login->as_string();
        password = *pass->as_string();
    } else {
        return false;
    }
    facts_.user = std::string(user);
    // Against this shard's replica of the users (RabbitMQ's internal backend), then the
    // loopback rule, which RabbitMQ checks once the credentials are good.
    access::LoginOutcome outcome = services_.broker.catalog().users().authenticate(user, password);
    if (outcome != access::LoginOutcome::ok) {
        login_refusal_ = access::describe(outcome, user);
        return false;
    }
    const std::vector<std::string>& loopback = services_.settings.loopback_users;
    if (!peer_is_loopback_ && std::find(loopback.begin(), loopback.end(), user) != loopback.end()) {
        login_refusal_ = "user '" + facts_.user + "' can only connect via localhost";
        return false;
    }
    return true;
}

void Session::handle_start_ok(const ConnectionStartOk& m) {
    wire::FieldTable client;
    if (wire::decode_field_table(m.client_properties, client)) {
        if (const wire::FieldValue* name = wire::find_field(client, "connection_name")) {
            if (auto s = name->as_string()) client_name_ = std::string(*s);
        }
        if (client_name_.empty()) {
            if (const wire::FieldValue* product = wire::find_field(client, "product")) {
                if (auto s = product->as_string()) client_name_ = std::string(*s);
            }
        }
        if (const wire::FieldValue* caps = wire::find_field(client, "capabilities")) {
            if (const auto* table = std::get_if<wire::FieldTable>(&caps->value)) {
                if (const wire::FieldValue* v = wire::find_field(*table, "consumer_cancel_notify"))
                    facts_.consumer_cancel_notify = v->as_bool().value_or(false);
                if (const wire::FieldValue* v = wire::find_field(*table, "connection.blocked"))
                    connection_blocked_capable_ = v->as_bool().value_or(false);
                if (const wire::FieldValue* v =
                        wire::find_field(*table, "authentication_failure_close"))
                    authentication_failure_close_ = v->as_bool().value_or(false);
            }
        }
    }
    if (!authenticate(m.mechanism, m.response)) {
        if (login_refusal_.empty()) login_refusal_ = "malformed credentials";
        std::string reason = std::string(m.mechanism) + " login refused: " + login_refusal_;
        // As RabbitMQ: a client that declares authentication_failure_close is told, in words
        // that say nothing of why; any other only sees the socket close.
        if (!authentication_failure_close_) {
            handshake_failed(reason);
            return;
        }
        LEPUS_LOG(warning, "%s: %s", facts_.peer_name.c_str(), reason.c_str());
        connection_error(ReplyCode::access_refused,
                         "ACCESS_REFUSED - Login was refused using authentication mechanism " +
                             std::string(m.mechanism) + ". For details see the broker logfile.",
                         0, 0);
        close_after_send_ = true;
        return;
    }
    auth_mechanism_ = std::string(m.mechanism);
    client_properties_ = std::string(m.client_properties);
    ConnectionTune tune;
    tune.channel_max = services_.settings.channel_max;
    tune.frame_max = services_.settings.frame_max;
    tune.heartbeat = static_cast<u16>(services_.settings.heartbeat_s);
    send_method(tune);
    state_ = State::tune_ok;
}

void Session::handle_tune_ok(const ConnectionTuneOk& m) {
    // As RabbitMQ 3.10 negotiates: 0 means "no limit", which is more than the server allows,
    // so a client must name a value within the server's.
    auto refuse = [&](const char* field, u32 value, const char* detail, bool too_low, u32 bound) {
        handshake_failed(std::string("failed to negotiate connection parameters: negotiated ") +
                         field + " = " + std::to_string(value) + detail + " is " +
                         (too_low ? "lower than the minimum" : "higher than the maximum") +
                         " allowed value (" + std::to_string(bound) + ")");
    };
    u32 server_frame_max = services_.settings.frame_max;
    if (m.frame_max != 0 && m.frame_max < frame_min_size) {
        refuse("frame_max", m.frame_max, "", true, frame_min_size);
        return;
    }
    if (m.frame_max == 0 || m.frame_max > server_frame_max) {
        refuse("frame_max", m.frame_max, "", false, server_frame_max);
        return;
    }
    u16 server_channel_max = services_.settings.channel_max;
    if (m.channel_max == 0 || m.channel_max > server_channel_max) {
        refuse("channel_max", m.channel_max, m.channel_max == 0 ? " (no limit)" : "", false,
               server_channel_max);
        return;
    }
    facts_.frame_max = m.frame_max;
    channel_max_ = m.channel_max;
    heartbeat_s_ = m.heartbeat;
    state_ = State::open_wait;
}

void Session::handle_open(const ConnectionOpen& m) {
    facts_.vhost_entry = services_.broker.catalog().find_vhost(m.virtual_host);
    if (facts_.vhost_entry == nullptr) {
        LEPUS_LOG(warning, "%s: vhost '%.*s' not found", facts_.peer_name.c_str(),
                  static_cast<int>(m.virtual_host.size()), m.virtual_host.data());
        connection_error(ReplyCode::not_allowed,
                         "NOT_ALLOWED - vhost " + std::string(m.virtual_host) + " not found",
                         ConnectionOpen::class_id, ConnectionOpen::method_id);
        return;
    }
    // RabbitMQ's order (rabbit_reader): the vhost exists, the user may use it, the vhost's
    // connection limit, the user's. The limits count every shard's connections, so where one
    // applies shard 0 decides (core/admission.h) and the connection waits for its answer.
    const core::Catalog& catalog = services_.broker.catalog();
    std::string vhost(m.virtual_host);
    if (std::optional<access::Refusal> refused =
            catalog.permissions().check_vhost(facts_.user, vhost)) {
        refuse_open(*refused);
        return;
    }
    facts_.vhost = std::move(vhost);
    if (facts_.vhost_entry->limits.max_connections ||
        catalog.user_limits(facts_.user).max_connections) {
        request_admission(0);
        return;
    }
    admit_connection(false);
}

void Session::refuse_open(const access::Refusal& refused) {
    LEPUS_LOG(warning, "%s: %s", facts_.peer_name.c_str(), refused.text.c_str());
    facts_.vhost_entry = nullptr;
    facts_.vhost.clear();
    connection_error(static_cast<ReplyCode>(refused.reply_code), refused.text,
                     ConnectionOpen::class_id, ConnectionOpen::method_id);
}

void Session::admit_connection(bool counted) {
    connection_counted_ = true;
    if (!counted) send_count_change(1, 0);
    state_ = State::open;
    send_method(ConnectionOpenOk{});
    if (log::enabled(log::Level::info)) {
        log_connection_event(authenticated_fields(identity(), client_name_, auth_mechanism_));
    }
}

const char* Session::handshake_state_name() const {
    switch (state_) {  // RabbitMQ's names, as its error texts give them
        case State::protocol_header:
        case State::start_ok: return "starting";
        case State::tune_ok: return "tuning";
        case State::open_wait: return "opening";
        case State::open: return "running";
        case State::closing:
        case State::closed: return "closing";
    }
    return "?";
}

void Session::handshake_failed(const std::string& text) {
    if (state_ == State::closing || state_ == State::closed) return;
    // As RabbitMQ: a peer that breaks the handshake gets no reply, only a closed socket after
    // a delay, so that it cannot make the broker do work at the rate it reconnects.
    LEPUS_LOG(error, "closing AMQP connection %s: %s", facts_.peer_name.c_str(), text.c_str());
    note_close_cause(CloseCause::Kind::handshake_failed, 0, text);
    enter_closing();
    silent_close_ = true;
    host_.stop_reading();
}

}  // namespace lepus::session
