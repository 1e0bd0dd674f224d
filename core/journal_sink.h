#pragma once
// Where a shard's durable records go. core decides what is written and when an effect may be
// released (a confirm, a declare-ok); the journal decides when the bytes are on disk. The
// server backs this with persist::Journal (through an adapter in net/server); tests back it
// with a fake that completes writes when told to.
//
// The contract, as persist/FORMAT.md states it for the journal:
// - append copies the record; it is durable once durable_sequence() reaches its sequence.
// - retain/release count the live records of a segment; a segment with none, and none of whose
//   depend()-encies remain, is deleted. A record that cancels another (an ack, a deletion)
//   makes its own segment depend on the cancelled record's, so the cancellation outlives what
//   it cancels and recovery cannot bring the cancelled record back.
#include <span>
#include <string_view>

#include "core/base/types.h"

namespace lepus::core {

// A record's payload on disk: which segment, where, how long.
struct RecordPlace {
    u64 segment = 0;
    u32 offset = 0;
    u32 length = 0;
};

struct RecordAppended {
    u64 sequence = 0;
    RecordPlace place;
};

// Receives the records read back with JournalSink::read, on the shard's thread, in a later
// loop turn. `ok` is false when the read failed or the bytes did not verify.
class RecordReader {
public:
    virtual ~RecordReader() = default;
    virtual void record_read(u64 token, std::string_view payload, bool ok) = 0;
};

class JournalSink {
public:
    virtual ~JournalSink() = default;
    virtual RecordAppended append(u8 kind, std::span<const std::string_view> parts) = 0;
    // Reads back the payload of a durable record (sequence <= durable_sequence()); the
    // answer goes to `reader` with `token`.
    virtual void read(const RecordPlace& place, u64 token, RecordReader& reader) = 0;
    virtual u64 durable_sequence() const = 0;
    virtual void retain(u64 segment) = 0;
    virtual void release(u64 segment) = 0;
    virtual void depend(u64 later, u64 earlier) = 0;
};

}  // namespace lepus::core
