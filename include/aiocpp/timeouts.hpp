#pragma once
// asyncio.timeout / asyncio.timeout_at (3.11) in C++.
//
// `async with asyncio.timeout(1.5): await work()` becomes
//
//   co_await aiocpp::timeout(1.5).run(work());
//
// and a block that wants the Timeout itself (reschedule(), expired()) is a
// body taking it, named before the co_await (GCC 12, README):
//
//   auto body = [&](aiocpp::Timeout& t) -> aiocpp::Task<int> {
//     t.reschedule(std::nullopt);  // no deadline after all
//     co_return co_await work();
//   };
//   int v = co_await aiocpp::timeout(1.5).run(body);
//
// run() awaits the body inline, in the current task (no new task), so on
// expiry the deadline cancels the current task, the body sees
// CancelledError at its await, and run() turns it into TimeoutError, as
// Timeout.__aexit__ does. A cancellation from anywhere else stays a
// CancelledError (the task's cancelling() count tells them apart).
//
// A Timeout is a shared handle: copies refer to the same deadline.

#include <concepts>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "aiocpp/errors.hpp"
#include "aiocpp/handle.hpp"
#include "aiocpp/task.hpp"
#include "aiocpp/tasks.hpp"

namespace aiocpp {

class Timeout {
 public:
  // `when`: an absolute loop.time(), or none for no deadline.
  explicit Timeout(std::optional<double> when);

  std::optional<double> when() const;
  // Moves the deadline (none: no deadline). RuntimeError unless the timeout
  // is running (between enter() and exit()).
  void reschedule(std::optional<double> when);
  // Whether the deadline passed while the body ran.
  bool expired() const;

  // Runs `body` inline under this deadline; TimeoutError when it expired.
  template <class T>
  Task<T> run(Task<T> body);
  // Runs `body(timeout)` under this deadline.
  template <class Body>
  requires std::invocable<Body&, Timeout&> std::invoke_result_t<Body&, Timeout&> run(Body body) {
    Timeout self = *this;
    co_return co_await self.run(body(self));
  }

  // __aenter__ / __aexit__ for code that cannot use run(): exit() is told
  // whether a CancelledError is propagating and returns true when it must
  // be replaced by TimeoutError.
  void enter();
  bool exit(bool cancelled_error);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// A deadline `delay` seconds from now (none: no deadline).
Timeout timeout(std::optional<double> delay);
// A deadline at loop.time() == `when` (none: no deadline).
Timeout timeout_at(std::optional<double> when);

template <class T>
Task<T> Timeout::run(Task<T> body) {
  Timeout self = *this;  // shared state: a temporary Timeout may go away
  self.enter();
  std::optional<detail::Stored<T>> result;
  std::exception_ptr error;
  bool cancelled = false;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await body;
    } else {
      result.emplace(co_await body);
    }
  } catch (const CancelledError&) {
    cancelled = true;
    error = std::current_exception();
  } catch (...) {
    error = std::current_exception();
  }
  if (self.exit(cancelled)) throw TimeoutError("TimeoutError: the timeout expired");
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) co_return std::move(*result);
}

}  // namespace aiocpp
