#pragma once
// asyncio's synchronization primitives (asyncio.locks): Event, Lock,
// Semaphore, BoundedSemaphore, Condition, Barrier. Like asyncio's, they are
// not thread-safe: use them from the tasks of one loop.
//
// Fairness, as in asyncio: waiters wake in FIFO order, and a waiter that is
// cancelled after it was woken but before it ran passes the wake-up on to
// the next waiter, so no wake-up is ever lost.
//
// `async with lock:` becomes
//
//   auto held = co_await aiocpp::hold(lock);  // released when `held` goes out of scope
//
// or an explicit `co_await lock.acquire(); ... lock.release();`.

#include <coroutine>
#include <cstddef>
#include <functional>
#include <utility>

#include "aiocpp/detail/waiter_queue.hpp"
#include "aiocpp/errors.hpp"
#include "aiocpp/task.hpp"

namespace aiocpp {

// asyncio.Event: wait() blocks until set() is called; clear() resets it.
class Event {
 public:
  class Wait;

  bool is_set() const noexcept { return value_; }
  // Wakes every waiter; later wait() calls return at once until clear().
  void set();
  void clear() noexcept { value_ = false; }
  Wait wait();

 private:
  detail::WaiterQueue waiters_;
  bool value_ = false;
};

// What Event::wait() returns: an awaitable (no coroutine frame) that also
// converts to a Task<void> (create_task(event.wait())).
class Event::Wait : public detail::ConvertibleToTask<Event::Wait, void> {
 public:
  explicit Wait(Event& event) noexcept : event_(&event) {}
  bool await_ready() const noexcept { return event_->value_; }
  void await_suspend(std::coroutine_handle<> waiter) { wait_.suspend(event_->waiters_, waiter); }
  void await_resume() {
    if (wait_.waited()) wait_.finish();
  }

 private:
  Event* event_;
  detail::QueuedWait wait_;
};

inline Event::Wait Event::wait() { return Wait(*this); }

// asyncio.Lock: a non-reentrant mutex for tasks.
class Lock {
 public:
  class Acquire;

  bool locked() const noexcept { return locked_; }
  Acquire acquire();
  // RuntimeError when the lock is not held.
  void release();

 private:
  // Free, and nobody queued first who could still take it.
  bool free_for_newcomer() const;
  void wake_up_first();

  detail::WaiterQueue waiters_;
  bool locked_ = false;
};

// What Lock::acquire() returns: takes a free lock at once, else waits in
// line; converts to a Task<void> as well.
class Lock::Acquire : public detail::ConvertibleToTask<Lock::Acquire, void> {
 public:
  explicit Acquire(Lock& lock) noexcept : lock_(&lock) {}
  bool await_ready();
  void await_suspend(std::coroutine_handle<> waiter) { wait_.suspend(lock_->waiters_, waiter); }
  void await_resume();

 private:
  Lock* lock_;
  detail::QueuedWait wait_;
};

inline Lock::Acquire Lock::acquire() { return Acquire(*this); }

// asyncio.Semaphore: a counter that acquire() decrements (waiting at zero)
// and release() increments. ValueError for a negative initial value.
class Semaphore {
 public:
  class Acquire;

  explicit Semaphore(int value = 1);
  virtual ~Semaphore() = default;

  // True when acquire() would wait.
  bool locked() const;
  Acquire acquire();
  virtual void release();
  int value() const noexcept { return value_; }

 private:
  bool wake_up_next();

  detail::WaiterQueue waiters_;
  int value_;
};

// What Semaphore::acquire() returns (an awaitable that converts to a Task<void>).
class Semaphore::Acquire : public detail::ConvertibleToTask<Semaphore::Acquire, void> {
 public:
  explicit Acquire(Semaphore& semaphore) noexcept : semaphore_(&semaphore) {}
  bool await_ready();
  void await_suspend(std::coroutine_handle<> waiter) {
    wait_.suspend(semaphore_->waiters_, waiter);
  }
  void await_resume();

 private:
  Semaphore* semaphore_;
  detail::QueuedWait wait_;
};

inline Semaphore::Acquire Semaphore::acquire() { return Acquire(*this); }

// asyncio.BoundedSemaphore: releasing more often than acquiring is a ValueError.
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(int value = 1) : Semaphore(value), bound_(value) {}
  void release() override;

 private:
  int bound_;
};

// asyncio.Condition: wait() releases the lock, waits for notify(), and
// takes the lock again before returning. The lock may be shared with other
// conditions (pass it in), or the condition owns one.
class Condition {
 public:
  Condition() : lock_(&own_lock_) {}
  explicit Condition(Lock& lock) : lock_(&lock) {}
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  bool locked() const noexcept { return lock_->locked(); }
  Lock::Acquire acquire() { return lock_->acquire(); }
  void release() { lock_->release(); }

  // RuntimeError unless the lock is held. CancelledError still comes back
  // with the lock held, as in asyncio.
  Task<void> wait();
  // Waits until `predicate()` is true; returns its last value.
  Task<bool> wait_for(std::function<bool()> predicate);
  // Wakes up to `n` waiters (RuntimeError unless the lock is held).
  void notify(std::size_t n = 1);
  void notify_all() { notify(waiters_.size()); }

 private:
  Lock own_lock_;
  Lock* lock_;
  detail::WaiterQueue waiters_;
};

// asyncio.Barrier (3.11): `parties` tasks meet at wait(); each gets a
// distinct index in [0, parties). abort() and reset() break the waiters
// with BrokenBarrierError.
class Barrier {
 public:
  explicit Barrier(std::size_t parties);
  Task<std::size_t> wait();
  Task<void> reset();
  Task<void> abort();
  std::size_t parties() const noexcept { return parties_; }
  std::size_t n_waiting() const noexcept { return state_ == State::filling ? count_ : 0; }
  bool broken() const noexcept { return state_ == State::broken; }

 private:
  enum class State { filling, draining, resetting, broken };
  Task<void> block();
  void exit();
  Condition cond_;
  std::size_t parties_;
  std::size_t count_ = 0;
  State state_ = State::filling;
};

// What hold() returns: releases the lock or semaphore when destroyed
// (the end of an `async with` block).
template <class L>
class [[nodiscard("the lock is released when this guard is destroyed")]] Held {
 public:
  explicit Held(L & lock) noexcept : lock_(&lock) {}
  Held(Held && other) noexcept : lock_(std::exchange(other.lock_, nullptr)) {}
  Held& operator=(Held&&) = delete;
  ~Held() {
    if (lock_) lock_->release();
  }
  // Releases early.
  void release() {
    if (auto* l = std::exchange(lock_, nullptr)) l->release();
  }

 private:
  L* lock_;
};

// `async with lock:` — acquires, and releases when the returned guard dies.
template <class L>
Task<Held<L>> hold(L& lock) {
  co_await lock.acquire();
  co_return Held<L>(lock);
}

}  // namespace aiocpp
