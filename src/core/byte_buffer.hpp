#pragma once
// A transport's write buffer: one contiguous block, so that everything
// buffered leaves in a single send(). Buffering in steady state does not
// allocate: a block of the first size (16 KiB) goes back to a pool of the
// thread's once the buffer drains, and the next buffer to need one takes it
// from there, so that an idle connection holds none (on io_uring every small
// write passes through this buffer); a larger block is kept, unless a burst
// grew it past `kept_capacity`, so that one large write does not pin its
// memory for the life of the connection.

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
    if (capacity_ == first_capacity) {
      lend_first_block(storage_.release());
      capacity_ = 0;
    } else if (capacity_ > kept_capacity) {
      storage_.reset();
      capacity_ = 0;
    }
  }

  std::size_t capacity() const noexcept { return capacity_; }
  // Four times the default high-water mark: well-behaved writers stay below.
  static constexpr std::size_t kept_capacity = 256 * 1024;
  static constexpr std::size_t first_capacity = 16 * 1024;

 private:
  struct OperatorDelete {
    void operator()(char* block) const noexcept { ::operator delete(block); }
  };
  using Block = std::unique_ptr<char, OperatorDelete>;

  void make_room(std::size_t extra) {
    std::size_t used = size();
    if (used + extra <= capacity_ && begin_ >= capacity_ / 2) {
      std::memmove(storage_.get(), data(), used);  // slide down rather than grow
    } else {
      std::size_t wanted = capacity_ ? capacity_ : first_capacity;
      while (wanted < used + extra) wanted *= 2;
      Block bigger(wanted == first_capacity ? borrow_first_block()
                                            : static_cast<char*>(::operator new(wanted)));
      if (used) std::memcpy(bigger.get(), data(), used);
      storage_ = std::move(bigger);
      capacity_ = wanted;
    }
    begin_ = 0;
    end_ = used;
  }
  // The thread's pool of first-size blocks (byte_buffer.cpp): a block from
  // it (or a new one), and one given back (freed when the pool is full).
  static char* borrow_first_block();
  static void lend_first_block(char* block) noexcept;

  // begin_ and end_ first: empty(), the test on every write, then reads
  // only them (SocketTransport keeps them in its hot cache lines).
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  Block storage_;
  std::size_t capacity_ = 0;
};

}  // namespace aiocpp::detail
