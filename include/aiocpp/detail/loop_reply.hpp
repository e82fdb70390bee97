#pragma once
// A callback prepared on the loop's thread that another thread sends back to
// the loop, once: run_in_executor's result, the end of an executor shutdown.

#include <atomic>
#include <memory>

namespace aiocpp::detail {

class ThreadsafeQueue;
struct HandleState;

// Lifetime: the callback and every loop object it captures (a future, say)
// are made, run and destroyed on the loop's thread; a worker holds only this
// reply, never them, so nothing of the loop's ever dies on a worker. After
// the loop closed, send() does nothing: the loop released the callback when
// it closed. A reply dropped unsent sends itself, so an executor that discards
// a job still completes the job's future.
class LoopReply {
 public:
  LoopReply(std::shared_ptr<ThreadsafeQueue> queue, HandleState* handle) noexcept
      : queue_(std::move(queue)), handle_(handle) {}
  ~LoopReply() { send(); }
  LoopReply(const LoopReply&) = delete;
  LoopReply& operator=(const LoopReply&) = delete;

  // Any thread; only the first call counts.
  void send() noexcept;

 private:
  std::shared_ptr<ThreadsafeQueue> queue_;
  HandleState* handle_;
  std::atomic<bool> sent_{false};
};

}  // namespace aiocpp::detail
