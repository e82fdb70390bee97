#pragma once
// A latency histogram of fixed size: log-linear buckets (128 per power of
// two, so any reported percentile is within 0.8% of the true sample) from
// 1 ns to ~39 hours. Recording is an increment, so millions of samples cost
// no memory and no allocation while the run is timed.

#include <array>
#include <bit>
#include <cstdint>

namespace loadgen {

class Histogram {
 public:
  void record(std::uint64_t ns) {
    ++counts_[index(ns)];
    ++count_;
    sum_ += ns;
    if (ns > max_) max_ = ns;
  }

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }

  // The value below which a fraction q of the samples lie (bucket midpoint).
  double percentile(double q) const {
    if (count_ == 0) return 0.0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return midpoint(i);
    }
    return static_cast<double>(max_);
  }

 private:
  static constexpr int kSubBits = 7;
  static constexpr std::uint64_t kSub = 1u << kSubBits;
  static constexpr int kMaxBit = 47;  // values are clamped below 2^48 ns

  static std::size_t index(std::uint64_t v) {
    if (v >= (std::uint64_t{1} << (kMaxBit + 1))) v = (std::uint64_t{1} << (kMaxBit + 1)) - 1;
    if (v < kSub) return static_cast<std::size_t>(v);
    int msb = std::bit_width(v) - 1;
    return static_cast<std::size_t>((msb - kSubBits + 1) * kSub +
                                    ((v >> (msb - kSubBits)) & (kSub - 1)));
  }

  static double midpoint(std::size_t i) {
    if (i < kSub) return static_cast<double>(i);
    int msb = static_cast<int>(i / kSub) + kSubBits - 1;
    std::uint64_t sub = i % kSub;
    double low = static_cast<double>((kSub + sub) << (msb - kSubBits));
    double width = static_cast<double>(std::uint64_t{1} << (msb - kSubBits));
    return low + width / 2;
  }

  std::array<std::uint64_t, (kMaxBit - kSubBits + 2) * kSub> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace loadgen
