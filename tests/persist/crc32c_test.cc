#include "persist/crc32c.h"

#include <gtest/gtest.h>

#include <random>
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

#if defined(__x86_64__)
// The table and the SSE4.2 instruction give the same value for every length (the instruction
// path takes 8 bytes at a time, then single bytes), every alignment and any starting value.
TEST(Crc32c, TableAndHardwarePathsAgree) {
    if (!crc32c_hardware()) GTEST_FAIL() << "this x86-64 machine has no SSE4.2";
    std::mt19937_64 random(20261203);
    std::string buffer(4096 + 16, '\0');
    for (char& c : buffer) c = static_cast<char>(random());
    for (usize length = 0; length <= 300; length++) {
        for (usize offset = 0; offset < 8; offset++) {
            u32 start = static_cast<u32>(random());
            const char* data = buffer.data() + offset;
            ASSERT_EQ(crc32c_extend_with(Crc32cPath::table, start, data, length),
                      crc32c_extend_with(Crc32cPath::hardware, start, data, length))
                << "length " << length << " offset " << offset;
        }
    }
    EXPECT_EQ(crc32c_extend_with(Crc32cPath::table, 0, buffer.data(), 4096),
              crc32c_extend_with(Crc32cPath::hardware, 0, buffer.data(), 4096));
    for (Crc32cPath path : {Crc32cPath::table, Crc32cPath::hardware}) {
        EXPECT_EQ(crc32c_extend_with(path, 0, "123456789", 9), 0xE3069283u);
    }
}
#endif

}  // namespace
}  // namespace lepus::persist
