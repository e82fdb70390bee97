// asyncio's locks: Event, Lock, Semaphore, BoundedSemaphore, Condition,
// Barrier. Each wait appends a future to a FIFO and removes it again when
// the waiting coroutine resumes, however it resumes. Event, Lock and
// Semaphore wait in awaitables (QueuedWait) rather than coroutines: a wait
// allocates no coroutine frame.

#include "aiocpp/locks.hpp"

#include <optional>

#include "aiocpp/tasks.hpp"

namespace aiocpp {

// --- Event ---------------------------------------------------------------------

void Event::set() {
  if (value_) return;
  value_ = true;
  for (auto& w : waiters_) {
    if (!w.future.done()) w.future.set_result();
  }
}

// --- Lock ----------------------------------------------------------------------

bool Lock::free_for_newcomer() const {
  if (locked_) return false;
  for (const auto& w : waiters_) {
    if (!w.future.cancelled()) return false;
  }
  return true;
}

bool Lock::Acquire::await_ready() {
  if (!lock_->free_for_newcomer()) return false;
  lock_->locked_ = true;
  return true;
}

void Lock::Acquire::await_resume() {
  if (!wait_.waited()) return;  // taken in await_ready
  try {
    wait_.finish();
  } catch (const CancelledError&) {
    // Woken and cancelled before it ran: the lock is free, so the wake-up
    // goes to the next waiter instead of being lost.
    if (!lock_->locked_) lock_->wake_up_first();
    throw;
  }
  lock_->locked_ = true;
}

void Lock::release() {
  if (!locked_) throw RuntimeError("Lock is not acquired.");
  locked_ = false;
  wake_up_first();
}

void Lock::wake_up_first() {
  // Only the first waiter: if it was already woken, it will take the lock.
  if (waiters_.empty()) return;
  auto& first = *waiters_.begin();
  if (!first.future.done()) first.future.set_result();
}

// --- Semaphore -----------------------------------------------------------------

Semaphore::Semaphore(int value) : value_(value) {
  if (value < 0) throw ValueError("Semaphore initial value must be >= 0");
}

bool Semaphore::locked() const {
  if (value_ == 0) return true;
  for (const auto& w : waiters_) {
    if (!w.future.cancelled()) return true;  // someone queued first gets it
  }
  return false;
}

bool Semaphore::Acquire::await_ready() {
  if (semaphore_->locked()) return false;
  --semaphore_->value_;
  return true;
}

void Semaphore::Acquire::await_resume() {
  if (!wait_.waited()) return;  // taken in await_ready
  try {
    wait_.finish();
  } catch (const CancelledError&) {
    if (wait_.woken()) {
      // Woken (the unit was reserved for us) but cancelled: give it back.
      ++semaphore_->value_;
      semaphore_->wake_up_next();
    }
    throw;
  }
  if (semaphore_->value_ > 0) semaphore_->wake_up_next();
}

void Semaphore::release() {
  ++value_;
  wake_up_next();
}

bool Semaphore::wake_up_next() {
  for (auto& w : waiters_) {
    if (!w.future.done()) {
      --value_;  // reserved for this waiter
      w.future.set_result();
      return true;
    }
  }
  return false;
}

void BoundedSemaphore::release() {
  if (value() >= bound_) throw ValueError("BoundedSemaphore released too many times");
  Semaphore::release();
}

// --- Condition -----------------------------------------------------------------

Task<void> Condition::wait() {
  if (!locked()) throw RuntimeError("cannot wait on un-acquired lock");
  release();
  auto& waiter = waiters_.add();
  std::uint64_t id = waiter.id;
  Future<void> fut = waiter.future;
  bool cancelled = false;
  try {
    co_await fut;
  } catch (const CancelledError&) {
    cancelled = true;
  }
  waiters_.remove(id);
  // Notified, then cancelled before it ran: pass the notification on (as
  // asyncio 3.13 does) so that notify(1) still wakes somebody.
  if (cancelled && fut.done() && !fut.cancelled()) {
    for (auto& w : waiters_) {
      if (!w.future.done()) {
        w.future.set_result();
        break;
      }
    }
  }
  // The lock comes back whatever happens; a cancellation meanwhile is
  // remembered and raised once it is held.
  for (;;) {
    try {
      co_await lock_->acquire();
      break;
    } catch (const CancelledError&) {
      cancelled = true;
    }
  }
  if (cancelled) throw CancelledError();
}

Task<bool> Condition::wait_for(std::function<bool()> predicate) {
  bool result = predicate();
  while (!result) {
    co_await wait();
    result = predicate();
  }
  co_return result;
}

void Condition::notify(std::size_t n) {
  if (!locked()) throw RuntimeError("cannot notify on un-acquired lock");
  std::size_t woken = 0;
  for (auto& w : waiters_) {
    if (woken >= n) break;
    if (!w.future.done()) {
      ++woken;
      w.future.set_result();
    }
  }
}

// --- Barrier -------------------------------------------------------------------

Barrier::Barrier(std::size_t parties) : parties_(parties) {
  if (parties < 1) throw ValueError("parties must be > 0");
}

Task<void> Barrier::block() {
  // Wait while the barrier drains or resets.
  std::function<bool()> settled = [this] {
    return state_ != State::draining && state_ != State::resetting;
  };
  co_await cond_.wait_for(settled);
  if (state_ == State::broken) throw BrokenBarrierError("Barrier aborted");
}

void Barrier::exit() {
  if (count_ == 0) {
    if (state_ == State::resetting || state_ == State::draining) state_ = State::filling;
    cond_.notify_all();
  }
}

Task<std::size_t> Barrier::wait() {
  auto held = co_await hold(cond_);
  co_await block();
  std::size_t index = count_++;
  try {
    if (index + 1 == parties_) {
      state_ = State::draining;  // the last one in releases everybody
      cond_.notify_all();
    } else {
      std::function<bool()> released = [this] { return state_ != State::filling; };
      co_await cond_.wait_for(released);
      if (state_ == State::broken || state_ == State::resetting) {
        throw BrokenBarrierError("Abort or reset of barrier");
      }
    }
  } catch (...) {
    --count_;
    exit();
    throw;
  }
  --count_;
  exit();
  co_return index;
}

Task<void> Barrier::reset() {
  auto held = co_await hold(cond_);
  if (count_ > 0) {
    state_ = State::resetting;
  } else {
    state_ = State::filling;
  }
  cond_.notify_all();
}

Task<void> Barrier::abort() {
  auto held = co_await hold(cond_);
  state_ = State::broken;
  cond_.notify_all();
}

}  // namespace aiocpp
