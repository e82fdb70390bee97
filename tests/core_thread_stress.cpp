// Threads against the loop: call_soon_threadsafe while the loop runs and while
// it closes, executor jobs that throw and are never awaited, name lookups
// cancelled midway, signal handlers of loops on several threads. Built and
// run under ThreadSanitizer too (make test), which fails on any report.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace aiocpp;
using aiocpp::testing::FdLeakCheck;

namespace {

class ThreadStress : public aiocpp::testing::LoopTest {};

// Records the thread of every call to the loop's exception handler.
struct HandlerThreads {
  std::mutex mutex;
  std::vector<std::thread::id> threads;

  void install(EventLoop& loop) {
    loop.set_exception_handler([this](EventLoop&, const ExceptionContext&) {
      std::lock_guard lock(mutex);
      threads.push_back(std::this_thread::get_id());
    });
  }
  std::vector<std::thread::id> taken() {
    std::lock_guard lock(mutex);
    return threads;
  }
};

// Runs each job at once on a thread of its own, then keeps it until
// release(): an executor may free a job long after running it, and nothing of
// the loop's may die with the job on the executor's thread.
class LateFreeingExecutor : public Executor {
 public:
  ~LateFreeingExecutor() override { shutdown(true); }
  void submit(std::function<void()> job) override {
    std::lock_guard lock(mutex_);
    threads_.emplace_back([this, job = std::move(job)]() mutable {
      job();
      std::unique_lock lock(mutex_);
      released_.wait(lock, [this] { return release_; });
      lock.unlock();
      job = nullptr;  // freed here, on the executor's thread
    });
  }
  void shutdown(bool) override {
    {
      std::lock_guard lock(mutex_);
      release_ = true;
    }
    released_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  bool release_ = false;
  std::vector<std::thread> threads_;
};

// Drops every job without running it (as an executor shut down with its
// queue cancelled does).
class DroppingExecutor : public Executor {
 public:
  void submit(std::function<void()> job) override { job = nullptr; }
  void shutdown(bool) override {}
};

// A done callback that counts, so a test can wait without retrieving results.
template <class T>
Task<void> until_all_done(std::vector<Future<T>>& futures) {
  EventLoop& loop = get_running_loop();
  Future<void> all = loop.create_future<void>();
  auto left = std::make_shared<std::size_t>(futures.size());
  for (auto& f : futures) {
    f.add_done_callback([all, left](const Future<T>&) mutable {
      if (--*left == 0 && !all.done()) all.set_result();
    });
  }
  co_await all;
}

TEST_F(ThreadStress, UnawaitedFailingJobsAreReportedOnTheLoopThreadOnly) {
  HandlerThreads handler;
  handler.install(*loop_);
  LateFreeingExecutor executor;
  constexpr int jobs = 20;
  auto body = [&]() -> Task<void> {
    std::vector<Future<int>> futures;
    for (int i = 0; i < jobs; ++i) {
      futures.push_back(loop_->run_in_executor(
          &executor, []() -> int { throw std::runtime_error("nobody awaits this"); }));
    }
    co_await until_all_done(futures);
    futures.clear();  // the loop's last references: reported here, now
  };
  run(body());
  executor.shutdown(true);  // the executor frees its jobs on its own threads
  std::vector<std::thread::id> threads = handler.taken();
  EXPECT_EQ(threads.size(), std::size_t{jobs});
  for (auto id : threads) EXPECT_EQ(id, std::this_thread::get_id()) << "reported on a worker";
}

TEST_F(ThreadStress, UnawaitedFailingJobsOnTheDefaultExecutorStayOnTheLoopThread) {
  HandlerThreads handler;
  handler.install(*loop_);
  constexpr int jobs = 500;
  auto body = [&]() -> Task<void> {
    std::vector<Future<void>> futures;
    for (int i = 0; i < jobs; ++i) {
      futures.push_back(
          loop_->run_in_executor(nullptr, [] { throw std::runtime_error("never awaited"); }));
    }
    co_await until_all_done(futures);
  };
  run(body());
  loop_->close();  // joins the default executor's workers
  std::vector<std::thread::id> threads = handler.taken();
  EXPECT_EQ(threads.size(), std::size_t{jobs});
  for (auto id : threads) EXPECT_EQ(id, std::this_thread::get_id()) << "reported on a worker";
}

TEST_F(ThreadStress, AJobTheExecutorDropsCancelsItsFuture) {
  DroppingExecutor executor;
  Future<int> future = loop_->run_in_executor(&executor, [] { return 1; });
  std::vector<Future<int>> futures{future};
  run(until_all_done(futures));
  EXPECT_TRUE(future.cancelled());
}

TEST_F(ThreadStress, AJobFinishingAfterTheLoopClosedTouchesNothingOfIt) {
  LateFreeingExecutor executor;
  std::latch go(1);
  std::atomic<bool> finished{false};
  Future<int> future = loop_->run_in_executor(&executor, [&] {
    go.wait();
    finished = true;
    return 7;
  });
  loop_->close();
  future = Future<int>();  // the caller's reference goes on the loop's thread
  go.count_down();         // the job now finishes and replies to a closed loop
  executor.shutdown(true);
  EXPECT_TRUE(finished);
}

// Each call either is queued (then run, or released when the loop closes) or
// throws "Event loop is closed"; none is lost, and none writes to the loop's
// wake-up descriptor once the loop has closed it, even when that descriptor's
// number is at once reused (here, by a pipe).
TEST(ThreadStressClose, CallSoonThreadsafeRacingCloseLosesNothingAndWritesNowhere) {
  FdLeakCheck fd_check;
  constexpr int rounds = 40;
  constexpr int threads = 4;
  for (int round = 0; round < rounds; ++round) {
    std::shared_ptr<EventLoop> loop = new_event_loop();
    auto token = std::make_shared<int>(0);  // one copy per callback still held
    std::atomic<int> ran{0};
    std::atomic<int> refused{0};
    std::atomic<bool> stop{false};
    EventLoop* target = loop.get();
    std::vector<std::jthread> callers;
    for (int t = 0; t < threads; ++t) {
      callers.emplace_back([&, target] {
        while (!stop.load()) {
          try {
            target->call_soon_threadsafe([token, &ran] { ++ran; });
          } catch (const RuntimeError&) {
            ++refused;
          }
        }
      });
    }
    // Let the loop run until it has handled some calls, then close it while
    // the callers keep going.
    std::function<void()> check = [&] {
      if (ran.load() >= 50) {
        loop->stop();
      } else {
        loop->call_soon(check);
      }
    };
    loop->call_soon(check);
    loop->run_forever();
    loop->close();
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    int refused_at_close = refused.load();
    while (refused.load() < refused_at_close + 100 * threads) std::this_thread::yield();
    stop = true;
    callers.clear();  // joins
    char byte;
    EXPECT_EQ(::read(fds[0], &byte, 1), -1) << "a wake-up landed in a reused descriptor";
    EXPECT_EQ(errno, EAGAIN);
    ::close(fds[0]);
    ::close(fds[1]);
    loop.reset();
    EXPECT_EQ(token.use_count(), 1) << "a callback was neither run nor released";
  }
}

TEST_F(ThreadStress, CallSoonThreadsafeFromManyThreadsWhileTheLoopRuns) {
  constexpr int threads = 6;
  constexpr int calls = 3000;
  std::atomic<int> ran{0};
  std::vector<std::jthread> callers;
  Future<void> all = loop_->create_future<void>();
  loop_->call_soon([&] {
    for (int t = 0; t < threads; ++t) {
      callers.emplace_back([&] {
        for (int i = 0; i < calls; ++i) {
          loop_->call_soon_threadsafe([&] {
            if (++ran == threads * calls) all.set_result();
          });
        }
      });
    }
  });
  auto wait = [](Future<void> f) -> Task<void> { co_await f; };
  run(wait(all), 60);
  callers.clear();
  EXPECT_EQ(ran.load(), threads * calls);
}

TEST_F(ThreadStress, NameLookupsCancelledMidwayLeaveNothingBehind) {
  HandlerThreads handler;
  handler.install(*loop_);
  constexpr int lookups = 200;
  auto body = [&]() -> Task<void> {
    std::vector<Task<std::vector<AddrInfo>>> tasks;
    for (int i = 0; i < lookups; ++i) {
      tasks.push_back(loop_->create_task(loop_->getaddrinfo("localhost", 80 + i)));
    }
    co_await sleep(0);  // every lookup is now on a worker, or queued for one
    for (int i = 0; i < lookups; i += 2) tasks[i].cancel();
    for (auto& t : tasks) {
      try {
        co_await t;
      } catch (const CancelledError&) {
      } catch (const std::exception&) {
      }
    }
  };
  run(body(), 60);
  // And lookups still in flight when the loop closes.
  for (int i = 0; i < 50; ++i) {
    (void)loop_->create_task(loop_->getaddrinfo("localhost", 1000 + i));
  }
  run_once();
  loop_->close();
  for (auto id : handler.taken()) EXPECT_EQ(id, std::this_thread::get_id());
}

// Loops on several threads add and remove handlers for the same signals
// while those signals arrive: the process-wide relay is shared by all.
TEST(ThreadStressSignals, LoopsOnSeveralThreadsAddAndRemoveHandlersWhileSignalsArrive) {
  FdLeakCheck fd_check;
  constexpr int loops = 3;
  constexpr int rounds = 200;
  std::atomic<bool> stop_raising{false};
  std::atomic<int> handled{0};
  // While no loop holds a signal, its original action is back: make that
  // "ignore", so that the signals raised meanwhile kill nobody.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old1 {
  }, old2{};
  sigaction(SIGUSR1, &ignore, &old1);
  sigaction(SIGUSR2, &ignore, &old2);
  std::vector<std::jthread> workers;
  std::latch started(loops);
  for (int l = 0; l < loops; ++l) {
    workers.emplace_back([&] {
      std::shared_ptr<EventLoop> loop = new_event_loop();
      started.count_down();
      for (int r = 0; r < rounds; ++r) {
        int sig = r % 2 ? SIGUSR1 : SIGUSR2;
        loop->add_signal_handler(sig, [&] { ++handled; });
        loop->stop();
        loop->run_forever();  // one iteration: runs what has arrived
        loop->remove_signal_handler(sig);
      }
      loop->close();
    });
  }
  started.wait();
  std::jthread raiser([&] {
    while (!stop_raising.load()) {
      ::kill(::getpid(), SIGUSR1);
      ::kill(::getpid(), SIGUSR2);
      std::this_thread::yield();
    }
  });
  workers.clear();  // joins
  stop_raising = true;
  raiser.join();
  sigaction(SIGUSR1, &old1, nullptr);
  sigaction(SIGUSR2, &old2, nullptr);
  SUCCEED() << handled.load() << " signals handled";
}

}  // namespace
