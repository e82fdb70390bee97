#pragma once
// The loop's pool of receive buffers on io_uring (a provided-buffer ring,
// IORING_REGISTER_PBUF_RING, consumed incrementally: IOU_PBUF_RING_INC,
// Linux 6.12): the kernel takes bytes from it as data arrives for a
// multishot receive, each receive only as many as it brought, so that a
// connection holds no buffer while it waits and one receive stays armed
// across many messages.
//
// Lifetime: a buffer is the kernel's from setup or its return until a
// completion says the kernel is done with it (no IORING_CQE_F_BUF_MORE);
// the slices completions name are the transports' until released. A buffer
// returns to the kernel once the kernel is done with it and every slice of
// it is released. The storage outlives every operation: the backend tears
// the pool down only after its last operation's completion.

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace aiocpp::detail {

class BufferRing {
 public:
  // 4 buffers of 256 KiB: 1 MiB per loop. Large buffers: a receive ends
  // where its buffer does, and 64 KiB ones cut a 100 KiB echo into more
  // receives and sends (1.22x the CPU per request; 256 KiB: 0.99x the
  // per-connection buffers). Few of them: the kernel takes buffers in ring
  // order, so every byte of the pool is written once per turn, and a pool
  // larger than the cache makes each receive's copy miss it (16 buffers,
  // 4 MiB, cost 1.07x the CPU per request of 4 at 100 KiB; bench/README.md).
  // A burst that finds the pool empty ends that receive with ENOBUFS; the
  // transport then reads once into a buffer of its own (see
  // ProactorSocketTransport), so nobody starves.
  static constexpr unsigned entries = 4;
  static constexpr std::size_t buffer_size = 256 * 1024;
  static constexpr std::uint16_t group = 0;

  // Bytes a completion brought: where they are, until released.
  struct Slice {
    int buffer = -1;  // none
    std::uint32_t offset = 0;
  };

  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  // Registers the pool with `ring`; false when the kernel cannot (no
  // incremental consumption before 6.12, or out of memory): receives then
  // use buffers of their own.
  bool setup(io_uring& ring) noexcept;
  // Unregisters, and frees the memory unless `free_memory` is false: an
  // operation that could not be cancelled may still write into it.
  void teardown(io_uring& ring, bool free_memory) noexcept;

  bool ready() const noexcept { return ring_ != nullptr; }
  // The slice a completion (`res` bytes, its `flags`) names; none when it
  // names no buffer.
  Slice take(int res, std::uint32_t flags) noexcept;
  const char* data(Slice slice) const noexcept {
    return storage_ + static_cast<std::size_t>(slice.buffer) * buffer_size + slice.offset;
  }
  void release(Slice slice) noexcept;

 private:
  struct State {
    std::uint32_t consumed = 0;  // bytes the kernel has used of it
    std::uint32_t slices = 0;    // taken and not released
    bool kernel_done = false;
  };
  void give_back(unsigned id) noexcept;

  io_uring_buf_ring* ring_ = nullptr;  // shared with the kernel, page-aligned
  char* storage_ = nullptr;
  std::size_t mapped_ = 0;  // bytes mapped for ring_ and storage_ together
  std::unique_ptr<State[]> state_;
};

}  // namespace aiocpp::detail
