#pragma once
// Base64 (RFC 4648, the standard alphabet, padded), as RabbitMQ's definitions carry password
// hashes. OpenSSL does the work; these functions add the strictness it lacks: EVP_DecodeBlock
// skips leading and trailing blanks and counts padding as zero bytes.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/types.h"

namespace lepus::access {

std::string base64_encode(std::span<const u8> bytes);

// The bytes, or nothing when `text` is not canonical padded base64: a length that is not a
// multiple of four, a character outside the alphabet, blanks, or '=' anywhere but the last one
// or two places.
std::optional<std::vector<u8>> base64_decode(std::string_view text);

}  // namespace lepus::access
