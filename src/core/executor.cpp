#include "aiocpp/executor.hpp"

#include "aiocpp/errors.hpp"
#include "core/thread_pool.hpp"

namespace aiocpp {

ThreadPoolExecutor::ThreadPoolExecutor(unsigned max_workers)
    : pool_(std::make_unique<detail::ThreadPool>(
          max_workers ? max_workers : detail::ThreadPool::default_size())) {}

ThreadPoolExecutor::~ThreadPoolExecutor() { pool_->shutdown(); }

void ThreadPoolExecutor::submit(std::function<void()> job) {
  if (shut_down_) throw RuntimeError("cannot schedule new futures after shutdown");
  pool_->submit(std::move(job));
}

void ThreadPoolExecutor::shutdown(bool wait) {
  shut_down_ = true;
  if (wait) pool_->shutdown();
}

}  // namespace aiocpp
