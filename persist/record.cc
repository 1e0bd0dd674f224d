#include "persist/record.h"

#include <bit>
#include <cstring>

#include "core/base/assert.h"
#include "persist/crc32c.h"

namespace lepus::persist {

static_assert(std::endian::native == std::endian::little,
              "records are little-endian and copied as host integers");

namespace {

constexpr u32 checksum_covered_from = 4;  // the checksum covers what follows it
constexpr u32 length_offset = 4;
constexpr u32 sequence_offset = 8;
constexpr u32 kind_offset = 16;
constexpr u32 reserved_offset = 17;
constexpr u32 reserved_size = 7;

u32 checksum(const char* record, u32 payload_length) {
    return crc32c_extend(0, record + checksum_covered_from,
                         record_header_size - checksum_covered_from + payload_length);
}

}  // namespace

void record_seal(char* record, u8 kind, u64 sequence, u32 payload_length) {
    LEPUS_ASSERT(kind != record_kind_none);
    LEPUS_ASSERT(sequence > 0);
    LEPUS_ASSERT(payload_length <= record_payload_max);
    std::memcpy(record + length_offset, &payload_length, 4);
    std::memcpy(record + sequence_offset, &sequence, 8);
    record[kind_offset] = static_cast<char>(kind);
    std::memset(record + reserved_offset, 0, reserved_size);
    u32 padding = record_size(payload_length) - record_header_size - payload_length;
    std::memset(record + record_header_size + payload_length, 0, padding);
    u32 crc = checksum(record, payload_length);
    std::memcpy(record, &crc, 4);
}

const char* record_check_name(RecordCheck check) {
    switch (check) {
        case RecordCheck::valid: return "valid";
        case RecordCheck::zero: return "zero";
        case RecordCheck::bad_header: return "bad_header";
        case RecordCheck::truncated: return "truncated";
        case RecordCheck::bad_checksum: return "bad_checksum";
    }
    LEPUS_UNREACHABLE();
}

RecordCheck record_check(const char* data, usize available, RecordView& out) {
    if (available < record_header_size) return RecordCheck::truncated;
    static constexpr char zeros[record_header_size] = {};
    if (std::memcmp(data, zeros, record_header_size) == 0) return RecordCheck::zero;

    u32 crc = 0;
    u32 payload_length = 0;
    u64 sequence = 0;
    std::memcpy(&crc, data, 4);
    std::memcpy(&payload_length, data + length_offset, 4);
    std::memcpy(&sequence, data + sequence_offset, 8);
    u8 kind = static_cast<u8>(data[kind_offset]);
    if (kind == record_kind_none || sequence == 0 || payload_length > record_payload_max) {
        return RecordCheck::bad_header;
    }
    if (std::memcmp(data + reserved_offset, zeros, reserved_size) != 0) {
        return RecordCheck::bad_header;
    }
    // A plausible header: its fields are reported even if the record then fails, so a reader
    // can tell a damaged continuation (the expected sequence) from stale bytes.
    out.kind = kind;
    out.sequence = sequence;
    out.size = record_size(payload_length);
    // Writers always pad, so the whole padded record must be there.
    if (out.size > available) return RecordCheck::truncated;
    if (checksum(data, payload_length) != crc) return RecordCheck::bad_checksum;
    out.payload = std::string_view(data + record_header_size, payload_length);
    return RecordCheck::valid;
}

}  // namespace lepus::persist
