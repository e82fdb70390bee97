#pragma once
// A per-thread free list of memory blocks of one size, so that objects made
// and dropped at a steady rate (handles, waiter futures) reuse memory instead
// of allocating. Blocks on the list are unused memory owned by the list,
// linked through their first bytes; a thread's list frees them when the
// thread ends. Use it through a `thread_local` instance.

#include <cstddef>
#include <new>
#include <utility>

namespace aiocpp::detail {

template <std::size_t max_blocks>
class FreeList {
 public:
  FreeList() = default;
  FreeList(const FreeList&) = delete;
  FreeList& operator=(const FreeList&) = delete;
  ~FreeList() {
    while (head_) ::operator delete(static_cast<void*>(std::exchange(head_, head_->next)));
    // A block released later in the thread's exit (a static destroyed
    // after the thread-locals) is freed at once rather than kept.
    count_ = max_blocks;
  }

  // A block from the list, or null when it is empty.
  void* pop() noexcept {
    Node* node = head_;
    if (!node) return nullptr;
    head_ = node->next;
    --count_;
    return node;
  }
  // Keeps `block` (of the list's size, from ::operator new); false when the
  // list is full and the caller must free it.
  bool push(void* block) noexcept {
    if (count_ >= max_blocks) return false;
    head_ = ::new (block) Node{head_};
    ++count_;
    return true;
  }

 private:
  struct Node {
    Node* next;
  };
  Node* head_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace aiocpp::detail
