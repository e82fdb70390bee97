// asyncio's _wait, the part of wait() that does not depend on result types.

#include "aiocpp/task_wait.hpp"

#include <memory>

namespace aiocpp::detail {

namespace {

// Shared by the done callbacks, the timer and the waiting coroutine: a
// callback may already be scheduled when the coroutine returns.
struct WaitState {
  Future<void> waiter;
  std::size_t counter;
  ReturnWhen return_when;
  TimerHandle timeout_handle;

  void release() {
    timeout_handle.cancel();
    if (!waiter.done()) waiter.set_result();
  }
  void on_completion(FutureBase& f) {
    --counter;
    if (counter == 0 || return_when == ReturnWhen::first_completed ||
        (return_when == ReturnWhen::first_exception && !f.cancelled() && f.exception())) {
      release();
    }
  }
};

}  // namespace

Task<void> wait_impl(std::vector<Ref<FutureBase>> fs, double timeout, ReturnWhen return_when) {
  EventLoop& loop = get_running_loop();
  auto state = std::make_shared<WaitState>();
  state->waiter = loop.create_future<void>();
  state->counter = fs.size();
  state->return_when = return_when;
  if (timeout >= 0) {
    state->timeout_handle = loop.call_later(timeout, [state] {
      if (!state->waiter.done()) state->waiter.set_result();
    });
  }
  std::vector<std::uint64_t> ids;
  ids.reserve(fs.size());
  for (Ref<FutureBase>& f : fs) {
    ids.push_back(f->add_done_callback([state, f] { state->on_completion(*f); }));
  }
  Future<void> waiter = state->waiter;
  try {
    co_await waiter;
  } catch (...) {
    state->timeout_handle.cancel();
    for (std::size_t i = 0; i < fs.size(); ++i) fs[i]->remove_done_callback(ids[i]);
    throw;
  }
  state->timeout_handle.cancel();
  for (std::size_t i = 0; i < fs.size(); ++i) fs[i]->remove_done_callback(ids[i]);
}

}  // namespace aiocpp::detail
