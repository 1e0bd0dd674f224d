#include "core/access/base64.h"

#include <openssl/evp.h>

#include "core/base/assert.h"

namespace lepus::access {
namespace {

bool is_alphabet(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

}  // namespace

std::string base64_encode(std::span<const u8> bytes) {
    // EVP_EncodeBlock writes 4 characters per 3 bytes (the last group padded) and a NUL.
    LEPUS_ASSERT(bytes.size() <= 3 * (static_cast<usize>(INT32_MAX) / 4));
    std::string text((bytes.size() + 2) / 3 * 4 + 1, '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes.data(),
                                        static_cast<int>(bytes.size()));
    LEPUS_ASSERT(written >= 0 && static_cast<usize>(written) == text.size() - 1);
    text.pop_back();
    return text;
}

std::optional<std::vector<u8>> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0 || text.size() > static_cast<usize>(INT32_MAX)) return std::nullopt;
    usize padding = 0;
    if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
    for (usize i = 0; i < text.size() - padding; ++i) {
        if (!is_alphabet(text[i])) return std::nullopt;
    }
    std::vector<u8> bytes(text.size() / 4 * 3);
    if (text.empty()) return bytes;
    const int decoded = EVP_DecodeBlock(bytes.data(), reinterpret_cast<const u8*>(text.data()),
                                        static_cast<int>(text.size()));
    if (decoded < 0 || static_cast<usize>(decoded) != bytes.size()) return std::nullopt;
    // EVP_DecodeBlock decodes the padding as zero bytes; they are not part of the data.
    bytes.resize(bytes.size() - padding);
    return bytes;
}

}  // namespace lepus::access
