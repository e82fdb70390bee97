#pragma once
// A transport's write buffer: one contiguous block that keeps its capacity,
// so buffering in steady state does not allocate, and everything buffered
// leaves in a single send(). A block grown past `kept_capacity` by a burst is
// given back once it drains, so that one large write does not pin its memory
// for the life of the connection.

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
    if (begin_ >= end_) clear();
  }

  void clear() noexcept {
    begin_ = end_ = 0;
    if (capacity_ > kept_capacity) {
      storage_.reset();
      capacity_ = 0;
    }
  }

  std::size_t capacity() const noexcept { return capacity_; }
  // Four times the default high-water mark: well-behaved writers stay below.
  static constexpr std::size_t kept_capacity = 256 * 1024;

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

  // begin_ and end_ first: empty(), the test on every write, then reads
  // only them (SocketTransport keeps them in its hot cache lines).
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::unique_ptr<char[]> storage_;
  std::size_t capacity_ = 0;
};

}  // namespace aiocpp::detail
