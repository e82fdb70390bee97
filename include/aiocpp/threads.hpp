#pragma once
// Crossing threads: asyncio's to_thread (a blocking function on the default
// executor, awaited from the loop) and run_coroutine_threadsafe (a
// coroutine submitted to a loop from another thread, whose result that
// thread waits for on a ConcurrentFuture).
//
//   // On the loop:           int n = co_await aiocpp::to_thread(count_lines, path);
//   // On another thread:     auto f = aiocpp::run_coroutine_threadsafe(fetch(url), *loop);
//   //                        std::string page = f.result(5.0);

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "aiocpp/concurrent_future.hpp"
#include "aiocpp/event_loop.hpp"
#include "aiocpp/future.hpp"
#include "aiocpp/task.hpp"
#include "aiocpp/tasks.hpp"

namespace aiocpp {

// Runs fn(args...) on the running loop's default executor; the future
// completes with its result or exception. fn and the arguments are moved to
// the worker thread and destroyed there; the result is moved back.
template <class F, class... Args>
auto to_thread(F fn, Args... args) {
  return get_running_loop().run_in_executor(
      nullptr, [fn = std::move(fn), ... args = std::move(args)]() mutable {
        return std::invoke(fn, args...);
      });
}

// From any thread but `loop`'s: schedules `coro` as a task on `loop` and
// returns a future this thread can wait on. `coro` must be a task nobody
// else holds (pass the coroutine call itself: run_coroutine_threadsafe(work(), loop)):
// it is handed over to the loop's thread, and only that thread touches it
// from then on. Cancelling the returned future cancels the task. If the
// loop is closed, RuntimeError, as call_soon_threadsafe raises.
template <class T>
ConcurrentFuture<T> run_coroutine_threadsafe(Task<T> coro, EventLoop& loop) {
  auto state = std::make_shared<detail::ConcurrentState<T>>();
  EventLoop* target = &loop;
  // Lifetime: the callback (and the task inside) is made here, then run and
  // destroyed on the loop's thread, or released by the loop when it closes;
  // this thread keeps only `state`.
  loop.call_soon_threadsafe([coro = std::move(coro), state, target]() mutable {
    if (state->cancelled()) return;  // cancelled before it started
    Task<T> task = target->create_task(std::move(coro));
    task.add_done_callback([state](Future<T>& done) {
      if (done.cancelled()) {
        state->set_cancelled();
      } else if (std::exception_ptr error = done.exception()) {
        state->set_exception(error);
      } else if constexpr (std::is_void_v<T>) {
        state->set_result(std::monostate{});
      } else {
        state->set_result(detail::take_result(done));
      }
    });
    state->set_cancel_reply(
        detail::Access::reply_on_loop(*target, [task]() mutable { task.cancel(); }));
  });
  return ConcurrentFuture<T>(std::move(state));
}

}  // namespace aiocpp
