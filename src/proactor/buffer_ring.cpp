#include "proactor/buffer_ring.hpp"

#include <sys/mman.h>

namespace aiocpp::detail {

namespace {

constexpr std::size_t page = 4096;
// Not in Debian 12's liburing headers (2.3); the kernel's ABI values.
constexpr std::uint16_t pbuf_ring_inc = 2;         // IOU_PBUF_RING_INC
constexpr std::uint32_t cqe_f_buf_more = 1U << 4;  // IORING_CQE_F_BUF_MORE

}  // namespace

bool BufferRing::setup(io_uring& ring) noexcept {
  // One mapping: the ring of descriptors (16 bytes each, page-aligned as
  // the kernel requires), then the buffers.
  const std::size_t ring_bytes = (entries * sizeof(io_uring_buf) + page - 1) / page * page;
  const std::size_t bytes = ring_bytes + entries * buffer_size;
  void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return false;
  auto* descriptors = static_cast<io_uring_buf_ring*>(memory);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(descriptors);
  reg.ring_entries = entries;
  reg.bgid = group;
  reg.pad = pbuf_ring_inc;  // the flags field of newer headers
  if (io_uring_register_buf_ring(&ring, &reg, 0) != 0) {
    ::munmap(memory, bytes);
    return false;
  }
  ring_ = descriptors;
  storage_ = static_cast<char*>(memory) + ring_bytes;
  mapped_ = bytes;
  state_.reset(new State[entries]);
  io_uring_buf_ring_init(ring_);
  const int mask = io_uring_buf_ring_mask(entries);
  for (unsigned id = 0; id < entries; ++id) {
    io_uring_buf_ring_add(ring_, storage_ + id * buffer_size, buffer_size,
                          static_cast<unsigned short>(id), mask, static_cast<int>(id));
  }
  io_uring_buf_ring_advance(ring_, entries);
  return true;
}

BufferRing::Slice BufferRing::take(int res, std::uint32_t flags) noexcept {
  if (!ring_ || !(flags & IORING_CQE_F_BUFFER)) return {};
  const unsigned id = flags >> IORING_CQE_BUFFER_SHIFT;
  if (id >= entries) return {};
  State& s = state_[id];
  // The kernel fills each buffer front to back: this completion's bytes
  // start where the last one's ended.
  Slice slice{static_cast<int>(id), s.consumed};
  if (res > 0) s.consumed += static_cast<std::uint32_t>(res);
  if (!(flags & cqe_f_buf_more)) s.kernel_done = true;
  ++s.slices;
  return slice;
}

void BufferRing::release(Slice slice) noexcept {
  if (!ring_ || slice.buffer < 0) return;
  State& s = state_[static_cast<unsigned>(slice.buffer)];
  if (--s.slices == 0 && s.kernel_done) give_back(static_cast<unsigned>(slice.buffer));
}

void BufferRing::give_back(unsigned id) noexcept {
  state_[id] = State{};
  io_uring_buf_ring_add(ring_, storage_ + id * buffer_size, buffer_size,
                        static_cast<unsigned short>(id), io_uring_buf_ring_mask(entries), 0);
  io_uring_buf_ring_advance(ring_, 1);
}

void BufferRing::teardown(io_uring& ring, bool free_memory) noexcept {
  if (!ring_) return;
  io_uring_unregister_buf_ring(&ring, group);
  if (free_memory) ::munmap(ring_, mapped_);
  ring_ = nullptr;
  storage_ = nullptr;
  mapped_ = 0;
}

}  // namespace aiocpp::detail
