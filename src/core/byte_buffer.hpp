#pragma once
// A transport's write buffer: one contiguous block that keeps its capacity,
// so buffering in steady state does not allocate, and everything buffered
// leaves in a single send().

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace aiocpp::detail {

class ByteBuffer {
 public:
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }
  const char* data() const noexcept { return storage_.get() + begin_; }

  void append(std::string_view bytes) {
    if (bytes.empty()) return;
    if (end_ + bytes.size() > capacity_) make_room(bytes.size());
    std::memcpy(storage_.get() + end_, bytes.data(), bytes.size());
    end_ += bytes.size();
  }

  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ >= end_) begin_ = end_ = 0;
  }

  void clear() noexcept { begin_ = end_ = 0; }

 private:
  void make_room(std::size_t extra) {
    std::size_t used = size();
    if (used + extra <= capacity_ && begin_ >= capacity_ / 2) {
      std::memmove(storage_.get(), data(), used);  // slide down rather than grow
    } else {
      std::size_t wanted = capacity_ ? capacity_ : 16 * 1024;
      while (wanted < used + extra) wanted *= 2;
      std::unique_ptr<char[]> bigger(new char[wanted]);
      if (used) std::memcpy(bigger.get(), data(), used);
      storage_ = std::move(bigger);
      capacity_ = wanted;
    }
    begin_ = 0;
    end_ = used;
  }

  std::unique_ptr<char[]> storage_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace aiocpp::detail
