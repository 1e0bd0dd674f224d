#include "persist/record.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace lepus::persist {
namespace {

std::string encode(u8 kind, u64 sequence, std::string_view payload) {
    std::string bytes(record_size(static_cast<u32>(payload.size())), '\x55');
    std::memcpy(bytes.data() + record_header_size, payload.data(), payload.size());
    record_seal(bytes.data(), kind, sequence, static_cast<u32>(payload.size()));
    return bytes;
}

TEST(Record, SizeIsPaddedToEightBytes) {
    EXPECT_EQ(record_size(0), 24u);
    EXPECT_EQ(record_size(1), 32u);
    EXPECT_EQ(record_size(8), 32u);
    EXPECT_EQ(record_size(9), 40u);
}

TEST(Record, RoundTrip) {
    std::string bytes = encode(7, 42, "hello");
    EXPECT_EQ(bytes.substr(24 + 5), std::string(3, '\0'));  // padding is zero
    RecordView view;
    ASSERT_EQ(record_check(bytes.data(), bytes.size(), view), RecordCheck::valid);
    EXPECT_EQ(view.kind, 7);
    EXPECT_EQ(view.sequence, 42u);
    EXPECT_EQ(view.payload, "hello");
    EXPECT_EQ(view.size, 32u);
}

TEST(Record, HeaderIsLittleEndian) {
    std::string bytes = encode(3, 0x0102030405060708ull, "abc");
    EXPECT_EQ(static_cast<u8>(bytes[4]), 3);  // payload_length
    EXPECT_EQ(static_cast<u8>(bytes[8]), 0x08);
    EXPECT_EQ(static_cast<u8>(bytes[15]), 0x01);
    EXPECT_EQ(static_cast<u8>(bytes[16]), 3);  // kind
}

TEST(Record, EveryFlippedBitIsCaught) {
    std::string bytes = encode(9, 5, "payload bytes");
    for (usize i = 0; i < record_header_size + 13; i++) {
        for (int bit = 0; bit < 8; bit++) {
            std::string damaged = bytes;
            damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
            RecordView view;
            EXPECT_NE(record_check(damaged.data(), damaged.size(), view), RecordCheck::valid)
                << "byte " << i << " bit " << bit;
        }
    }
}

TEST(Record, ZeroTruncatedAndBadHeader) {
    std::string zeros(64, '\0');
    RecordView view;
    EXPECT_EQ(record_check(zeros.data(), zeros.size(), view), RecordCheck::zero);
    std::string bytes = encode(1, 1, std::string(100, 'x'));
    EXPECT_EQ(record_check(bytes.data(), 50, view), RecordCheck::truncated);
    EXPECT_EQ(record_check(bytes.data(), 10, view), RecordCheck::truncated);
    std::string reserved = bytes;
    reserved[20] = 1;
    EXPECT_EQ(record_check(reserved.data(), reserved.size(), view), RecordCheck::bad_header);
    std::string huge = bytes;
    u32 length = record_payload_max + 1;
    std::memcpy(huge.data() + 4, &length, 4);
    EXPECT_EQ(record_check(huge.data(), huge.size(), view), RecordCheck::bad_header);
}

}  // namespace
}  // namespace lepus::persist
