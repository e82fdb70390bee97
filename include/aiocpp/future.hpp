#pragma once
// Future<T>: asyncio.Future in C++. A shared handle: copies refer to the same
// future, as Python references do. Done callbacks are scheduled on the loop
// with call_soon, never called on the stack that completed the future.

#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "aiocpp/detail/access.hpp"
#include "aiocpp/detail/ref_counted.hpp"
#include "aiocpp/detail/small_function.hpp"
#include "aiocpp/errors.hpp"

namespace aiocpp {

class EventLoop;

namespace detail {

class TaskBase;

// A result type that can be stored: void becomes std::monostate.
template <class T>
using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// The part of a future that does not depend on its result type.
class FutureBase : public RefCounted {
 public:
  using Callback = SmallFunction<void(), 48>;

  // A task binds its loop when it is scheduled, so it may start without one.
  explicit FutureBase(EventLoop* loop) noexcept : loop_(loop) {}

  EventLoop& loop() const noexcept { return *loop_; }
  bool done() const noexcept { return state_ != State::pending; }
  bool cancelled() const noexcept { return state_ == State::cancelled; }

  // asyncio's Future.cancel: false when already done.
  virtual bool cancel(std::string message = {});

  // Stores an exception; InvalidStateError if already done.
  void set_exception(std::exception_ptr error);

  // The stored exception (null on success); counts as retrieving it.
  std::exception_ptr exception();

  // What result() does before returning the value: throws CancelledError
  // when cancelled, InvalidStateError when pending, the stored exception.
  void check_result();

  std::uint64_t add_done_callback(Callback callback);
  std::size_t remove_done_callback(std::uint64_t id);

  const std::string& cancel_message() const noexcept { return cancel_message_; }

  // Used by set_result of the typed futures, after the value is in place.
  void finish_with_result();
  // InvalidStateError when done; RuntimeError for a task, which only its
  // coroutine completes (asyncio's "Task does not support set_result operation").
  void throw_if_done(const char* what) const;

  virtual const char* kind() const noexcept { return "Future"; }

 protected:
  ~FutureBase() override;
  // "<what> exception was never retrieved", once, if nobody looked at it.
  // Derived destructors call it first, while kind() still names them.
  void report_unretrieved(const char* what) noexcept;
  void finish(bool cancelled_state);
  void schedule_callbacks();
  // Drops a done callback nobody will run (loop closing); breaks cycles.
  void clear_callbacks() noexcept;

  enum class State : std::uint8_t { pending, cancelled, finished };

  EventLoop* loop_;
  State state_ = State::pending;
  bool log_traceback_ = false;  // an exception nobody has looked at yet
  bool is_task_ = false;        // set_result / set_exception refuse a task
  std::exception_ptr exception_;
  std::string cancel_message_;

 private:
  struct Entry {
    std::uint64_t id;
    Callback fn;
  };
  Entry first_callback_{0, nullptr};  // inline: most futures have one waiter
  std::vector<Entry> more_callbacks_;
  std::uint64_t next_callback_id_ = 1;
};

// Storage for a future's value, separate from FutureBase so a Task (whose
// state derives from TaskBase) can hold one too.
template <class T>
struct ResultSlot {
  std::optional<T> value;
};
template <>
struct ResultSlot<void> {};

// A waiter (Future<void>) is made and dropped for each wait of a lock, a
// queue, a stream read: its memory comes from a per-thread free list, so
// that a steady-state wait does not allocate.
void* allocate_waiter_state(std::size_t size);
void free_waiter_state(void* block) noexcept;

template <class T>
class FutureState final : public FutureBase, public ResultSlot<T> {
 public:
  using FutureBase::FutureBase;
};
template <>
class FutureState<void> final : public FutureBase, public ResultSlot<void> {
 public:
  using FutureBase::FutureBase;
  static void* operator new(std::size_t size) { return allocate_waiter_state(size); }
  static void operator delete(void* block) noexcept { free_waiter_state(block); }
};

// Registers the current task to be woken when `future` completes and records
// `waiter` as the coroutine to resume. Throws RuntimeError outside a task.
TaskBase* suspend_current_task(FutureBase& future, std::coroutine_handle<> waiter);
// After a wake-up: throws CancelledError if the task was cancelled while
// it waited on something that could not itself be cancelled.
void resume_current_task(TaskBase* task);
// The two halves of suspend_current_task, for an awaiter that decides at
// wake-up whether its task runs: the running task (the same RuntimeErrors),
// and suspending `task` at `waiter` until `future` completes, when the loop
// calls `on_done` instead of stepping the task. on_done then steps it
// (TaskBase::step) or suspends it again on another future. Returns
// on_done's id in `future`.
TaskBase* task_to_suspend(FutureBase& future);
std::uint64_t suspend_task_on(TaskBase* task, FutureBase& future, std::coroutine_handle<> waiter,
                              FutureBase::Callback on_done);

}  // namespace detail

template <class T = void>
class Future {
 public:
  using value_type = T;

  Future() = default;
  // A new pending future on `loop` (loop.create_future()).
  explicit Future(EventLoop& loop) {
    auto* state = new detail::FutureState<T>(&loop);
    base_ = detail::Ref<detail::FutureBase>(state);
    slot_ = state;
  }
  bool valid() const noexcept { return static_cast<bool>(base_); }
  bool done() const { return base_->done(); }
  bool cancelled() const { return base_->cancelled(); }
  bool cancel(std::string message = {}) { return base_->cancel(std::move(message)); }
  EventLoop& get_loop() const { return base_->loop(); }

  // The value; throws the stored exception, CancelledError or InvalidStateError.
  decltype(auto) result() const {
    base_->check_result();
    if constexpr (!std::is_void_v<T>) return (*slot_->value);
  }

  std::exception_ptr exception() const { return base_->exception(); }

  template <class U = T>
  requires(!std::is_void_v<T>) void set_result(U&& value) {
    base_->throw_if_done("set_result");
    slot_->value.emplace(std::forward<U>(value));
    base_->finish_with_result();
  }
  void set_result() requires std::is_void_v<T> {
    base_->throw_if_done("set_result");
    base_->finish_with_result();
  }
  void set_exception(std::exception_ptr error) { base_->set_exception(std::move(error)); }
  template <class E>
  void set_exception(E error) {
    set_exception(std::make_exception_ptr(std::move(error)));
  }

  // The callback takes the future, or nothing. Returns an id for remove_done_callback.
  template <class F>
  std::uint64_t add_done_callback(F callback) {
    if constexpr (std::is_invocable_v<F&, Future&>) {
      return base_->add_done_callback(
          [self = *this, cb = std::move(callback)]() mutable { cb(self); });
    } else {
      return base_->add_done_callback(std::move(callback));
    }
  }
  std::size_t remove_done_callback(std::uint64_t id) { return base_->remove_done_callback(id); }

  struct Awaiter {
    const Future& future;
    detail::TaskBase* task = nullptr;
    bool await_ready() const { return future.done(); }
    void await_suspend(std::coroutine_handle<> waiter) {
      task = detail::suspend_current_task(*future.base_, waiter);
    }
    T await_resume() {
      if (task) detail::resume_current_task(task);
      if constexpr (std::is_void_v<T>) {
        future.result();
      } else if constexpr (std::is_copy_constructible_v<T>) {
        return future.result();
      } else {
        return std::move(future.result());
      }
    }
  };
  Awaiter operator co_await() const& noexcept { return Awaiter{*this}; }

 protected:
  friend struct detail::Access;
  detail::Ref<detail::FutureBase> base_;
  detail::ResultSlot<T>* slot_ = nullptr;
};

// Any future or task, whatever its result type: the one the exception
// handler's context names (asyncio's context["future"]). It can be watched,
// cancelled and compared with the Future or Task it came from, not completed.
class AnyFuture {
 public:
  AnyFuture() = default;
  template <class T>
  AnyFuture(const Future<T>& future)  // NOLINT(google-explicit-constructor): any future is one
      : base_(detail::Access::state(future)) {}

  explicit operator bool() const noexcept { return static_cast<bool>(base_); }
  bool done() const { return base_->done(); }
  bool cancelled() const { return base_->cancelled(); }
  bool cancel(std::string message = {}) { return base_->cancel(std::move(message)); }
  EventLoop& get_loop() const { return base_->loop(); }
  std::exception_ptr exception() const { return base_->exception(); }
  bool is_task() const;
  // asyncio's repr, e.g. "<Task 0x5581...>".
  std::string repr() const;

  friend bool operator==(const AnyFuture& a, const AnyFuture& b) noexcept {
    return a.base_ == b.base_;
  }

 private:
  friend struct detail::Access;
  detail::Ref<detail::FutureBase> base_;
};

template <class T>
detail::FutureBase* detail::Access::state(const Future<T>& future) noexcept {
  return future.base_.get();
}
template <class T, class S>
Future<T> detail::Access::future_of(S* state) {
  Future<T> f;
  f.base_ = Ref<FutureBase>(state);
  f.slot_ = state;
  return f;
}
inline detail::FutureBase* detail::Access::state(const AnyFuture& future) noexcept {
  return future.base_.get();
}
inline AnyFuture detail::Access::any_future(FutureBase* state) {
  AnyFuture f;
  f.base_ = Ref<FutureBase>(state);
  return f;
}

}  // namespace aiocpp
