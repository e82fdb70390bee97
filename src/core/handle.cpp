// Handles: the loop's unit of scheduled work, recycled through a per-thread
// free list so that call_soon does not allocate in steady state.

#include "aiocpp/handle.hpp"

#include <cstdio>
#include <vector>

#include "aiocpp/event_loop.hpp"
#include "core/loop_impl.hpp"

namespace aiocpp {
namespace detail {

namespace {

// Lifetime: nodes on the list are unused HandleStates owned by the list;
// a thread's list is freed when the thread ends.
struct HandleFreeList {
  std::vector<HandleState*> nodes;
  ~HandleFreeList() {
    for (HandleState* h : nodes) ::operator delete(h);
  }
};
thread_local HandleFreeList free_list;
constexpr std::size_t max_free_handles = 4096;

}  // namespace

HandleState* HandleState::make() {
  if (!free_list.nodes.empty()) {
    void* memory = free_list.nodes.back();
    free_list.nodes.pop_back();
    return new (memory) HandleState;  // default-init: no zero-fill of the closure storage
  }
  return new HandleState;
}

void HandleState::destroy_self() noexcept {
  this->~HandleState();
  if (free_list.nodes.size() < max_free_handles) {
    free_list.nodes.push_back(this);
  } else {
    ::operator delete(this);
  }
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
    context.handle = Handle(Ref<HandleState>(this));
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
