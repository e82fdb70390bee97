#pragma once
// A fixed pool of worker threads: the loop's default executor. Sized like
// asyncio's (min(32, cores + 4)); threads are named aiocpp_0, aiocpp_1, ...

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace aiocpp::detail {

class ThreadPool {
 public:
  explicit ThreadPool(unsigned max_workers = default_size());
  ~ThreadPool();
  // Queues `job`; workers start lazily, up to max_workers.
  void submit(std::function<void()> job);
  // Runs the queued jobs to the end and joins the workers.
  void shutdown() noexcept;
  static unsigned default_size();

 private:
  void worker();
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> workers_;
  unsigned max_workers_;
  unsigned idle_ = 0;
  bool stopping_ = false;
};

}  // namespace aiocpp::detail
