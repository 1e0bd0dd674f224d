#include "net/session/publish_assembly.h"

#include <cstring>

#include "core/base/assert.h"
#include "core/base/limits.h"
#include "core/queue_arguments.h"
#include "core/wire/wire_writer.h"

namespace lepus::session {

using namespace lepus::amqp;

namespace {

// reply_to = amq.rabbitmq.reply-to becomes the channel's reply name: the header is encoded
// anew into a chunk of its own (the body is not touched), and decoded again so that its views
// point at the new bytes.
void rewrite_reply_to(ContentHeader& header, ChunkSlice& slice, const DirectReplyName& name) {
    std::string reply_name = direct_reply_name(name);
    header.properties.set_reply_to(reply_name);
    std::string encoded;
    wire::WireWriter writer(encoded);
    encode_content_header(header, writer);
    Chunk* chunk = Chunk::allocate(static_cast<u32>(encoded.size()));
    std::memcpy(chunk->data(), encoded.data(), encoded.size());
    slice = ChunkSlice{ChunkRef::adopt(chunk), chunk->data(), static_cast<u32>(encoded.size())};
    decode_content_header(slice.view(), header);
}

}  // namespace

void PublishAssembly::begin(const BasicPublish& method) {
    LEPUS_ASSERT(expect_ == Expect::method);
    exchange_.assign(method.exchange.data(), method.exchange.size());
    routing_key_.assign(method.routing_key.data(), method.routing_key.size());
    mandatory_ = method.mandatory;
    expect_ = Expect::header;
}

std::optional<PublishAssembly::Problem> PublishAssembly::refuse(ReplyCode code, std::string text) {
    reset();
    return Problem{code, std::move(text)};
}

std::optional<PublishAssembly::Problem> PublishAssembly::header(std::string_view payload,
                                                                const ChunkRef& chunk,
                                                                std::string_view user,
                                                                const DirectReplyName* reply_to) {
    LEPUS_ASSERT(expect_ == Expect::header);
    ContentHeader header;
    if (!decode_content_header(payload, header)) {
        return refuse(ReplyCode::syntax_error, "SYNTAX_ERROR - malformed content header");
    }
    if (header.body_size > limits::message_size_max) {
        return refuse(ReplyCode::precondition_failed, "PRECONDITION_FAILED - message size " +
                                                          std::to_string(header.body_size) +
                                                          " is larger than configured max size " +
                                                          std::to_string(limits::message_size_max));
    }
    const BasicProperties& p = header.properties;
    ChunkSlice slice{chunk, payload.data(), static_cast<u32>(payload.size())};
    bool rewritten = false;
    if (p.has(BasicProperty::reply_to) && p.reply_to == direct_reply_queue) {
        if (reply_to == nullptr) {
            return refuse(ReplyCode::precondition_failed,
                          "PRECONDITION_FAILED - fast reply consumer does not exist");
        }
        rewrite_reply_to(header, slice, *reply_to);
        rewritten = true;
    }
    if (p.has(BasicProperty::expiration)) {
        u64 ttl_ms = 0;
        if (!core::parse_expiration(p.expiration, ttl_ms)) {
            return refuse(ReplyCode::precondition_failed,
                          core::invalid_expiration_text(p.expiration));
        }
    }
    // Read after a rewrite, so that the view is into the bytes the message keeps.
    foreign_user_id_.reset();
    if (p.has(BasicProperty::user_id) && p.user_id != user) foreign_user_id_ = p.user_id;
    body_size_ = header.body_size;
    received_ = 0;
    // Views into the header bytes the message keeps alive.
    headers_ = p.has(BasicProperty::headers) ? p.headers : std::string_view{};
    Message::Routing routing{exchange_, routing_key_};
    if (rewritten) {  // new header bytes: the message finds its properties in them
        message_ = MessageRef::adopt(new Message(std::move(routing), std::move(slice),
                                                 header.body_size, p.delivery_mode, p.priority));
    } else {  // decoded once, here: the message keeps the views
        Message::KnownProperties known{
            headers_, p.has(BasicProperty::expiration) ? p.expiration : std::string_view{},
            p.has(BasicProperty::expiration)};
        message_ =
            MessageRef::adopt(new Message(std::move(routing), std::move(slice), header.body_size,
                                          p.delivery_mode, p.priority, known));
    }
    expect_ = Expect::body;
    return std::nullopt;
}

std::optional<PublishAssembly::Problem> PublishAssembly::body(std::string_view payload,
                                                              const ChunkRef& chunk) {
    LEPUS_ASSERT(expect_ == Expect::body);
    received_ += payload.size();
    if (received_ > body_size_) {
        return refuse(ReplyCode::frame_error,
                      "FRAME_ERROR - content body exceeds the size in its header");
    }
    if (!payload.empty()) {
        message_->append_body(ChunkSlice{chunk, payload.data(), static_cast<u32>(payload.size())});
    }
    return std::nullopt;
}

PublishAssembly::Complete PublishAssembly::take() {
    LEPUS_ASSERT(complete());
    expect_ = Expect::method;
    std::optional<std::string_view> foreign_user_id = foreign_user_id_;
    foreign_user_id_.reset();
    return Complete{exchange_, mandatory_, headers_, std::move(message_), foreign_user_id};
}

void PublishAssembly::reset() {
    expect_ = Expect::method;
    message_ = MessageRef{};
    headers_ = {};
    foreign_user_id_.reset();
    body_size_ = received_ = 0;
}

}  // namespace lepus::session
