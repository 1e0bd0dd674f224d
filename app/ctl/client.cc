#include "app/ctl/client.h"

#include <algorithm>

#include "core/base/assert.h"
#include "core/base/limits.h"
#include "core/wire/field_table.h"
#include "core/wire/wire_writer.h"

#ifndef LEPUS_VERSION
#define LEPUS_VERSION "unknown"
#endif

namespace lepus::ctl {

namespace {

constexpr std::string_view close_text = "Goodbye";

std::string client_properties() {
    wire::FieldTable capabilities = {
        // Ask RabbitMQ to say "403 ACCESS_REFUSED" on a bad login instead of dropping the
        // connection without a word.
        {"authentication_failure_close", wire::FieldValue::boolean(true)},
        {"basic.nack", wire::FieldValue::boolean(true)},
        {"publisher_confirms", wire::FieldValue::boolean(true)},
    };
    wire::FieldTable table = {
        {"product", wire::FieldValue::string("lepusctl")},
        {"version", wire::FieldValue::string(LEPUS_VERSION)},
        {"platform", wire::FieldValue::string("C++20")},
        {"information", wire::FieldValue::string("the Lepus command-line tool")},
        {"connection_name", wire::FieldValue::string("lepusctl")},
        {"capabilities", wire::FieldValue::table(std::move(capabilities))},
    };
    return wire::field_table_content(table);
}

bool offers_plain(std::string_view mechanisms) {
    while (!mechanisms.empty()) {
        usize space = mechanisms.find(' ');
        if (mechanisms.substr(0, space) == "PLAIN") return true;
        if (space == std::string_view::npos) break;
        mechanisms.remove_prefix(space + 1);
    }
    return false;
}

}  // namespace

Status Client::open() {
    LEPUS_ASSERT(state_ == State::idle);
    Status status = socket_.connect(settings_.host, settings_.port, settings_.timeout_ms);
    if (!status.ok()) return status;
    status = handshake();
    if (!status.ok()) return status;
    state_ = State::open;
    amqp::ChannelOpenOk opened;
    status = call(amqp::ChannelOpen{}, opened);
    if (!status.ok()) return status;
    channel_open_ = true;
    return Status::success();
}

Status Client::handshake() {
    Status status = socket_.send_all(amqp::protocol_header);
    if (!status.ok()) return status;
    amqp::ConnectionStart start;
    status = expect(start);
    if (!status.ok()) return status;
    server_.version_major = start.version_major;
    server_.version_minor = start.version_minor;
    server_.properties = std::string(start.server_properties);
    server_.mechanisms = std::string(start.mechanisms);
    server_.locales = std::string(start.locales);
    if (start.version_major != 0 || start.version_minor != 9) {
        return Status::failed("the server speaks AMQP " + std::to_string(start.version_major) +
                              "-" + std::to_string(start.version_minor) + ", not 0-9-1");
    }
    if (!offers_plain(server_.mechanisms)) {
        return Status::failed("the server does not offer PLAIN login (it offers '" +
                              server_.mechanisms + "')");
    }

    status = send_start_ok();
    if (!status.ok()) return status;
    amqp::Method method;
    status = read_method(method, amqp::ConnectionTune::name);
    if (status.outcome == Outcome::failed &&
        status.message.starts_with("the broker closed the connection")) {
        // A broker that does not announce authentication failures hangs up instead.
        status.message =
            "the broker closed the connection during login; check --user and "
            "--password";
    }
    if (!status.ok()) return status;
    const auto* tune = std::get_if<amqp::ConnectionTune>(&method);
    if (tune == nullptr) return unexpected(method, amqp::ConnectionTune::name);
    server_.channel_max = tune->channel_max;
    server_.frame_max = tune->frame_max;
    server_.heartbeat = tune->heartbeat;

    // Take the smaller of the two frame limits (0 from the server means it has none). No
    // heartbeats: a command is over in well under any heartbeat interval.
    u32 frame_max = tune->frame_max == 0 ? limits::frame_size_max
                                         : std::min(tune->frame_max, limits::frame_size_max);
    if (frame_max < amqp::frame_min_size) {
        return Status::failed("the broker proposes frame_max " + std::to_string(frame_max) +
                              ", below the protocol's minimum of 4096");
    }
    amqp::ConnectionTuneOk tune_ok;
    tune_ok.channel_max = channel;  // one channel is all a command needs
    tune_ok.frame_max = frame_max;
    tune_ok.heartbeat = 0;
    status = send_method(tune_ok, 0);
    if (!status.ok()) return status;
    frame_max_ = frame_max;

    amqp::ConnectionOpen open;
    open.virtual_host = settings_.vhost;
    status = send_method(open, 0);
    if (!status.ok()) return status;
    amqp::ConnectionOpenOk open_ok;
    return expect(open_ok);
}

// PLAIN: the response is "\0user\0password".
Status Client::send_start_ok() {
    std::string properties = client_properties();
    std::string response;
    response.push_back('\0');
    response += settings_.user;
    response.push_back('\0');
    response += settings_.password;
    amqp::ConnectionStartOk start_ok;
    start_ok.client_properties = properties;
    start_ok.mechanism = "PLAIN";
    start_ok.response = response;
    start_ok.locale = "en_US";
    return send_method(start_ok, 0);
}

Status Client::send_method(const amqp::Method& method, u16 on_channel) {
    if (!socket_.is_open()) return Status::failed("the connection is closed");
    write_buffer_.clear();
    wire::WireWriter writer(write_buffer_);
    amqp::write_method_frame(writer, on_channel, method);
    return socket_.send_all(write_buffer_);
}

Status Client::read_frame(amqp::Frame& out, std::string_view awaiting) {
    if (!socket_.is_open()) return Status::failed("the connection is closed");
    if (read_consumed_ > 0) {
        read_buffer_.erase(0, read_consumed_);
        read_consumed_ = 0;
    }
    u32 limit = frame_max_ != 0 ? frame_max_ : limits::frame_size_max;
    for (;;) {
        usize frame_size = 0;
        switch (amqp::parse_frame(read_buffer_, limit, out, frame_size)) {
            case amqp::FrameStatus::complete: read_consumed_ = frame_size; return Status::success();
            case amqp::FrameStatus::incomplete: break;
            case amqp::FrameStatus::too_large:
                abandon();
                return Status::failed("the broker sent a frame of " + std::to_string(frame_size) +
                                      " bytes, more than " + std::to_string(limit));
            case amqp::FrameStatus::bad_frame_end:
                abandon();
                return Status::failed("the broker sent a frame without its frame-end octet");
            case amqp::FrameStatus::bad_type:
                abandon();
                if (read_buffer_[0] == 'A') {
                    return Status::failed(
                        "the server refused AMQP 0-9-1 (it answered with its own protocol "
                        "header)");
                }
                return Status::failed("the server sent bytes that are not an AMQP frame");
        }
        Status status = socket_.receive(read_buffer_);
        if (!status.ok()) {
            abandon();
            status.message += " (waiting for " + std::string(awaiting) + ")";
            return status;
        }
    }
}

Status Client::read_method(amqp::Method& out, std::string_view awaiting) {
    for (;;) {
        amqp::Frame frame;
        Status status = read_frame(frame, awaiting);
        if (!status.ok()) return status;
        if (frame.type == amqp::frame_heartbeat) continue;
        if (frame.type != amqp::frame_method) {
            abandon();
            return Status::failed("the broker sent a content frame while lepusctl waited for " +
                                  std::string(awaiting));
        }
        u16 class_id = 0;
        u16 method_id = 0;
        if (amqp::decode_method(frame.payload, out, class_id, method_id) !=
            amqp::DecodeStatus::ok) {
            abandon();
            return Status::failed("the broker sent a malformed or unknown method (" +
                                  std::string(amqp::method_name(class_id, method_id)) + ")");
        }
        if (const auto* close = std::get_if<amqp::ConnectionClose>(&out)) {
            Status refused =
                Status::refused(amqp::reply_text(close->reply_code, close->reply_text));
            send_method(amqp::ConnectionCloseOk{}, 0);  // best effort: we are leaving anyway
            abandon();
            return refused;
        }
        if (const auto* close = std::get_if<amqp::ChannelClose>(&out)) {
            Status refused =
                Status::refused(amqp::reply_text(close->reply_code, close->reply_text));
            channel_open_ = false;
            Status sent = send_method(amqp::ChannelCloseOk{}, frame.channel);
            return sent.ok() ? refused : sent;
        }
        if (frame.channel != channel && frame.channel != 0) {
            abandon();
            return Status::failed("the broker sent " + std::string(amqp::method_name(out)) +
                                  " on channel " + std::to_string(frame.channel) +
                                  ", which lepusctl never opened");
        }
        return Status::success();
    }
}

Status Client::read_content(Content& out) {
    amqp::Frame frame;
    do {
        Status status = read_frame(frame, "a content header");
        if (!status.ok()) return status;
    } while (frame.type == amqp::frame_heartbeat);
    if (frame.type != amqp::frame_header || frame.channel != channel) {
        abandon();
        return Status::failed("the broker sent another frame where a content header belongs");
    }
    out.header_payload.assign(frame.payload);
    if (!amqp::decode_content_header(out.header_payload, out.header)) {
        abandon();
        return Status::failed("the broker sent a malformed content header");
    }
    u64 body_size = out.header.body_size;
    if (body_size > limits::message_size_max) {
        abandon();
        return Status::failed("the broker announced a body of " + std::to_string(body_size) +
                              " bytes, more than lepusctl accepts (" +
                              std::to_string(limits::message_size_max) + ")");
    }
    out.body.clear();
    out.body.reserve(static_cast<usize>(body_size));
    while (out.body.size() < body_size) {
        Status status = read_frame(frame, "a body frame");
        if (!status.ok()) return status;
        if (frame.type == amqp::frame_heartbeat) continue;
        if (frame.type != amqp::frame_body || frame.channel != channel ||
            out.body.size() + frame.payload.size() > body_size) {
            abandon();
            return Status::failed("the broker sent a body that does not match its header");
        }
        out.body.append(frame.payload);
    }
    return Status::success();
}

Status Client::publish(const amqp::BasicPublish& method, const amqp::BasicProperties& properties,
                       std::string_view body) {
    if (!socket_.is_open()) return Status::failed("the connection is closed");
    LEPUS_ASSERT(frame_max_ >= amqp::frame_min_size);
    write_buffer_.clear();
    wire::WireWriter writer(write_buffer_);
    amqp::write_method_frame(writer, channel, method);
    usize header_start = writer.size();
    amqp::ContentHeader header;
    header.body_size = body.size();
    header.properties = properties;
    amqp::write_content_header_frame(writer, channel, header);
    if (writer.size() - header_start > frame_max_) {
        return Status::failed("the message properties do not fit in one frame of " +
                              std::to_string(frame_max_) + " bytes");
    }
    // Body frames carry at most frame_max bytes including their own 8 bytes of framing.
    usize chunk_max = frame_max_ - amqp::frame_overhead;
    for (usize offset = 0; offset < body.size(); offset += chunk_max) {
        std::string_view chunk = body.substr(offset, chunk_max);
        amqp::write_frame_header(writer, amqp::frame_body, channel, static_cast<u32>(chunk.size()));
        writer.write_bytes(chunk);
        amqp::write_frame_end(writer);
    }
    return socket_.send_all(write_buffer_);
}

Status returned_refusal(const amqp::BasicReturn& returned) {
    return Status::refused(amqp::reply_text(returned.reply_code, returned.reply_text) +
                           ": the broker returned the message (exchange '" +
                           std::string(returned.exchange) + "', routing key '" +
                           std::string(returned.routing_key) + "')");
}

Status Client::close_channel() {
    if (state_ != State::open || !channel_open_) return Status::success();
    amqp::ChannelClose close;
    close.reply_code = amqp::wire_code(amqp::ReplyCode::reply_success);
    close.reply_text = close_text;
    Status status = send_method(close);
    if (!status.ok()) return status;
    Status result = Status::success();
    // Frames already on their way arrive first: late acks, returned messages, or the
    // broker's own channel.close for an error in something sent earlier.
    for (;;) {
        amqp::Method method;
        status = read_method(method, amqp::ChannelCloseOk::name);
        if (status.outcome == Outcome::refused) {  // the broker's channel.close or connection.close
            return result.ok() ? status : result;
        }
        if (!status.ok()) return status;
        if (std::holds_alternative<amqp::ChannelCloseOk>(method)) break;
        if (const auto* returned = std::get_if<amqp::BasicReturn>(&method)) {
            if (result.ok()) result = returned_refusal(*returned);
            Content skipped;
            status = read_content(skipped);
            if (!status.ok()) return status;
        }
    }
    channel_open_ = false;
    return result;
}

Status Client::close() {
    if (state_ != State::open) {
        abandon();
        return Status::success();
    }
    Status result = close_channel();
    if (state_ != State::open) return result;  // the broker closed the connection itself
    if (result.outcome == Outcome::failed) {
        abandon();
        return result;
    }
    amqp::ConnectionClose close;
    close.reply_code = amqp::wire_code(amqp::ReplyCode::reply_success);
    close.reply_text = close_text;
    Status status = send_method(close, 0);
    // After connection.close only close-ok matters; the spec has the peer discard the rest.
    while (status.ok()) {
        amqp::Frame frame;
        status = read_frame(frame, amqp::ConnectionCloseOk::name);
        if (!status.ok() || frame.type != amqp::frame_method) continue;
        amqp::Method method;
        u16 class_id = 0;
        u16 method_id = 0;
        if (amqp::decode_method(frame.payload, method, class_id, method_id) !=
            amqp::DecodeStatus::ok) {
            continue;
        }
        if (std::holds_alternative<amqp::ConnectionCloseOk>(method)) break;
        if (const auto* crossing = std::get_if<amqp::ConnectionClose>(&method)) {
            send_method(amqp::ConnectionCloseOk{}, 0);
            if (crossing->reply_code != amqp::wire_code(amqp::ReplyCode::reply_success) &&
                result.ok()) {
                result =
                    Status::refused(amqp::reply_text(crossing->reply_code, crossing->reply_text));
            }
            break;
        }
    }
    abandon();
    if (!status.ok() && result.ok()) return status;
    return result;
}

Status Client::unexpected(const amqp::Method& method, std::string_view awaiting) const {
    return Status::failed("the broker sent " + std::string(amqp::method_name(method)) +
                          " where lepusctl expected " + std::string(awaiting));
}

void Client::abandon() {
    socket_.close();
    state_ = State::closed;
    channel_open_ = false;
}

}  // namespace lepus::ctl
