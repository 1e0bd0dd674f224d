#pragma once
// Every limit of the broker, named in one place, with the relations between them checked.
#include "core/base/types.h"

namespace lepus::limits {

// Protocol limits we negotiate (the client may lower them in tune-ok).
inline constexpr u32 frame_size_max = 131072;        // RabbitMQ's default frame_max
inline constexpr u32 frame_size_min = 4096;          // AMQP's FRAME-MIN-SIZE
inline constexpr u16 channel_count_max = 2047;       // RabbitMQ's default channel_max
inline constexpr u64 message_size_max = 128u << 20;  // RabbitMQ's default max_message_size

// Receive buffers: one provided-buffer ring per shard. A buffer larger than a frame lets most
// frames arrive whole, so bodies stay in the buffer they arrived in.
inline constexpr u32 recv_buffer_size = 64 * 1024;
inline constexpr u32 recv_buffer_count = 256;  // power of two, as io_uring requires
// A receive of at most this many bytes is copied into a chunk of its own size and its buffer
// goes back to the ring at once. Otherwise a message that stays queued would keep its whole
// buffer (and the pages the kernel touched in it) alive: a slow publisher's backlog of small
// messages would cost pages per message. A receive this small means a quiet connection, so
// the copy costs little next to the receive itself.
inline constexpr u32 recv_compact_max = 4096;

// Completions a shard takes per loop turn: all that are ready (the CQ holds four times the 4096
// submission entries), within shard_inbox_high. Taking a receive only queues its bytes on its
// connection, so a long batch costs little; handling them is bounded apart, per turn and per
// connection, below. Leaving completions in the CQ instead would make an ack wait behind
// every buffer of publishes that arrived before it, turn after turn.
inline constexpr u32 completion_batch_max = 16384;

// Received bytes a shard handles per loop turn, all connections together: publishes routed,
// acks settled, methods answered. Bounding the turn bounds how long the queues' dispatch, the
// other shards' messages and every connection's send wait for whatever one client sent.
// Routing work counts too (Catalog::routing_work, one unit per header comparison or
// destination, weighed as a byte), so a publish that is cheap to send and dear to route
// cannot hold the turn either.
inline constexpr u64 turn_input_budget = 256 * 1024;
// What one connection is served before the next connection with input waiting is: an ack
// that arrived after a flood of publishes on another connection is handled in the same turn.
inline constexpr u64 connection_input_slice = 32 * 1024;
// Memory a connection's received and not yet handled bytes may hold (the whole receive
// buffers they are in). Past the high mark the shard stops reading its socket (the peer's TCP
// window closes) until it falls below the low mark; the receives already in the kernel's hands
// may add up to one turn's arrivals on top.
inline constexpr u64 connection_inbox_high = 256 * 1024;
inline constexpr u64 connection_inbox_low = 64 * 1024;
// The same for all of a shard's connections together (many connections that each send a
// little at once), each counted up to its own high mark and a publisher held by flow control
// not at all: their excess is bounded by their stopped reads, and counting it would starve
// the acks that release them. Past it the shard takes no more completions: receives wait in
// the completion queue, and once the receive buffers are all there, in the kernel, until the
// inboxes drain. The completion queue bounded all input this way before bytes were queued per
// connection, to as many receive buffers as the ring has; this allows half as much again.
inline constexpr u64 shard_inbox_high = u64{recv_buffer_count} * recv_buffer_size / 2;
static_assert(connection_input_slice <= turn_input_budget);
static_assert(connection_inbox_low < connection_inbox_high);
static_assert(connection_inbox_high < shard_inbox_high);

// Free message storage a shard keeps for reuse (a few hundred bytes each). Enough for the
// messages of a few loop turns; a burst beyond it goes back to the allocator.
inline constexpr u32 message_pool_free_max = 8192;

// Cross-shard rings: entries per ordered pair of shards; overflow waits in the sender's outbox.
inline constexpr u32 shard_ring_capacity = 4096;
inline constexpr u32 shard_mailbox_batch_max = 4096;  // entries drained per ring per loop turn
// Messages waiting to enter the rings to other shards. Past the high mark the shard stops
// reading from connections that publish, until the backlog falls below the low mark.
inline constexpr u32 shard_backlog_high = 65536;
inline constexpr u32 shard_backlog_low = 16384;

// A consumer may have this many deliveries travelling from its queue's shard to its socket
// before the queue waits for the connection to report them written. This is the flow control
// that keeps a fast queue from flooding a slow consumer's memory.
inline constexpr u32 consumer_transit_max = 2048;
// ... and no more than this many bytes of them (bodies and content headers, see
// Message::transit_size): counting messages alone let a no-ack consumer that never reads its
// socket be handed 2,048 messages of 1 MiB. A message larger than this still goes, alone.
inline constexpr u64 consumer_transit_bytes_max = 8ull << 20;

// A queue with consumers whose ready backlog passes the high mark is under pressure: the
// connections that publish to it pause until it falls below the low mark, so ingest cannot
// outrun what its consumers take, whether delivery (the socket) or acks (their prefetch) hold
// them back. Publishers to other queues go on. A queue with no consumer, or whose consumers
// have taken nothing for queue_consumer_stall_ms (a consumer that hangs with its prefetch
// full), accepts and pages as if it had none: its publishers are never held for it. So is a
// connection that itself consumes with acks (see session::Session::after_input), so that its
// acks never wait behind its own held publishes.
inline constexpr u32 queue_pressure_high = 16384;
inline constexpr u32 queue_pressure_low = 4096;
static_assert(queue_pressure_low < queue_pressure_high);
// The same in bytes of bodies held in memory: a backlog of a few thousand large messages
// costs as much as millions of small ones.
inline constexpr u64 queue_pressure_high_bytes = 64ull << 20;
inline constexpr u64 queue_pressure_low_bytes = 16ull << 20;
static_assert(queue_pressure_low_bytes < queue_pressure_high_bytes);
inline constexpr u64 queue_consumer_stall_ms = 1000;

// Deep queues: a queue keeps at most this many bytes of ready bodies in memory. Past it, a
// message that is in the journal keeps only its index entry and is read back from the journal
// once it is among the first queue_read_ahead_max entries of its band.
inline constexpr u64 queue_resident_bytes_max = 64ull << 20;
inline constexpr u32 queue_read_ahead_max = 512;
// Journal reads a shard has in flight for paged messages, all queues together.
inline constexpr u32 shard_reads_in_flight_max = 1024;
// Recovery rebuilds messages in memory up to this many body bytes per shard; later ones come
// back as index entries and are read from the journal as they near the head of their queue.
inline constexpr u64 recovery_resident_bytes_max = 64ull << 20;

// Frames a channel holds while it waits for an earlier method to complete on another shard.
inline constexpr u32 channel_parked_frames_max = 65536;
// ... and the bytes of them: a parked frame keeps the buffer it arrived in, so large frames
// parked by the thousand would hold gigabytes. A legitimate wait lasts a loop turn or two, in
// which a shard reads a few MiB at most.
inline constexpr u64 channel_parked_bytes_max = 64ull << 20;

inline constexpr u32 connection_count_max = 65536;  // per shard
inline constexpr u32 iovec_count_max = 1024;        // IOV_MAX
// Content headers up to this size are copied into a delivery's frame bytes, not referenced.
inline constexpr u32 content_header_copy_max = 256;
inline constexpr u32 close_handshake_timeout_ms = 3000;
// A client that breaks the AMQP handshake is dropped this long after, with no reply, as
// RabbitMQ does (its SILENT_CLOSE_DELAY).
inline constexpr u32 handshake_error_close_delay_ms = 3000;
// A frame that has begun to arrive must be complete within this time, heartbeats or not: a
// peer that sends half a frame and falls silent is closed instead of holding its memory for
// good. A legitimate frame of frame_size_max bytes crosses even a slow link in far less.
inline constexpr u32 incomplete_frame_timeout_ms = 15000;
// What incomplete frames may hold on one shard, all connections together. A frame that would
// grow past it first closes the connections whose incomplete frames began longest ago (a
// legitimate frame completes within a loop turn or two; a stalled one only gets older), until
// it fits.
inline constexpr u64 shard_incomplete_frame_bytes_max = 64ull << 20;
// The first buffer of an incomplete frame; it doubles as bytes arrive.
inline constexpr u32 incomplete_frame_chunk_min = 4096;
// Bytes a connection may have waiting to be sent (frames and the bodies they reference). Past
// the high mark the broker stops reading from it, since it is the peer that does not read:
// a client pipelining requests without reading the replies stops being served instead of
// growing the broker without bound. Reading resumes below the low mark. Deliveries are
// bounded on their own (consumer_transit_bytes_max per consumer).
inline constexpr u64 connection_send_backlog_high = 4ull << 20;
inline constexpr u64 connection_send_backlog_low = 1ull << 20;
static_assert(connection_send_backlog_low < connection_send_backlog_high);
inline constexpr u32 shutdown_grace_ms = 2000;

// A shard hands the memory it freed back to the kernel (see net/server/idle_watch.h) once it has
// been idle this long after doing work: long enough that a pause between bursts does not make
// it release pages it is about to fault in again, short enough that the resident size follows
// a drop in load within moments.
inline constexpr u32 memory_release_quiet_ms = 1000;
// A shard that never stops working altogether (heartbeats for many idle connections) but is
// idle most of the time releases at most this often.
inline constexpr u32 memory_release_interval_ms = 10000;
static_assert(memory_release_quiet_ms < memory_release_interval_ms);

// Out of descriptors or kernel memory, an accept fails and the connection it could not take
// stays in the listen backlog, so accepting again at once fails again at once: a shard would
// spin a core on it. It stops accepting for this long instead; clients wait in the backlog.
inline constexpr u32 accept_pause_ms = 100;
// Accept failures are logged at most once per interval, with a count of those it stands for.
inline constexpr u32 accept_failure_log_interval_ms = 1000;

static_assert((recv_buffer_count & (recv_buffer_count - 1)) == 0);
static_assert(recv_buffer_size >= frame_size_min, "a minimum-size frame fits one buffer");
static_assert(recv_compact_max < recv_buffer_size);
static_assert((shard_ring_capacity & (shard_ring_capacity - 1)) == 0);
static_assert(frame_size_max >= frame_size_min);
static_assert(shard_backlog_low < shard_backlog_high);

// The shard loop. Each shard's io_uring has this many submission entries; the completion queue
// four times as many, which is what completion_batch_max takes in one turn.
inline constexpr u32 shard_ring_entries = 4096;
static_assert(completion_batch_max == shard_ring_entries * 4);
// Timers (heartbeats, deadlines, expiry) run at least this often; an idle shard sleeps no
// longer, and the close and handshake deadlines are this coarse.
inline constexpr u32 tick_interval_ms = 250;
static_assert(tick_interval_ms < close_handshake_timeout_ms);
static_assert(tick_interval_ms < handshake_error_close_delay_ms);
// While busy polling, the shard spins this many times between entries into its ring (each one
// a syscall) and checks its mailboxes on every spin.
inline constexpr u32 busy_poll_ring_every = 8;

// The journal's storage has no ring of its own: its writes and page-in reads go on the shard's
// ring (io::SegmentStorage), at most writes_in_flight_max plus shard_reads_in_flight_max of them
// per journal. The reads fit the submission queue with room to spare for the connections' work;
// a full queue is submitted early (io::Ring::prepare), so this is not a hard bound either way.
static_assert(shard_reads_in_flight_max <= shard_ring_entries / 2);
// New segments are zero-filled with writes of this size.
inline constexpr u32 journal_zero_fill_bytes = 1u << 20;
// Recovery reads a segment sequentially, this much at a time into one buffer of this size.
inline constexpr u32 journal_recovery_read_bytes = 8u << 20;
// Missing segments listed in the recovery report; a larger hole is the same failure.
inline constexpr usize journal_missing_segments_reported_max = 1024;
// The largest record the journal takes: a message record holds the largest body, a content
// header as large as its frame may be, the exchange and routing key (short strings) and a
// fixed prefix; the last 64 KiB are room for those and to spare.
inline constexpr u32 journal_record_payload_max =
    static_cast<u32>(message_size_max + frame_size_max + (64u << 10));
static_assert(journal_record_payload_max >= message_size_max + frame_size_max + 2 * 255 + 4096);

// The definitions journal is rewritten as one snapshot once it holds more than
// definitions_snapshot_ratio times what a snapshot would take, and at least
// definitions_snapshot_threshold_bytes: its size stays proportional to the definitions.
inline constexpr u64 definitions_snapshot_threshold_bytes = 1u << 20;
inline constexpr u64 definitions_snapshot_ratio = 4;

}  // namespace lepus::limits
