#pragma once
// Handle and TimerHandle: what call_soon / call_later return (asyncio.Handle,
// asyncio.TimerHandle). A handle is shared between the loop's queue and the
// caller; cancel() stops a callback that has not run yet.

#include <atomic>
#include <cstdint>
#include <string>

#include "aiocpp/detail/access.hpp"
#include "aiocpp/detail/ref_counted.hpp"
#include "aiocpp/detail/small_function.hpp"

namespace aiocpp {

class EventLoop;

namespace detail {

// Not a RefCounted: a handle made by call_soon is only ever touched on the
// loop's thread, so its count is a plain integer; only handles made by
// call_soon_threadsafe (`shared`) pay for atomic counting.
struct HandleState {
  SmallFunction<void(), 64> callback;
  EventLoop* loop = nullptr;
  double when = 0;          // timers only: loop.time() at which it is due
  std::uint64_t order = 0;  // timers only: ties run in scheduling order
  std::uint32_t refs = 0;
  bool shared = false;  // referenced from more than one thread
  bool cancelled = false;
  bool is_timer = false;
  bool in_heap = false;  // timers only: still in the loop's heap
  bool running = false;

  void run() noexcept;  // invokes the callback, reporting any exception

  static HandleState* make();  // from a per-thread free list

  void add_ref() noexcept {
    if (shared) {
      std::atomic_ref<std::uint32_t>(refs).fetch_add(1, std::memory_order_relaxed);
    } else {
      ++refs;
    }
  }
  void release() noexcept {
    if (shared) {
      if (std::atomic_ref<std::uint32_t>(refs).fetch_sub(1, std::memory_order_acq_rel) == 1) {
        recycle();
      }
    } else if (--refs == 0) {
      recycle();
    }
  }

 private:
  void recycle() noexcept;  // destroys and returns the memory to the free list
};

}  // namespace detail

// A Handle from call_soon / call_later belongs to the loop's thread (as in
// asyncio, cancel() is not thread-safe); one from call_soon_threadsafe may be
// kept and dropped on the calling thread.
class Handle {
 public:
  Handle() = default;

  // Cancels the callback; a no-op once it has run or was cancelled.
  void cancel();
  bool cancelled() const { return state_ && state_->cancelled; }
  EventLoop* get_loop() const { return state_ ? state_->loop : nullptr; }
  explicit operator bool() const { return static_cast<bool>(state_); }
  std::string repr() const;
  // The same callback: a copy of the handle call_soon returned, say.
  friend bool operator==(const Handle& a, const Handle& b) noexcept { return a.state_ == b.state_; }

 protected:
  friend struct detail::Access;
  explicit Handle(detail::Ref<detail::HandleState> state) : state_(std::move(state)) {}
  detail::Ref<detail::HandleState> state_;
};

class TimerHandle : public Handle {
 public:
  TimerHandle() = default;
  // The absolute time (on loop.time()'s clock) the callback is scheduled for.
  double when() const { return state_ ? state_->when : 0.0; }

 private:
  friend class EventLoop;  // call_later / call_at make them
  explicit TimerHandle(detail::Ref<detail::HandleState> state) : Handle(std::move(state)) {}
};

inline detail::HandleState* detail::Access::state(const Handle& handle) noexcept {
  return handle.state_.get();
}
inline Handle detail::Access::handle(Ref<HandleState> state) { return Handle(std::move(state)); }

}  // namespace aiocpp
