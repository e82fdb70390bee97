#include "core/threadsafe_queue.hpp"

#include "aiocpp/detail/loop_reply.hpp"
#include "core/backend.hpp"

namespace aiocpp::detail {

void ThreadsafeQueue::wake_locked() noexcept {
  // Only the first push since the loop last looked needs to wake it.
  if (!pending_.exchange(true, std::memory_order_acq_rel)) backend_->wakeup();
}

bool ThreadsafeQueue::push(HandleState* handle) {
  std::lock_guard lock(mutex_);
  if (!backend_) return false;
  queued_.push_back(handle);
  wake_locked();
  return true;
}

void ThreadsafeQueue::reserve(HandleState* handle) {
  std::lock_guard lock(mutex_);
  reserved_.insert(handle);
}

void ThreadsafeQueue::post(HandleState* handle) noexcept {
  std::lock_guard lock(mutex_);
  if (!backend_) return;
  reserved_.erase(handle);
  try {
    queued_.push_back(handle);
  } catch (...) {
    // Out of memory: keep it reserved, so that close() still releases it.
    reserved_.insert(handle);
    return;
  }
  wake_locked();
}

void ThreadsafeQueue::take(std::vector<HandleState*>& into) {
  pending_.store(false, std::memory_order_release);
  std::lock_guard lock(mutex_);
  into.insert(into.end(), queued_.begin(), queued_.end());
  queued_.clear();
}

void ThreadsafeQueue::close() noexcept {
  std::lock_guard lock(mutex_);
  backend_ = nullptr;
}

void ThreadsafeQueue::take_all(std::vector<HandleState*>& into) {
  std::lock_guard lock(mutex_);
  into.insert(into.end(), queued_.begin(), queued_.end());
  queued_.clear();
  into.insert(into.end(), reserved_.begin(), reserved_.end());
  reserved_.clear();
}

}  // namespace aiocpp::detail

namespace aiocpp::detail {

void LoopReply::send() noexcept {
  if (sent_.exchange(true, std::memory_order_acq_rel)) return;
  queue_->post(handle_);
}

}  // namespace aiocpp::detail
