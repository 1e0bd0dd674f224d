#pragma once
// CRC32C (Castagnoli), the checksum of every journal record. It uses the SSE4.2 crc32
// instruction when the CPU has it (checked once, at run time) and a table otherwise; both give
// the same value, so journals move between machines.
#include <string_view>

#include "core/base/types.h"

namespace lepus::persist {

// Extends `crc` (the value returned for the bytes before) over `data`. Start with 0.
u32 crc32c_extend(u32 crc, const void* data, usize length);

inline u32 crc32c(std::string_view data) { return crc32c_extend(0, data.data(), data.size()); }

// True when the hardware path is in use (reported at start-up and in benchmarks).
bool crc32c_hardware();

// One path chosen by the caller, so that tests hold the two against each other. The hardware
// path only where crc32c_hardware() is true.
enum class Crc32cPath : u8 { table, hardware };
u32 crc32c_extend_with(Crc32cPath path, u32 crc, const void* data, usize length);

}  // namespace lepus::persist
