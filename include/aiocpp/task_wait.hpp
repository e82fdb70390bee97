#pragma once
// asyncio's wait() and as_completed(): waiting on several tasks or futures
// at once, for the first, the first failure or all of them, and taking
// results in the order they complete.
//
//   auto [done, pending] = co_await aiocpp::wait(tasks, {.return_when = aiocpp::FIRST_COMPLETED});
//   for (Task<int> next : aiocpp::as_completed(tasks, {.timeout = 5.0})) {
//     int value = co_await next;  // the earliest result not yet taken
//   }

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "aiocpp/errors.hpp"
#include "aiocpp/event_loop.hpp"
#include "aiocpp/future.hpp"
#include "aiocpp/queues.hpp"
#include "aiocpp/task.hpp"
#include "aiocpp/tasks.hpp"

namespace aiocpp {

// When wait() returns (asyncio.FIRST_COMPLETED and its siblings).
enum class ReturnWhen { first_completed, first_exception, all_completed };
inline constexpr ReturnWhen FIRST_COMPLETED = ReturnWhen::first_completed;
// The first one to end with an exception (not a cancellation), else all.
inline constexpr ReturnWhen FIRST_EXCEPTION = ReturnWhen::first_exception;
inline constexpr ReturnWhen ALL_COMPLETED = ReturnWhen::all_completed;

// Keyword arguments of wait().
struct WaitOptions {
  std::optional<double> timeout{};  // seconds; none: no limit
  ReturnWhen return_when = ALL_COMPLETED;
};

// What wait() returns: the futures (or tasks) given to it, split by done().
template <class F>
struct DoneAndPending {
  std::vector<F> done;
  std::vector<F> pending;
};

namespace detail {
// asyncio's _wait: returns once `return_when` holds for `fs` or `timeout`
// seconds (< 0: none) have passed. Cancels nothing.
Task<void> wait_impl(std::vector<Ref<FutureBase>> fs, double timeout, ReturnWhen return_when);
}  // namespace detail

// Waits for the tasks or futures `fs` (tasks not yet scheduled are) and
// returns them split into done and pending, each in the order given. A
// timeout does not raise and cancels nothing: what is still running is in
// `pending`. An empty `fs` is a ValueError.
template <class T, template <class> class F>
Task<DoneAndPending<F<T>>> wait(std::vector<F<T>> fs, WaitOptions options = {}) {
  if (fs.empty()) throw ValueError("Set of Tasks/Futures is empty.");
  EventLoop& loop = get_running_loop();
  std::vector<detail::Ref<detail::FutureBase>> states;
  states.reserve(fs.size());
  for (F<T>& f : fs) {
    (void)detail::ensure_scheduled(loop, f);
    states.emplace_back(detail::Access::state(f));
  }
  co_await detail::wait_impl(std::move(states), options.timeout.value_or(-1.0),
                             options.return_when);
  DoneAndPending<F<T>> split;
  for (F<T>& f : fs) (f.done() ? split.done : split.pending).push_back(std::move(f));
  co_return split;
}

// Keyword arguments of as_completed().
struct AsCompletedOptions {
  std::optional<double> timeout{};  // seconds for all of them; none: no limit
};

// The result of as_completed(): size() awaitables, each giving the result
// (or raising the exception) of the earliest completion not yet taken, and
// TimeoutError for each one left when the timeout passes.
template <class T>
class AsCompleted {
  // Shared with the done callbacks and the timer; a nullopt in `done` is a
  // timed-out slot (asyncio queues None).
  struct State {
    Queue<std::optional<Future<T>>> done;
    std::vector<std::pair<Future<T>, std::uint64_t>> todo;  // with their callback ids
    TimerHandle timeout_handle;
  };

 public:
  template <template <class> class F>
  AsCompleted(std::vector<F<T>> fs, AsCompletedOptions options)
      : state_(std::make_shared<State>()), count_(fs.size()) {
    EventLoop& loop = get_running_loop();
    for (F<T>& f : fs) {
      Future<T> future = detail::ensure_scheduled(loop, std::move(f));
      state_->todo.emplace_back(future, 0);
    }
    std::weak_ptr<State> weak = state_;
    for (auto& [future, id] : state_->todo) {
      id = future.add_done_callback([weak](Future<T>& f) { on_completion(weak, f); });
    }
    if (!state_->todo.empty() && options.timeout) {
      state_->timeout_handle = loop.call_later(*options.timeout, [weak] { on_timeout(weak); });
    }
  }
  std::size_t size() const noexcept { return count_; }
  // The next completion's result; call it at most size() times.
  Task<T> next() { return wait_for_one(state_); }

  // `for (Task<T> next : as_completed(...))`, as Python iterates.
  class iterator {
   public:
    iterator(AsCompleted* owner, std::size_t i) : owner_(owner), i_(i) {}
    Task<T> operator*() const { return owner_->next(); }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const iterator& other) const { return i_ != other.i_; }

   private:
    AsCompleted* owner_;
    std::size_t i_;
  };
  iterator begin() { return iterator(this, 0); }
  iterator end() { return iterator(this, count_); }

 private:
  static void on_completion(const std::weak_ptr<State>& weak, Future<T>& f) {
    auto state = weak.lock();
    if (!state || state->todo.empty()) return;  // the timeout was here first
    for (auto it = state->todo.begin(); it != state->todo.end(); ++it) {
      if (detail::Access::state(it->first) == detail::Access::state(f)) {
        state->todo.erase(it);
        break;
      }
    }
    state->done.put_nowait(f);
    if (state->todo.empty()) state->timeout_handle.cancel();
  }
  static void on_timeout(const std::weak_ptr<State>& weak) {
    auto state = weak.lock();
    if (!state) return;
    for (auto& [future, id] : state->todo) {
      future.remove_done_callback(id);
      state->done.put_nowait(std::nullopt);
    }
    state->todo.clear();
  }
  static Task<T> wait_for_one(std::shared_ptr<State> state) {
    std::optional<Future<T>> f = co_await state->done.get();
    if (!f) throw TimeoutError("as_completed timed out");
    if constexpr (std::is_void_v<T>) {
      f->result();
    } else {
      co_return detail::take_result(*f);
    }
  }

  std::shared_ptr<State> state_;
  std::size_t count_;
};

// Yields the results of `fs` in the order they complete (see AsCompleted).
template <class T, template <class> class F>
AsCompleted<T> as_completed(std::vector<F<T>> fs, AsCompletedOptions options = {}) {
  return AsCompleted<T>(std::move(fs), options);
}

}  // namespace aiocpp
