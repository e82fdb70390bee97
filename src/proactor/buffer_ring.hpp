#pragma once
// The loop's pool of receive buffers on io_uring (a provided-buffer ring,
// IORING_REGISTER_PBUF_RING): the kernel picks a buffer from it when data
// arrives for a multishot receive, so that a connection holds no buffer
// while it waits, and one receive stays armed across many messages.
//
// Lifetime: a buffer is the kernel's from give_back() (or setup) until a
// completion names it (IORING_CQE_F_BUFFER); then it is the transport's,
// which hands it back once the protocol has seen its bytes. The storage
// outlives every operation: the backend tears the pool down only after its
// last operation's completion.

#include <liburing.h>

#include <cstddef>
#include <cstdint>

namespace aiocpp::detail {

class BufferRing {
 public:
  // 256 buffers of 16 KiB: 4 MiB of address space per loop, touched only as
  // the kernel uses them. A burst that finds the pool empty ends that
  // receive with ENOBUFS; the transport then reads once into a buffer of
  // its own (see ProactorSocketTransport), so nobody starves.
  static constexpr unsigned entries = 256;
  static constexpr std::size_t buffer_size = 16 * 1024;
  static constexpr std::uint16_t group = 0;

  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing() = default;

  // Registers the pool with `ring`; false when the kernel cannot (older
  // than 5.19, or out of memory): receives then use their own buffers.
  bool setup(io_uring& ring) noexcept;
  // Unregisters, and frees the memory unless `free_memory` is false: an
  // operation that could not be cancelled may still write into it.
  void teardown(io_uring& ring, bool free_memory) noexcept;

  bool ready() const noexcept { return ring_ != nullptr; }
  char* data(unsigned id) const noexcept { return storage_ + id * buffer_size; }
  // Returns buffer `id` to the kernel.
  void give_back(unsigned id) noexcept;

 private:
  io_uring_buf_ring* ring_ = nullptr;  // shared with the kernel, page-aligned
  char* storage_ = nullptr;
  std::size_t mapped_ = 0;  // bytes mapped for ring_ and storage_ together
};

}  // namespace aiocpp::detail
