#pragma once
// asyncio's FlowControlMixin: what a protocol behind a StreamWriter keeps so
// that drain() can wait for the transport's write buffer to empty, and so
// that drain() after the connection was lost raises instead of hanging.
// StreamProtocol (sockets) and SubprocessStreamProtocol (a child's stdin)
// both inherit it and forward their pause_writing / resume_writing /
// connection_lost calls to it.

#include <exception>

#include "aiocpp/detail/waiter_queue.hpp"
#include "aiocpp/future.hpp"
#include "aiocpp/task.hpp"

namespace aiocpp::detail {

class FlowControl {
 public:
  virtual ~FlowControl() = default;

  // True when drain() can complete at once: writing is not paused and the
  // connection is still there.
  bool drain_ready() const noexcept { return !paused_ && !connection_lost_; }
  // Waits for resume_writing; ConnectionResetError (ECONNRESET) once the
  // connection is lost, or the error it was lost with.
  Task<void> drain_helper();
  // What StreamWriter::wait_closed awaits (asyncio's _get_close_waiter).
  virtual Future<void> close_waiter() const = 0;

 protected:
  void flow_pause_writing() noexcept { paused_ = true; }
  void flow_resume_writing();
  void flow_connection_lost(std::exception_ptr error);

 private:
  void wake_drain_waiters();

  WaiterQueue drain_waiters_;
  std::exception_ptr lost_error_;
  bool paused_ = false;
  bool connection_lost_ = false;
};

}  // namespace aiocpp::detail
