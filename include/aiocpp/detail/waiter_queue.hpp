#pragma once
// The FIFO of futures that asyncio's locks and queues keep as `_waiters`
// (a collections.deque of futures). Each waiter gets an id so that the
// coroutine that added it can remove it again after it woke up or was
// cancelled, whether or not someone else already popped it.

#include <cstdint>
#include <deque>
#include <utility>

#include "aiocpp/event_loop.hpp"
#include "aiocpp/future.hpp"

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

}  // namespace aiocpp::detail
