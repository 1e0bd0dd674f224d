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
// - Its storage comes from the MessagePool bound to the creating thread, if any. Whichever
//   shard drops the last reference frees it: back into that pool when it is the pool of the
//   releasing thread, otherwise to the allocator (which hands the memory back to its home
//   thread). Pools are compared by address only, so a message may outlive its pool.
// - One or two body slices (a body in one frame, or split across two receives) are kept
//   inline; more spill into a vector.
// - The two properties the broker acts on (headers, expiration) are located once, at
//   construction, and kept as views into the header bytes.
#include <atomic>
#include <cstddef>
#include <span>
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

class MessagePool;

// A message made here rather than read from a socket (a dead letter, a publish through the
// management API): its bytes copied into a chunk of their own.
ChunkSlice copy_into_chunk(std::string_view bytes);

class Message final {
public:
    struct Routing {
        std::string exchange;
        std::string routing_key;
    };

    // header is the content-header frame's payload (class id, weight, body size, properties).
    Message(Routing routing, ChunkSlice header, u64 body_size, u8 delivery_mode, u8 priority);
    // The same, for a caller that has decoded the header already: `headers` (table content)
    // and `expiration` are views into the header bytes, so they are not looked for again.
    struct KnownProperties {
        std::string_view headers;
        std::string_view expiration;
        bool has_expiration = false;
    };
    Message(Routing routing, ChunkSlice header, u64 body_size, u8 delivery_mode, u8 priority,
            const KnownProperties& known);

    // Storage from the calling thread's MessagePool when it has some (see the rules above).
    static void* operator new(std::size_t size);
    static void operator delete(void* storage);  // only if the constructor throws

    void append_body(ChunkSlice slice);

    const std::string& exchange() const { return routing_.exchange; }
    const std::string& routing_key() const { return routing_.routing_key; }
    std::string_view header_payload() const { return header_.view(); }
    std::span<const ChunkSlice> body() const {
        if (body_count_ <= body_inline_max) return {body_inline_, body_count_};
        return body_spill_;
    }
    u64 body_size() const { return body_size_; }
    // What a delivery of it puts on the way to a consumer's socket: body and content header.
    u64 transit_size() const { return body_size_ + header_.size; }
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
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
    }

private:
    static constexpr u32 body_inline_max = 2;

    ~Message() = default;
    void destroy();

    std::atomic<u32> refs_{1};
    u32 body_count_ = 0;
    MessagePool* pool_;  // the creating thread's pool, or nullptr; compared by address only
    Routing routing_;
    ChunkSlice header_;
    ChunkSlice body_inline_[body_inline_max];
    std::vector<ChunkSlice> body_spill_;  // every slice, once there are more than fit inline
    u64 body_size_;
    std::string_view headers_;     // into header_
    std::string_view expiration_;  // into header_
    u64 expiration_ms_ = 0;
    u8 delivery_mode_;
    u8 priority_;
    bool has_expiration_ = false;
    bool expiration_valid_ = false;
};

// A per-shard free list of message storage, so publishing allocates nothing in steady state.
// Lives on its shard's thread; bounded, so a burst does not pin memory for good.
class MessagePool {
public:
    explicit MessagePool(u32 free_count_max) : free_count_max_(free_count_max) {}
    ~MessagePool();
    MessagePool(const MessagePool&) = delete;
    MessagePool& operator=(const MessagePool&) = delete;

    // Marks this pool as the calling thread's: messages created and released here reuse it.
    void bind_to_current_thread();
    static MessagePool* current();
    u32 free_count() const { return free_count_; }
    // Returns every free message's storage to the allocator (under the memory alarm).
    void trim();

private:
    friend class Message;
    struct Free {
        Free* next;
    };
    void* take();
    // False when the list is full; the caller frees the storage.
    bool give_back(void* storage);

    u32 free_count_max_;
    Free* free_ = nullptr;
    u32 free_count_ = 0;
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
