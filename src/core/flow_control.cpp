// asyncio's FlowControlMixin (see flow_control.hpp).

#include "core/flow_control.hpp"

#include <cerrno>
#include <system_error>

namespace aiocpp::detail {

void FlowControl::flow_resume_writing() {
  paused_ = false;
  wake_drain_waiters();
}

void FlowControl::flow_connection_lost(std::exception_ptr error) {
  connection_lost_ = true;
  lost_error_ = std::move(error);
  // Waiters only exist while paused: wake them so they see the loss.
  if (paused_) wake_drain_waiters();
}

void FlowControl::wake_drain_waiters() {
  for (auto& w : drain_waiters_) {
    if (!w.future.done()) w.future.set_result();
  }
}

Task<void> FlowControl::drain_helper() {
  if (connection_lost_) {
    throw std::system_error(ECONNRESET, std::generic_category(), "Connection lost");
  }
  if (!paused_) co_return;
  auto& waiter = drain_waiters_.add();
  std::uint64_t id = waiter.id;
  Future<void> fut = waiter.future;
  try {
    co_await fut;
  } catch (...) {
    drain_waiters_.remove(id);
    throw;
  }
  drain_waiters_.remove(id);
  if (lost_error_) std::rethrow_exception(lost_error_);
}

}  // namespace aiocpp::detail
