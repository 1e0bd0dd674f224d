#pragma once
// A log-linear latency histogram in the manner of HdrHistogram: values below 128 have a bucket
// each, and every power of two above is split into 128 linear buckets, so a recorded value is
// known to within 1/128 (< 0.8 %) of itself. The counts live in a fixed array (58 KiB):
// recording is an index computation and an increment, with no allocation, at any rate.
// One histogram belongs to one thread; merging copies counts across after that thread stopped.
#include <algorithm>
#include <array>
#include <bit>

#include "core/base/types.h"

namespace lepus::perf {

class Histogram {
public:
    static constexpr u32 sub_bucket_bits = 7;
    static constexpr u32 sub_bucket_count = 1u << sub_bucket_bits;
    static constexpr u32 bucket_count = (64 - sub_bucket_bits + 1) * sub_bucket_count;

    void record(u64 value) {
        counts_[index_of(value)]++;
        total_++;
        max_ = std::max(max_, value);
    }

    u64 total() const { return total_; }
    u64 max() const { return max_; }

    // The highest value of the bucket holding the q-quantile (0 < q <= 1); 0 when empty. The
    // top percentile reports the exact maximum, which the histogram keeps apart.
    u64 quantile(double q) const {
        if (total_ == 0) return 0;
        u64 rank = static_cast<u64>(q * static_cast<double>(total_) + 0.5);
        rank = std::clamp<u64>(rank, 1, total_);
        u64 seen = 0;
        for (u32 i = 0; i < bucket_count; i++) {
            seen += counts_[i];
            if (seen >= rank) return std::min(highest_of(i), max_);
        }
        return max_;
    }

    void merge(const Histogram& other) {
        for (u32 i = 0; i < bucket_count; i++) counts_[i] += other.counts_[i];
        total_ += other.total_;
        max_ = std::max(max_, other.max_);
    }

    void reset() {
        counts_.fill(0);
        total_ = 0;
        max_ = 0;
    }

private:
    static u32 index_of(u64 value) {
        if (value < sub_bucket_count) return static_cast<u32>(value);
        u32 exponent = static_cast<u32>(std::bit_width(value)) - 1;  // >= sub_bucket_bits
        u32 shift = exponent - sub_bucket_bits;
        u32 mantissa = static_cast<u32>(value >> shift);  // in [128, 256)
        return (shift + 1) * sub_bucket_count + (mantissa - sub_bucket_count);
    }
    static u64 highest_of(u32 index) {
        if (index < sub_bucket_count) return index;
        u32 shift = index / sub_bucket_count - 1;
        u64 mantissa = sub_bucket_count + index % sub_bucket_count;
        return ((mantissa + 1) << shift) - 1;
    }

    std::array<u64, bucket_count> counts_{};
    u64 total_ = 0;
    u64 max_ = 0;
};

}  // namespace lepus::perf
