#include "core/byte_buffer.hpp"

#include "core/free_list.hpp"

namespace aiocpp::detail {

namespace {
// Up to 4 MiB of drained 16 KiB blocks per thread: enough for the buffers of
// a loop whose sends complete and start again by the hundreds per iteration
// (1,000 connections on io_uring) to pass their blocks round without
// allocating.
thread_local FreeList<256> first_blocks;
}  // namespace

char* ByteBuffer::borrow_first_block() {
  if (void* block = first_blocks.pop()) return static_cast<char*>(block);
  return static_cast<char*>(::operator new(first_capacity));
}

void ByteBuffer::lend_first_block(char* block) noexcept {
  if (block && !first_blocks.push(block)) ::operator delete(block);
}

}  // namespace aiocpp::detail
