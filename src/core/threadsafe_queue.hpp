#pragma once
// The loop's door for other threads: callbacks queued by call_soon_threadsafe,
// replies that workers post back (run_in_executor, name resolution), and the
// wake-up of a loop waiting in the kernel.
//
// One mutex orders every push against close(). A push either lands before
// the loop closed, and the loop then runs or releases it on its own thread,
// or it fails. The backend's wake-up is only ever called under that mutex,
// and close() marks the queue closed before the backend closes its wake-up
// descriptor, so a late call_soon_threadsafe can never write into a
// descriptor the loop no longer owns (nor one the process has reused).
//
// Lifetime: LoopImpl holds the queue through a shared_ptr, and so does every
// LoopReply a worker holds; a worker may outlive the loop itself and still
// post safely (it finds the queue closed).

#include <atomic>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "aiocpp/handle.hpp"

namespace aiocpp::detail {

class IoBackend;

class ThreadsafeQueue {
 public:
  explicit ThreadsafeQueue(IoBackend& backend) noexcept : backend_(&backend) {}

  // Any thread. Queues `handle` and wakes the loop; false (nothing queued,
  // the caller keeps its reference) once the loop is closed.
  bool push(HandleState* handle);

  // Loop thread: holds `handle` (one reference) until post(handle) queues it
  // from any thread, or close() gives it back to be released.
  void reserve(HandleState* handle);
  // Any thread, once per reserved handle: queues it. After close() it does
  // nothing, since the loop has released the handle on its own thread.
  void post(HandleState* handle) noexcept;

  // Loop thread: whether take() would find anything (one atomic load).
  bool pending() const noexcept { return pending_.load(std::memory_order_acquire); }
  // Loop thread: appends what other threads queued, in their order.
  void take(std::vector<HandleState*>& into);

  // Loop thread: nothing is queued or woken from here on.
  void close() noexcept;
  // Loop thread, after close(): every handle still held, queued or reserved,
  // for the caller to release.
  void take_all(std::vector<HandleState*>& into);

 private:
  void wake_locked() noexcept;

  std::mutex mutex_;
  IoBackend* backend_;  // null once closed
  std::vector<HandleState*> queued_;
  std::unordered_set<HandleState*> reserved_;
  std::atomic<bool> pending_{false};
};

}  // namespace aiocpp::detail
