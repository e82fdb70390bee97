// The io_uring backend's LoopOptions: what each one changes, and the
// environment variable that only moves a default.

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/loop_impl.hpp"
#include "proactor/availability.hpp"
#include "proactor/uring_backend.hpp"
#include "tcp_helpers.hpp"
#include "test_support.hpp"

namespace {

using namespace aiocpp;

class UringOptions : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string& refused = detail::io_uring_unavailable_reason();
    if (!refused.empty()) GTEST_SKIP() << refused;
  }
  aiocpp::testing::FdLeakCheck fds_;
};

// Sets an environment variable for one test and puts back what was there.
class ScopedVariable {
 public:
  ScopedVariable(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) saved_ = old;
    setenv(name, value, 1);
  }
  ~ScopedVariable() {
    if (saved_) {
      setenv(name_, saved_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

// Whether a new io_uring loop made with `options` receives into the shared
// pool of buffers.
bool has_buffer_ring(LoopOptions options) {
  options.backend = Backend::io_uring;
  std::shared_ptr<EventLoop> loop = new_event_loop(options);
  auto& backend = static_cast<detail::UringBackend&>(*detail::impl_of(*loop).backend);
  bool found = backend.buffer_ring() != nullptr;
  loop->close();
  return found;
}

TEST_F(UringOptions, TheBufferRingIsUsedByDefaultAndLeftOutOnRequest) {
  ScopedVariable unset("AIOCPP_URING_BUFFER_RING", "");
  if (!has_buffer_ring({.io_uring_buffer_ring = true})) {
    GTEST_SKIP() << "the kernel has no incremental provided-buffer rings (Linux 6.12)";
  }
  EXPECT_TRUE(has_buffer_ring({}));
  EXPECT_FALSE(has_buffer_ring({.io_uring_buffer_ring = false}));
}

TEST_F(UringOptions, TheEnvironmentVariableMovesOnlyTheBufferRingsDefault) {
  if (!has_buffer_ring({.io_uring_buffer_ring = true})) {
    GTEST_SKIP() << "the kernel has no incremental provided-buffer rings (Linux 6.12)";
  }
  ScopedVariable off("AIOCPP_URING_BUFFER_RING", "0");
  EXPECT_FALSE(has_buffer_ring({}));
  EXPECT_TRUE(has_buffer_ring({.io_uring_buffer_ring = true}));
}

// --- LoopOptions::io_uring_single_thread ---------------------------------------------

// A thread that runs the jobs it is given, one at a time, and stays alive
// between them: the thread a single-thread loop is bound to.
class Worker {
 public:
  Worker() : thread_([this] { serve(); }) {}
  ~Worker() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  // Runs `job` on the worker and rethrows what it threw; fails the test
  // (instead of hanging) if it takes more than 20 s.
  void run(std::function<void()> job) {
    std::packaged_task<void()> task(std::move(job));
    std::future<void> done = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(task));
    }
    wake_.notify_one();
    ASSERT_EQ(done.wait_for(std::chrono::seconds(20)), std::future_status::ready)
        << "the worker's job did not finish";
    done.get();
  }

 private:
  void serve() {
    for (;;) {
      std::packaged_task<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest exists
};

LoopOptions single_thread() {
  return LoopOptions{.backend = Backend::io_uring, .io_uring_single_thread = true};
}

// One echoed message over a fresh connection, closed afterwards.
Task<std::string> echo_once(std::string message) {
  std::function<void(tcp_test::Recorder&)> echoing = [](tcp_test::Recorder& r) { r.echo = true; };
  tcp_test::Pair pair = co_await tcp_test::connect_pair(echoing);
  Future<void> back = pair.client->bytes.at_least(message.size());
  pair.transport->write(message);
  co_await tcp_test::arrives(back, "the echo");
  std::string received = pair.client->received;
  co_await pair.close();
  co_return received;
}

// Leaves a server and a connection open on the loop: operations in flight.
Task<tcp_test::Pair> open_connection() {
  tcp_test::Pair pair = co_await tcp_test::connect_pair();
  co_return pair;
}

void expect_names_the_option(const RuntimeError& e) {
  EXPECT_NE(std::string(e.what()).find("io_uring_single_thread"), std::string::npos) << e.what();
}

TEST_F(UringOptions, ASingleThreadLoopEchoesOnTheThreadThatRunsIt) {
  std::shared_ptr<EventLoop> loop = new_event_loop(single_thread());
  EXPECT_EQ(loop->run_until_complete(echo_once("ping")), "ping");
  loop->close();
}

TEST_F(UringOptions, ASingleThreadLoopMadeOnOneThreadRunsAndClosesOnAnother) {
  std::shared_ptr<EventLoop> loop = new_event_loop(single_thread());
  Worker worker;
  std::string echoed;
  worker.run([&] { echoed = loop->run_until_complete(echo_once("made elsewhere")); });
  EXPECT_EQ(echoed, "made elsewhere");
  worker.run([&] { echoed = loop->run_until_complete(echo_once("again")); });
  EXPECT_EQ(echoed, "again");
  worker.run([&] { loop->close(); });
  EXPECT_TRUE(loop->is_closed());
}

TEST_F(UringOptions, ASingleThreadLoopRefusesToRunOnASecondThread) {
  std::shared_ptr<EventLoop> loop = new_event_loop(single_thread());
  Worker worker;
  worker.run([&] { loop->run_until_complete(aiocpp::sleep(0.0)); });
  try {
    loop->run_until_complete(aiocpp::sleep(0.0));
    ADD_FAILURE() << "ran on a second thread";
  } catch (const RuntimeError& e) {
    expect_names_the_option(e);
  }
  EXPECT_FALSE(loop->is_running());
  // Still whole on its own thread.
  std::string echoed;
  worker.run([&] { echoed = loop->run_until_complete(echo_once("still here")); });
  EXPECT_EQ(echoed, "still here");
  worker.run([&] { loop->close(); });
}

TEST_F(UringOptions, ClosingOnAnotherThreadWithOperationsInFlightRaisesAndTheOwnThreadCleansUp) {
  std::shared_ptr<EventLoop> loop = new_event_loop(single_thread());
  Worker worker;
  tcp_test::Pair pair;
  worker.run([&] { pair = loop->run_until_complete(open_connection()); });
  ASSERT_TRUE(pair.transport && pair.peer);
  try {
    loop->close();
    ADD_FAILURE() << "closed on another thread with a connection's receive in flight";
  } catch (const RuntimeError& e) {
    expect_names_the_option(e);
  }
  EXPECT_FALSE(loop->is_closed());
  // On its own thread it still serves, then closes with everything freed
  // (the fixture's descriptor check; ASan's leak check).
  worker.run([&] {
    pair.transport->write("after");
    loop->run_until_complete(pair.close());
    pair = {};
    loop->close();
  });
  EXPECT_TRUE(loop->is_closed());
}

TEST_F(UringOptions, ASingleThreadLoopThatNeverRanClosesOnAnyThread) {
  std::shared_ptr<EventLoop> loop = new_event_loop(single_thread());
  Worker worker;
  worker.run([&] { loop->close(); });
  EXPECT_TRUE(loop->is_closed());
}

TEST_F(UringOptions, AutomaticTakesTheSingleThreadOption) {
  std::shared_ptr<EventLoop> loop =
      new_event_loop({.backend = Backend::automatic, .io_uring_single_thread = true});
  EXPECT_EQ(loop->backend(), Backend::io_uring);
  EXPECT_EQ(loop->run_until_complete(echo_once("auto")), "auto");
  loop->close();
}

}  // namespace
