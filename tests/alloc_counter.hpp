#pragma once
// Counts heap allocations, for the zero-allocation tests (DESIGN.md's first
// performance rule). Replaces the global operator new / delete (every
// variant: plain, array, sized, aligned, nothrow) with versions that count
// while counting is switched on, and keeps the stack of the first allocation
// counted, for the failure message.
//
// It defines the replacement operators, so include it from exactly one
// source file of a test executable (each tests/*.cpp is its own executable).
//
// The replacement coexists with AddressSanitizer: ASan's own operator new is
// overridden by the executable's, and these allocate with malloc, which ASan
// still checks.

#include <execinfo.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

// --- Counting operator new / delete ---------------------------------------------------

namespace {

std::atomic<bool> counting{false};
std::atomic<std::size_t> allocations{0};
std::atomic<std::size_t> deallocations{0};

// The stack of the first allocation counted, for the failure message.
constexpr int max_frames = 48;
void* first_stack[max_frames];
int first_stack_depth = 0;
thread_local bool in_backtrace = false;

// Not inlined, so that gdb can break on it: break '(anonymous namespace)::counted_allocation'.
[[gnu::noinline]] void counted_allocation() {
  if (allocations.fetch_add(1, std::memory_order_relaxed) == 0 && !in_backtrace) {
    in_backtrace = true;
    first_stack_depth = backtrace(first_stack, max_frames);
    in_backtrace = false;
  }
}

void* allocate(std::size_t size, std::size_t alignment = 0) noexcept {
  if (counting.load(std::memory_order_relaxed)) counted_allocation();
  if (size == 0) size = 1;
  if (alignment <= alignof(std::max_align_t)) return std::malloc(size);
  void* p = nullptr;
  return posix_memalign(&p, alignment, size) == 0 ? p : nullptr;
}

void* allocate_or_throw(std::size_t size, std::size_t alignment = 0) {
  void* p = allocate(size, alignment);
  if (!p) throw std::bad_alloc();
  return p;
}

void deallocate(void* p) noexcept {
  if (!p) return;
  if (counting.load(std::memory_order_relaxed)) {
    deallocations.fetch_add(1, std::memory_order_relaxed);
  }
  std::free(p);
}

}  // namespace

void* operator new(std::size_t size) { return allocate_or_throw(size); }
void* operator new[](std::size_t size) { return allocate_or_throw(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new(std::size_t size, std::align_val_t al) {
  return allocate_or_throw(size, static_cast<std::size_t>(al));
}
void* operator new[](std::size_t size, std::align_val_t al) {
  return allocate_or_throw(size, static_cast<std::size_t>(al));
}
void* operator new(std::size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
  return allocate(size, static_cast<std::size_t>(al));
}
void* operator new[](std::size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
  return allocate(size, static_cast<std::size_t>(al));
}

void operator delete(void* p) noexcept { deallocate(p); }
void operator delete[](void* p) noexcept { deallocate(p); }
void operator delete(void* p, std::size_t) noexcept { deallocate(p); }
void operator delete[](void* p, std::size_t) noexcept { deallocate(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { deallocate(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { deallocate(p); }
void operator delete(void* p, std::align_val_t) noexcept { deallocate(p); }
void operator delete[](void* p, std::align_val_t) noexcept { deallocate(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { deallocate(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { deallocate(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { deallocate(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { deallocate(p); }

namespace {

struct Counts {
  std::size_t allocations = 0;
  std::size_t deallocations = 0;
};

void start_counting() {
  allocations.store(0, std::memory_order_relaxed);
  deallocations.store(0, std::memory_order_relaxed);
  first_stack_depth = 0;
  counting.store(true, std::memory_order_relaxed);
}

Counts stop_counting() {
  counting.store(false, std::memory_order_relaxed);
  return {allocations.load(std::memory_order_relaxed),
          deallocations.load(std::memory_order_relaxed)};
}

// Prints the first counted allocation's stack (raw frames: no allocation).
void print_first_stack() {
  if (first_stack_depth == 0) return;
  static const char header[] = "stack of the first allocation counted:\n";
  ssize_t ignored = ::write(STDERR_FILENO, header, sizeof header - 1);
  (void)ignored;
  backtrace_symbols_fd(first_stack, first_stack_depth, STDERR_FILENO);
}

// A throwaway backtrace: its first call loads libgcc_s, which allocates.
[[maybe_unused]] const bool backtrace_ready = [] {
  void* frames[4];
  return backtrace(frames, 4) > 0;
}();

}  // namespace
