#pragma once
// One channel's publish as its frames arrive: basic.publish, then its content header, then
// body frames until the size the header announced. The message is built as they come, its
// content header and body as slices of the receive buffers they arrived in (never copied),
// and is checked as RabbitMQ checks a publish's content: size, user_id, expiration, and the
// direct reply-to rewrite. A channel feeds it frames and routes what it completes.
#include <optional>
#include <string>
#include <string_view>

#include "core/base/types.h"
#include "core/chunk.h"
#include "core/message.h"
#include "net/amqp/methods.h"
#include "net/session/direct_reply.h"

namespace lepus::session {

class PublishAssembly {
public:
    enum class Expect : u8 { method, header, body };

    // Why a publish was refused; the assembly has dropped it and expects a method again.
    struct Problem {
        amqp::ReplyCode code;
        std::string text;
    };

    // A whole publish, ready to route.
    struct Complete {
        const std::string& exchange;
        bool mandatory;
        std::string_view headers;  // the headers table's bytes, in the message's header
        MessageRef message;
        // The user_id property when it names someone other than the connection's user (a view
        // into the message's header), none otherwise. The channel refuses the publish unless
        // the user is an impersonator, after its permission checks, in RabbitMQ's order.
        std::optional<std::string_view> foreign_user_id;
    };

    Expect expect() const { return expect_; }
    void begin(const amqp::BasicPublish& method);
    // The content header. `user`: the connection's, against which user_id is compared.
    // `reply_to`: the channel's reply consumer, whose name replaces amq.rabbitmq.reply-to in
    // reply_to; nullptr when it has none (then such a publish is refused).
    std::optional<Problem> header(std::string_view payload, const ChunkRef& chunk,
                                  std::string_view user, const DirectReplyName* reply_to);
    std::optional<Problem> body(std::string_view payload, const ChunkRef& chunk);
    // The body is all there (after a header or a body frame): take it; a method comes next.
    bool complete() const { return expect_ == Expect::body && received_ == body_size_; }
    Complete take();
    // Drops a publish under way (the channel closed).
    void reset();

private:
    std::optional<Problem> refuse(amqp::ReplyCode code, std::string text);

    Expect expect_ = Expect::method;
    std::string exchange_;
    std::string routing_key_;
    bool mandatory_ = false;
    u64 body_size_ = 0;
    u64 received_ = 0;
    std::string_view headers_;
    std::optional<std::string_view> foreign_user_id_;
    MessageRef message_;
};

}  // namespace lepus::session
