// Tasks: stepping coroutines on the loop (asyncio.Task.__step / __wakeup).

#include "aiocpp/task.hpp"

#include <cstdio>
#include <optional>
#include <string>

#include "aiocpp/event_loop.hpp"
#include "aiocpp/tasks.hpp"
#include "core/loop_impl.hpp"

namespace aiocpp::detail {

namespace {
// The task being stepped on this thread (asyncio's current_task).
thread_local TaskBase* current_task = nullptr;
}  // namespace

TaskBase* TaskBase::current() noexcept { return current_task; }

TaskBase::~TaskBase() {
  report_unretrieved("Task");
  if (loop_ && scheduled_) impl_of(*loop_).unregister_task(this);
  if (frame_) {
    if (scheduled_ && !done() && loop_) {
      ExceptionContext context;
      context.message = "Task was destroyed but it is pending!";
      loop_->call_exception_handler(context);
    }
    std::coroutine_handle<> frame = frame_;
    frame_ = {};
    frame.destroy();
  }
}

void TaskBase::schedule(EventLoop& loop) {
  if (scheduled_ || started_) throw RuntimeError("cannot reuse already awaited coroutine");
  if (done()) return;
  loop_ = &loop;
  scheduled_ = true;
  impl_of(loop).register_task(this);
  try {
    loop.call_soon([self = Ref<TaskBase>(this)] { self->step(); });
  } catch (...) {
    impl_of(loop).unregister_task(this);
    scheduled_ = false;
    throw;
  }
}

bool TaskBase::cancel(std::string message) {
  log_traceback_ = false;  // asyncio clears it first: a failed task cancelled is not reported
  if (done()) return false;
  ++num_cancels_requested_;
  if (fut_waiter_ && fut_waiter_->cancel(message)) {
    // The wake-up will find the awaited future cancelled and throw.
    return true;
  }
  must_cancel_ = true;
  pending_cancel_message_ = std::move(message);
  return true;
}

void TaskBase::finish_unstarted_as_cancelled() noexcept {
  cancel_message_ = pending_cancel_message_;
  if (loop_ && scheduled_) impl_of(*loop_).unregister_task(this);
  std::coroutine_handle<> frame = frame_;
  frame_ = {};
  if (frame) frame.destroy();
  state_ = State::cancelled;
  try {
    schedule_callbacks();
  } catch (...) {
    clear_callbacks();  // the loop is closed: nobody can run them
  }
}

void TaskBase::step() noexcept {
  if (done()) return;
  Ref<TaskBase> keep(this);
  fut_waiter_.reset();
  if (must_cancel_) {
    must_cancel_ = false;
    if (!started_) {
      finish_unstarted_as_cancelled();
      return;
    }
    throw_cancel_on_resume_ = true;
  }
  started_ = true;
  TaskBase* previous = current_task;
  current_task = this;
  resume_point_.resume();
  current_task = previous;
}

std::coroutine_handle<> TaskBase::start_inline(std::coroutine_handle<> parent) {
  TaskBase* root = current_task;
  if (!root) throw RuntimeError("a coroutine can only be awaited inside a running task");
  loop_ = root->loop_;
  continuation_ = parent;
  if (must_cancel_) {
    // Cancelled before it ever ran: it never will; the parent sees CancelledError.
    must_cancel_ = false;
    finish_unstarted_as_cancelled();
    return parent;
  }
  started_ = true;
  return frame_;
}

void TaskBase::store_exception(std::exception_ptr error) noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const CancelledError& cancelled) {
    cancelled_outcome_ = true;
    cancel_message_ = cancelled.message();
  } catch (...) {
    exception_ = std::move(error);
    log_traceback_ = true;
  }
}

std::coroutine_handle<> TaskBase::on_final_suspend(std::coroutine_handle<> frame) noexcept {
  std::coroutine_handle<> continuation = continuation_;
  frame_ = {};
  if (loop_ && scheduled_) impl_of(*loop_).unregister_task(this);
  if (must_cancel_ && !exception_ && !cancelled_outcome_) {
    // cancel() came while the task ran, and it returned without awaiting
    // again: asyncio's task ends cancelled, its result dropped.
    must_cancel_ = false;
    cancelled_outcome_ = true;
    cancel_message_ = pending_cancel_message_;
  }
  state_ = cancelled_outcome_ ? State::cancelled : State::finished;
  try {
    schedule_callbacks();
  } catch (...) {
    clear_callbacks();
  }
  frame.destroy();
  return continuation ? continuation : std::noop_coroutine();
}

void TaskBase::abandon() noexcept {
  if (done()) return;
  Ref<TaskBase> keep(this);
  if (loop_ && scheduled_) impl_of(*loop_).unregister_task(this);
  ExceptionContext context;
  context.message = "Task was destroyed but it is pending!";
  context.future = Access::any_future(this);
  loop_->call_exception_handler(context);
  context.future = {};
  scheduled_ = false;  // reported once
  fut_waiter_.reset();
  clear_callbacks();
  std::coroutine_handle<> frame = frame_;
  frame_ = {};
  if (frame) frame.destroy();
}

namespace {

// The running task, if `future` may be awaited there. Inlined into
// suspend_current_task, a hot path.
[[gnu::always_inline]] inline TaskBase* checked_current_task(FutureBase& future) {
  TaskBase* task = current_task;
  if (!task) throw RuntimeError("await outside of a task: use create_task() or run()");
  if (&future == task) throw RuntimeError("Task cannot await on itself");
  if (&future.loop() != &task->loop()) {
    throw RuntimeError("Task got Future attached to a different loop");
  }
  return task;
}

}  // namespace

// Only this file calls it: inline, as it was when suspend_current_task was one function.
[[gnu::always_inline]] inline void TaskBase::wait_on(FutureBase& future,
                                                     std::coroutine_handle<> waiter) {
  resume_point_ = waiter;
  fut_waiter_ = Ref<FutureBase>(&future);
  if (must_cancel_ && future.cancel(pending_cancel_message_)) must_cancel_ = false;
}

TaskBase* task_to_suspend(FutureBase& future) { return checked_current_task(future); }

TaskBase* suspend_current_task(FutureBase& future, std::coroutine_handle<> waiter) {
  TaskBase* task = checked_current_task(future);
  future.add_done_callback([self = Ref<TaskBase>(task)] { self->step(); });
  task->wait_on(future, waiter);
  return task;
}

std::uint64_t suspend_task_on(TaskBase* task, FutureBase& future, std::coroutine_handle<> waiter,
                              FutureBase::Callback on_done) {
  std::uint64_t id = future.add_done_callback(std::move(on_done));
  task->wait_on(future, waiter);
  return id;
}

void resume_current_task(TaskBase* task) {
  if (task->throw_cancel_on_resume_) {
    task->throw_cancel_on_resume_ = false;
    throw CancelledError(task->pending_cancel_message_);
  }
}

void YieldAwaiter::await_suspend(std::coroutine_handle<> waiter) {
  TaskBase* task = current_task;
  if (!task) throw RuntimeError("await outside of a task: use create_task() or run()");
  task->loop_->call_soon([self = Ref<TaskBase>(task)] { self->step(); });
  task->resume_point_ = waiter;
  task_ = task;
}

void YieldAwaiter::await_resume() {
  if (task_) resume_current_task(task_);
}

Task<void> cancel_and_wait(Ref<FutureBase> f) {
  EventLoop& loop = f->loop();
  Future<void> waiter = loop.create_future<void>();
  std::uint64_t id = f->add_done_callback([waiter]() mutable {
    if (!waiter.done()) waiter.set_result();
  });
  f->cancel();
  struct RemoveCallback {
    FutureBase& f;
    std::uint64_t id;
    ~RemoveCallback() { f.remove_done_callback(id); }
  } remove{*f, id};
  co_await waiter;
}

void check_same_loop(EventLoop& loop, FutureBase& f) {
  if (&f.loop() != &loop) {
    throw ValueError(
        "The future belongs to a different loop than the one specified as the loop "
        "argument");
  }
}

}  // namespace aiocpp::detail

namespace aiocpp {

Task<void> current_task() {
  (void)get_running_loop();  // RuntimeError without one, as asyncio's
  detail::TaskBase* task = detail::TaskBase::current();
  return task ? detail::Access::erased_task(task) : Task<void>();
}

Task<void> sleep(double delay) {
  if (delay <= 0) {
    co_await yield_now();
    co_return;
  }
  EventLoop& loop = get_running_loop();
  Future<void> done = loop.create_future<void>();
  TimerHandle timer = loop.call_later(delay, [done]() mutable {
    if (!done.done()) done.set_result();
  });
  struct CancelTimer {
    TimerHandle& timer;
    ~CancelTimer() { timer.cancel(); }
  } cancel_timer{timer};
  co_await done;
}

}  // namespace aiocpp

namespace aiocpp::detail {

namespace {

// What wait_for's TimeoutError says: which limit passed, and that the
// awaited operation was cancelled (asyncio's message is empty).
TimeoutError timed_out(double timeout) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", timeout > 0 ? timeout : 0.0);
  return TimeoutError(std::string("TimeoutError: wait_for timed out after ") + seconds +
                      " s; the awaited operation was cancelled");
}

}  // namespace

Task<void> wait_until_done(Ref<FutureBase> f, double timeout) {
  if (f->done()) co_return;
  if (timeout <= 0) {
    co_await cancel_and_wait(f);
    if (f->cancelled()) throw timed_out(timeout);
    co_return;
  }
  EventLoop& loop = f->loop();
  Future<void> waiter = loop.create_future<void>();
  auto release = [waiter]() mutable {
    if (!waiter.done()) waiter.set_result();
  };
  TimerHandle timer = loop.call_later(timeout, release);
  std::uint64_t callback = f->add_done_callback(release);
  std::optional<CancelledError> cancelled;
  try {
    co_await waiter;
  } catch (const CancelledError& e) {
    cancelled = e;
  }
  timer.cancel();
  if (f->done()) co_return;
  f->remove_done_callback(callback);
  co_await cancel_and_wait(f);
  if (cancelled) throw *cancelled;
  if (f->cancelled()) throw timed_out(timeout);
}

}  // namespace aiocpp::detail
