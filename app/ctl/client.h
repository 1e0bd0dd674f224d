#pragma once
// A blocking AMQP 0-9-1 client for one short operator command: it connects, logs in with PLAIN,
// opens channel 1, exchanges a few methods and closes both the channel and the connection in
// order, so that an error the broker reports late (a publish to a missing exchange, an ack it
// rejects) is still seen before lepusctl exits.
//
// Broker refusals (channel.close or connection.close with a reply code) come back as a
// refused Status whose message reads like "404 NOT_FOUND - no queue 'x' in vhost '/'". The
// client answers the close itself, so the caller only reports it.
#include <string>
#include <string_view>
#include <variant>

#include "app/ctl/options.h"
#include "app/ctl/socket.h"
#include "app/ctl/status.h"
#include "core/base/types.h"
#include "net/amqp/frame.h"
#include "net/amqp/methods.h"

namespace lepus::ctl {

// What the server said about itself in connection.start and connection.tune.
struct ServerInfo {
    u8 version_major = 0;
    u8 version_minor = 0;
    std::string properties;  // field table content bytes
    std::string mechanisms;
    std::string locales;
    u16 channel_max = 0;  // as the server proposed them; 0 means no limit
    u32 frame_max = 0;
    u16 heartbeat = 0;
};

// A message read from the broker: the content header and the whole body. The header's views
// point into header_payload, so a Content stays where it was filled (no copies, no moves).
struct Content {
    std::string header_payload;
    amqp::ContentHeader header;
    std::string body;

    Content() = default;
    Content(const Content&) = delete;
    Content& operator=(const Content&) = delete;
};

// Owns the socket and the read buffer. Lives for one command on the main thread.
class Client {
public:
    static constexpr u16 channel = 1;

    explicit Client(ConnectionSettings settings) : settings_(std::move(settings)) {}

    // Connects, logs in, opens the virtual host and channel 1.
    Status open();
    const ServerInfo& server() const { return server_; }
    u32 frame_max() const { return frame_max_; }

    Status send_method(const amqp::Method& method, u16 on_channel = channel);

    // Sends `request` on channel 1 and waits for the reply of type Reply. The reply's strings
    // are views into the read buffer: valid until the next read on this client.
    template <typename Reply, typename Request>
    Status call(const Request& request, Reply& reply) {
        Status status = send_method(request);
        if (!status.ok()) return status;
        return expect(reply);
    }

    // Waits for a method of type Reply on channel 1; anything else is a protocol failure.
    template <typename Reply>
    Status expect(Reply& reply) {
        amqp::Method method;
        Status status = read_method(method, Reply::name);
        if (!status.ok()) return status;
        if (const Reply* got = std::get_if<Reply>(&method)) {
            reply = *got;
            return Status::success();
        }
        return unexpected(method, Reply::name);
    }

    // The next method frame, for callers that accept several replies. A channel.close or
    // connection.close from the broker is answered here and returned as a refusal.
    // `awaiting` names what the caller waits for, for the timeout message.
    Status read_method(amqp::Method& out, std::string_view awaiting);

    // The content header and body frames that follow a method with content.
    Status read_content(Content& out);

    // basic.publish, its content header and the body split into frames of frame_max.
    Status publish(const amqp::BasicPublish& method, const amqp::BasicProperties& properties,
                   std::string_view body);

    // Closes channel 1 in order (channel.close, then close-ok). Anything the broker refused
    // before it got there (a channel.close of its own, a returned mandatory message) is the
    // result. Idempotent.
    Status close_channel();

    // Closes the channel and then the connection in order; the result is the first refusal or
    // failure met on the way. Idempotent; after it the client is finished.
    Status close();

    Status unexpected(const amqp::Method& method, std::string_view awaiting) const;

private:
    enum class State : u8 { idle, open, closed };

    Status handshake();
    Status send_start_ok();
    Status read_frame(amqp::Frame& out, std::string_view awaiting);
    void abandon();

    ConnectionSettings settings_;
    Socket socket_;
    ServerInfo server_;
    State state_ = State::idle;
    bool channel_open_ = false;
    u32 frame_max_ = 0;  // 0 until tuned: reads are then bounded by limits::frame_size_max
    std::string read_buffer_;
    usize read_consumed_ = 0;  // bytes of read_buffer_ that belong to frames already returned
    std::string write_buffer_;
};

// The refusal a basic.return stands for: "312 NO_ROUTE: the broker returned the message ...".
Status returned_refusal(const amqp::BasicReturn& returned);

}  // namespace lepus::ctl
