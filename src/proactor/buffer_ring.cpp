#include "proactor/buffer_ring.hpp"

#include <sys/mman.h>

namespace aiocpp::detail {

namespace {

constexpr std::size_t page = 4096;

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
  if (io_uring_register_buf_ring(&ring, &reg, 0) != 0) {
    ::munmap(memory, bytes);
    return false;
  }
  ring_ = descriptors;
  storage_ = static_cast<char*>(memory) + ring_bytes;
  mapped_ = bytes;
  io_uring_buf_ring_init(ring_);
  const int mask = io_uring_buf_ring_mask(entries);
  for (unsigned id = 0; id < entries; ++id) {
    io_uring_buf_ring_add(ring_, data(id), buffer_size, static_cast<unsigned short>(id), mask,
                          static_cast<int>(id));
  }
  io_uring_buf_ring_advance(ring_, entries);
  return true;
}

void BufferRing::give_back(unsigned id) noexcept {
  if (!ring_ || id >= entries) return;
  io_uring_buf_ring_add(ring_, data(id), buffer_size, static_cast<unsigned short>(id),
                        io_uring_buf_ring_mask(entries), 0);
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
