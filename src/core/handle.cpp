// Handles: the loop's unit of scheduled work, recycled through a per-thread
// free list so that call_soon does not allocate in steady state.

#include "aiocpp/handle.hpp"

#include <cstdio>

#include "aiocpp/event_loop.hpp"
#include "core/free_list.hpp"
#include "core/loop_impl.hpp"

namespace aiocpp {
namespace detail {

namespace {
thread_local FreeList<4096> free_handles;
}  // namespace

HandleState* HandleState::make() {
  if (void* block = free_handles.pop())
    return new (block) HandleState;  // default-init: no zero fill
  return new HandleState;
}

void HandleState::recycle() noexcept {
  this->~HandleState();
  if (!free_handles.push(this)) ::operator delete(static_cast<void*>(this));
}

void HandleState::run() noexcept {
  running = true;
  try {
    callback();
  } catch (...) {
    running = false;
    ExceptionContext context;
    context.message = "Exception in callback";
    context.exception = std::current_exception();
    context.handle = Access::handle(Ref<HandleState>(this));
    loop->call_exception_handler(context);
    return;
  }
  running = false;
}

}  // namespace detail

void Handle::cancel() {
  detail::HandleState* s = state_.get();
  if (!s || s->cancelled) return;
  s->cancelled = true;
  if (s->is_timer && s->in_heap) detail::impl_of(*s->loop).timer_cancelled();
  // Drop what the callback holds now, as asyncio drops its reference; but
  // never destroy a closure while it is running.
  if (!s->running) s->callback.reset();
}

std::string Handle::repr() const {
  if (!state_) return "<Handle empty>";
  char buf[96];
  if (state_->is_timer) {
    std::snprintf(buf, sizeof buf, "<TimerHandle%s when=%.6f %p>",
                  state_->cancelled ? " cancelled" : "", state_->when,
                  static_cast<void*>(state_.get()));
  } else {
    std::snprintf(buf, sizeof buf, "<Handle%s %p>", state_->cancelled ? " cancelled" : "",
                  static_cast<void*>(state_.get()));
  }
  return buf;
}

}  // namespace aiocpp
