// to_thread and run_coroutine_threadsafe: results and exceptions crossing
// threads both ways, cancellation from the waiting thread, a loop closed
// under a pending future, and a stress run for ThreadSanitizer.

#include <atomic>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace aiocpp;

namespace {

// A loop running forever on its own thread, stopped and closed at the end.
class LoopThread {
 public:
  LoopThread() {
    std::promise<void> ready;
    auto started = ready.get_future();
    thread_ = std::thread([this, &ready] {
      loop_ = new_event_loop();
      loop_->call_soon([&ready] { ready.set_value(); });
      loop_->run_forever();
      loop_->run_until_complete(loop_->shutdown_default_executor());
      loop_->close();
    });
    started.wait();
  }
  ~LoopThread() {
    loop_->call_soon_threadsafe([loop = loop_.get()] { loop->stop(); });
    thread_.join();
  }
  EventLoop& loop() { return *loop_; }

 private:
  std::shared_ptr<EventLoop> loop_;
  std::thread thread_;
};

Task<std::string> greet(std::string name) {
  co_await sleep(0);
  co_return "hello " + name;
}

Task<int> fail_after_yield() {
  co_await sleep(0);
  throw std::runtime_error("boom");
}

Task<void> forever(std::shared_ptr<std::atomic<bool>> cancelled) {
  try {
    co_await get_running_loop().create_future<void>();
  } catch (const CancelledError&) {
    cancelled->store(true);
    throw;
  }
}

TEST(Threads, RunCoroutineThreadsafeGivesTheResultToTheCallingThread) {
  LoopThread worker;
  ConcurrentFuture<std::string> f = run_coroutine_threadsafe(greet("world"), worker.loop());
  EXPECT_EQ(f.result(10.0), "hello world");
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.result(), "hello world") << "the result can be read again";
}

TEST(Threads, RunCoroutineThreadsafeCarriesTheException) {
  LoopThread worker;
  auto f = run_coroutine_threadsafe(fail_after_yield(), worker.loop());
  EXPECT_THROW(f.result(10.0), std::runtime_error);
  EXPECT_NE(f.exception(), nullptr);
}

TEST(Threads, ResultTimesOutWithoutCancellingAndCancelReachesTheTask) {
  LoopThread worker;
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  auto f = run_coroutine_threadsafe(forever(cancelled), worker.loop());
  EXPECT_THROW(f.result(0.01), TimeoutError);
  EXPECT_FALSE(f.done());
  // A task cancelled before its first step never runs its body (asyncio's
  // too): let it start first, so that its handler below can see the cancel.
  auto started = run_coroutine_threadsafe([]() -> Task<void> { co_return; }(), worker.loop());
  started.result(10.0);  // the queue is in order: forever() has taken its first step
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancelled());
  EXPECT_FALSE(f.cancel()) << "already done";
  EXPECT_THROW(f.result(), CancelledError);
  // The task sees its cancellation on the loop: wait for that through the loop.
  auto seen = run_coroutine_threadsafe(
      [](std::shared_ptr<std::atomic<bool>> c) -> Task<bool> {
        for (int i = 0; i < 1000 && !c->load(); ++i) co_await sleep(0);
        co_return c->load();
      }(cancelled),
      worker.loop());
  EXPECT_TRUE(seen.result(10.0));
}

TEST(Threads, ToThreadRunsOffTheLoopAndReturnsTheResult) {
  auto body = []() -> Task<void> {
    std::thread::id loop_thread = std::this_thread::get_id();
    auto where = [](int a, std::string b) {
      return std::make_pair(std::this_thread::get_id(), b + std::to_string(a));
    };
    auto [id, text] = co_await to_thread(where, 4, std::string("x"));
    EXPECT_NE(id, loop_thread);
    EXPECT_EQ(text, "x4");
    auto thrower = [] { throw std::invalid_argument("bad"); };
    EXPECT_THROW(co_await to_thread(thrower), std::invalid_argument);
  };
  aiocpp::testing::run_bounded(body());
}

TEST(Threads, AFutureOutlivesItsClosedLoopAndReportsNothingFalse) {
  std::optional<ConcurrentFuture<int>> f;
  {
    LoopThread worker;
    f.emplace(run_coroutine_threadsafe(
        [](std::shared_ptr<std::atomic<bool>> c) -> Task<int> {
          co_await forever(c);
          co_return 1;
        }(std::make_shared<std::atomic<bool>>(false)),
        worker.loop()));
  }
  // The loop is gone; the task never finished, and cancelling is harmless.
  EXPECT_FALSE(f->done());
  EXPECT_THROW(f->result(0.0), TimeoutError);
  EXPECT_TRUE(f->cancel());
}

TEST(Threads, StressManyThreadsSubmitToOneLoop) {
  LoopThread worker;
  constexpr int threads = 4;
  constexpr int per_thread = 200;
  std::atomic<int> ok{0};
  std::vector<std::thread> submitters;
  for (int t = 0; t < threads; ++t) {
    submitters.emplace_back([&worker, &ok, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto f = run_coroutine_threadsafe(greet(std::to_string(t * per_thread + i)), worker.loop());
        if (i % 3 == 0) {
          f.cancel();  // races with the task: either outcome is fine, neither may crash
          ++ok;
          continue;
        }
        if (f.result(10.0) == "hello " + std::to_string(t * per_thread + i)) ++ok;
      }
    });
  }
  for (auto& s : submitters) s.join();
  EXPECT_EQ(ok.load(), threads * per_thread);
}

}  // namespace
