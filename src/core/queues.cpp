// The item-type-independent part of asyncio's queues: waiting for room or
// for an item, and the unfinished-task count behind join().

#include "aiocpp/queues.hpp"

namespace aiocpp::detail {

Task<void> QueueBase::wait_in(WaiterQueue& waiters, std::function<bool()> still_blocked) {
  auto& waiter = waiters.add();
  std::uint64_t id = waiter.id;
  Future<void> fut = waiter.future;
  try {
    co_await fut;
  } catch (const CancelledError&) {
    // Popped and woken already, but cancelled before it ran: the item (or
    // the room) it was woken for goes to the next one in line.
    waiters.remove(id);
    if (!still_blocked() && !fut.cancelled()) waiters.pop_and_wake();
    throw;
  }
  waiters.remove(id);  // normally popped by the waker; a no-op then
}

void QueueBase::item_added() {
  ++unfinished_tasks_;
  finished_.clear();
}

void QueueBase::task_done() {
  if (unfinished_tasks_ == 0) throw ValueError("task_done() called too many times");
  if (--unfinished_tasks_ == 0) finished_.set();
}

Task<void> QueueBase::join() {
  if (unfinished_tasks_ > 0) co_await finished_.wait();
}

}  // namespace aiocpp::detail
