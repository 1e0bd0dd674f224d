#pragma once
// Bounds-checked reading of AMQP wire types from a byte span. A read past the end marks the
// reader failed; every later read returns zero values, so decoders are straight-line code that
// checks ok() once at the end. Strings are views into the input: the caller keeps the bytes
// alive for as long as it uses them.
#include <cstring>
#include <string_view>

#include "core/base/types.h"

namespace lepus::wire {

class WireReader {
public:
    explicit WireReader(std::string_view bytes) : data_(bytes.data()), size_(bytes.size()) {}

    bool ok() const { return ok_; }
    bool at_end() const { return position_ == size_; }
    usize remaining() const { return ok_ ? size_ - position_ : 0; }
    usize position() const { return position_; }
    void fail() { ok_ = false; }

    u8 read_u8() {
        if (!require(1)) return 0;
        return static_cast<u8>(data_[position_++]);
    }
    u16 read_u16() {
        if (!require(2)) return 0;
        u16 v = static_cast<u16>((byte(0) << 8) | byte(1));
        position_ += 2;
        return v;
    }
    u32 read_u32() {
        if (!require(4)) return 0;
        u32 v = (u32{byte(0)} << 24) | (u32{byte(1)} << 16) | (u32{byte(2)} << 8) | byte(3);
        position_ += 4;
        return v;
    }
    u64 read_u64() {
        u64 high = read_u32();
        u64 low = read_u32();
        return (high << 32) | low;
    }
    std::string_view read_bytes(usize n) {
        if (!require(n)) return {};
        std::string_view v(data_ + position_, n);
        position_ += n;
        return v;
    }
    std::string_view read_shortstr() { return read_bytes(read_u8()); }
    std::string_view read_longstr() { return read_bytes(read_u32()); }

private:
    bool require(usize n) {
        if (!ok_ || size_ - position_ < n) {
            ok_ = false;
            return false;
        }
        return true;
    }
    u8 byte(usize i) const { return static_cast<u8>(data_[position_ + i]); }

    const char* data_;
    usize size_;
    usize position_ = 0;
    bool ok_ = true;
};

}  // namespace lepus::wire
