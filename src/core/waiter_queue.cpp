// One wait of a task in a lock's or a queue's FIFO of waiters (QueuedWait):
// the awaitables of Event, Lock, Semaphore and the queues suspend their task
// on a waiter future here instead of running a coroutine of their own.

#include "aiocpp/detail/waiter_queue.hpp"

namespace aiocpp::detail {

QueuedWait::~QueuedWait() {
  // The frame is destroyed while it waits (its loop closed): on_done must
  // not run for it. The queue is left alone: it may be gone already.
  if (task_ && on_done_id_ != 0) future_.remove_done_callback(on_done_id_);
}

void QueuedWait::add_to(WaiterQueue& queue) {
  WaiterQueue::Waiter& waiter = queue.add();
  queue_ = &queue;
  id_ = waiter.id;
  future_ = waiter.future;
}

void QueuedWait::suspend(WaiterQueue& queue, std::coroutine_handle<> waiter) {
  add_to(queue);
  try {
    task_ = suspend_current_task(*Access::state(future_), waiter);
  } catch (...) {
    queue.remove(id_);
    throw;
  }
}

void QueuedWait::suspend(WaiterQueue& queue, std::coroutine_handle<> waiter, bool (*blocked)(void*),
                         void* context) {
  add_to(queue);
  TaskBase* task = nullptr;
  try {
    task = task_to_suspend(*Access::state(future_));
  } catch (...) {
    queue.remove(id_);
    throw;
  }
  waiter_ = waiter;
  blocked_ = blocked;
  context_ = context;
  task_ = task;
  on_done_id_ = suspend_task_on(task, *Access::state(future_), waiter,
                                [this, keep = Ref<TaskBase>(task)] { on_done(); });
}

void QueuedWait::on_done() {
  on_done_id_ = 0;
  if (!task_->cancel_requested() && !future_.cancelled() && blocked_(context_)) {
    // Woken, but what it was woken for is gone: wait again, at the end.
    queue_->remove(id_);
    add_to(*queue_);
    on_done_id_ = suspend_task_on(task_, *Access::state(future_), waiter_,
                                  [this, keep = Ref<TaskBase>(task_)] { on_done(); });
    return;
  }
  task_->step();
}

void QueuedWait::finish() {
  queue_->remove(id_);  // normally popped by the waker already: a no-op then
  on_done_id_ = 0;
  TaskBase* task = std::exchange(task_, nullptr);
  resume_current_task(task);  // CancelledError if cancelled after the wake-up
  future_.result();           // CancelledError if the wait itself was cancelled
}

}  // namespace aiocpp::detail
