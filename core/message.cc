#include "core/message.h"

#include <cstring>
#include <new>

#include "core/base/assert.h"
#include "core/content_header.h"
#include "core/queue_arguments.h"

namespace lepus {

ChunkSlice copy_into_chunk(std::string_view bytes) {
    LEPUS_ASSERT(bytes.size() <= UINT32_MAX);
    Chunk* chunk = Chunk::allocate(static_cast<u32>(bytes.size()));
    std::memcpy(chunk->data(), bytes.data(), bytes.size());
    return ChunkSlice{ChunkRef::adopt(chunk), chunk->data(), static_cast<u32>(bytes.size())};
}

namespace {
// The pool of the shard running on this thread; see MessagePool::bind_to_current_thread.
thread_local MessagePool* thread_pool = nullptr;
}  // namespace

MessagePool::~MessagePool() {
    if (thread_pool == this) thread_pool = nullptr;
    trim();
}

void MessagePool::trim() {
    while (free_ != nullptr) {
        Free* next = free_->next;
        ::operator delete(static_cast<void*>(free_), sizeof(Message));
        free_ = next;
    }
    free_count_ = 0;
}

void MessagePool::bind_to_current_thread() { thread_pool = this; }

MessagePool* MessagePool::current() { return thread_pool; }

void* MessagePool::take() {
    if (free_ == nullptr) return ::operator new(sizeof(Message));
    Free* storage = free_;
    free_ = storage->next;
    free_count_--;
    return storage;
}

bool MessagePool::give_back(void* storage) {
    if (free_count_ >= free_count_max_) return false;
    free_ = new (storage) Free{free_};
    free_count_++;
    return true;
}

void* Message::operator new(std::size_t size) {
    LEPUS_ASSERT(size == sizeof(Message));
    MessagePool* pool = thread_pool;
    return pool != nullptr ? pool->take() : ::operator new(size);
}

void Message::operator delete(void* storage) { ::operator delete(storage, sizeof(Message)); }

void Message::destroy() {
    MessagePool* pool = pool_;
    this->~Message();
    void* storage = this;
    if (pool != nullptr && pool == thread_pool && pool->give_back(storage)) return;
    ::operator delete(storage, sizeof(Message));
}

void Message::append_body(ChunkSlice slice) {
    if (body_count_ < body_inline_max) {
        body_inline_[body_count_++] = std::move(slice);
        return;
    }
    if (body_count_ == body_inline_max) {
        body_spill_.reserve(body_inline_max * 2);
        for (ChunkSlice& s : body_inline_) body_spill_.push_back(std::move(s));
    }
    body_spill_.push_back(std::move(slice));
    body_count_++;
}

Message::Message(Routing routing, ChunkSlice header, u64 body_size, u8 delivery_mode, u8 priority)
    : pool_(thread_pool),
      routing_(std::move(routing)),
      header_(std::move(header)),
      body_size_(body_size),
      delivery_mode_(delivery_mode),
      priority_(priority) {
    ContentHeaderLayout layout;
    if (!read_content_header_layout(header_.view(), layout)) return;  // no properties used
    headers_ = layout.headers;
    expiration_ = layout.expiration;
    has_expiration_ = layout.has_expiration();
    if (has_expiration_) expiration_valid_ = core::parse_expiration(expiration_, expiration_ms_);
}

Message::Message(Routing routing, ChunkSlice header, u64 body_size, u8 delivery_mode, u8 priority,
                 const KnownProperties& known)
    : pool_(thread_pool),
      routing_(std::move(routing)),
      header_(std::move(header)),
      body_size_(body_size),
      headers_(known.headers),
      expiration_(known.expiration),
      delivery_mode_(delivery_mode),
      priority_(priority),
      has_expiration_(known.has_expiration) {
    auto inside = [&](std::string_view v) {
        return v.empty() ||
               (v.data() >= header_.data && v.data() + v.size() <= header_.data + header_.size);
    };
    LEPUS_ASSERT_MSG(inside(headers_) && inside(expiration_), "views into the header bytes");
    if (has_expiration_) expiration_valid_ = core::parse_expiration(expiration_, expiration_ms_);
}

std::string Message::body_copy() const {
    std::string out;
    out.reserve(body_size_);
    for (const ChunkSlice& slice : body()) out.append(slice.data, slice.size);
    return out;
}

}  // namespace lepus
