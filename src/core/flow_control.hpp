#pragma once
// asyncio's FlowControlMixin: what a protocol behind a StreamWriter keeps so
// that drain() can wait for the transport's write buffer to empty, and so
// that drain() after the connection was lost raises instead of hanging.
// StreamProtocol (sockets) and SubprocessStreamProtocol (a child's stdin)
// both inherit it and forward their pause_writing / resume_writing /
// connection_lost calls to it.

#include <cstdint>
#include <exception>
#include <optional>
#include <vector>

#include "aiocpp/event_loop.hpp"
#include "aiocpp/future.hpp"
#include "aiocpp/task.hpp"

namespace aiocpp::detail {

class FlowControl {
 public:
  virtual ~FlowControl() = default;

  // True when drain() can complete at once: writing is not paused and the
  // connection is still there.
  bool drain_ready() const noexcept { return !paused_ && !connection_lost_; }
  // True when drain() has to wait for resume_writing and nothing else (the
  // connection is still there): StreamWriter's awaiter then waits on a
  // waiter of its own (add_drain_waiter) without a coroutine frame.
  bool only_paused() const noexcept { return paused_ && !connection_lost_; }
  // Registers a new pending future (from the loop's recycled ones) in `out`,
  // completed at resume_writing or connection_lost; returns the id that
  // remove_drain_waiter takes (never 0).
  std::uint64_t add_drain_waiter(std::optional<Future<void>>& out);
  void remove_drain_waiter(std::uint64_t id) noexcept;
  // After a waiter woke: the error the connection was lost with, if any.
  void rethrow_lost_error() const {
    if (lost_error_) std::rethrow_exception(lost_error_);
  }
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
  struct DrainWaiter {
    std::uint64_t id;
    Future<void> future;
  };
  void wake_drain_waiters();

  // asyncio's _drain_waiters. A vector, not a deque: it keeps its capacity,
  // so adding and removing the one waiter of a steady-state drain() does not
  // allocate.
  std::vector<DrainWaiter> drain_waiters_;
  std::uint64_t next_waiter_id_ = 1;
  std::exception_ptr lost_error_;
  bool paused_ = false;
  bool connection_lost_ = false;
};

}  // namespace aiocpp::detail
