#pragma once
// Handle and TimerHandle: what call_soon / call_later return (asyncio.Handle,
// asyncio.TimerHandle). A handle is shared between the loop's queue and the
// caller; cancel() stops a callback that has not run yet.

#include <cstdint>
#include <string>

#include "aiocpp/detail/ref_counted.hpp"
#include "aiocpp/detail/small_function.hpp"

namespace aiocpp {

class EventLoop;

namespace detail {

struct HandleState : RefCounted {
  SmallFunction<void(), 64> callback;
  EventLoop* loop = nullptr;
  double when = 0;          // timers only: loop.time() at which it is due
  std::uint64_t order = 0;  // timers only: ties run in scheduling order
  bool cancelled = false;
  bool is_timer = false;
  bool in_heap = false;  // timers only: still in the loop's heap
  bool running = false;

  void run() noexcept;  // invokes the callback, reporting any exception

  static HandleState* make();  // from a per-thread free list

 protected:
  void destroy_self() noexcept override;
};

}  // namespace detail

class Handle {
 public:
  Handle() = default;
  explicit Handle(detail::Ref<detail::HandleState> state) : state_(std::move(state)) {}

  // Cancels the callback; a no-op once it has run or was cancelled.
  void cancel();
  bool cancelled() const { return state_ && state_->cancelled; }
  EventLoop* get_loop() const { return state_ ? state_->loop : nullptr; }
  explicit operator bool() const { return static_cast<bool>(state_); }
  std::string repr() const;

  detail::HandleState* state() const { return state_.get(); }

 protected:
  detail::Ref<detail::HandleState> state_;
};

class TimerHandle : public Handle {
 public:
  using Handle::Handle;
  // The absolute time (on loop.time()'s clock) the callback is scheduled for.
  double when() const { return state_ ? state_->when : 0.0; }
};

}  // namespace aiocpp
