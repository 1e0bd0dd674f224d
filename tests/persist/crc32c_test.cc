#include "persist/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace lepus::persist {
namespace {

// Vectors from RFC 3720 (iSCSI), appendix B.4, and the customary check value.
TEST(Crc32c, KnownVectors) {
    EXPECT_EQ(crc32c(""), 0u);
    EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
    EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
    EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
    std::string ascending;
    for (int i = 0; i < 32; i++) ascending.push_back(static_cast<char>(i));
    EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
}

TEST(Crc32c, ExtendEqualsWhole) {
    std::string text = "The quick brown fox jumps over the lazy dog, twice over, for length.";
    for (usize split = 0; split <= text.size(); split++) {
        u32 first = crc32c_extend(0, text.data(), split);
        EXPECT_EQ(crc32c_extend(first, text.data() + split, text.size() - split), crc32c(text));
    }
}

}  // namespace
}  // namespace lepus::persist
