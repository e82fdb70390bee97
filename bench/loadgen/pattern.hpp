#pragma once
// What the load generator sends, so that every echoed byte can be checked:
// byte `offset` of connection `c`'s stream is table[(offset + c * kStride) % kPeriod],
// pseudo-random bytes with a prime period. A prime period never lines up with
// a message size, so a dropped, duplicated or reordered chunk (or bytes from
// another connection) shows up as a mismatch. The table repeats its start
// past kPeriod, so any chunk of up to `tail` bytes is contiguous in memory
// and can be sent or compared without copying.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace loadgen {

class Pattern {
 public:
  static constexpr std::size_t kPeriod = 65521;  // the largest prime below 2^16
  static constexpr std::size_t kStride = 7919;

  explicit Pattern(std::size_t tail) : tail_(tail), table_(kPeriod + tail) {
    std::uint64_t x = 0x9E3779B97F4A7C15u;  // xorshift64: fixed seed, same bytes every run
    for (std::size_t i = 0; i < kPeriod; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      table_[i] = static_cast<unsigned char>(x >> 56);
    }
    for (std::size_t i = kPeriod; i < table_.size(); ++i) table_[i] = table_[i % kPeriod];
  }

  // Up to tail() bytes of connection `c`'s stream, starting at `offset`.
  const unsigned char* at(std::size_t c, std::uint64_t offset) const {
    return table_.data() + (offset + c * kStride) % kPeriod;
  }
  std::size_t tail() const { return tail_; }

 private:
  std::size_t tail_;
  std::vector<unsigned char> table_;
};

}  // namespace loadgen
