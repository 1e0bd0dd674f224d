#include "persist/crc32c.h"

#include <cstring>

#include "core/base/assert.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace lepus::persist {
namespace {

constexpr u32 polynomial_reflected = 0x82F63B78;  // Castagnoli, bit-reversed

struct Table {
    u32 entries[256];
    constexpr Table() : entries() {
        for (u32 i = 0; i < 256; i++) {
            u32 value = i;
            for (int bit = 0; bit < 8; bit++) {
                value = (value & 1) ? (value >> 1) ^ polynomial_reflected : value >> 1;
            }
            entries[i] = value;
        }
    }
};

constexpr Table table;

u32 extend_table(u32 state, const u8* data, usize length) {
    for (usize i = 0; i < length; i++) {
        state = table.entries[(state ^ data[i]) & 0xFF] ^ (state >> 8);
    }
    return state;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) u32 extend_hardware(u32 state, const u8* data, usize length) {
    u64 state64 = state;
    while (length >= 8) {
        u64 word;
        std::memcpy(&word, data, 8);  // unaligned payloads are normal
        state64 = _mm_crc32_u64(state64, word);
        data += 8;
        length -= 8;
    }
    state = static_cast<u32>(state64);
    while (length > 0) {
        state = _mm_crc32_u8(state, *data);
        data++;
        length--;
    }
    return state;
}

bool detect_hardware() { return __builtin_cpu_supports("sse4.2"); }
#else
u32 extend_hardware(u32 state, const u8* data, usize length) {
    return extend_table(state, data, length);
}
bool detect_hardware() { return false; }
#endif

const bool hardware = detect_hardware();

}  // namespace

u32 crc32c_extend_with(Crc32cPath path, u32 crc, const void* data, usize length) {
    LEPUS_ASSERT(path == Crc32cPath::table || hardware);
    // The register holds the complement, so that leading zero bytes change the value.
    u32 state = ~crc;
    const auto* bytes = static_cast<const u8*>(data);
    state = path == Crc32cPath::hardware ? extend_hardware(state, bytes, length)
                                         : extend_table(state, bytes, length);
    return ~state;
}

u32 crc32c_extend(u32 crc, const void* data, usize length) {
    return crc32c_extend_with(hardware ? Crc32cPath::hardware : Crc32cPath::table, crc, data,
                              length);
}

bool crc32c_hardware() { return hardware; }

}  // namespace lepus::persist
