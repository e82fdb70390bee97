#pragma once
// The FIFO of futures that asyncio's locks and queues keep as `_waiters`
// (a collections.deque of futures). Each waiter gets an id so that the
// coroutine that added it can remove it again after it woke up or was
// cancelled, whether or not someone else already popped it.

#include <coroutine>
#include <cstdint>
#include <deque>
#include <type_traits>
#include <utility>

#include "aiocpp/event_loop.hpp"
#include "aiocpp/future.hpp"
#include "aiocpp/task.hpp"

namespace aiocpp::detail {

class WaiterQueue {
 public:
  struct Waiter {
    std::uint64_t id;
    Future<void> future;
  };

  // Appends a new pending future on the running loop.
  Waiter& add() {
    waiters_.push_back(Waiter{next_id_++, get_running_loop().create_future<void>()});
    return waiters_.back();
  }
  // Removes waiter `id` if it is still queued (asyncio's deque.remove).
  void remove(std::uint64_t id) {
    // The common cases first: the oldest waiter leaves (a FIFO), or the
    // newest (a wait that failed to start); deque::erase is far slower.
    if (waiters_.empty()) return;
    if (waiters_.front().id == id) {
      waiters_.pop_front();
      return;
    }
    if (waiters_.back().id == id) {
      waiters_.pop_back();
      return;
    }
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
      if (it->id == id) {
        waiters_.erase(it);
        return;
      }
    }
  }
  bool empty() const noexcept { return waiters_.empty(); }
  std::size_t size() const noexcept { return waiters_.size(); }
  auto begin() { return waiters_.begin(); }
  auto end() { return waiters_.end(); }
  auto begin() const { return waiters_.begin(); }
  auto end() const { return waiters_.end(); }

  // Completes the first waiter that is not done yet; false if none was.
  // The waiter stays queued: its coroutine removes it when it resumes.
  bool wake_first() {
    for (auto& w : waiters_) {
      if (!w.future.done()) {
        w.future.set_result();
        return true;
      }
    }
    return false;
  }
  // Pops waiters until one that is not done is found and completes it
  // (asyncio.Queue's _wakeup_next).
  bool pop_and_wake() {
    while (!waiters_.empty()) {
      Future<void> f = std::move(waiters_.front().future);
      waiters_.pop_front();
      if (!f.done()) {
        f.set_result();
        return true;
      }
    }
    return false;
  }

 private:
  std::deque<Waiter> waiters_;
  std::uint64_t next_id_ = 1;
};

// One wait of the running task in a WaiterQueue, for the awaitables that
// locks and queues return instead of coroutines: no coroutine frame to
// allocate, and the waiter future comes from the free list. It lives in the
// awaiting coroutine's frame. Movable only before it waits.
class QueuedWait {
 public:
  QueuedWait() = default;
  QueuedWait(QueuedWait&&) noexcept {}
  QueuedWait& operator=(QueuedWait&&) = delete;
  ~QueuedWait();

  // Appends a waiter to `queue` and suspends the running task on it.
  void suspend(WaiterQueue& queue, std::coroutine_handle<> waiter);
  // The same for a wait that asyncio writes as a loop (`while
  // self.empty(): await getter`): when the woken waiter's turn to run comes
  // and `blocked(context)` still holds (another task took what it was woken
  // for), it waits again at the end of the queue, as asyncio's loop does,
  // without resuming the coroutine in between.
  void suspend(WaiterQueue& queue, std::coroutine_handle<> waiter, bool (*blocked)(void*),
               void* context);
  bool waited() const noexcept { return task_ != nullptr; }
  // After the task resumed: leaves the queue, then throws CancelledError if
  // the task or the wait was cancelled.
  void finish();
  // The wake-up came (the waiter's future completed, not cancelled): a
  // waiter cancelled after it is passes the wake-up on.
  bool woken() const { return future_.done() && !future_.cancelled(); }

 private:
  void add_to(WaiterQueue& queue);
  void on_done();

  WaiterQueue* queue_ = nullptr;
  std::uint64_t id_ = 0;
  Future<void> future_;
  TaskBase* task_ = nullptr;  // the suspended task, until finish()
  std::coroutine_handle<> waiter_;
  bool (*blocked_)(void*) = nullptr;
  void* context_ = nullptr;
  std::uint64_t on_done_id_ = 0;  // on_done's registration, while it may still run
};

// What an awaitable that a primitive returns adds to be used as a task as
// well (create_task(lock.acquire()), wait_for(queue.get(), 1.0)): its
// task_type, and the conversion to it.
template <class Awaitable, class T>
class ConvertibleToTask {
 public:
  using task_type = Task<T>;
  operator Task<T>() && { return run(std::move(self())); }  // NOLINT: as a coroutine
  Task<T> task() && { return run(std::move(self())); }

 private:
  Awaitable& self() { return static_cast<Awaitable&>(*this); }
  static Task<T> run(Awaitable awaitable) {
    if constexpr (std::is_void_v<T>) {
      co_await awaitable;
    } else {
      co_return co_await awaitable;
    }
  }
};

}  // namespace aiocpp::detail
