#pragma once
// The journal's record: a 24-byte self-checking header and an opaque payload, padded to 8 bytes.
// FORMAT.md describes the bytes in prose; this header holds the constants and the one encoder
// and one checker, so the reader verifies exactly what the writer produced.
//
//   offset  size  field
//        0     4  crc32c over bytes 4..24 of the header and the payload
//        4     4  payload_length
//        8     8  sequence (1, 2, 3, ... across the whole journal)
//       16     1  kind (0 is never written: a zero header marks the end of written data)
//       17     7  reserved, zero
#include <string_view>

#include "core/base/limits.h"
#include "core/base/types.h"

namespace lepus::persist {

// O_DIRECT writes and reads are whole blocks at block-aligned offsets from aligned memory.
inline constexpr u32 block_size = 4096;
// What a disk writes atomically; a torn write leaves a prefix of sectors (the simulator's model).
inline constexpr u32 sector_size = 512;
inline constexpr u32 record_header_size = 24;
inline constexpr u32 record_alignment = 8;
// See limits::journal_record_payload_max.
inline constexpr u32 record_payload_max = limits::journal_record_payload_max;

inline constexpr u8 record_kind_none = 0;  // padding: never the kind of a written record
// The journal's own records. Kinds from record_kind_journal_min up are reserved for it; the
// visitor of recovery never sees them.
inline constexpr u8 record_kind_journal_min = 0xF0;
inline constexpr u8 record_kind_segment_deleted = 0xF0;  // payload: u64 segment number

static_assert(block_size % sector_size == 0, "O_DIRECT writes are whole sectors");
static_assert(block_size % record_alignment == 0);
static_assert(record_header_size % record_alignment == 0);

constexpr u64 align_up(u64 value, u64 alignment) {
    return (value + alignment - 1) / alignment * alignment;
}

// Bytes a record with this payload occupies on disk, padding included.
constexpr u32 record_size(u32 payload_length) {
    return static_cast<u32>(align_up(u64{record_header_size} + payload_length, record_alignment));
}
static_assert(record_size(record_payload_max) > record_payload_max, "no overflow of u32");

// Writes the header for a record whose payload (payload_length bytes) already follows it at
// `record + record_header_size`, zeroes the padding, and computes the checksum last.
void record_seal(char* record, u8 kind, u64 sequence, u32 payload_length);

struct RecordView {
    u8 kind = record_kind_none;
    u64 sequence = 0;
    std::string_view payload;
    u32 size = 0;  // bytes on disk, padding included
};

// What a reader finds at a position. Rows of the recovery table start from these.
enum class RecordCheck : u8 {
    valid,
    zero,          // an all-zero header: the end of written data in this extent
    bad_header,    // a length or kind no writer produces, or non-zero reserved bytes
    truncated,     // the record would run past the bytes available (the segment's end)
    bad_checksum,  // torn or corrupted
};
const char* record_check_name(RecordCheck check);

// Checks the record at `data`, given `available` bytes up to the end of the segment. On
// truncated and bad_checksum, `out` holds the header's kind, sequence and size (not payload).
RecordCheck record_check(const char* data, usize available, RecordView& out);

}  // namespace lepus::persist
