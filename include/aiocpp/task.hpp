#pragma once
// Task<T>: a C++20 coroutine run by the loop, as asyncio.Task runs a Python
// coroutine. A Task is also a Future<T>.
//
// Calling a coroutine function gives an unstarted Task, like calling an
// `async def` gives a coroutine object:
//  - `co_await f()` runs it inline, inside the awaiting task (no scheduling),
//    as `await f()` does in Python;
//  - `loop.create_task(f())` schedules it as a task of its own.
// cancel() delivers CancelledError at the await where the task is suspended.

#include <coroutine>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include "aiocpp/detail/intrusive_list.hpp"
#include "aiocpp/future.hpp"

namespace aiocpp {

template <class T>
class Task;

namespace detail {

// The loop's registry of pending tasks (asyncio.all_tasks) links through the
// ListNode: intrusive, so that create_task does not allocate for it.
class TaskBase : public FutureBase, public ListNode<TaskBase> {
 public:
  TaskBase() noexcept : FutureBase(nullptr) { is_task_ = true; }

  bool cancel(std::string message = {}) override;
  const char* kind() const noexcept override { return "Task"; }

  // create_task: binds the loop, registers the task and schedules its first step.
  void schedule(EventLoop& loop);
  // asyncio's Task.__step: resumes the coroutine where it is suspended.
  void step() noexcept;

  // Runs this unstarted task inline under the current task: the awaiting
  // coroutine `parent` resumes when it finishes. Returns the handle to resume.
  std::coroutine_handle<> start_inline(std::coroutine_handle<> parent);

  bool scheduled() const noexcept { return scheduled_; }
  bool started() const noexcept { return started_; }
  const std::string& name() const noexcept { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  int cancelling() const noexcept { return num_cancels_requested_; }
  // cancel() came while the task could not be interrupted (its awaited
  // future was already done): the next step raises CancelledError.
  bool cancel_requested() const noexcept { return must_cancel_; }
  int uncancel() noexcept { return num_cancels_requested_ > 0 ? --num_cancels_requested_ : 0; }

  // Called by the promise, at the end of the coroutine.
  void store_exception(std::exception_ptr error) noexcept;
  std::coroutine_handle<> on_final_suspend(std::coroutine_handle<> frame) noexcept;

  // Loop close: destroys the suspended coroutine of a task that never finished.
  void abandon() noexcept;

  static TaskBase* current() noexcept;

 protected:
  ~TaskBase() override;

 private:
  friend TaskBase* suspend_current_task(FutureBase&, std::coroutine_handle<>);
  friend std::uint64_t suspend_task_on(TaskBase*, FutureBase&, std::coroutine_handle<>,
                                       FutureBase::Callback);
  void wait_on(FutureBase& future, std::coroutine_handle<> waiter);
  friend void resume_current_task(TaskBase*);
  friend class YieldAwaiter;
  void finish_unstarted_as_cancelled() noexcept;

  std::coroutine_handle<> frame_;         // this task's own frame; owned
  std::coroutine_handle<> resume_point_;  // innermost coroutine to resume on the next step
  std::coroutine_handle<> continuation_;  // the coroutine that awaits this one inline
  Ref<FutureBase> fut_waiter_;            // what the task waits for (asyncio's _fut_waiter)
  std::string name_;
  std::string pending_cancel_message_;
  int num_cancels_requested_ = 0;
  bool must_cancel_ = false;
  bool throw_cancel_on_resume_ = false;
  bool started_ = false;
  bool scheduled_ = false;
  bool cancelled_outcome_ = false;

  template <class T>
  friend class TaskPromise;
};

template <class T>
class TaskState final : public TaskBase, public ResultSlot<T> {};

template <class T>
class TaskPromiseBase {
 public:
  TaskState<T>* state = nullptr;
  template <class U = T>
  void return_value(U&& value) {
    state->value.emplace(std::forward<U>(value));
  }
};
template <>
class TaskPromiseBase<void> {
 public:
  TaskState<void>* state = nullptr;
  void return_void() noexcept {}
};

template <class T>
class TaskPromise : public TaskPromiseBase<T> {
 public:
  Task<T> get_return_object();
  std::suspend_always initial_suspend() noexcept { return {}; }
  struct FinalAwaiter {
    TaskBase* state;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> frame) noexcept {
      return state->on_final_suspend(frame);
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {this->state}; }
  void unhandled_exception() noexcept { this->state->store_exception(std::current_exception()); }
};

// Yields to the loop once (asyncio.sleep(0)).
class YieldAwaiter {
 public:
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> waiter);
  void await_resume();

 private:
  TaskBase* task_ = nullptr;
};

}  // namespace detail

// [[nodiscard]] for the coroutine call whose Task is dropped: it never runs.
// A Task that create_task returns may be dropped safely: the loop keeps the
// task until it is done (asyncio keeps only a weak reference); the message
// says so, and `(void)` silences it.
template <class T = void>
class [[nodiscard(
    "a Task dropped unstarted never runs: co_await it or pass it to create_task; the Task "
    "create_task returns may be dropped ((void) silences this): the loop keeps the task running "
    "until it is done")]] Task : public Future<T> {
 public:
  using promise_type = detail::TaskPromise<T>;

  Task() = default;

  std::string get_name() const { return task()->name(); }
  void set_name(std::string name) { task()->set_name(std::move(name)); }
  // The number of pending cancel() requests (asyncio 3.11's Task.cancelling).
  int cancelling() const { return task()->cancelling(); }
  int uncancel() { return task()->uncancel(); }

  struct Awaiter {
    const Task& t;
    detail::TaskBase* waiting_task = nullptr;
    bool inline_run = false;
    bool await_ready() const { return t.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) {
      detail::TaskBase* child = t.task();
      if (!child->scheduled() && !child->started()) {
        inline_run = true;
        return child->start_inline(parent);
      }
      waiting_task = detail::suspend_current_task(*child, parent);
      return std::noop_coroutine();
    }
    T await_resume() {
      if (waiting_task) detail::resume_current_task(waiting_task);
      if constexpr (std::is_void_v<T>) {
        t.result();
      } else if constexpr (std::is_copy_constructible_v<T>) {
        if (!inline_run) return t.result();
        return std::move(t.result());
      } else {
        return std::move(t.result());
      }
    }
  };
  Awaiter operator co_await() const& noexcept { return Awaiter{*this}; }

 private:
  friend struct detail::Access;
  friend class detail::TaskPromise<T>;
  explicit Task(detail::TaskState<T> * state) {
    this->base_ = detail::Ref<detail::FutureBase>(state);
    this->slot_ = state;
  }
  detail::TaskBase* task() const noexcept {
    return static_cast<detail::TaskBase*>(this->base_.get());
  }
};

template <class T>
detail::TaskBase* detail::Access::task(const Task<T>& task) noexcept {
  return task.task();
}
inline Task<void> detail::Access::erased_task(TaskBase* task) {
  Task<void> t;
  t.base_ = Ref<FutureBase>(task);
  return t;
}

template <class T>
Task<T> detail::TaskPromise<T>::get_return_object() {
  auto* state = new TaskState<T>();
  this->state = state;
  state->frame_ = std::coroutine_handle<TaskPromise>::from_promise(*this);
  state->resume_point_ = state->frame_;
  return Task<T>(state);
}

// Yields control to the loop for one iteration (asyncio.sleep(0)).
inline detail::YieldAwaiter yield_now() { return {}; }

}  // namespace aiocpp
