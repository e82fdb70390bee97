#pragma once
// Executors for run_in_executor (concurrent.futures' Executor, in C++).

#include <functional>
#include <memory>

namespace aiocpp {

namespace detail {
class ThreadPool;
}

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `job` some time later on one of the executor's threads.
  virtual void submit(std::function<void()> job) = 0;
  // No new jobs after this; with `wait`, returns once queued jobs have run.
  virtual void shutdown(bool wait = true) = 0;
};

// A pool of worker threads, started as jobs arrive: asyncio's default
// executor (ThreadPoolExecutor). Threads are named aiocpp_0, aiocpp_1, ...
class ThreadPoolExecutor : public Executor {
 public:
  // 0: asyncio's default size, min(32, cores + 4).
  explicit ThreadPoolExecutor(unsigned max_workers = 0);
  ~ThreadPoolExecutor() override;
  // RuntimeError after shutdown().
  void submit(std::function<void()> job) override;
  void shutdown(bool wait = true) override;

 private:
  std::unique_ptr<detail::ThreadPool> pool_;
  bool shut_down_ = false;
};

}  // namespace aiocpp
