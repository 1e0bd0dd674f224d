#pragma once
// What the broker writes in its journals, and how each payload is laid out (big-endian, with
// AMQP's short and long strings, as on the wire). persist/FORMAT.md describes the framing
// around these payloads; this header owns their contents.
//
// Message journal (one per shard):
// - message:    a persistent message entering a durable queue on this shard. Its sequence
//               number is the message's identity in this journal. The body is written once per
//               shard: a second durable queue on the same shard gets an enqueue record.
//                 u64 queue id, u8 priority, shortstr exchange, shortstr routing key,
//                 u32 header length, header (the content-header payload), body (the rest)
// - enqueue:    u64 queue id, u64 message sequence
// - settle:     messages that left a queue for good (acked, rejected, expired, dropped):
//                 u64 queue id, u32 count, count x u64 message sequence
// - queue_drop: every message of the queue so far is gone (purge, deletion): u64 queue id
//
// Definitions journal (shard 0):
// - boot:           u64 epoch; one per start, so queue ids never repeat across restarts
// - definition:     one catalog change touching durable things (see encode_definition)
// - snapshot_begin: the durable definitions are replaced by the definition records that
//                   follow, up to snapshot_end; written when the journal has grown
// - snapshot_end:   the snapshot is complete
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/base/types.h"
#include "core/shard_message.h"

namespace lepus::core {

enum class RecordKind : u8 {
    message = 1,
    enqueue = 2,
    settle = 3,
    queue_drop = 4,
    boot = 16,
    definition = 17,
    snapshot_begin = 18,
    snapshot_end = 19,
};

struct MessageRecord {
    QueueId queue;
    u8 priority = 0;
    std::string_view exchange;
    std::string_view routing_key;
    std::string_view header;
    std::string_view body;
};

// The fixed part of a message record, ahead of header and body (which are appended as parts
// of their own so the body is copied once, into the journal's write buffer).
void encode_message_prefix(std::string& out, QueueId queue, u8 priority, std::string_view exchange,
                           std::string_view routing_key, u32 header_size);
bool decode_message(std::string_view payload, MessageRecord& out);

void encode_enqueue(std::string& out, QueueId queue, u64 message_sequence);
bool decode_enqueue(std::string_view payload, QueueId& queue, u64& message_sequence);

// Settle records are built incrementally: a header, then sequences, then the count patched.
void encode_settle_begin(std::string& out, QueueId queue);
void encode_settle_add(std::string& out, u64 message_sequence);
void encode_settle_end(std::string& out);
// Calls visit(u64) for each sequence; false when malformed.
template <typename Visit>
bool decode_settle(std::string_view payload, QueueId& queue, Visit&& visit);
bool decode_settle_header(std::string_view payload, QueueId& queue, u32& count);
u64 settle_sequence_at(std::string_view payload, u32 index);

void encode_queue_drop(std::string& out, QueueId queue);
bool decode_queue_drop(std::string_view payload, QueueId& queue);

void encode_boot(std::string& out, u64 epoch);
bool decode_boot(std::string_view payload, u64& epoch);

// One catalog change: exchanges, bindings and queues (the durable ones), and every change of
// the access state (vhosts, users with their password hashes, permissions, topic permissions,
// limits) and of the policies, each in its own tagged layout (journal_records.cc).
void encode_definition(std::string& out, const CatalogUpdate& update);
std::optional<CatalogUpdate> decode_definition(std::string_view payload);

template <typename Visit>
bool decode_settle(std::string_view payload, QueueId& queue, Visit&& visit) {
    u32 count = 0;
    if (!decode_settle_header(payload, queue, count)) return false;
    for (u32 i = 0; i < count; i++) visit(settle_sequence_at(payload, i));
    return true;
}

}  // namespace lepus::core
