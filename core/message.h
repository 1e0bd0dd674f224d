#pragma once
// A published message: its routing facts, its content header and its body, the last two
// exactly as they arrived on the wire, by reference into the chunks they arrived in.
//
// Ownership rules:
// - A message is immutable after publish and reference counted (atomically: it is shared by
//   the queues it was routed to, on any shard, and by the sends delivering it).
// - It holds one chunk reference per slice, so the bytes live as long as the message.
// - Per-delivery state (redelivered, delivery tag) lives with the queue and the channel,
//   never in the message.
// - The two properties the broker acts on (headers, expiration) are located once, at
//   construction, and kept as views into the header bytes.
#include <atomic>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/types.h"
#include "core/chunk.h"

namespace lepus {

// Bytes inside a chunk, with a reference on it.
struct ChunkSlice {
    ChunkRef chunk;
    const char* data = nullptr;
    u32 size = 0;

    std::string_view view() const { return {data, size}; }
};

class Message {
public:
    struct Routing {
        std::string exchange;
        std::string routing_key;
    };

    // header is the content-header frame's payload (class id, weight, body size, properties).
    Message(Routing routing, ChunkSlice header, u64 body_size, u8 delivery_mode, u8 priority);

    void append_body(ChunkSlice slice) { body_.push_back(std::move(slice)); }

    const std::string& exchange() const { return routing_.exchange; }
    const std::string& routing_key() const { return routing_.routing_key; }
    std::string_view header_payload() const { return header_.view(); }
    const std::vector<ChunkSlice>& body() const { return body_; }
    u64 body_size() const { return body_size_; }
    bool persistent() const { return delivery_mode_ == 2; }
    u8 delivery_mode() const { return delivery_mode_; }
    u8 priority() const { return priority_; }
    // The headers table's content bytes (empty when there is none).
    std::string_view headers() const { return headers_; }
    bool has_expiration() const { return has_expiration_; }
    // The expiration property as published, and as milliseconds when it parses (the channel
    // refuses a publish whose expiration does not; a queue treats one as no expiry).
    std::string_view expiration() const { return expiration_; }
    bool expiration_ms(u64& ms) const {
        ms = expiration_ms_;
        return expiration_valid_;
    }
    // Copies the body into one string; for tests and diagnostics, never the data path.
    std::string body_copy() const;

    void retain() { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

private:
    ~Message() = default;

    std::atomic<u32> refs_{1};
    Routing routing_;
    ChunkSlice header_;
    std::vector<ChunkSlice> body_;
    u64 body_size_;
    std::string_view headers_;     // into header_
    std::string_view expiration_;  // into header_
    u64 expiration_ms_ = 0;
    u8 delivery_mode_;
    u8 priority_;
    bool has_expiration_ = false;
    bool expiration_valid_ = false;
};

// An owning handle: one reference to a message.
class MessageRef {
public:
    MessageRef() = default;
    static MessageRef adopt(Message* message) {
        MessageRef ref;
        ref.message_ = message;
        return ref;
    }
    MessageRef(const MessageRef& other) : message_(other.message_) {
        if (message_) message_->retain();
    }
    MessageRef(MessageRef&& other) noexcept : message_(std::exchange(other.message_, nullptr)) {}
    MessageRef& operator=(MessageRef other) noexcept {
        std::swap(message_, other.message_);
        return *this;
    }
    ~MessageRef() {
        if (message_) message_->release();
    }

    Message* get() const { return message_; }
    Message* operator->() const { return message_; }
    Message& operator*() const { return *message_; }
    explicit operator bool() const { return message_ != nullptr; }

private:
    Message* message_ = nullptr;
};

}  // namespace lepus
