// ConcurrentFuture's state (see concurrent_future.hpp): a mutex and a
// condition variable around the outcome the loop's thread copies in.

#include "aiocpp/concurrent_future.hpp"

#include <chrono>

namespace aiocpp::detail {

bool ConcurrentStateBase::done() const {
  std::lock_guard lock(mutex_);
  return state_ != State::pending;
}

bool ConcurrentStateBase::cancelled() const {
  std::lock_guard lock(mutex_);
  return state_ == State::cancelled;
}

bool ConcurrentStateBase::cancel() {
  std::shared_ptr<LoopReply> reply;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::pending) return false;
    state_ = State::cancelled;
    reply = std::move(cancel_reply_);
  }
  done_.notify_all();
  // Before the task exists there is no reply yet: the loop's side sees the
  // cancelled state and does not start it (set_cancel_reply).
  if (reply) reply->send();
  return true;
}

bool ConcurrentStateBase::wait(std::optional<double> timeout) const {
  std::unique_lock lock(mutex_);
  auto is_done = [this] { return state_ != State::pending; };
  if (!timeout) {
    done_.wait(lock, is_done);
    return true;
  }
  return done_.wait_for(lock, std::chrono::duration<double>(*timeout), is_done);
}

std::exception_ptr ConcurrentStateBase::error_locked() const {
  std::lock_guard lock(mutex_);
  if (state_ == State::cancelled) return std::make_exception_ptr(CancelledError());
  return error_;
}

void ConcurrentStateBase::set_cancel_reply(std::shared_ptr<LoopReply> reply) {
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::pending) {
      cancel_reply_ = std::move(reply);
      return;
    }
  }
  reply->send();  // cancel() came first
}

void ConcurrentStateBase::set_exception(std::exception_ptr error) {
  finish([&] { error_ = std::move(error); });
}

void ConcurrentStateBase::set_cancelled() {
  std::shared_ptr<LoopReply> reply;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::pending) return;
    state_ = State::cancelled;
    reply = std::move(cancel_reply_);
  }
  done_.notify_all();
  if (reply) reply->send();
}

}  // namespace aiocpp::detail
