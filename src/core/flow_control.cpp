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
  for (DrainWaiter& w : drain_waiters_) {
    if (!w.future.done()) w.future.set_result();
  }
}

std::uint64_t FlowControl::add_drain_waiter(std::optional<Future<void>>& out) {
  out.emplace(get_running_loop().create_future<void>());
  std::uint64_t id = next_waiter_id_++;
  drain_waiters_.push_back(DrainWaiter{id, *out});
  return id;
}

void FlowControl::remove_drain_waiter(std::uint64_t id) noexcept {
  for (auto it = drain_waiters_.begin(); it != drain_waiters_.end(); ++it) {
    if (it->id == id) {
      drain_waiters_.erase(it);
      return;
    }
  }
}

Task<void> FlowControl::drain_helper() {
  if (connection_lost_) {
    throw std::system_error(ECONNRESET, std::generic_category(), "Connection lost");
  }
  if (!paused_) co_return;
  std::optional<Future<void>> waiter;
  std::uint64_t id = add_drain_waiter(waiter);
  try {
    co_await *waiter;
  } catch (...) {
    remove_drain_waiter(id);
    throw;
  }
  remove_drain_waiter(id);
  rethrow_lost_error();
}

}  // namespace aiocpp::detail
