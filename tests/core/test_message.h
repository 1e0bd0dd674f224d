#pragma once
// Builds messages the way a channel does: the content-header payload and the body each lie in
// a chunk the message holds a reference on. For tests only.
#include <string>
#include <string_view>

#include "core/chunk.h"
#include "core/message.h"
#include "core/shard_message.h"
#include "core/wire/wire_writer.h"

namespace lepus::test_support {

// A content-header payload with no properties: class 60, weight 0, body size, flags 0.
inline std::string content_header_payload(u64 body_size) {
    std::string out;
    wire::WireWriter writer(out);
    writer.write_u16(60);
    writer.write_u16(0);
    writer.write_u64(body_size);
    writer.write_u16(0);
    return out;
}

// Copies `bytes` into a fresh chunk and returns a slice over all of it.
inline ChunkSlice slice_of(std::string_view bytes) {
    Chunk* chunk = Chunk::allocate(static_cast<u32>(bytes.size()));
    bytes.copy(chunk->data(), bytes.size());
    ChunkSlice slice;
    slice.chunk = ChunkRef::adopt(chunk);
    slice.data = chunk->data();
    slice.size = static_cast<u32>(bytes.size());
    return slice;
}

inline MessageRef make_message(std::string_view body, std::string exchange = "",
                               std::string routing_key = "", u8 delivery_mode = 1) {
    auto* message = new Message(Message::Routing{std::move(exchange), std::move(routing_key)},
                                slice_of(content_header_payload(body.size())), body.size(),
                                delivery_mode, /*priority=*/0);
    if (!body.empty()) message->append_body(slice_of(body));
    return MessageRef::adopt(message);
}

// A consumer on channel 1 of connection slot 3 on shard 0, told apart by `id`.
inline core::ConsumerKey consumer_key(u64 id) {
    core::ConsumerKey key;
    key.channel.connection = core::ConnectionKey{ShardId(0), 3, 1};
    key.channel.channel = 1;
    key.channel.generation = 1;
    key.id = id;
    return key;
}

}  // namespace lepus::test_support
