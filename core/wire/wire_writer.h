#pragma once
// Appends AMQP wire types to a growable byte buffer. Writers never fail; a short string longer
// than 255 bytes is a caller bug (the protocol cannot carry it) and asserts.
#include <string>
#include <string_view>

#include "core/base/assert.h"
#include "core/base/types.h"

namespace lepus::wire {

class WireWriter {
public:
    explicit WireWriter(std::string& out) : out_(out) {}

    std::string& buffer() { return out_; }
    usize size() const { return out_.size(); }

    void write_u8(u8 v) { out_.push_back(static_cast<char>(v)); }
    void write_u16(u16 v) {
        char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
        out_.append(b, 2);
    }
    void write_u32(u32 v) {
        char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
        out_.append(b, 4);
    }
    void write_u64(u64 v) {
        write_u32(static_cast<u32>(v >> 32));
        write_u32(static_cast<u32>(v));
    }
    void write_bytes(std::string_view v) { out_.append(v.data(), v.size()); }
    void write_shortstr(std::string_view v) {
        LEPUS_ASSERT(v.size() <= 255);
        write_u8(static_cast<u8>(v.size()));
        write_bytes(v);
    }
    void write_longstr(std::string_view v) {
        write_u32(static_cast<u32>(v.size()));
        write_bytes(v);
    }
    // Big-endian patch of a length written earlier as a placeholder.
    void patch_u32(usize at, u32 v) {
        LEPUS_ASSERT(at + 4 <= out_.size());
        out_[at] = static_cast<char>(v >> 24);
        out_[at + 1] = static_cast<char>(v >> 16);
        out_[at + 2] = static_cast<char>(v >> 8);
        out_[at + 3] = static_cast<char>(v);
    }

private:
    std::string& out_;
};

}  // namespace lepus::wire
