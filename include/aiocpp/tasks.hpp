#pragma once
// asyncio's task functions: sleep, gather, wait_for, shield.

#include <cstddef>
#include <exception>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "aiocpp/event_loop.hpp"
#include "aiocpp/future.hpp"
#include "aiocpp/task.hpp"

namespace aiocpp {

// Suspends the current task for `delay` seconds; sleep(0) yields once.
Task<void> sleep(double delay);
// Any number of seconds (and an exact match for int, so `sleep(1)` with
// `using namespace aiocpp` does not collide with POSIX ::sleep).
template <class N>
requires(std::is_arithmetic_v<N> && !std::is_same_v<N, double>) Task<void> sleep(N delay) {
  return sleep(static_cast<double>(delay));
}
// A std::chrono::duration, recognised by its shape so that this header need
// not include <chrono> (a sixth of what aiocpp.hpp would otherwise pull in).
template <class D>
requires requires(const D& d) {
  d.count();
  D::period::num;
  D::period::den;
}
Task<void> sleep(D delay) {
  return sleep(static_cast<double>(delay.count()) * static_cast<double>(D::period::num) /
               static_cast<double>(D::period::den));
}

// The task running now on this thread (asyncio.current_task); an empty Task
// (valid() == false) in the running loop outside any task; RuntimeError
// without a running loop.
Task<void> current_task();

// The outcome of one awaitable in gather(return_exceptions, ...): a value or
// the exception it raised (CancelledError included).
template <class T>
class Outcome {
 public:
  using stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  explicit Outcome(stored value) : value_(std::move(value)) {}
  explicit Outcome(std::exception_ptr error) : error_(std::move(error)) {}
  bool has_value() const noexcept { return !error_; }
  const std::exception_ptr& error() const noexcept { return error_; }
  // The value, or rethrows the exception.
  stored& value() {
    if (error_) std::rethrow_exception(error_);
    return *value_;
  }

 private:
  std::optional<stored> value_;
  std::exception_ptr error_;
};

struct ReturnExceptions {};
// Tag for gather(aiocpp::return_exceptions, ...): failures become results.
inline constexpr ReturnExceptions return_exceptions{};

namespace detail {

// The value of a done future, copied (or moved when it cannot be copied).
template <class T>
Stored<T> take_result(const Future<T>& f) {
  if constexpr (std::is_void_v<T>) {
    f.result();
    return {};
  } else if constexpr (std::is_copy_constructible_v<T>) {
    return f.result();
  } else {
    return std::move(f.result());
  }
}

template <class T>
Outcome<T> take_outcome(const Future<T>& f) {
  if (f.cancelled()) {
    return Outcome<T>(std::make_exception_ptr(CancelledError(Access::state(f)->cancel_message())));
  }
  if (auto e = f.exception()) return Outcome<T>(e);
  return Outcome<T>(take_result(f));
}

// asyncio's _ensure_future(arg, loop=loop): schedules an unstarted task on
// `loop`; ValueError for a future or task of another loop.
void check_same_loop(EventLoop& loop, FutureBase& f);
template <class T>
Future<T> ensure_scheduled(EventLoop& loop, Future<T> f) {
  check_same_loop(loop, *Access::state(f));
  return f;
}
template <class T>
Future<T> ensure_scheduled(EventLoop& loop, Task<T> t) {
  TaskBase* task = Access::task(t);
  if (!task->scheduled() && !task->started()) {
    (void)loop.create_task(t);
  } else {
    check_same_loop(loop, *task);
  }
  return t;
}

// asyncio's _GatheringFuture: cancelling it cancels every child.
template <class R>
class GatheringState final : public FutureBase, public ResultSlot<R> {
 public:
  GatheringState(EventLoop& loop, std::vector<Ref<FutureBase>> children)
      : FutureBase(&loop), children_(std::move(children)) {}
  bool cancel(std::string message = {}) override {
    if (done()) return false;
    bool any = false;
    for (auto& c : children_) any = c->cancel(message) || any;
    if (any) cancel_requested_ = true;  // the children's callbacks finish the cancel
    return any;
  }
  std::vector<Ref<FutureBase>> children_;
  std::function<R()> collect_;
  std::size_t finished_ = 0;
  bool cancel_requested_ = false;
};

// Wires the children's done callbacks; `collect` builds the result once all are done.
template <class R, class Collect>
Future<R> gather_impl(EventLoop& loop, std::vector<Ref<FutureBase>> children, bool keep_errors,
                      Collect collect) {
  auto* state = new GatheringState<R>(loop, std::move(children));
  state->collect_ = std::move(collect);
  Future<R> outer = Access::future_of<R>(state);
  if (state->children_.empty()) {
    outer.set_result(state->collect_());
    return outer;
  }
  for (auto& child : state->children_) {
    child->add_done_callback([outer, state, child = child.get(), keep_errors]() mutable {
      ++state->finished_;
      if (outer.done()) {
        if (!child->cancelled()) (void)child->exception();  // retrieved: don't log it
        return;
      }
      if (!keep_errors) {
        if (child->cancelled()) {
          outer.set_exception(CancelledError(child->cancel_message()));
          return;
        }
        if (auto e = child->exception()) {
          outer.set_exception(e);
          return;
        }
      }
      if (state->finished_ == state->children_.size()) {
        if (state->cancel_requested_) {
          outer.set_exception(CancelledError());
        } else {
          outer.set_result(state->collect_());
        }
      }
    });
  }
  return outer;
}

}  // namespace detail

// Runs the awaitables concurrently; the result is a tuple of their results
// (std::monostate for void). The first failure fails the gather (the others
// keep running); cancelling the gather cancels them all.
template <class... Ts>
Future<std::tuple<detail::Stored<Ts>...>> gather(Future<Ts>... fs) {
  EventLoop& loop = get_running_loop();
  std::tuple<Future<Ts>...> all{detail::ensure_scheduled(loop, fs)...};
  std::vector<detail::Ref<detail::FutureBase>> children;
  std::apply([&](auto&... f) { (children.emplace_back(detail::Access::state(f)), ...); }, all);
  return detail::gather_impl<std::tuple<detail::Stored<Ts>...>>(
      loop, std::move(children), false, [all]() {
        return std::apply([](auto&... f) { return std::make_tuple(detail::take_result(f)...); },
                          all);
      });
}
template <class... Ts>
Future<std::tuple<detail::Stored<Ts>...>> gather(Task<Ts>... ts) {
  EventLoop& loop = get_running_loop();
  (detail::ensure_scheduled(loop, ts), ...);  // left to right: tasks start in argument order
  return gather(static_cast<Future<Ts>&>(ts)...);
}

// gather(return_exceptions, ...): every outcome is kept, failures included.
template <class... Ts>
Future<std::tuple<Outcome<Ts>...>> gather(ReturnExceptions, Future<Ts>... fs) {
  EventLoop& loop = get_running_loop();
  std::tuple<Future<Ts>...> all{detail::ensure_scheduled(loop, fs)...};
  std::vector<detail::Ref<detail::FutureBase>> children;
  std::apply([&](auto&... f) { (children.emplace_back(detail::Access::state(f)), ...); }, all);
  return detail::gather_impl<std::tuple<Outcome<Ts>...>>(loop, std::move(children), true, [all]() {
    return std::apply([](auto&... f) { return std::make_tuple(detail::take_outcome(f)...); }, all);
  });
}
template <class... Ts>
Future<std::tuple<Outcome<Ts>...>> gather(ReturnExceptions tag, Task<Ts>... ts) {
  EventLoop& loop = get_running_loop();
  (detail::ensure_scheduled(loop, ts), ...);  // left to right: tasks start in argument order
  return gather(tag, static_cast<Future<Ts>&>(ts)...);
}

// gather over a list of tasks or futures of one type.
template <class T, template <class> class F>
Future<std::vector<detail::Stored<T>>> gather(std::vector<F<T>> items) {
  EventLoop& loop = get_running_loop();
  std::vector<Future<T>> all;
  std::vector<detail::Ref<detail::FutureBase>> children;
  for (auto& f : items) {
    all.push_back(detail::ensure_scheduled(loop, std::move(f)));
    children.emplace_back(detail::Access::state(all.back()));
  }
  return detail::gather_impl<std::vector<detail::Stored<T>>>(
      loop, std::move(children), false, [all]() {
        std::vector<detail::Stored<T>> out;
        out.reserve(all.size());
        for (auto& f : all) out.push_back(detail::take_result(f));
        return out;
      });
}
template <class T, template <class> class F>
Future<std::vector<Outcome<T>>> gather(ReturnExceptions, std::vector<F<T>> items) {
  EventLoop& loop = get_running_loop();
  std::vector<Future<T>> all;
  std::vector<detail::Ref<detail::FutureBase>> children;
  for (auto& f : items) {
    all.push_back(detail::ensure_scheduled(loop, std::move(f)));
    children.emplace_back(detail::Access::state(all.back()));
  }
  return detail::gather_impl<std::vector<Outcome<T>>>(loop, std::move(children), true, [all]() {
    std::vector<Outcome<T>> out;
    out.reserve(all.size());
    for (auto& f : all) out.push_back(detail::take_outcome(f));
    return out;
  });
}

namespace detail {

// Cancels `f` and waits until it is done (asyncio's _cancel_and_wait).
Task<void> cancel_and_wait(Ref<FutureBase> f);

}  // namespace detail

namespace detail {
// The waiting part of wait_for: returns once `f` is done, or throws
// TimeoutError / CancelledError after cancelling it and waiting for that.
Task<void> wait_until_done(Ref<FutureBase> f, double timeout);
}  // namespace detail

// Waits for `f` at most `timeout` seconds. On timeout cancels it, waits for
// the cancellation to finish, and throws TimeoutError. Cancelling the waiter
// cancels `f` too.
template <class T>
Task<T> wait_for(Future<T> f, double timeout) {
  co_await detail::wait_until_done(detail::Ref<detail::FutureBase>(detail::Access::state(f)),
                                   timeout);
  if constexpr (std::is_void_v<T>) {
    f.result();
  } else {
    co_return detail::take_result(f);
  }
}
template <class T>
Task<T> wait_for(Task<T> t, double timeout) {
  EventLoop& loop = get_running_loop();
  return wait_for(detail::ensure_scheduled(loop, std::move(t)), timeout);
}
template <detail::ConvertsToTask A>
typename std::remove_cvref_t<A>::task_type wait_for(A&& awaitable, double timeout) {
  return wait_for(std::move(awaitable).task(), timeout);
}

// asyncio.ensure_future: a future or a running task comes back as it is
// (ValueError if `loop` is given and it belongs to another); an unstarted
// task is scheduled on `loop`, by default the running loop, else the
// thread's (get_event_loop).
template <class T>
Future<T> ensure_future(Future<T> f, EventLoop* loop = nullptr) {
  if (loop) detail::check_same_loop(*loop, *detail::Access::state(f));
  return f;
}
template <class T>
Task<T> ensure_future(Task<T> t, EventLoop* loop = nullptr) {
  detail::TaskBase* task = detail::Access::task(t);
  if (task->scheduled() || task->started()) {
    if (loop) detail::check_same_loop(*loop, *task);
  } else {
    (void)(loop ? *loop : get_event_loop()).create_task(t);
  }
  return t;
}

// A future that follows `f`, except that cancelling it does not cancel `f`.
template <class T>
Future<T> shield(Future<T> inner) {
  if (inner.done()) return inner;
  EventLoop& loop = inner.get_loop();
  Future<T> outer = loop.template create_future<T>();
  std::uint64_t id = inner.add_done_callback([outer](Future<T>& in) mutable {
    if (outer.cancelled()) {
      if (!in.cancelled()) (void)in.exception();
      return;
    }
    if (in.cancelled()) {
      outer.cancel();
    } else if (auto e = in.exception()) {
      outer.set_exception(e);
    } else if constexpr (std::is_void_v<T>) {
      outer.set_result();
    } else {
      outer.set_result(detail::take_result(in));
    }
  });
  outer.add_done_callback([inner, id]() mutable {
    if (!inner.done()) inner.remove_done_callback(id);
  });
  return outer;
}
template <class T>
Future<T> shield(Task<T> t) {
  EventLoop& loop = get_running_loop();
  return shield(detail::ensure_scheduled(loop, std::move(t)));
}

}  // namespace aiocpp
