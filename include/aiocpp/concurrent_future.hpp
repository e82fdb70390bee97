#pragma once
// Python's concurrent.futures.Future, as run_coroutine_threadsafe returns
// it: a result that another thread waits for. Every method may be called
// from any thread.
//
// Lifetime: the state holds no object of the loop's (no future, no task,
// no handle): the loop's side copies the outcome into it on the loop's
// thread, and a cancellation goes back through a LoopReply, which does
// nothing once the loop is closed. So a ConcurrentFuture may outlive its
// loop and die on any thread.

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "aiocpp/detail/loop_reply.hpp"
#include "aiocpp/errors.hpp"
#include "aiocpp/future.hpp"

namespace aiocpp {

namespace detail {

// What does not depend on the result type.
class ConcurrentStateBase {
 public:
  bool done() const;
  bool cancelled() const;
  // Cancels it now (false once done) and asks the loop to cancel the task.
  bool cancel();
  // Waits until done, at most `timeout` seconds (none: no limit); true if done.
  bool wait(std::optional<double> timeout) const;
  // The stored exception after wait(); CancelledError when cancelled.
  std::exception_ptr error_locked() const;

  // Loop side. set_cancel_reply sends the reply at once when cancel()
  // came first.
  void set_cancel_reply(std::shared_ptr<LoopReply> reply);
  void set_exception(std::exception_ptr error);
  void set_cancelled();

 protected:
  enum class State { pending, cancelled, finished };
  // Marks it finished under the lock, after `store` ran; false when already done.
  template <class Store>
  bool finish(Store&& store) {
    std::shared_ptr<LoopReply> reply;
    {
      std::lock_guard lock(mutex_);
      if (state_ != State::pending) return false;
      store();
      state_ = State::finished;
      reply = std::move(cancel_reply_);
    }
    done_.notify_all();
    // The task is done: sending the reply now runs its (harmless) cancel on
    // the loop and releases the task it holds, instead of keeping the task
    // until this state dies.
    if (reply) reply->send();
    return true;
  }

  mutable std::mutex mutex_;
  mutable std::condition_variable done_;
  State state_ = State::pending;
  std::exception_ptr error_;
  std::shared_ptr<LoopReply> cancel_reply_;
};

template <class T>
class ConcurrentState final : public ConcurrentStateBase {
 public:
  template <class U>
  void set_result(U&& value) {
    finish([&] { value_.emplace(std::forward<U>(value)); });
  }
  // The value under the lock (a copy, or moved out when T cannot be copied).
  Stored<T> take_value() {
    std::lock_guard lock(mutex_);
    if constexpr (std::is_copy_constructible_v<Stored<T>>) {
      return *value_;
    } else {
      return std::move(*value_);
    }
  }

 private:
  std::optional<Stored<T>> value_;
};

}  // namespace detail

template <class T>
class ConcurrentFuture {
 public:
  explicit ConcurrentFuture(std::shared_ptr<detail::ConcurrentState<T>> state)
      : state_(std::move(state)) {}

  bool done() const { return state_->done(); }
  bool cancelled() const { return state_->cancelled(); }
  // asyncio: cancels the future at once and the task soon after, on its loop.
  bool cancel() { return state_->cancel(); }

  // Waits at most `timeout` seconds (none: no limit) and returns the result;
  // TimeoutError if it is not done by then, CancelledError when cancelled,
  // or the coroutine's exception.
  T result(std::optional<double> timeout = std::nullopt) {
    wait_or_throw(timeout);
    if (std::exception_ptr error = state_->error_locked()) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) return state_->take_value();
  }
  // The coroutine's exception (null on success); TimeoutError and
  // CancelledError as result() raises them.
  std::exception_ptr exception(std::optional<double> timeout = std::nullopt) {
    wait_or_throw(timeout);
    if (state_->cancelled()) throw CancelledError();
    return state_->error_locked();
  }

 private:
  void wait_or_throw(std::optional<double> timeout) {
    if (!state_->wait(timeout)) throw TimeoutError("the coroutine's result is not ready");
  }
  std::shared_ptr<detail::ConcurrentState<T>> state_;
};

}  // namespace aiocpp
