#include "core/thread_pool.hpp"

#include <pthread.h>

#include <algorithm>
#include <string>

namespace aiocpp::detail {

unsigned ThreadPool::default_size() {
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return std::min(32u, cores + 4);
}

ThreadPool::ThreadPool(unsigned max_workers) : max_workers_(std::max(1u, max_workers)) {}

ThreadPool::~ThreadPool() { shutdown(); }

void ThreadPool::submit(std::function<void()> job) {
  std::unique_lock lock(mutex_);
  jobs_.push_back(std::move(job));
  if (idle_ == 0 && workers_.size() < max_workers_) {
    workers_.emplace_back([this] { worker(); });
    std::string name = "aiocpp_" + std::to_string(workers_.size() - 1);
    pthread_setname_np(workers_.back().native_handle(), name.c_str());
  }
  lock.unlock();
  cv_.notify_one();
}

void ThreadPool::worker() {
  std::unique_lock lock(mutex_);
  while (true) {
    if (jobs_.empty()) {
      if (stopping_) return;
      ++idle_;
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      --idle_;
      continue;
    }
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

void ThreadPool::shutdown() noexcept {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

}  // namespace aiocpp::detail
